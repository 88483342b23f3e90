// The quantile rule every Light-PEFT decision uses (the authors' `np.quantile(x, ratio)` then
// `keep = x > threshold`), with the grouping (per layer / per module, or global) and the
// "never empty a layer" guard. Plain numbers only: no tensors here.
import type { PruneScope } from "../../../dsl/plan.js";

/**
 * `numpy.quantile(values, q)` with numpy's default "linear" method (Hyndman–Fan type 7),
 * including numpy's two-sided interpolation so ties land on the same side as in numpy.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError("Error in quantile: no values");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`Error in quantile: q must be in [0, 1], got ${q}`);
  const s = Float64Array.from(values).sort();
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  const t = h - lo;
  const a = s[lo];
  const b = s[hi];
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

export interface KeepOptions {
  /**
   * Guard: a non-empty group always keeps at least its best entry (highest score, first on ties).
   * Used for heads and neurons (a layer is never emptied); not for ranks (an emptied module is removed).
   */
  keepOne: boolean;
}

/**
 * Indices kept in each group: an entry is kept when its score is strictly greater than the
 * `ratio` quantile (so entries ≤ the threshold are pruned, as in the authors' code). The threshold
 * is computed per group (`scope` "layer") or over all groups together ("global"). A ratio of 0
 * keeps everything: the authors skip a pruning step whose ratio is 0 (np.quantile(x, 0) = min
 * would otherwise still prune the minimum).
 */
export function keepByQuantile(scores: readonly (readonly number[])[], ratio: number, scope: PruneScope, opts: KeepOptions): number[][] {
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`Error in keepByQuantile: ratio must be in [0, 1], got ${ratio}`);
  const all = (g: readonly number[]) => g.map((_, i) => i);
  if (ratio === 0) return scores.map(all);
  const flat = scores.flat();
  const global = scope === "global" && flat.length > 0 ? quantile(flat, ratio) : NaN;
  return scores.map((g) => {
    if (g.length === 0) return [];
    const threshold = scope === "global" ? global : quantile(g, ratio);
    const kept = all(g).filter((i) => g[i] > threshold);
    if (kept.length === 0 && opts.keepOne) return [argmax(g)];
    return kept;
  });
}

/** Index of the largest value (the first one on ties). */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Replaces NaN and ±Infinity by 0 (the authors' treatment of importance records). */
export function finiteOrZero(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

/** Summary of a list of values: mean, extremes and quartiles (numpy-linear). */
export function summarize(values: readonly number[]): { mean: number; min: number; max: number; q25: number; q50: number; q75: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { mean: sum / values.length, min, max, q25: quantile(values, 0.25), q50: quantile(values, 0.5), q75: quantile(values, 0.75) };
}
