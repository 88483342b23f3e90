// Aggregating curves over seeds: align by step, then mean, std, min and max at every step.

import type { SeedSeries } from "./rundata.js";

/** Aggregate of one run's seeds at each step (ascending). */
export interface Band {
  steps: number[];
  mean: number[];
  std: number[];
  min: number[];
  max: number[];
  /** Seeds contributing at each step. */
  n: number[];
}

/**
 * Exponential moving average with TensorBoard-style bias correction, so the first points are not
 * pulled towards 0. `weight` in [0, 1): 0 = no smoothing. Non-finite values pass through unsmoothed.
 */
export function ema(values: readonly number[], weight: number): number[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`ema: weight must be in [0, 1), got ${weight}`);
  let acc = 0;
  let k = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    k++;
    acc = weight * acc + (1 - weight) * v;
    return acc / (1 - weight ** k);
  });
}

/** Aligns the seeds of ONE run by step and aggregates them; non-finite values are left out. */
export function aggregate(series: readonly SeedSeries[], smoothing = 0): Band {
  const byStep = new Map<number, number[]>();
  for (const s of series) {
    const sorted = [...s.points].sort((a, b) => a.step - b.step);
    const ys = smoothing > 0 ? ema(sorted.map((p) => p.value), smoothing) : sorted.map((p) => p.value);
    sorted.forEach((p, i) => {
      const y = ys[i]!;
      if (!Number.isFinite(y)) return;
      const list = byStep.get(p.step);
      if (list) list.push(y);
      else byStep.set(p.step, [y]);
    });
  }
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  const band: Band = { steps, mean: [], std: [], min: [], max: [], n: [] };
  for (const step of steps) {
    const ys = byStep.get(step)!;
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
    const std = ys.length > 1 ? Math.sqrt(ys.reduce((a, y) => a + (y - mean) ** 2, 0) / (ys.length - 1)) : 0;
    band.mean.push(mean);
    band.std.push(std);
    band.min.push(Math.min(...ys));
    band.max.push(Math.max(...ys));
    band.n.push(ys.length);
  }
  return band;
}
