// Scaled dot-product attention shared by the three families, with optional rotary positions
// (llama), grouped-query heads, a causal or bidirectional mask, key padding and per-head masks
// (Light-PEFT). The math lives in the fused ops ../ops/rope.ts and ../ops/attention-core.ts.
// Shapes: B batch, T time, H query heads, K key/value heads, D head size.
import * as tf from "../tensor/tf.js";
import { attentionBias, attentionCore, type AttentionCoreOptions, rope } from "../tensor/ops/index.js";

/** The attention core's options (heads, masks) and the rotary tables of llama. */
export interface AttentionOptions extends Omit<AttentionCoreOptions, "bias"> {
  rope?: Rope | null;
}

/** Precomputed rotary tables [T, D] (HF "rotate_half" convention). */
export interface Rope {
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
}

/** Builds the rotary tables for positions 0..T-1. Caller disposes. */
export function ropeTables(t: number, headDim: number, theta: number): Rope {
  const half = headDim / 2;
  const cos = new Float32Array(t * headDim);
  const sin = new Float32Array(t * headDim);
  for (let p = 0; p < t; p++) {
    for (let i = 0; i < half; i++) {
      const freq = p / Math.pow(theta, (2 * i) / headDim);
      const c = Math.cos(freq);
      const s = Math.sin(freq);
      cos[p * headDim + i] = c;
      cos[p * headDim + i + half] = c;
      sin[p * headDim + i] = s;
      sin[p * headDim + i + half] = s;
    }
  }
  return { cos: tf.tensor2d(cos, [t, headDim]), sin: tf.tensor2d(sin, [t, headDim]) };
}

/** q [B, T, H·D], k/v [B, T, K·D] → [B, T, H·D]: rotary positions (when given), then the attention core. */
export function attend(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: AttentionOptions, bias?: () => tf.Tensor4D): tf.Tensor3D {
  if (o.rope) {
    q = rope(q as tf.Tensor3D, o.rope.cos, o.rope.sin, o.heads);
    k = rope(k as tf.Tensor3D, o.rope.cos, o.rope.sin, o.kvHeads);
  }
  return attentionCore(q, k, v, { ...o, bias });
}

/** The additive bias [B, 1, T, T] built on first use and shared by every layer of one forward
 *  (built again when a scope that made it has freed it: a recomputed block runs in its own scope). */
export function sharedBias(padMask: tf.Tensor2D, causal: boolean): () => tf.Tensor4D {
  let bias: tf.Tensor4D | null = null;
  return () => (bias && !bias.isDisposed ? bias : (bias = attentionBias(padMask, causal)));
}

/** Row indices of the q/k/v projections that belong to the kept heads. */
export function headRows(keep: number[], headDim: number, offset = 0): number[] {
  const rows: number[] = [];
  for (const h of keep) for (let i = 0; i < headDim; i++) rows.push(offset + h * headDim + i);
  return rows;
}
