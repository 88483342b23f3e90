// The progress of a plan's jobs, reduced from their events: one reducer for every display (the
// terminal's bars and lines, the notebook's table). Displays render a ProgressState; they never
// read events themselves.

import type { RunEvent, RunResult } from "./events.js";

/** Where one job is. "skipped": finished in an earlier session of the same run folder. */
export type JobState = "waiting" | "running" | "finished" | "failed" | "interrupted" | "skipped";

/** What progress knows about one job. */
export interface JobProgress {
  label: string;
  total: number;
  step: number;
  loss: number | null;
  /** Milliseconds of the last step (null before the first). */
  stepMs: number | null;
  /** Tokens per second of the last step (null before the first). */
  tokensPerS: number | null;
  /** Peak resident memory of the job's process so far, when its steps report it. */
  rssBytes?: number;
  /** Date.now() when the job started (null while waiting). */
  startedAt: number | null;
  state: JobState;
  /** The last notable event (a pruning), or the result in a few words once the job has ended. */
  note: string;
}

/** The state of a whole plan's progress. */
export class ProgressState {
  readonly jobs: JobProgress[];
  /** Lines the run logged (which backend runs, resumes), shown above the jobs. */
  readonly log: string[] = [];
  private readonly t0: number;

  constructor(labels: readonly { label: string; total: number }[], now = Date.now()) {
    this.t0 = now;
    this.jobs = labels.map(({ label, total }) => ({
      label, total, step: 0, loss: null, stepMs: null, tokensPerS: null, startedAt: null, state: "waiting", note: "",
    }));
  }

  start(index: number, now = Date.now()): void {
    const j = this.jobs[index];
    if (!j) return;
    j.state = "running";
    j.startedAt = now;
  }

  /** Folds one event in; returns the line a log should print for it (evaluations, prunings), else null. */
  event(index: number, ev: RunEvent): string | null {
    const j = this.jobs[index];
    if (!j) return null;
    if (ev.type === "start") j.total = ev.totalSteps;
    else if (ev.type === "step") {
      j.step = ev.step;
      j.loss = ev.loss;
      j.stepMs = ev.stepMs;
      j.tokensPerS = ev.stepMs > 0 ? (ev.tokens * 1000) / ev.stepMs : null;
      if (ev.rssBytes !== undefined) j.rssBytes = ev.rssBytes;
    }
    const line = eventLine(ev);
    if (line !== null && ev.type !== "eval") j.note = line;
    return line;
  }

  /** The job ended: finished or failed with `result`, or stopped on request after `result.steps`. */
  end(index: number, result: RunResult, interrupted = false): void {
    const j = this.jobs[index];
    if (!j) return;
    if (interrupted) {
      j.state = "interrupted";
      j.step = result.steps;
      j.note = `interrupted at step ${result.steps}; checkpoint written`;
      return;
    }
    j.state = result.status;
    if (result.status === "finished") j.step = j.total;
    j.note = result.status === "failed" ? (result.error ?? "unknown error") : headline(result);
  }

  /** The job had finished in an earlier session; `result` is its result.json. */
  skip(index: number, result: RunResult): void {
    const j = this.jobs[index];
    if (!j) return;
    j.state = "skipped";
    j.step = j.total;
    j.note = headline(result);
  }

  /** Jobs that have ended (finished, failed, interrupted or skipped). */
  done(): number {
    return this.jobs.filter((j) => j.state !== "waiting" && j.state !== "running").length;
  }

  /** Milliseconds since the progress began. */
  elapsedMs(now = Date.now()): number {
    return now - this.t0;
  }
}

/** "test accuracy 41.5% · test loss 1.230": a result in a few words. */
export function headline(r: RunResult): string {
  const m = r.metrics;
  const parts: string[] = [];
  if (m.test_accuracy !== undefined) parts.push(`test accuracy ${(m.test_accuracy * 100).toFixed(1)}%`);
  if (m.test_exact_match !== undefined) parts.push(`test exact match ${(m.test_exact_match * 100).toFixed(1)}%`);
  if (m.test_loss !== undefined) parts.push(`test loss ${m.test_loss.toFixed(3)}`);
  return parts.join(" · ");
}

/** One line for a notable event (an evaluation or a pruning); null for the rest. */
export function eventLine(ev: RunEvent): string | null {
  if (ev.type === "eval") {
    return `step ${ev.step} ${ev.split}: ${Object.entries(ev.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ")}`;
  }
  if (ev.type === "beam.prune") {
    return `step ${ev.step} BeamLoRA pruned and re-seeded ${ev.totalPruned} rank${ev.totalPruned === 1 ? "" : "s"} (p = ${ev.p.toFixed(4)})`;
  }
  if (ev.type === "lightpeft.prune") {
    return `step ${ev.step} Light-PEFT pruned the foundation from ${ev.before.foundation} to ${ev.after.foundation} parameters, trainable ${ev.before.trainable} → ${ev.after.trainable}`;
  }
  return null;
}
