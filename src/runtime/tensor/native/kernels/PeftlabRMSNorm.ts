// RMSNorm and its gradient on the native addon (native/src/kernels/PeftlabRMSNorm.c); the op and
// its contract are in src/runtime/tensor/ops/rms-norm.ts.
import { fusedKernel, rowNormKernel, sizeOf } from "./fused-util.js";

export const rmsNormKernel = rowNormKernel("PeftlabRMSNorm", ["x", "weight"]);

export const rmsNormGradKernel = rowNormKernel("PeftlabRMSNormGrad", ["dy", "x", "weight"]);

export const rmsNormGradWeightKernel = fusedKernel("PeftlabRMSNormGradWeight", (call, fn) => {
  const dy = call.input("dy");
  const x = call.input("x");
  const c = x.shape[x.shape.length - 1]!;
  const dw = call.output([c]);
  const rows = sizeOf(x.shape) / c;
  call.run(fn, call.offset(dy), call.offset(x), call.offset(dw), rows, c, call.attr<number>("eps"));
});
