// The plain LoRA path: delta = (x · Aᵀ) · Bᵀ · scale, or base + delta when the frozen layer's
// output is given (one call for the adapted layer). Dropout, when the adapter has it, is applied
// to x by the caller (it draws from tfjs's seeded generator).
import * as tf from "../tf.js";
import { hasNative, registerFusedGradient, runBackward, runFused } from "./fused.js";

/**
 * Native kernel: inputs {x [N, in], a [r, in], b [out, r], base [N, out] (when hasBase)}, attrs
 * {scale, hasBase} → [delta (+ base) [N, out], h [N, r]] where h = x·Aᵀ·scale (saved for the
 * backward).
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
  if (hasNative(LORA)) return runFused(LORA, { x, a, b }, { scale, hasBase: false })[0] as tf.Tensor2D;
  return loraDeltaComposite(x, a, b, scale);
}

/** base [N, out] + loraDelta(x, A, B, scale). */
export function loraAdd(base: tf.Tensor2D, x: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D, scale: number): tf.Tensor2D {
  check(x, a, b);
  if (base.rank !== 2 || base.shape[0] !== x.shape[0] || base.shape[1] !== b.shape[0]) {
    throw new Error(`Error in loraAdd: base must be [${x.shape[0]}, ${b.shape[0]}], got [${base.shape.join(", ")}]`);
  }
  if (hasNative(LORA)) return runFused(LORA, { x, a, b, base }, { scale, hasBase: true })[0] as tf.Tensor2D;
  return tf.add(base, loraDeltaComposite(x, a, b, scale));
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
    const { scale } = attrs as unknown as { scale: number };
    const [dx, da, db] = runBackward("loraDelta", LORA_GRAD, { dy, x: x!, a: a!, b: b!, h: h! }, { scale });
    return { x: () => dx!, a: () => da!, b: () => db!, base: () => dy };
  },
});
