// One AdamW update of a parameter and its two moments (torch.optim.AdamW):
//   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²
//   p ← p − (lr/bc1) · m / (√v / √bc2 + ε) − lr·wd·p      (the last term only when decayed)
// with bc1 = 1 − β1^step and bc2 = 1 − β2^step.
import * as tf from "../tf.js";
import { expectShape, hasNative, runFused } from "./fused.js";

/**
 * Native kernel: inputs {param, grad, m, v} (one shape, float32), attrs {lr, beta1, beta2, eps,
 * weightDecay, bc1, bc2}. It writes param, m and v in place (their tfjs data ids are unchanged)
 * and returns no tensors; where another tensor shares one of their buffers it returns the new
 * [param, m, v] instead, and they are assigned.
 */
export const ADAMW = "PeftlabAdamW";

export interface AdamWStep {
  /** This parameter's learning rate. */
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 0 when the parameter is not decayed. */
  weightDecay: number;
  /** Bias corrections 1 − β^step. */
  bc1: number;
  bc2: number;
}

/** Updates `param`, `m` and `v` (variables of one shape) with gradient `grad`. */
export function adamwUpdate(param: tf.Variable, grad: tf.Tensor, m: tf.Variable, v: tf.Variable, s: AdamWStep): void {
  for (const [name, t] of [["grad", grad], ["m", m], ["v", v]] as const) expectShape(`adamwUpdate(${param.name})`, name, t, param.shape);
  if (hasNative(ADAMW) && param.dtype === "float32") {
    const out = runFused(ADAMW, { param, grad, m, v }, { ...s });
    // No outputs: updated in place. Three: new values (a buffer was shared with another tensor).
    if (out.length === 3) [param, m, v].forEach((target, i) => target.assign(out[i]!));
    for (const t of out) t.dispose();
    return;
  }
  adamwUpdateComposite(param, grad, m, v, s);
}

/** The same update from stock tfjs ops, assigning new values to the three variables. */
export function adamwUpdateComposite(param: tf.Variable, grad: tf.Tensor, m: tf.Variable, v: tf.Variable, s: AdamWStep): void {
  tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, s.beta1), tf.mul(grad, 1 - s.beta1));
    const v1 = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(grad), 1 - s.beta2));
    m.assign(m1);
    v.assign(v1);
    const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(s.bc2)), s.eps);
    let next = tf.sub(param, tf.mul(tf.div(m1, denom), s.lr / s.bc1));
    if (s.weightDecay > 0) next = tf.sub(next, tf.mul(param, s.lr * s.weightDecay));
    param.assign(next);
  });
}
