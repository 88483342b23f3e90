// RMSNorm and its gradient on the native addon (native/src/kernels/PeftlabRMSNorm.c); the op and
// its contract are in src/runtime/ops/rms-norm.ts.
import { fusedKernel, sizeOf } from "./fused-util.js";

export const rmsNormKernel = fusedKernel("PeftlabRMSNorm", (call, fn) => {
  const x = call.input("x");
  const w = call.input("weight");
  const c = w.shape[0]!;
  const y = call.output(x.shape);
  const rows = sizeOf(x.shape) / c;
  if (rows > 0) call.run(fn, call.offset(x), call.offset(w), call.offset(y), rows, c, call.attr<number>("eps"));
});

export const rmsNormGradKernel = fusedKernel("PeftlabRMSNormGrad", (call, fn) => {
  const dy = call.input("dy");
  const x = call.input("x");
  const w = call.input("weight");
  const c = w.shape[0]!;
  const dx = call.output(x.shape);
  const rows = sizeOf(x.shape) / c;
  if (rows > 0) call.run(fn, call.offset(dy), call.offset(x), call.offset(w), call.offset(dx), rows, c, call.attr<number>("eps"));
});

export const rmsNormGradWeightKernel = fusedKernel("PeftlabRMSNormGradWeight", (call, fn) => {
  const dy = call.input("dy");
  const x = call.input("x");
  const c = x.shape[x.shape.length - 1]!;
  const dw = call.output([c]);
  const rows = sizeOf(x.shape) / c;
  call.run(fn, call.offset(dy), call.offset(x), call.offset(dw), rows, c, call.attr<number>("eps"));
});
