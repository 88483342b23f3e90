// The plain LoRA path: delta = (x · Aᵀ) · Bᵀ · scale. Dropout, when the adapter has it, is
// applied to x by the caller (it draws from tfjs's seeded generator).
import * as tf from "../tf.js";
import { hasNative, registerFusedGradient, runBackward, runFused } from "./fused.js";

/**
 * Native kernel: inputs {x [N, in], a [r, in], b [out, r]}, attrs {scale} →
 * [delta [N, out], h [N, r]] where h = x·Aᵀ (saved for the backward).
 */
export const LORA = "PeftlabLora";
/** Its backward: inputs {dy, x, a, b, h}, attrs {scale} → [dx, dA, dB]. */
export const LORA_GRAD = "PeftlabLoraGrad";

function check(x: tf.Tensor, a: tf.Tensor, b: tf.Tensor): void {
  const ok = x.rank === 2 && a.rank === 2 && b.rank === 2 && a.shape[1] === x.shape[1] && b.shape[1] === a.shape[0];
  if (!ok) {
    throw new Error(`Error in loraDelta: expected x [N, in], A [r, in], B [out, r]; got x [${x.shape.join(", ")}], A [${a.shape.join(", ")}], B [${b.shape.join(", ")}]`);
  }
}

/** x [N, in], A [r, in], B [out, r] → [N, out]. */
export function loraDelta(x: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D, scale: number): tf.Tensor2D {
  check(x, a, b);
  if (hasNative(LORA)) return runFused(LORA, { x, a, b }, { scale })[0] as tf.Tensor2D;
  return loraDeltaComposite(x, a, b, scale);
}

/** The same op from stock tfjs ops. */
export function loraDeltaComposite(x: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D, scale: number): tf.Tensor2D {
  const h = tf.matMul(x, a, false, true); // [N, r]
  return tf.mul(tf.matMul(h, b, false, true), scale) as tf.Tensor2D; // [N, out]
}

registerFusedGradient({
  kernelName: LORA,
  inputsToSave: ["x", "a", "b"],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs) => {
    const [x, a, b, h] = saved as tf.Tensor[];
    const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
    const [dx, da, db] = runBackward("loraDelta", LORA_GRAD, { dy, x: x!, a: a!, b: b!, h: h! }, attrs as unknown as Record<string, number>);
    return { x: () => dx!, a: () => da!, b: () => db! };
  },
});
