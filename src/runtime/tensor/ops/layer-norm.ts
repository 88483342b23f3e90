// LayerNorm over the last axis (HF nn.LayerNorm): y = (x − mean) · rsqrt(var + eps) · w + b.
import * as tf from "../tf.js";
import { expectShape, hasNative, registerFusedGradient, runBackward, runFused } from "./fused.js";

/** Native kernel: inputs {x [..., C], weight [C], bias [C]}, attrs {eps} → y [..., C]. */
export const LAYER_NORM = "PeftlabLayerNorm";
/** Its backward: inputs {dy, x, weight}, attrs {eps} → dx. */
export const LAYER_NORM_GRAD = "PeftlabLayerNormGrad";

/** x [..., C], weight [C], bias [C] → [..., C]. */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const c = x.shape[x.rank - 1]!;
  expectShape("layerNorm", "weight", weight, [c]);
  expectShape("layerNorm", "bias", bias, [c]);
  if (hasNative(LAYER_NORM)) return runFused(LAYER_NORM, { x, weight, bias }, { eps })[0]!;
  return layerNormComposite(x, weight, bias, eps);
}

/** The same op from stock tfjs ops. */
export function layerNormComposite(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, eps))), weight), bias);
}

/** x̂ = (x − mean) · rsqrt(var + eps) as [N, C]. */
function normalized(x: tf.Tensor, c: number, eps: number): tf.Tensor {
  const x2 = x.reshape([-1, c]);
  const xc = tf.sub(x2, tf.mean(x2, -1, true));
  return tf.mul(xc, tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps)));
}

registerFusedGradient({
  kernelName: LAYER_NORM,
  inputsToSave: ["x", "weight"],
  gradFunc: (dy, saved, attrs) => {
    const [x, weight] = saved as [tf.Tensor, tf.Tensor];
    const eps = (attrs as unknown as { eps: number }).eps;
    const g = dy as tf.Tensor;
    const c = weight.shape[0]!;
    return {
      x: () => runBackward("layerNorm", LAYER_NORM_GRAD, { dy: g, x, weight }, { eps })[0]!,
      // Frozen in fine-tuning, so these rarely run: dw = Σ_rows dy · x̂, db = Σ_rows dy.
      weight: () => tf.sum(tf.mul(g.reshape([-1, c]), normalized(x, c, eps)), 0),
      bias: () => tf.sum(g.reshape([-1, c]), 0),
    };
  },
});
