// BatchMatMul on the native addon (native/src/kernels/BatchMatMul.c): every form tfjs uses —
// transposeA/transposeB, any rank ≥ 2, batch axes broadcast NumPy-style — for float32 inputs.
// Other dtypes, and more than 4 batch axes, go to the kernel it replaces.
import * as tf from "../../tf.js";
import { heapOf, offsetOf, wasmInternals } from "../heap.js";
import type { NativeKernel } from "./types.js";

const BATCH_AXES = 4;

/** The batch axes of `shape` (all but the last two), left-padded with 1s to BATCH_AXES. */
function batchAxes(shape: number[]): number[] {
  const outer = shape.slice(0, -2);
  return [...new Array<number>(BATCH_AXES - outer.length).fill(1), ...outer];
}

export const batchMatMul: NativeKernel = {
  kernelName: "BatchMatMul",
  natives: ["BatchMatMul"],
  make: (addon, original) => {
    const run = addon["BatchMatMul"] as (...args: unknown[]) => void;
    return (args) => {
      const a = args.inputs["a"]!;
      const b = args.inputs["b"]!;
      const ra = a.shape.length;
      const rb = b.shape.length;
      if (a.dtype !== "float32" || b.dtype !== "float32" || ra > BATCH_AXES + 2 || rb > BATCH_AXES + 2) {
        if (!original) throw new Error(`BatchMatMul (native): unsupported inputs ${a.dtype}[${a.shape}] · ${b.dtype}[${b.shape}]`);
        return original(args);
      }
      const transposeA = Boolean(args.attrs?.["transposeA"]);
      const transposeB = Boolean(args.attrs?.["transposeB"]);
      if (ra < 2 || rb < 2) throw new Error(`BatchMatMul (native): inputs must have rank ≥ 2, got [${a.shape}] and [${b.shape}]`);
      const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
      const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
      const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
      const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
      if (k !== kb) {
        throw new Error(
          `BatchMatMul (native): inner sizes differ: a [${a.shape}]${transposeA ? "ᵀ" : ""} has ${k}, b [${b.shape}]${transposeB ? "ᵀ" : ""} has ${kb}`,
        );
      }
      const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      const backend = wasmInternals(args.backend, "BatchMatMul");
      const out = backend.makeOutput([...outBatch, m, n], "float32");
      if (m * n * outBatch.reduce((x, y) => x * y, 1) === 0) return out;
      const heap = heapOf(backend); // after makeOutput: it may have grown the memory
      run(
        heap,
        offsetOf(backend, a, "BatchMatMul"),
        offsetOf(backend, b, "BatchMatMul"),
        offsetOf(backend, out, "BatchMatMul"),
        transposeA ? 1 : 0,
        transposeB ? 1 : 0,
        m,
        n,
        k,
        ...batchAxes(a.shape),
        ...batchAxes(b.shape),
      );
      return out;
    };
  },
};
