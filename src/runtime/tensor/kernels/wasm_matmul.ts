// A faster BatchMatMul for the wasm backend when an input is transposed.
//
// tfjs-backend-wasm 4.22's BatchMatMul with transposeA/transposeB set runs 20–100× slower than
// an explicit Transpose followed by a plain product (measured on a LoRA training step: every
// Linear computes x·Wᵀ, and every matMul gradient uses the transpose flags). This wrapper does the
// transpose explicitly and calls the original kernel without the flags; results are identical.
import type * as tf from "../tf.js";
import { asWasmBackend, runWasmKernel } from "./wasm_util.js";

/** Swaps the last two axes. */
function lastTwoSwapped(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return perm;
}

export function transposedMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const transposeA = Boolean(args.attrs?.["transposeA"]);
    const transposeB = Boolean(args.attrs?.["transposeB"]);
    if (!transposeA && !transposeB) return original(args);
    const backend = asWasmBackend(args.backend, "BatchMatMul");
    const temps: tf.TensorInfo[] = [];
    const flip = (x: tf.TensorInfo) => {
      const t = runWasmKernel("Transpose", { x }, { perm: lastTwoSwapped(x.shape.length) }, backend);
      temps.push(t);
      return t;
    };
    const a = args.inputs["a"]!;
    const b = args.inputs["b"]!;
    const out = original({
      ...args,
      inputs: { a: transposeA ? flip(a) : a, b: transposeB ? flip(b) : b },
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    });
    for (const t of temps) backend.disposeData(t.dataId);
    return out;
  };
}
