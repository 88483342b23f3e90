// The events and result of one run × seed × lr gathered in one object. A notebook builds it live
// with recordEvent while the job trains; run-folder.ts loads it from a finished run folder.

import type { EvalEvent, Prediction, RunEvent, RunResult, StepEvent } from "./events.js";

/** Everything known about one run × seed × lr (so far, while it trains). */
export interface RunData {
  run: string;
  seed: number;
  /** Null when not known (no start event, result or folder suffix). */
  lr: number | null;
  steps: StepEvent[];
  evals: EvalEvent[];
  /** All other events in arrival order (start, checkpoint, beam.*, lightpeft.*, end). */
  events: RunEvent[];
  result: RunResult | null;
  /** config.json as written by the runtime (shape owned by the runtime). */
  config: unknown;
  /** Things that went wrong reading this run (missing files, bad lines). */
  problems: string[];
  /** Folder relative to the run directory, when loaded from disk. */
  path?: string;
  /** The first test predictions of predictions.jsonl (a sample for the report), when loaded from disk. */
  predictions?: Prediction[];
  /** Lines of predictions.jsonl and how many were correct; absent without the file. */
  predictionCounts?: { total: number; correct: number };
}

/** An empty RunData. */
export function newRunData(run: string, seed: number, lr: number | null): RunData {
  return { run, seed, lr, steps: [], evals: [], events: [], result: null, config: null, problems: [] };
}

/** Appends one event to the right list (a `start` event also fills in the lr). */
export function recordEvent(data: RunData, ev: RunEvent): void {
  if (ev.type === "step") data.steps.push(ev);
  else if (ev.type === "eval") data.evals.push(ev);
  else {
    if (ev.type === "start" && data.lr === null) data.lr = ev.lr;
    data.events.push(ev);
  }
}
