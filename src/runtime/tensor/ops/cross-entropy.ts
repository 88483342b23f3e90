// The training loss: mean cross-entropy of logits [N, C] against class targets [N], each row
// weighted (0 for ignored positions), divided by max(Σ weights, 1).
import * as tf from "../tf.js";
import { expectRank, hasNative, registerFusedGradient, runBackward, runFused } from "./fused.js";

/**
 * Native kernel: inputs {logits [N, C] float32, targets [N] int32, weights [N] float32} →
 * [loss [], lse [N]] where lse is each row's log-sum-exp (saved for the backward).
 */
export const SOFTMAX_CE = "PeftlabSoftmaxCrossEntropy";
/** Its backward: inputs {dy, logits, targets, weights, lse} → dLogits = dy · w · (softmax − onehot) / max(Σw, 1). */
export const SOFTMAX_CE_GRAD = "PeftlabSoftmaxCrossEntropyGrad";

function check(logits: tf.Tensor, targets: tf.Tensor, weights: tf.Tensor): void {
  const op = "softmaxCrossEntropy";
  expectRank(op, "logits", logits, 2, "[N, C]");
  const n = logits.shape[0]!;
  if (targets.rank !== 1 || targets.shape[0] !== n || targets.dtype !== "int32") {
    throw new Error(`Error in ${op}: targets must be int32 [${n}], got ${targets.dtype} [${targets.shape.join(", ")}]`);
  }
  if (weights.rank !== 1 || weights.shape[0] !== n) throw new Error(`Error in ${op}: weights must be [${n}], got [${weights.shape.join(", ")}]`);
}

/** logits [N, C], targets [N] int32, weights [N] → scalar. */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  check(logits, targets, weights);
  if (hasNative(SOFTMAX_CE)) return runFused(SOFTMAX_CE, { logits, targets, weights }, {})[0] as tf.Scalar;
  return softmaxCrossEntropyComposite(logits, targets, weights);
}

/** The same op from stock tfjs ops. */
export function softmaxCrossEntropyComposite(logits: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  const c = logits.shape[1];
  const logp = tf.logSoftmax(logits, -1);
  const picked = tf.sum(tf.mul(logp, tf.oneHot(targets, c)), -1); // [N]
  const total = tf.sum(weights);
  return tf.div(tf.neg(tf.sum(tf.mul(picked, weights))), tf.maximum(total, 1)) as tf.Scalar;
}

registerFusedGradient({
  kernelName: SOFTMAX_CE,
  inputsToSave: ["logits", "targets", "weights"],
  outputsToSave: [false, true],
  gradFunc: (dys, saved) => {
    const [logits, targets, weights, lse] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
    const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
    return {
      logits: () => runBackward("softmaxCrossEntropy", SOFTMAX_CE_GRAD, { dy, logits, targets, weights, lse }, {})[0]!,
      targets: () => tf.zerosLike(targets).cast("float32"),
      // Weights come from the batch, so this rarely runs: d/dwᵢ of −Σ pᵢwᵢ / M with M = max(Σw, 1).
      weights: () => {
        const picked = tf.sub(tf.sum(tf.mul(logits, tf.oneHot(targets, logits.shape[1])), -1), lse); // log p of the target
        const total = tf.sum(weights);
        const m = tf.maximum(total, 1);
        const loss = tf.div(tf.neg(tf.sum(tf.mul(picked, weights))), m);
        const viaM = tf.where(tf.greater(total, 1), tf.div(loss, m), tf.zerosLike(m)); // ∂L/∂M · ∂M/∂Σw
        return tf.mul(tf.sub(tf.div(tf.neg(picked), m), viaM), dy);
      },
    };
  },
});
