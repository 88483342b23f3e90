// RMSNorm over the last axis (HF LlamaRMSNorm): y = x · rsqrt(mean(x², -1) + eps) · w.
import * as tf from "../tf.js";
import { expectShape, hasNative, registerFusedGradient, runBackward, runFused } from "./fused.js";

/** Native kernel: inputs {x [..., C], weight [C]}, attrs {eps} → y [..., C]. */
export const RMS_NORM = "PeftlabRMSNorm";
/** Its backward: inputs {dy, x, weight}, attrs {eps} → dx. */
export const RMS_NORM_GRAD = "PeftlabRMSNormGrad";
/** The weight's gradient (full-parameter training): inputs {dy, x}, attrs {eps} → dw [C]. */
export const RMS_NORM_GRAD_WEIGHT = "PeftlabRMSNormGradWeight";

/** x [..., C], weight [C] → [..., C]. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  expectShape("rmsNorm", "weight", weight, [x.shape[x.rank - 1]!]);
  if (hasNative(RMS_NORM)) return runFused(RMS_NORM, { x, weight }, { eps })[0]!;
  return rmsNormComposite(x, weight, eps);
}

/** The same op from stock tfjs ops (every backend; tfjs differentiates it). */
export function rmsNormComposite(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight);
}

registerFusedGradient({
  kernelName: RMS_NORM,
  inputsToSave: ["x", "weight"],
  gradFunc: (dy, saved, attrs) => {
    const [x, weight] = saved as [tf.Tensor, tf.Tensor];
    const eps = (attrs as unknown as { eps: number }).eps;
    const g = dy as tf.Tensor;
    return {
      x: () => runBackward("rmsNorm", RMS_NORM_GRAD, { dy: g, x, weight }, { eps })[0]!,
      // Norm weights are frozen in fine-tuning; pretraining trains them: dw = Σ_rows dy · x · rsqrt(ms + eps).
      weight: () => {
        if (hasNative(RMS_NORM_GRAD_WEIGHT)) return runFused(RMS_NORM_GRAD_WEIGHT, { dy: g, x }, { eps })[0]!;
        const c = weight.shape[0]!;
        const x2 = x.reshape([-1, c]);
        const r = tf.rsqrt(tf.add(tf.mean(tf.square(x2), -1, true), eps));
        return tf.sum(tf.mul(tf.mul(g.reshape([-1, c]), x2), r), 0);
      },
    };
  },
});
