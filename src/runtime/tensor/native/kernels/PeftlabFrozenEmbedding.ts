// Embedding lookup from a frozen table on the native addon (native/src/kernels/PeftlabFrozenEmbedding.c);
// the op and its contract are in src/runtime/tensor/frozen/ops.ts. `weight` is the table's id in the
// addon's store, `cols` its width.
import { fusedKernel, sizeOf } from "./fused-util.js";

export const frozenEmbeddingKernel = fusedKernel("PeftlabFrozenEmbedding", (call, fn) => {
  const ids = call.input("ids", "int32");
  const c = call.attr<number>("cols");
  const out = call.output([...ids.shape, c]);
  call.run(fn, call.attr<number>("weight"), call.offset(ids), call.offset(out), sizeOf(ids.shape), c);
});
