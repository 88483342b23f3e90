// Scaled dot-product attention shared by the three families, with optional rotary positions
// (llama), grouped-query heads, a causal or bidirectional mask, key padding and per-head masks
// (Light-PEFT). Shapes: B batch, T time, H query heads, K key/value heads, D head size.
import * as tf from "../tf.js";

export interface AttentionOptions {
  heads: number;
  kvHeads: number;
  headDim: number;
  causal: boolean;
  /** [B, T]: 1 for real tokens, 0 for padding. */
  padMask: tf.Tensor2D;
  /** [H]: scales each head's attention probabilities (Light-PEFT head masks). */
  headMask?: tf.Tensor | null;
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

/** x [B, H, T, D] → x·cos + rotate_half(x)·sin. */
function applyRope(x: tf.Tensor4D, rope: Rope, t: number): tf.Tensor4D {
  const d = x.shape[3];
  const cos = rope.cos.slice([0, 0], [t, d]);
  const sin = rope.sin.slice([0, 0], [t, d]);
  const [x1, x2] = tf.split(x, 2, 3);
  const rotated = tf.concat([tf.neg(x2), x1], 3);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
}

/** [B, T, N·D] → [B, N, T, D] */
function splitHeads(x: tf.Tensor, n: number, d: number): tf.Tensor4D {
  const [b, t] = x.shape;
  return x.reshape([b, t, n, d]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
}

/** Additive attention bias [B, 1, T, T]: 0 where allowed, a large negative number elsewhere. */
export function attentionBias(padMask: tf.Tensor2D, causal: boolean): tf.Tensor4D {
  const [b, t] = padMask.shape;
  let allowed: tf.Tensor = padMask.reshape([b, 1, 1, t]); // keys
  if (causal) {
    const tri = tf.linalg.bandPart(tf.ones([t, t]), -1, 0).reshape([1, 1, t, t]);
    allowed = tf.mul(allowed, tri);
  }
  return tf.mul(tf.sub(1, allowed), -1e9) as tf.Tensor4D;
}

/** q [B, T, H·D], k/v [B, T, K·D] → [B, T, H·D]. */
export function attend(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: AttentionOptions, bias: tf.Tensor4D): tf.Tensor3D {
  const [b, t] = q.shape;
  const { heads, kvHeads, headDim: d } = o;
  let qh = splitHeads(q, heads, d);
  let kh = splitHeads(k, kvHeads, d);
  let vh = splitHeads(v, kvHeads, d);
  if (o.rope) {
    qh = applyRope(qh, o.rope, t);
    kh = applyRope(kh, o.rope, t);
  }
  if (kvHeads !== heads) {
    // Query head h reads key/value head ⌊h / rep⌋. (A gather, not a rank-5 tile: tfjs has no
    // gradient for tiles above rank 4.)
    const rep = heads / kvHeads;
    const groups = tf.tensor1d(Array.from({ length: heads }, (_, h) => Math.floor(h / rep)), "int32");
    kh = tf.gather(kh, groups, 1) as tf.Tensor4D;
    vh = tf.gather(vh, groups, 1) as tf.Tensor4D;
  }
  const scores = tf.add(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(d)), bias); // [B, H, T, T]
  let probs = tf.softmax(scores, -1);
  if (o.headMask) probs = tf.mul(probs, o.headMask.reshape([1, heads, 1, 1]));
  const out = tf.matMul(probs, vh); // [B, H, T, D]
  return out.transpose([0, 2, 1, 3]).reshape([b, t, heads * d]) as tf.Tensor3D;
}

/** Row indices of the q/k/v projections that belong to the kept heads. */
export function headRows(keep: number[], headDim: number, offset = 0): number[] {
  const rows: number[] = [];
  for (const h of keep) for (let i = 0; i < headDim; i++) rows.push(offset + h * headDim + i);
  return rows;
}
