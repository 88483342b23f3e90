// Rotary position embeddings, Hugging Face's "rotate_half" convention, applied to projections in
// their [B, T, N·D] layout: per head, y = x · cos[t] + rotate_half(x) · sin[t] with
// rotate_half([x1, x2]) = [−x2, x1] over the two halves of the D head features.
import * as tf from "../tf.js";
import { expectRank, hasNative, registerFusedGradient, runBackward, runFused } from "./fused.js";

/** Native kernel: inputs {x [B, T, N·D], cos [P, D], sin [P, D]} (P ≥ T; rows 0..T-1 are used), attrs {heads} → y. */
export const ROPE = "PeftlabRope";
/** Its backward: inputs {dy, cos, sin}, attrs {heads} → dx = dy · cos + rotate_halfᵀ(dy · sin). */
export const ROPE_GRAD = "PeftlabRopeGrad";

function check(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor, heads: number): void {
  expectRank("rope", "x", x, 3, "[B, T, N·D]");
  expectRank("rope", "cos", cos, 2, "[P, D]");
  const [, t, width] = x.shape as [number, number, number];
  const [p, d] = cos.shape as [number, number];
  if (sin.shape[0] !== p || sin.shape[1] !== d) throw new Error(`Error in rope: sin must be [${p}, ${d}] like cos, got [${sin.shape.join(", ")}]`);
  if (d % 2 !== 0 || width !== heads * d) throw new Error(`Error in rope: x must be [B, T, ${heads}·${d}] with an even head size, got [${x.shape.join(", ")}]`);
  if (t > p) throw new Error(`Error in rope: the tables cover ${p} positions, x has ${t}`);
}

/** x [B, T, N·D], cos/sin [P, D] → [B, T, N·D]. */
export function rope(x: tf.Tensor3D, cos: tf.Tensor2D, sin: tf.Tensor2D, heads: number): tf.Tensor3D {
  check(x, cos, sin, heads);
  if (hasNative(ROPE)) return runFused(ROPE, { x, cos, sin }, { heads })[0] as tf.Tensor3D;
  return ropeComposite(x, cos, sin, heads);
}

/** The tables' first T rows as [T, 1, D], to broadcast over [B, T, N, D]. */
function rows(table: tf.Tensor2D, t: number): tf.Tensor3D {
  const d = table.shape[1];
  return table.slice([0, 0], [t, d]).reshape([t, 1, d]);
}

/** The same op from stock tfjs ops. */
export function ropeComposite(x: tf.Tensor3D, cos: tf.Tensor2D, sin: tf.Tensor2D, heads: number): tf.Tensor3D {
  const [b, t, width] = x.shape;
  const d = cos.shape[1];
  const x4 = x.reshape([b, t, heads, d]);
  const [x1, x2] = tf.split(x4, 2, 3);
  const rotated = tf.concat([tf.neg(x2), x1], 3);
  return tf.add(tf.mul(x4, rows(cos, t)), tf.mul(rotated, rows(sin, t))).reshape([b, t, width]) as tf.Tensor3D;
}

/** d(table) [P, D] from Σ over batch and heads of dy · u, where u is x or rotate_half(x). */
function tableGrad(dy: tf.Tensor, u: tf.Tensor, p: number): tf.Tensor {
  const per = tf.sum(tf.mul(dy, u), [0, 2]); // [T, D]
  const t = per.shape[0]!;
  return t === p ? per : tf.pad(per, [[0, p - t], [0, 0]]);
}

registerFusedGradient({
  kernelName: ROPE,
  inputsToSave: ["x", "cos", "sin"],
  gradFunc: (dy, saved, attrs) => {
    const [x, cos, sin] = saved as [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D];
    const heads = (attrs as unknown as { heads: number }).heads;
    const g = dy as tf.Tensor3D;
    const [b, t] = x.shape;
    const [p, d] = cos.shape;
    const x4 = () => x.reshape([b, t, heads, d]);
    return {
      x: () => runBackward("rope", ROPE_GRAD, { dy: g, cos, sin }, { heads })[0]!,
      // The tables are constants in every model; these exist so differentiating them is not an error.
      cos: () => tableGrad(g.reshape([b, t, heads, d]), x4(), p),
      sin: () => {
        const [x1, x2] = tf.split(x4(), 2, 3);
        return tableGrad(g.reshape([b, t, heads, d]), tf.concat([tf.neg(x2), x1], 3), p);
      },
    };
  },
});
