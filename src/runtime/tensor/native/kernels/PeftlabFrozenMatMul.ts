// The frozen-weight product and its input gradient on the native addon
// (native/src/kernels/PeftlabFrozenMatMul.c); the op and its contract are in
// src/runtime/tensor/frozen/ops.ts. The weight is not a tensor: the attribute `weight` is its id in
// the addon's store, `out` and `in` its shape (checked there).
import { fusedKernel } from "./fused-util.js";

export const frozenMatMulKernel = fusedKernel("PeftlabFrozenMatMul", (call, fn) => {
  const x = call.input("x");
  const out = call.attr<number>("out");
  const inF = call.attr<number>("in");
  const n = x.shape[0]!;
  if (x.shape.length !== 2 || x.shape[1] !== inF) throw new Error(`PeftlabFrozenMatMul (native): x must be [N, ${inF}], got [${x.shape}]`);
  const y = call.output([n, out]);
  call.run(fn, call.attr<number>("weight"), call.offset(x), call.offset(y), n, out, inF);
});

export const frozenMatMulGradKernel = fusedKernel("PeftlabFrozenMatMulGrad", (call, fn) => {
  const dy = call.input("dy");
  const out = call.attr<number>("out");
  const inF = call.attr<number>("in");
  const n = dy.shape[0]!;
  if (dy.shape.length !== 2 || dy.shape[1] !== out) throw new Error(`PeftlabFrozenMatMulGrad (native): dy must be [N, ${out}], got [${dy.shape}]`);
  const dx = call.output([n, inF]);
  call.run(fn, call.attr<number>("weight"), call.offset(dy), call.offset(dx), n, out, inF);
});
