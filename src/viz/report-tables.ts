// The report's tables: per-run statistics, learning-rate choice, paired differences.

import type { ComparisonSummary, MetricStats, PairedComparison, RunSummary, Summary } from "../results/summary.js";
import { metricLabel } from "./bars.js";
import { fmt, fmtBytes, fmtCount, fmtLr, fmtMs } from "./format.js";
import { escapeHtml as e } from "./html.js";
import type { Palette } from "./palette.js";

const COST_KEYS = ["trainable_params", "foundation_params", "step_time", "tokens_per_s", "peak_memory", "wall_time"];

/** Formats a value of a summary key in its unit. */
export function fmtValue(key: string, x: number | null): string {
  if (x === null) return "—";
  if (key.endsWith("_params")) return fmtCount(x);
  if (key === "peak_memory") return fmtBytes(x);
  if (key === "step_time" || key === "wall_time") return fmtMs(x);
  if (/(accuracy|exact_match)$/.test(key)) return `${fmt(x * 100, 3)}%`;
  return fmt(x, 4);
}

function fmtDiff(key: string, x: number): string {
  const sign = x > 0 ? "+" : x < 0 ? "−" : "±";
  const abs = Math.abs(x);
  if (/(accuracy|exact_match)$/.test(key)) return `${sign}${fmt(abs * 100, 3)} pp`;
  return `${sign}${key.endsWith("_params") || key === "peak_memory" || key.endsWith("_time") ? fmtValue(key, abs) : fmt(abs, 3)}`;
}

/** The run name with its colour swatch. */
export function runCell(run: string, palette: Palette): string {
  return `<span class="swatch" style="background:${palette(run)}"></span>${e(run)}`;
}

/** Like fmtValue with fewer digits, for spreads. */
function fmtSpread(key: string, x: number): string {
  if (/(accuracy|exact_match)$/.test(key)) return `${fmt(x * 100, 2)}%`;
  if (key.endsWith("_params") || key === "peak_memory" || key.endsWith("_time")) return fmtValue(key, x);
  return fmt(x, 2);
}

function statCell(key: string, s: MetricStats | undefined): string {
  if (!s) return `<td class="num muted">—</td>`;
  const spread = s.std === null ? "" : ` ± ${fmtSpread(key, s.std)}`;
  const ci = s.ci95 ? `95% CI [${fmtValue(key, s.ci95[0])}, ${fmtValue(key, s.ci95[1])}]` : "no CI (1 seed)";
  const nonFinite = s.nonFinite > 0 ? ` · ${s.nonFinite} non-finite left out` : "";
  return `<td class="num">${fmtValue(key, s.mean)}${spread}<span class="ci">${ci} · n=${s.n}${nonFinite}</span></td>`;
}

function table(head: string[], rows: string[][], numericFrom = 1): string {
  const th = head.map((h, i) => `<th${i >= numericFrom ? ' class="num"' : ""}>${h}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.join("")}</tr>`).join("\n");
  return `<div class="table-wrap"><table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function seedsCell(r: RunSummary): string {
  const failed = r.failed.length ? ` <span class="badge failed">${r.failed.length} failed</span>` : "";
  return `<td class="num">${r.seeds.length}${failed}</td>`;
}

/** Metrics as rows, runs as columns (reads well for the usual 2–5 runs). */
function statsMatrix(runs: readonly RunSummary[], keys: readonly string[], palette: Palette): string {
  const rows = [
    [`<th>chosen lr</th>`, ...runs.map((r) => `<td class="num mono">${e(fmtLr(r.lr))}</td>`)],
    [`<th>finished seeds</th>`, ...runs.map(seedsCell)],
    ...keys.map((k) => [`<th>${e(metricLabel(k).title)}</th>`, ...runs.map((r) => statCell(k, r.metrics[k]))]),
  ];
  return table(["", ...runs.map((r) => runCell(r.run, palette))], rows);
}

/** Per-run statistics over seeds at the chosen lr: one table for quality, one for cost. */
export function runTables(summary: Summary, palette: Palette): string {
  const keys = [...new Set(summary.runs.flatMap((r) => Object.keys(r.metrics)))];
  const quality = [...keys.filter((k) => k.startsWith("test_")).sort(), ...keys.filter((k) => k.startsWith("validation_")).sort()];
  const cost = COST_KEYS.filter((k) => keys.includes(k));
  return (
    `<p class="muted small">Mean ± sample std over the finished seeds at each run's chosen learning rate; below it, the Student-t 95% confidence interval of the mean and the number of seeds.</p>` +
    `<h3>Quality</h3>` +
    (quality.length ? statsMatrix(summary.runs, quality, palette) : `<p class="muted">No evaluation metrics were recorded.</p>`) +
    `<h3>Cost</h3>` +
    (cost.length ? statsMatrix(summary.runs, cost, palette) : `<p class="muted">No cost metrics were recorded.</p>`)
  );
}

/** Learning-rate grid per run: the validation metric of each lr and the one chosen. */
export function lrTable(summary: Summary, palette: Palette): string {
  const grids = summary.runs.filter((r) => r.lrChoice?.grid);
  if (grids.length === 0) return `<p class="muted">Every run used a single learning rate; no choice was made.</p>`;
  const rows = grids.flatMap((r) =>
    r.lrChoice!.candidates.map((c) => [
      `<td>${runCell(r.run, palette)}</td>`,
      `<td class="num mono">${e(fmtLr(c.lr))}${c.lr === r.lr ? ' <span class="badge ok">chosen</span>' : ""}</td>`,
      `<td>${e(r.lrChoice!.metric ?? "—")}</td>`,
      `<td class="num">${c.mean === null ? "—" : fmtValue(r.lrChoice!.metric ?? "", c.mean)}</td>`,
      `<td class="num">${c.n}${c.failed ? ` <span class="badge failed">${c.failed} failed</span>` : ""}</td>`,
      `<td class="muted small">${c.lr === r.lr ? e(r.lrChoice!.reason) : ""}</td>`,
    ]),
  );
  return `<p class="muted small">Chosen on the validation split only (test metrics never influence the choice).</p>` +
    table(["run", "lr", "selection metric", "mean over seeds", "finished seeds", "why"], rows, 1);
}

function verdictBadge(p: PairedComparison): string {
  switch (p.verdict) {
    case "better": return `<span class="badge better">${e(p.other)} better</span>`;
    case "worse": return `<span class="badge worse">${e(p.other)} worse</span>`;
    case "not significant": return `<span class="badge ns">not significant (CI contains 0)</span>`;
    case "insufficient data": return `<span class="badge na">insufficient data (need ≥ 2 shared seeds)</span>`;
  }
}

function diffRow(p: PairedComparison, palette: Palette): string[] {
  const key = p.key ?? p.metric;
  const d = p.diff;
  return [
    `<td>${e(metricLabel(key).title)}</td>`,
    `<td>${runCell(p.other, palette)} − ${runCell(p.baseline, palette)}</td>`,
    `<td class="num">${d ? fmtDiff(key, d.mean) : "—"}</td>`,
    `<td class="num">${d?.ci95 ? `[${fmtDiff(key, d.ci95[0])}, ${fmtDiff(key, d.ci95[1])}]` : "—"}</td>`,
    `<td class="num">${d ? `${d.n} <span class="muted small">(seeds ${e(d.seeds.join(", "))})</span>` : "0"}</td>`,
    `<td>${verdictBadge(p)}</td>`,
  ];
}

/** One block per `compare`: its runs' statistics and the paired differences between them. */
export function comparisonBlock(c: ComparisonSummary, summary: Summary, palette: Palette): string {
  const runs = c.runs.map((name) => summary.runs.find((r) => r.run === name)).filter((r): r is RunSummary => r !== undefined);
  const keys = [...new Set(c.pairs.map((p) => p.key).filter((k): k is string => k !== null))];
  const missingKeys = c.metrics.filter((m) => !c.pairs.some((p) => p.metric === m && p.key));
  return (
    `<h3>${e(c.name)}</h3>` +
    `<p class="muted small">Runs: ${c.runs.map((r) => runCell(r, palette)).join(", ")} · metrics: ${e(c.metrics.join(", "))}</p>` +
    statsMatrix(runs, keys, palette) +
    (missingKeys.length ? `<p class="muted small">No result has ${e(missingKeys.join(", "))}.</p>` : "") +
    `<p class="small"><b>Paired differences</b> <span class="muted">(by seed, later-listed run minus earlier; a claim is significant only when the 95% CI excludes 0)</span></p>` +
    (c.pairs.length ? table(["metric", "difference", "mean", "95% CI", "seeds", "verdict"], c.pairs.map((p) => diffRow(p, palette)), 2) : `<p class="muted">Fewer than two runs: nothing to pair.</p>`)
  );
}

