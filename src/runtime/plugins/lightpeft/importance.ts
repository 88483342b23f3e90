// Light-PEFT importance scores, per training step:
//   module ("p2"):        mean over real tokens n of ‖ΔW x_n‖₂ / ‖W x_n + b‖₂
//   rank ("first_order"): |mean_j(A_ij · ∂L/∂A_ij)| + |mean_k(B_ki · ∂L/∂B_ki)|   for rank i
// and the average of the per-step values over the second half of the estimation window, with
// NaN / ±Inf step values replaced by 0 first (the authors' `imp[total_steps//2:]`).
import * as tf from "../../tensor/tf.js";
import { finiteOrZero } from "./quantile.js";

/** Per-row ratio ‖delta_n‖₂ / ‖base_n‖₂ of an adapter output: [N, out] × [N, out] → [N]. */
export function tokenRatios(base: tf.Tensor2D, delta: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.div(tf.sqrt(tf.sum(tf.square(delta), 1)), tf.sqrt(tf.sum(tf.square(base), 1))) as tf.Tensor1D);
}

/**
 * The real-token flags [N] of the rows an adapter saw, from the batch's padMask [B, T]: every
 * token (N = B·T), the first token of each sequence (N = B: bert's pooler sees only [CLS]), or
 * all rows for any other layout.
 */
export function rowMask(padMask: tf.Tensor2D, rows: number): tf.Tensor1D {
  return tf.tidy(() => {
    const [b, t] = padMask.shape;
    if (rows === b * t) return padMask.reshape([rows]) as tf.Tensor1D;
    if (rows === b) return padMask.slice([0, 0], [b, 1]).reshape([b]) as tf.Tensor1D;
    return tf.ones([rows]) as tf.Tensor1D;
  });
}

/** Mean of `values` [N] over rows whose flag is 1; values at padding (even NaN) are ignored. */
export function maskedMean(values: tf.Tensor1D, flags: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const real = tf.greater(flags, 0.5);
    const picked = tf.where(real, values, tf.zerosLike(values));
    return tf.div(tf.sum(picked), tf.sum(tf.cast(real, "float32"))) as tf.Scalar;
  });
}

/** First-order rank importance [r] from A [r, in], ∂L/∂A, B [out, r], ∂L/∂B. */
export function rankImportance(a: tf.Tensor2D, gradA: tf.Tensor, b: tf.Tensor2D, gradB: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const impA = tf.abs(tf.mean(tf.mul(a, gradA), 1)); // [r]
    const impB = tf.abs(tf.mean(tf.mul(b, gradB), 0)); // [r]
    return tf.add(impA, impB) as tf.Tensor1D;
  });
}

/** The steps whose records are averaged: the second half of a window of `estimateSteps` steps. */
export function averagedSteps(estimateSteps: number): { first: number; last: number } {
  return { first: Math.floor(estimateSteps / 2) + 1, last: estimateSteps };
}

/** Serialised form of a WindowMean (plain JSON, finite numbers only). */
export type WindowMeanState = Record<string, { sum: number[]; count: number }>;

/**
 * Running means of per-step vectors over steps first..last (1-based, inclusive). Keeping the
 * sums is equivalent to keeping the records of those steps and averaging at the end.
 */
export class WindowMean {
  private readonly sums = new Map<string, number[]>();
  private readonly counts = new Map<string, number>();

  constructor(readonly first: number, readonly last: number) {}

  /** Whether the record of 1-based step `step` is averaged. */
  covers(step: number): boolean {
    return step >= this.first && step <= this.last;
  }

  /** Adds one step's vector for `key` (NaN / ±Inf become 0). */
  add(key: string, values: ArrayLike<number>): void {
    let sum = this.sums.get(key);
    if (!sum) {
      sum = new Array<number>(values.length).fill(0);
      this.sums.set(key, sum);
    } else if (sum.length !== values.length) {
      throw new Error(`Error in WindowMean.add: "${key}" had ${sum.length} values per step, now ${values.length}`);
    }
    for (let i = 0; i < values.length; i++) sum[i] += finiteOrZero(values[i]);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Mean vector per key over the steps recorded so far. */
  means(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [k, s] of this.sums) {
      const n = this.counts.get(k)!;
      out[k] = s.map((v) => v / n);
    }
    return out;
  }

  toJSON(): WindowMeanState {
    const out: WindowMeanState = {};
    for (const [k, s] of this.sums) out[k] = { sum: [...s], count: this.counts.get(k)! };
    return out;
  }

  /** Replaces the contents by a saved state. */
  load(state: WindowMeanState): void {
    this.sums.clear();
    this.counts.clear();
    for (const [k, { sum, count }] of Object.entries(state)) {
      if (!Array.isArray(sum) || !(count >= 1)) throw new Error(`Error in WindowMean.load: bad record for "${k}"`);
      this.sums.set(k, [...sum]);
      this.counts.set(k, count);
    }
  }
}
