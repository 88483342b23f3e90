// The attention core and its gradient on the native addon (native/src/kernels/PeftlabAttention.c);
// the op and its contract are in src/runtime/tensor/ops/attention-core.ts.
import { type FusedCall, fusedKernel } from "./fused-util.js";

function dims(call: FusedCall): number[] {
  const q = call.input("q");
  const [b, t] = q.shape as [number, number, number];
  const heads = call.attr<number>("heads");
  const kvHeads = call.attr<number>("kvHeads");
  const d = call.attr<number>("headDim");
  return [b, t, heads, kvHeads, d, call.attr<boolean>("causal") ? 1 : 0, call.attr<boolean>("hasHeadMask") ? 1 : 0];
}

export const attentionKernel = fusedKernel("PeftlabAttention", (call, fn) => {
  const [q, k, v, pad, hm] = ["q", "k", "v", "padMask", "headMask"].map((n) => call.input(n)) as [never, never, never, never, never];
  const d = dims(call);
  const [b, t, h] = d as [number, number, number];
  const out = call.output(call.input("q").shape);
  const lse = call.output([b, h, t, 2]);
  if (b > 0) call.run(fn, ...[q, k, v, pad, hm, out, lse].map((x) => call.offset(x)), ...d);
});

export const attentionGradKernel = fusedKernel("PeftlabAttentionGrad", (call, fn) => {
  const ins = ["dy", "q", "k", "v", "padMask", "headMask", "lse"].map((n) => call.input(n));
  const d = dims(call);
  const dq = call.output(call.input("q").shape);
  const dk = call.output(call.input("k").shape);
  const dv = call.output(call.input("v").shape);
  const dm = call.output([d[2]!]);
  if (d[0]! > 0) call.run(fn, ...[...ins, dq, dk, dv, dm].map((x) => call.offset(x)), ...d);
});
