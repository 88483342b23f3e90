// How a fused op chooses between a native kernel and its composite of tfjs ops.
//
// A fused op (rmsNorm, attentionCore, …) runs as one kernel when the current backend registers
// a kernel under its name (e.g. "PeftlabRMSNorm", registered for "wasm" only while peftlab's
// native kernels are on); its gradient is then another kernel ("PeftlabRMSNormGrad"). Otherwise
// it runs the composite of stock tfjs ops, which every backend supports and tfjs differentiates.
import * as tf from "../tf.js";

export type Attrs = Record<string, number | boolean | string | number[]>;

/** Whether the current backend registers a kernel named `kernelName`. */
export function hasNative(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) != null;
}

/** Runs a registered kernel (recorded on the gradient tape) and returns its outputs as a list. */
export function runFused(kernelName: string, inputs: Record<string, tf.Tensor>, attrs: Attrs): tf.Tensor[] {
  const out = tf.engine().runKernel(kernelName, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}

/**
 * Runs the backward kernel of a fused op. Both kernels are registered together; a backend with
 * the forward kernel but not the backward one is a registration bug, reported as such.
 */
export function runBackward(op: string, kernelName: string, inputs: Record<string, tf.Tensor>, attrs: Attrs): tf.Tensor[] {
  if (!hasNative(kernelName)) {
    throw new Error(`Error in ${op}: backend "${tf.getBackend()}" has the forward kernel but no "${kernelName}" for its gradient`);
  }
  return runFused(kernelName, inputs, attrs);
}

/** Registers a fused op's gradient once (gradients are global, shared by every backend). */
export function registerFusedGradient(config: tf.GradConfig): void {
  if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
}

/** Throws unless `t` has the expected rank. */
export function expectRank(op: string, name: string, t: tf.Tensor, rank: number, shape: string): void {
  if (t.rank !== rank) throw new Error(`Error in ${op}: ${name} must be ${shape}, got [${t.shape.join(", ")}]`);
}

/** Throws unless `t` has exactly `shape`. */
export function expectShape(op: string, name: string, t: tf.Tensor, shape: number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
    throw new Error(`Error in ${op}: ${name} must be [${shape.join(", ")}], got [${t.shape.join(", ")}]`);
  }
}
