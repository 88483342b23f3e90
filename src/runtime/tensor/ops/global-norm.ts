// The global L2 norm of a list of tensors (gradient clipping): √(Σ over tensors of Σ x²).
import * as tf from "../tf.js";
import { hasNative, runFused } from "./fused.js";

/**
 * Native kernel: inputs {t0, t1, …} (float32, any shapes), attrs {count} → the norm as a scalar.
 * Each tensor is summed in double by one thread; the tensors' sums are added in list order.
 */
export const GLOBAL_NORM = "PeftlabGlobalNorm";

/** √(Σᵢ Σ tᵢ²) as a scalar; 0 for an empty list. No gradient (it only measures). */
export function globalNorm(tensors: tf.Tensor[]): tf.Scalar {
  if (tensors.length === 0) return tf.scalar(0);
  if (hasNative(GLOBAL_NORM) && tensors.every((t) => t.dtype === "float32")) {
    const inputs = Object.fromEntries(tensors.map((t, i) => [`t${i}`, t]));
    return runFused(GLOBAL_NORM, inputs, { count: tensors.length })[0] as tf.Scalar;
  }
  return globalNormComposite(tensors);
}

/** The same from stock tfjs ops. */
export function globalNormComposite(tensors: tf.Tensor[]): tf.Scalar {
  if (tensors.length === 0) return tf.scalar(0);
  return tf.sqrt(tf.addN(tensors.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
}
