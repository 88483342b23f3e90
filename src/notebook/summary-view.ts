// summary.json as a compact notebook table: per comparison, the runs' statistics over seeds at
// their chosen learning rate and the paired differences with their verdicts. Formatting is the
// report's (fmtValue, metricLabel), so both show the same numbers the same way.

import type { ComparisonSummary, MetricStats, PairedComparison, RunSummary, Summary } from "../results/summary.js";
import { metricLabel } from "../viz/bars.js";
import { escapeHtml as e } from "../viz/html.js";
import { fmtLr } from "../viz/format.js";
import { fmtValue } from "../viz/report-tables.js";

const BOX = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:13px;margin:4px 0 10px";
const CELL = "padding:3px 10px;border-bottom:1px solid #f3f4f6;white-space:nowrap";
const DEFAULT_KEYS = ["test_accuracy", "test_exact_match", "test_loss", "trainable_params", "step_time", "peak_memory"];

function statText(key: string, s: MetricStats | undefined): string {
  if (!s) return "—";
  return `${fmtValue(key, s.mean)}${s.std === null ? "" : ` ± ${fmtValue(key, s.std)}`}`;
}

function statsTable(runs: readonly RunSummary[], keys: readonly string[]): string {
  const head = [`<th style="${CELL};text-align:left">run</th>`, `<th style="${CELL};text-align:right">lr</th>`, `<th style="${CELL};text-align:right">seeds</th>`,
    ...keys.map((k) => `<th style="${CELL};text-align:right">${e(metricLabel(k).title)}</th>`)];
  const rows = runs.map((r) =>
    `<tr><td style="${CELL};font-weight:600">${e(r.run)}</td><td style="${CELL};text-align:right">${e(fmtLr(r.lr))}</td>` +
    `<td style="${CELL};text-align:right">${r.seeds.length}${r.failed.length ? ` <span style="color:#b91c1c">(${r.failed.length} failed)</span>` : ""}</td>` +
    keys.map((k) => `<td style="${CELL};text-align:right;font-variant-numeric:tabular-nums">${e(statText(k, r.metrics[k]))}</td>`).join("") + `</tr>`);
  return `<table style="border-collapse:collapse"><thead><tr>${head.join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** "beam − lora, test accuracy: +1.2 pp, 95% CI [...] → not significant" */
export function pairText(p: PairedComparison): string {
  const key = p.key ?? p.metric;
  const d = p.diff;
  if (!d) return `${p.other} − ${p.baseline}, ${metricLabel(key).title}: no paired data`;
  const signed = (x: number) => `${x > 0 ? "+" : x < 0 ? "−" : "±"}${fmtValue(key, Math.abs(x))}`;
  const ci = d.ci95 ? `, 95% CI [${signed(d.ci95[0])}, ${signed(d.ci95[1])}]` : "";
  return `${p.other} − ${p.baseline}, ${metricLabel(key).title}: ${signed(d.mean)}${ci} over ${d.n} seed${d.n === 1 ? "" : "s"} → ${p.verdict}`;
}

function comparisonHtml(c: ComparisonSummary, summary: Summary): string {
  const runs = c.runs.flatMap((name) => summary.runs.filter((r) => r.run === name));
  const keys = [...new Set(c.pairs.map((p) => p.key).filter((k): k is string => k !== null))];
  const pairs = c.pairs.map((p) => `<li>${e(pairText(p))}</li>`).join("");
  return `<div style="${BOX}"><div style="font-weight:600;margin-bottom:2px">compare ${e(c.name)}</div>` +
    statsTable(runs, keys.length ? keys : DEFAULT_KEYS.filter((k) => runs.some((r) => k in r.metrics))) +
    (pairs ? `<ul style="margin:4px 0;padding-left:18px;color:#374151">${pairs}</ul>` : "") + `</div>`;
}

/** summary.json as html: one block per comparison, or one table of every run when there is none. */
export function summaryHtml(summary: Summary): string {
  if (summary.comparisons.length > 0) return summary.comparisons.map((c) => comparisonHtml(c, summary)).join("");
  const keys = DEFAULT_KEYS.filter((k) => summary.runs.some((r) => k in r.metrics));
  return `<div style="${BOX}">${statsTable(summary.runs, keys)}</div>`;
}

/** summary.json as text: one line per run and one per paired comparison. */
export function summaryText(summary: Summary): string {
  const lines = summary.runs.map((r) => `${r.run} (lr ${fmtLr(r.lr)}, ${r.seeds.length} seeds): ` +
    DEFAULT_KEYS.filter((k) => k in r.metrics).map((k) => `${metricLabel(k).title} ${statText(k, r.metrics[k])}`).join(", "));
  for (const c of summary.comparisons) for (const p of c.pairs) lines.push(pairText(p));
  return lines.join("\n");
}
