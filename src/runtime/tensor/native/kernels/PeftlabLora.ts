// The LoRA path and its gradient on the native addon (native/src/kernels/PeftlabLora.c); the op
// and its contract are in src/runtime/tensor/ops/lora-delta.ts. The optional input `base` is added to the
// output. The second output is h·scale (= x·Aᵀ·scale), which the backward reads.
import { fusedKernel } from "./fused-util.js";

export const loraKernel = fusedKernel("PeftlabLora", (call, fn) => {
  const x = call.input("x");
  const a = call.input("a");
  const b = call.input("b");
  const [n, inF] = x.shape as [number, number];
  const [r] = a.shape as [number, number];
  const [outF] = b.shape as [number, number];
  const base = call.attr<boolean>("hasBase") ? call.input("base") : null;
  if (base && (base.shape[0] !== n || base.shape[1] !== outF)) throw new Error(`PeftlabLora (native): base must be [${n}, ${outF}], got [${base.shape}]`);
  const delta = call.output([n, outF]);
  const hs = call.output([n, r]);
  if (n > 0) call.run(fn, call.offset(x), call.offset(a), call.offset(b), base ? call.offset(base) : -1, call.offset(delta), call.offset(hs), n, inF, r, outF, call.attr<number>("scale"));
});

export const loraGradKernel = fusedKernel("PeftlabLoraGrad", (call, fn) => {
  const dy = call.input("dy");
  const x = call.input("x");
  const a = call.input("a");
  const b = call.input("b");
  const hs = call.input("h");
  const [n, inF] = x.shape as [number, number];
  const [r] = a.shape as [number, number];
  const [outF] = b.shape as [number, number];
  const dx = call.output(x.shape);
  const da = call.output(a.shape);
  const db = call.output(b.shape);
  if (n === 0) throw new Error("PeftlabLoraGrad (native): x has no rows");
  call.run(fn, call.offset(dy), call.offset(x), call.offset(a), call.offset(b), call.offset(hs), call.offset(dx), call.offset(da), call.offset(db), n, inF, r, outF, call.attr<number>("scale"));
});
