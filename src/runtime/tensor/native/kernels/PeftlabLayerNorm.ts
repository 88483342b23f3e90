// LayerNorm and its gradient on the native addon (native/src/kernels/PeftlabLayerNorm.c); the op
// and its contract are in src/runtime/ops/layer-norm.ts.
import { fusedKernel, sizeOf } from "./fused-util.js";

export const layerNormKernel = fusedKernel("PeftlabLayerNorm", (call, fn) => {
  const x = call.input("x");
  const w = call.input("weight");
  const b = call.input("bias");
  const c = w.shape[0]!;
  const y = call.output(x.shape);
  const rows = sizeOf(x.shape) / c;
  if (rows > 0) call.run(fn, call.offset(x), call.offset(w), call.offset(b), call.offset(y), rows, c, call.attr<number>("eps"));
});

export const layerNormGradKernel = fusedKernel("PeftlabLayerNormGrad", (call, fn) => {
  const dy = call.input("dy");
  const x = call.input("x");
  const w = call.input("weight");
  const c = w.shape[0]!;
  const dx = call.output(x.shape);
  const rows = sizeOf(x.shape) / c;
  if (rows > 0) call.run(fn, call.offset(dy), call.offset(x), call.offset(w), call.offset(dx), rows, c, call.attr<number>("eps"));
});
