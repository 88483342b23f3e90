// SwiGLU and its gradient on the native addon (native/src/kernels/PeftlabSwiGLU.c); the op and
// its contract are in src/runtime/tensor/ops/activations.ts.
import { fusedKernel, sizeOf } from "./fused-util.js";

export const swigluKernel = fusedKernel("PeftlabSwiGLU", (call, fn) => {
  const g = call.input("gate");
  const u = call.input("up");
  const y = call.output(g.shape);
  const n = sizeOf(g.shape);
  if (n > 0) call.run(fn, call.offset(g), call.offset(u), call.offset(y), n);
});

export const swigluGradKernel = fusedKernel("PeftlabSwiGLUGrad", (call, fn) => {
  const dy = call.input("dy");
  const g = call.input("gate");
  const u = call.input("up");
  const dg = call.output(g.shape);
  const du = call.output(u.shape);
  const n = sizeOf(g.shape);
  if (n > 0) call.run(fn, call.offset(dy), call.offset(g), call.offset(u), call.offset(dg), call.offset(du), n);
});
