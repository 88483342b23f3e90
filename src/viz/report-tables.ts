// The report's tables: per-run statistics, learning-rate choice, paired differences.

import type { RunData } from "../results/run-data.js";
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

/** How each interval method is named in a table cell. */
const INTERVAL_NOTE: Record<string, string> = { "logit-t": "logit-t", "log-t": "log-t", "t-clamped": "t, cut to range", t: "t" };

function statCell(key: string, s: MetricStats | undefined): string {
  if (!s) return `<td class="num muted">—</td>`;
  const spread = s.std === null ? "" : ` ± ${fmtSpread(key, s.std)}`;
  const method = s.interval && INTERVAL_NOTE[s.interval] ? ` (${INTERVAL_NOTE[s.interval]})` : "";
  const ci = s.ci95
    ? s.ci95[0] === s.ci95[1] ? "every seed equal" : `95% CI${method} [${fmtValue(key, s.ci95[0])}, ${fmtValue(key, s.ci95[1])}]`
    : "no CI (1 seed)";
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

function sizesCell(r: RunSummary): string {
  const x = r.examples;
  return x ? `<td class="num">${fmtCount(x.train)} / ${fmtCount(x.validation)} / ${fmtCount(x.test)}</td>` : `<td class="num muted">not recorded</td>`;
}

function baselineRows(runs: readonly RunSummary[], keys: readonly string[]): string[][] {
  return keys.filter((k) => runs.some((r) => r.baselines?.[k] !== undefined)).map((k) => [
    `<th>${e(metricLabel(k).title)} of the majority answer</th>`,
    ...runs.map((r) => (r.baselines?.[k] !== undefined ? `<td class="num muted">${fmtValue(k, r.baselines[k]!)}</td>` : `<td class="num muted">—</td>`)),
  ]);
}

/** Metrics as rows, runs as columns (reads well for the usual 2–5 runs). */
function statsMatrix(runs: readonly RunSummary[], keys: readonly string[], palette: Palette, withData = false): string {
  const rows = [
    [`<th>chosen lr</th>`, ...runs.map((r) => `<td class="num mono">${e(fmtLr(r.lr))}</td>`)],
    [`<th>finished seeds</th>`, ...runs.map(seedsCell)],
    ...(withData ? [[`<th>examples train / validation / test</th>`, ...runs.map(sizesCell)]] : []),
    ...keys.map((k) => [`<th>${e(metricLabel(k).title)}</th>`, ...runs.map((r) => statCell(k, r.metrics[k]))]),
    ...(withData ? baselineRows(runs, keys) : []),
  ];
  return table(["", ...runs.map((r) => runCell(r.run, palette))], rows);
}

/** Per-run statistics over seeds at the chosen lr: one table for quality, one for cost. */
export function runTables(summary: Summary, palette: Palette): string {
  const keys = [...new Set(summary.runs.flatMap((r) => Object.keys(r.metrics)))];
  const quality = [...keys.filter((k) => k.startsWith("test_")).sort(), ...keys.filter((k) => k.startsWith("validation_")).sort()];
  const cost = COST_KEYS.filter((k) => keys.includes(k));
  return (
    `<p class="muted small">Mean ± sample std over the finished seeds at each run's chosen learning rate; below it, the 95% confidence interval and the number of seeds. ` +
    `Intervals stay in each metric's range: fractions (accuracy, exact match) use a Student-t interval on the logit scale, ` +
    `positive quantities (loss, times, throughput, memory) one on the log scale, both mapped back; "t, cut to range" when a value sits on the bound. ` +
    `The majority answer always gives the training split's most common label or completion: a model should beat it.</p>` +
    `<h3>Quality</h3>` +
    (quality.length ? statsMatrix(summary.runs, quality, palette, true) : `<p class="muted">No evaluation metrics were recorded.</p>`) +
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
    case "identical": return `<span class="badge ns">identical on every seed</span>`;
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
    `<td class="num">${d?.detectable != null && !d.identical ? `±${fmtDiff(key, d.detectable).slice(1)}` : "—"}</td>`,
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
    `<p class="muted small">Smallest detectable: the smallest mean difference these seeds would call significant given the spread seen, t(0.975, n−1)·sd/√n (the interval's half-width); fractions' intervals are cut to [−100, +100] pp.</p>` +
    (c.pairs.length ? table(["metric", "difference", "mean", "95% CI", "smallest detectable", "seeds", "verdict"], c.pairs.map((p) => diffRow(p, palette)), 2) : `<p class="muted">Fewer than two runs: nothing to pair.</p>`)
  );
}


/** The summary's warnings (few seeds, lr at the grid's edge), or nothing when there are none. */
export function warningsBox(summary: Summary): string {
  const ws = summary.warnings ?? [];
  if (ws.length === 0) return "";
  return `<div class="problems warnings"><h3>Warnings (${ws.length})</h3><ul>${ws.map((w) => `<li>${e(w)}</li>`).join("")}</ul></div>`;
}

/** Long inputs are cut to this many characters in the predictions table. */
const PREDICTION_CHARS = 240;

function cut(text: string): string {
  return text.length > PREDICTION_CHARS ? `${text.slice(0, PREDICTION_CHARS)}… (${text.length} characters)` : text;
}

/**
 * A sample of test predictions per run (its lowest seed with a predictions.jsonl), so a low score
 * can be read off the answers themselves. `runs` are the jobs at each run's chosen lr.
 */
export function predictionsSection(runs: readonly RunData[], palette: Palette): string {
  const names = [...new Set(runs.map((d) => d.run))];
  const blocks = names.flatMap((name) => {
    const d = runs.filter((x) => x.run === name && x.predictions).sort((a, b) => a.seed - b.seed)[0];
    if (!d || !d.predictions || !d.predictionCounts) return [];
    const { total, correct } = d.predictionCounts;
    const rows = d.predictions.map((p) => [
      `<td class="mono pre">${e(cut(p.input))}</td>`,
      `<td class="mono pre">${e(cut(p.target))}</td>`,
      `<td class="mono pre">${e(cut(p.prediction))}</td>`,
      `<td>${p.correct ? '<span class="badge ok">yes</span>' : '<span class="badge failed">no</span>'}</td>`,
    ]);
    return [`<h3>${runCell(name, palette)} <span class="muted small">seed ${d.seed} · first ${d.predictions.length} of ${total} test examples · ${correct} of ${total} correct</span></h3>` +
      table(["input", "target", "prediction", "correct"], rows, 4)];
  });
  return blocks.length
    ? `<p class="muted small">The first test examples of one seed per run at its chosen learning rate; every prediction is in the job folder's predictions.jsonl.</p>${blocks.join("\n")}`
    : `<p class="muted">No job folder has a predictions.jsonl (runs of older versions, or no job finished).</p>`;
}
