// Identity without a copy. tfjs clones every tensor a gradient needs (Identity on each saved
// input and output) and the wasm kernel copies the bytes each time: about 140 copies per LoRA
// training step. Tensors are immutable in tfjs, so the clone can share the buffer, as tfjs's cpu
// backend and the wasm Reshape kernel already do (one more reference on the same data id). The
// one kernel that writes in place, PeftlabAdamW, checks the reference count first.
import type { NativeKernel } from "./types.js";

interface RefCounting {
  incRef(dataId: unknown): void;
}

export const identity: NativeKernel = {
  kernelName: "Identity",
  natives: [],
  make: (_addon, original) => (args) => {
    const x = args.inputs["x"]!;
    if (x.dtype === "string") {
      if (!original) throw new Error("Identity (native): string tensors need the wasm kernel, which is not registered");
      return original(args);
    }
    (args.backend as unknown as RefCounting).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  },
};
