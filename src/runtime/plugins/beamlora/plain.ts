// Tensors as plain JSON for checkpoints (the plug-in's saveState / loadState).
import * as tf from "../../tensor/tf.js";

/** A tensor as JSON: its shape and its values in row-major order. */
export interface PlainTensor {
  shape: number[];
  data: number[];
}

/** Reads `t` into a {@link PlainTensor}. */
export function toPlain(t: tf.Tensor): PlainTensor {
  return { shape: [...t.shape], data: Array.from(t.dataSync()) };
}

/** A new float32 tensor from `p`, which must have `shape`; `where` names it in errors. */
export function fromPlain(p: PlainTensor | undefined, shape: readonly number[], where: string): tf.Tensor {
  const ok = p && Array.isArray(p.shape) && Array.isArray(p.data) && p.shape.join(",") === shape.join(",");
  if (!ok) {
    throw new Error(`Error in BeamLoRA.loadState: ${where} must be [${shape.join(", ")}], got ${p && Array.isArray(p.shape) ? `[${p.shape.join(", ")}]` : JSON.stringify(p)?.slice(0, 60)}`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (p.data.length !== n) throw new Error(`Error in BeamLoRA.loadState: ${where} has ${p.data.length} values for shape [${shape.join(", ")}] (${n} expected)`);
  return tf.tensor(p.data, [...shape], "float32");
}
