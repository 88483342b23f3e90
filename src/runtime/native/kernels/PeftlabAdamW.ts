// One AdamW step on the native addon (native/src/kernels/PeftlabAdamW.c); the op and its contract
// are in src/runtime/ops/adamw.ts. It updates param, m and v in place and returns no tensors. When
// another tensor shares one of their buffers (a clone or a reshape still alive), writing in place
// would change that tensor too: the kernel then writes three new tensors [param, m, v] instead,
// which the op assigns.
import { fusedKernel, sizeOf } from "./fused-util.js";

export const adamWKernel = fusedKernel("PeftlabAdamW", (call, fn) => {
  const ins = ["param", "grad", "m", "v"].map((n) => call.input(n));
  const [param, grad, m, v] = ins as [never, never, never, never];
  const n = sizeOf(call.input("param").shape);
  const refCount = (call.backend as unknown as { refCount(id: unknown): number }).refCount.bind(call.backend);
  const shared = [param, m, v].some((t) => refCount((t as { dataId: unknown }).dataId) > 1);
  let targets = [param, m, v];
  if (shared) {
    targets = [param, m, v].map(() => call.output(call.input("param").shape)) as [never, never, never];
    const heap = new Uint8Array((call.backend.wasm.HEAPU8.buffer as ArrayBuffer));
    [param, m, v].forEach((src, i) => heap.copyWithin(call.offset(targets[i]!), call.offset(src), call.offset(src) + 4 * n));
  }
  const hyper = ["lr", "beta1", "beta2", "eps", "weightDecay", "bc1", "bc2"].map((k) => call.attr<number>(k));
  if (n > 0) call.run(fn, call.offset(targets[0]!), call.offset(grad), call.offset(targets[1]!), call.offset(targets[2]!), n, ...hyper);
});
