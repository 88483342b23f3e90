// One AdamW step on the native addon (native/src/kernels/PeftlabAdamW.c); the op and its contract
// are in src/runtime/tensor/ops/adamw.ts. It updates param, m and v in place and returns no tensors. When
// another tensor shares one of their buffers (a clone or a reshape still alive), writing in place
// would change that tensor too: the kernel then writes three new tensors [param, m, v] instead,
// which the op assigns.
import type * as tf from "../../tf.js";
import { fusedKernel, sizeOf } from "./fused-util.js";

interface RefCounts {
  refCount(dataId: tf.DataId): number;
}

export const adamWKernel = fusedKernel("PeftlabAdamW", (call, fn) => {
  const param = call.input("param");
  const grad = call.input("grad");
  const state = [param, call.input("m"), call.input("v")];
  const n = sizeOf(param.shape);
  const backend = call.backend as unknown as RefCounts;
  let targets = state;
  if (state.some((t) => backend.refCount(t.dataId) > 1)) {
    targets = state.map(() => call.output(param.shape));
    const heap = call.backend.wasm.HEAPU8; // read after the outputs were made
    state.forEach((src, i) => heap.copyWithin(call.offset(targets[i]!), call.offset(src), call.offset(src) + 4 * n));
  }
  const hyper = ["lr", "beta1", "beta2", "eps", "weightDecay", "bc1", "bc2"].map((k) => call.attr<number>(k));
  const [p, m, v] = targets.map((t) => call.offset(t));
  if (n > 0) call.run(fn, p!, call.offset(grad), m!, v!, n, ...hyper);
});
