// The events and result of one run × seed × lr, as figures consume them, and the series
// extracted from them. A notebook builds RunData live with recordEvent; the report loads it.

import type {
  BeamImportanceEvent, BeamPruneEvent, EvalEvent, LightPruneEvent, MaskEvent, RunEvent, RunResult, StepEvent,
} from "../runtime/events.js";

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

/** Events of one type, in order. */
export function eventsOf<T extends RunEvent["type"]>(data: RunData, type: T): Extract<RunEvent, { type: T }>[] {
  return data.events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
}

export const beamImportance = (d: RunData): BeamImportanceEvent[] => eventsOf(d, "beam.importance");
export const beamPrunes = (d: RunData): BeamPruneEvent[] => eventsOf(d, "beam.prune");
export const maskEvents = (d: RunData): MaskEvent[] => eventsOf(d, "lightpeft.masks");
export const lightPrunes = (d: RunData): LightPruneEvent[] => eventsOf(d, "lightpeft.prune");

/** A curve of one seed. */
export interface SeedSeries {
  run: string;
  seed: number;
  points: { step: number; value: number }[];
}

/** Training loss of one seed, as `step` events give it. */
export interface LossSeries {
  run: string;
  seed: number;
  points: { step: number; loss: number }[];
}

/** Training loss per seed, from `step` events. */
export function lossSeries(runs: readonly RunData[]): LossSeries[] {
  return runs.map((d) => ({ run: d.run, seed: d.seed, points: d.steps.map((s) => ({ step: s.step, loss: s.loss })) }));
}

/** Strips a split prefix: validation_accuracy → accuracy. */
export function bareMetric(key: string): string {
  return key.replace(/^(validation|test)_/, "");
}

/** One evaluation metric (bare name, e.g. "accuracy") on one split, per seed, from `eval` events. */
export function evalSeries(runs: readonly RunData[], metric: string, split: "validation" | "test" = "validation"): SeedSeries[] {
  return runs.map((d) => ({
    run: d.run,
    seed: d.seed,
    points: d.evals.flatMap((e) => {
      if (e.split !== split) return [];
      const hit = Object.entries(e.metrics).find(([k]) => bareMetric(k) === metric);
      return hit ? [{ step: e.step, value: hit[1] }] : [];
    }),
  }));
}

/** Bare metric names found in the eval events of a split, most useful first (accuracy, exact_match, loss, rest). */
export function evalMetrics(runs: readonly RunData[], split: "validation" | "test" = "validation"): string[] {
  const found = new Set(runs.flatMap((d) => d.evals.filter((e) => e.split === split).flatMap((e) => Object.keys(e.metrics).map(bareMetric))));
  const order = ["accuracy", "exact_match", "loss"];
  return [...order.filter((m) => found.has(m)), ...[...found].filter((m) => !order.includes(m)).sort()];
}

/** Runs in first-seen order. */
export function runNames(runs: readonly { run: string }[]): string[] {
  return [...new Set(runs.map((r) => r.run))];
}
