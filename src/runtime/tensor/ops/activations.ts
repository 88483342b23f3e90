// MLP activations: SwiGLU (llama: silu(gate) · up) and GELU in its three forms.
import * as tf from "../tf.js";
import { hasNative, registerFusedGradient, runBackward, runFused } from "./fused.js";

/** Native kernel: inputs {gate, up} (same shape) → gate · sigmoid(gate) · up. */
export const SWIGLU = "PeftlabSwiGLU";
/** Its backward: inputs {dy, gate, up} → [dGate, dUp]. */
export const SWIGLU_GRAD = "PeftlabSwiGLUGrad";
/** Native kernel: inputs {x}, attrs {kind} → act(x). */
export const GELU = "PeftlabGelu";
/** Its backward: inputs {dy, x}, attrs {kind} → dx. */
export const GELU_GRAD = "PeftlabGeluGrad";

export type ActKind = "gelu" | "gelu_new" | "silu";
const KINDS: readonly ActKind[] = ["gelu", "gelu_new", "silu"];

/** silu(gate) · up, elementwise. */
export function swiglu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  if (gate.shape.length !== up.shape.length || gate.shape.some((s, i) => s !== up.shape[i])) {
    throw new Error(`Error in swiglu: gate and up must have one shape, got [${gate.shape.join(", ")}] and [${up.shape.join(", ")}]`);
  }
  if (hasNative(SWIGLU)) return runFused(SWIGLU, { gate, up }, {})[0]!;
  return swigluComposite(gate, up);
}

/** The same op from stock tfjs ops. */
export function swigluComposite(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up);
}

/** "silu": x·σ(x); "gelu_new": the tanh approximation; "gelu": exact, with erf. */
export function geluAct(x: tf.Tensor, kind: ActKind): tf.Tensor {
  if (!KINDS.includes(kind)) throw new Error(`Error in geluAct: kind must be one of ${KINDS.join(", ")}, got "${kind}"`);
  if (hasNative(GELU)) return runFused(GELU, { x }, { kind })[0]!;
  return geluActComposite(x, kind);
}

/** The same op from stock tfjs ops. */
export function geluActComposite(x: tf.Tensor, kind: ActKind): tf.Tensor {
  if (kind === "silu") return tf.mul(x, tf.sigmoid(x));
  if (kind === "gelu_new") {
    // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  }
  // exact GELU: 0.5 x (1 + erf(x / √2))
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

registerFusedGradient({
  kernelName: SWIGLU,
  inputsToSave: ["gate", "up"],
  gradFunc: (dy, saved) => {
    const [gate, up] = saved as [tf.Tensor, tf.Tensor];
    const [dGate, dUp] = runBackward("swiglu", SWIGLU_GRAD, { dy: dy as tf.Tensor, gate, up }, {});
    return { gate: () => dGate!, up: () => dUp! };
  },
});

registerFusedGradient({
  kernelName: GELU,
  inputsToSave: ["x"],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const kind = (attrs as unknown as { kind: ActKind }).kind;
    return { x: () => runBackward("geluAct", GELU_GRAD, { dy: dy as tf.Tensor, x }, { kind })[0]! };
  },
});
