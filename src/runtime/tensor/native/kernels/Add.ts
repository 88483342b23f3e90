// Add on the native addon (native/src/kernels/Add.c) for two float32 tensors of one shape: the
// residual stream and the gradient sums of a training step (tfjs-backend-wasm's Add took ~0.1 ms
// for the benchmark's [1024, 128] operands). Broadcasting and other dtypes go to the wasm kernel.
import { FusedCall, sizeOf } from "./fused-util.js";
import type { NativeKernel } from "./types.js";

export const add: NativeKernel = {
  kernelName: "Add",
  natives: ["Add"],
  make: (addon, original) => {
    const fn = addon["Add"] as (...args: unknown[]) => void;
    return (args) => {
      const a = args.inputs["a"]!;
      const b = args.inputs["b"]!;
      const same = a.dtype === "float32" && b.dtype === "float32" && a.shape.length === b.shape.length && a.shape.every((s, i) => s === b.shape[i]);
      if (!same) {
        if (!original) throw new Error(`Add (native): unsupported inputs ${a.dtype}[${a.shape}] + ${b.dtype}[${b.shape}]`);
        return original(args);
      }
      const call = new FusedCall("Add", args);
      const out = call.output(a.shape);
      const n = sizeOf(a.shape);
      if (n > 0) call.run(fn, call.offset(a), call.offset(b), call.offset(out), n);
      return out;
    };
  },
};
