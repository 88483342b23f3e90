// Embedding lookup on the native addon (native/src/kernels/PeftlabEmbedding.c); the op and its
// contract are in src/runtime/tensor/ops/embedding.ts. (tfjs-backend-wasm's GatherV2 took ~10 ms for the
// benchmark's 1024 × 128 lookup; this is a row copy.)
import { fusedKernel, sizeOf } from "./fused-util.js";

export const embeddingKernel = fusedKernel("PeftlabEmbedding", (call, fn) => {
  const table = call.input("table");
  const ids = call.input("ids", "int32");
  const [v, c] = table.shape as [number, number];
  const out = call.output([...ids.shape, c]);
  const n = sizeOf(ids.shape);
  if (n > 0) call.run(fn, call.offset(table), call.offset(ids), call.offset(out), n, v, c);
});
