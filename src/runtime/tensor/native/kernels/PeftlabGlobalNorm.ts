// The global gradient norm on the native addon (native/src/kernels/PeftlabGlobalNorm.c); the op
// and its contract are in src/runtime/tensor/ops/global-norm.ts. The tensors' places are passed in a small
// int32 descriptor made in the heap for the call (element offset and size of each), freed after.
import { fusedKernel, sizeOf } from "./fused-util.js";

export const globalNormKernel = fusedKernel("PeftlabGlobalNorm", (call, fn) => {
  const count = call.attr<number>("count");
  const tensors = Array.from({ length: count }, (_, i) => call.input(`t${i}`));
  const out = call.output([]);
  const desc = call.backend.makeOutput([2 * count], "int32");
  try {
    const view = new Int32Array(call.backend.wasm.HEAPU8.buffer, call.offset(desc), 2 * count);
    tensors.forEach((t, i) => {
      view[2 * i] = call.offset(t) / 4;
      view[2 * i + 1] = sizeOf(t.shape);
    });
    call.run(fn, call.offset(desc), count, call.offset(out));
  } finally {
    call.backend.disposeData(desc.dataId, true);
  }
});
