// The core of scaled dot-product attention on projections in their [B, T, N·D] layout:
//   scores = q·kᵀ / √D + bias, bias = 0 where a key is allowed and −1e9 elsewhere (padding keys;
//   later keys too when causal), probs = softmax(scores) · headMask[h], out = probs · v.
// Grouped-query attention: query head h reads key/value head ⌊h / (H / K)⌋.
// Shapes: B batch, T time, H query heads, K key/value heads, D head size.
import * as tf from "../tf.js";
import { expectRank, hasNative, registerFusedGradient, runBackward, runFused } from "./fused.js";

/**
 * Native kernel: inputs {q [B, T, H·D], k [B, T, K·D], v [B, T, K·D], padMask [B, T],
 * headMask [H]}, attrs {heads, kvHeads, headDim, causal, hasHeadMask} → [out [B, T, H·D],
 * lse [B, H, T, 2]] where lse holds each score row's maximum and log Σ exp(score − maximum)
 * (what the backward needs to recompute the probabilities). headMask is all ones when
 * hasHeadMask is false.
 */
export const ATTENTION = "PeftlabAttention";
/**
 * Its backward: inputs {dy, q, k, v, padMask, headMask, lse}, same attrs →
 * [dq, dk, dv, dHeadMask].
 */
export const ATTENTION_GRAD = "PeftlabAttentionGrad";

export interface AttentionCoreOptions {
  heads: number;
  kvHeads: number;
  headDim: number;
  causal: boolean;
  /** [B, T]: 1 for real tokens, 0 for padding. */
  padMask: tf.Tensor2D;
  /** [H]: scales each head's probabilities (Light-PEFT head masks). */
  headMask?: tf.Tensor | null;
  /** The composite path's additive bias [B, 1, T, T] ({@link attentionBias}), when the caller shares one across layers. */
  bias?: () => tf.Tensor4D;
}

/** Additive attention bias [B, 1, T, T]: 0 where allowed, −1e9 elsewhere. */
export function attentionBias(padMask: tf.Tensor2D, causal: boolean): tf.Tensor4D {
  const [b, t] = padMask.shape;
  let allowed: tf.Tensor = padMask.reshape([b, 1, 1, t]); // keys
  if (causal) {
    const tri = tf.linalg.bandPart(tf.ones([t, t]), -1, 0).reshape([1, 1, t, t]);
    allowed = tf.mul(allowed, tri);
  }
  return tf.mul(tf.sub(1, allowed), -1e9) as tf.Tensor4D;
}

function check(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: AttentionCoreOptions): void {
  const op = "attentionCore";
  expectRank(op, "q", q, 3, "[B, T, H·D]");
  const [b, t] = q.shape as [number, number, number];
  const { heads, kvHeads, headDim: d } = o;
  if (!(heads >= 1 && kvHeads >= 1 && heads % kvHeads === 0)) {
    throw new Error(`Error in ${op}: heads (${heads}) must be a positive multiple of kvHeads (${kvHeads})`);
  }
  const want = (name: string, x: tf.Tensor, n: number) => {
    if (x.rank !== 3 || x.shape[0] !== b || x.shape[1] !== t || x.shape[2] !== n * d) {
      throw new Error(`Error in ${op}: ${name} must be [${b}, ${t}, ${n * d}], got [${x.shape.join(", ")}]`);
    }
  };
  want("q", q, heads);
  want("k", k, kvHeads);
  want("v", v, kvHeads);
  if (o.padMask.rank !== 2 || o.padMask.shape[0] !== b || o.padMask.shape[1] !== t) {
    throw new Error(`Error in ${op}: padMask must be [${b}, ${t}], got [${o.padMask.shape.join(", ")}]`);
  }
  if (o.headMask && o.headMask.size !== heads) {
    throw new Error(`Error in ${op}: headMask must have ${heads} entries, got [${o.headMask.shape.join(", ")}]`);
  }
}

/** q [B, T, H·D], k/v [B, T, K·D] → [B, T, H·D]. */
export function attentionCore(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: AttentionCoreOptions): tf.Tensor3D {
  check(q, k, v, o);
  if (hasNative(ATTENTION)) {
    const headMask = o.headMask ? o.headMask.reshape([o.heads]) : tf.ones([o.heads]);
    const attrs = { heads: o.heads, kvHeads: o.kvHeads, headDim: o.headDim, causal: o.causal, hasHeadMask: !!o.headMask };
    return runFused(ATTENTION, { q, k, v, padMask: o.padMask, headMask }, attrs)[0] as tf.Tensor3D;
  }
  return attentionCoreComposite(q, k, v, o);
}

/** [B, T, N·D] → [B, N, T, D] */
function splitHeads(x: tf.Tensor, n: number, d: number): tf.Tensor4D {
  const [b, t] = x.shape;
  return x.reshape([b, t, n, d]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
}

/** The same op from stock tfjs ops. */
export function attentionCoreComposite(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: AttentionCoreOptions): tf.Tensor3D {
  const [b, t] = q.shape;
  const { heads, kvHeads, headDim: d } = o;
  const qh = splitHeads(q, heads, d);
  let kh = splitHeads(k, kvHeads, d);
  let vh = splitHeads(v, kvHeads, d);
  if (kvHeads !== heads) {
    // A gather, not a rank-5 tile: tfjs has no gradient for tiles above rank 4.
    const rep = heads / kvHeads;
    const groups = tf.tensor1d(Array.from({ length: heads }, (_, h) => Math.floor(h / rep)), "int32");
    kh = tf.gather(kh, groups, 1) as tf.Tensor4D;
    vh = tf.gather(vh, groups, 1) as tf.Tensor4D;
  }
  const bias = o.bias ? o.bias() : attentionBias(o.padMask, o.causal);
  const scores = tf.add(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(d)), bias); // [B, H, T, T]
  let probs = tf.softmax(scores, -1);
  if (o.headMask) probs = tf.mul(probs, o.headMask.reshape([1, heads, 1, 1]));
  const out = tf.matMul(probs, vh); // [B, H, T, D]
  return out.transpose([0, 2, 1, 3]).reshape([b, t, heads * d]) as tf.Tensor3D;
}

registerFusedGradient({
  kernelName: ATTENTION,
  inputsToSave: ["q", "k", "v", "padMask", "headMask"],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs) => {
    const [q, k, v, padMask, headMask, lse] = saved as tf.Tensor[];
    const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
    // One backward kernel computes every input's gradient; the thunks hand them out.
    const [dq, dk, dv, dHeadMask] = runBackward("attentionCore", ATTENTION_GRAD,
      { dy, q: q!, k: k!, v: v!, padMask: padMask!, headMask: headMask!, lse: lse! }, attrs as unknown as Record<string, number | boolean>);
    return {
      q: () => dq!,
      k: () => dk!,
      v: () => dv!,
      headMask: () => dHeadMask!,
      // The mask only selects which scores get the −1e9 bias: no gradient flows into it.
      padMask: () => tf.zerosLike(padMask!),
    };
  },
});
