// A progress display for a plan's jobs: one bar per run × seed × lr, updated in place.
// The html uses plain divs with inline styles (kept by sanitisers that drop <progress>).

import type { RunEvent, RunResult } from "../runtime/events.js";
import { escapeHtml as e } from "../viz/html.js";
import { fmtMs } from "../viz/format.js";

/** What progress knows about one job. */
export interface JobProgress {
  label: string;
  total: number;
  step: number;
  loss: number | null;
  /** Mean ms per step of the last step events (null before the first). */
  stepMs: number | null;
  state: "waiting" | "running" | "finished" | "failed";
  note: string;
}

/** The state of a whole plan's progress, rendered by progressHtml/progressText. */
export class ProgressState {
  readonly jobs: JobProgress[];
  /** Lines the runtime logged (e.g. which backend runs), shown above the bars. */
  readonly log: string[] = [];
  private readonly t0 = Date.now();

  constructor(labels: readonly { label: string; total: number }[]) {
    this.jobs = labels.map(({ label, total }) => ({ label, total, step: 0, loss: null, stepMs: null, state: "waiting", note: "" }));
  }

  start(index: number): void {
    const j = this.jobs[index];
    if (j) j.state = "running";
  }

  event(index: number, ev: RunEvent): void {
    const j = this.jobs[index];
    if (!j) return;
    if (ev.type === "start") j.total = ev.totalSteps;
    else if (ev.type === "step") {
      j.step = ev.step;
      j.loss = ev.loss;
      j.stepMs = ev.stepMs;
    } else if (ev.type === "beam.prune") j.note = `beam: ${ev.totalPruned} rank${ev.totalPruned === 1 ? "" : "s"} re-seeded at step ${ev.step}`;
    else if (ev.type === "lightpeft.prune") j.note = `Light-PEFT pruned at step ${ev.step}`;
  }

  end(index: number, result: RunResult): void {
    const j = this.jobs[index];
    if (!j) return;
    j.state = result.status;
    j.step = result.status === "finished" ? j.total : j.step;
    j.note = result.status === "failed" ? (result.error ?? "failed") : headline(result);
  }

  /** Milliseconds since the display was created. */
  elapsedMs(): number {
    return Date.now() - this.t0;
  }
}

/** "test accuracy 41.5% · loss 1.23" — the result in a few words. */
function headline(r: RunResult): string {
  const m = r.metrics;
  const parts: string[] = [];
  for (const k of ["test_accuracy", "test_exact_match"]) if (m[k] !== undefined) parts.push(`${k.replace("test_", "test ").replace("_", " ")} ${(m[k]! * 100).toFixed(1)}%`);
  if (m.test_loss !== undefined) parts.push(`test loss ${m.test_loss.toFixed(3)}`);
  return parts.join(" · ");
}

const BAR_COLOURS = { waiting: "#e5e7eb", running: "#0072B2", finished: "#009E73", failed: "#D55E00" } as const;

function bar(j: JobProgress): string {
  const pct = j.total > 0 ? Math.min(100, (100 * j.step) / j.total) : 0;
  return `<div style="width:220px;height:10px;background:#e5e7eb;border-radius:5px;overflow:hidden;display:inline-block;vertical-align:middle">` +
    `<div style="width:${pct.toFixed(1)}%;height:100%;background:${BAR_COLOURS[j.state]}"></div></div>`;
}

/** The progress display as html. */
export function progressHtml(p: ProgressState): string {
  const done = p.jobs.filter((j) => j.state === "finished" || j.state === "failed").length;
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
