// The series figures draw, extracted from the events of each run × seed × lr (RunData).

import type { BeamImportanceEvent, BeamPruneEvent, LightPruneEvent, MaskEvent, RunEvent } from "../results/events.js";
import type { RunData } from "../results/run-data.js";

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
