// The notebook's rendering of a plan's progress (the reducer is src/results/progress.ts): one bar
// per run × seed × lr, updated in place. The html uses plain divs with inline styles (kept by
// sanitisers that drop <progress>).

import type { JobProgress, ProgressState } from "../results/progress.js";
import { escapeHtml as e } from "../viz/html.js";
import { fmtMs } from "../viz/format.js";

const BAR_COLOURS: Record<JobProgress["state"], string> = {
  waiting: "#e5e7eb", running: "#0072B2", finished: "#009E73", failed: "#D55E00", interrupted: "#E69F00", skipped: "#009E73",
};

function bar(j: JobProgress): string {
  const pct = j.total > 0 ? Math.min(100, (100 * j.step) / j.total) : 0;
  return `<div style="width:220px;height:10px;background:#e5e7eb;border-radius:5px;overflow:hidden;display:inline-block;vertical-align:middle">` +
    `<div style="width:${pct.toFixed(1)}%;height:100%;background:${BAR_COLOURS[j.state]}"></div></div>`;
}

/** The progress display as html. */
export function progressHtml(p: ProgressState): string {
  const done = p.done();
  const td = (s: string, extra = "") => `<td style="padding:2px 8px;white-space:nowrap;text-align:left;${extra}">${s}</td>`;
  const rows = p.jobs.map((j) =>
    `<tr>${td(e(j.label), "font-weight:600")}${td(bar(j))}${td(`${j.step}/${j.total}`, "text-align:right;font-variant-numeric:tabular-nums")}` +
    `${td(j.loss === null ? "" : `loss ${j.loss.toFixed(3)}`, "font-variant-numeric:tabular-nums")}${td(j.stepMs === null ? "" : `${j.stepMs.toFixed(0)} ms/step`, "color:#6b7280")}` +
    `${td(e(j.state === "running" || j.state === "waiting" ? j.note || j.state : `${j.state}${j.note ? ` · ${j.note}` : ""}`), `color:${j.state === "failed" ? "#b91c1c" : "#6b7280"}`)}</tr>`);
  return `<div class="peftlab-progress" style="font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:13px">` +
    `<div style="margin-bottom:4px"><b>${done}/${p.jobs.length} jobs done</b> · ${e(fmtMs(p.elapsedMs()))} elapsed` +
    `${p.log.map((l) => ` · <span style="color:#6b7280">${e(l)}</span>`).join("")}</div>` +
    `<table style="border-collapse:collapse">${rows.join("")}</table></div>`;
}

/** The progress display as text (one line per job). */
export function progressText(p: ProgressState): string {
  return [...p.log, ""].join("\n") + p.jobs.map((j) => `${j.label}: ${j.step}/${j.total} ${j.state}${j.loss === null ? "" : ` loss ${j.loss.toFixed(3)}`}${j.note ? ` (${j.note})` : ""}`).join("\n");
}
