// The GELU activations and their gradient on the native addon (native/src/kernels/PeftlabGelu.c);
// the op and its contract are in src/runtime/tensor/ops/activations.ts.
import { type FusedCall, fusedKernel, sizeOf } from "./fused-util.js";

const KIND: Record<string, number> = { gelu: 0, gelu_new: 1, silu: 2 };

function kindOf(call: FusedCall): number {
  const kind = call.attr<string>("kind");
  const k = KIND[kind];
  if (k === undefined) throw new Error(`${call.kernel} (native): unknown kind "${kind}" (expected ${Object.keys(KIND).join(", ")})`);
  return k;
}

export const geluKernel = fusedKernel("PeftlabGelu", (call, fn) => {
  const x = call.input("x");
  const y = call.output(x.shape);
  const n = sizeOf(x.shape);
  if (n > 0) call.run(fn, call.offset(x), call.offset(y), n, kindOf(call));
});

export const geluGradKernel = fusedKernel("PeftlabGeluGrad", (call, fn) => {
  const dy = call.input("dy");
  const x = call.input("x");
  const dx = call.output(x.shape);
  const n = sizeOf(x.shape);
  if (n > 0) call.run(fn, call.offset(dy), call.offset(x), call.offset(dx), n, kindOf(call));
});
