// Rotary embeddings and their gradient on the native addon (native/src/kernels/PeftlabRope.c);
// the op and its contract are in src/runtime/tensor/ops/rope.ts.
import { type FusedCall, fusedKernel } from "./fused-util.js";

function rope(call: FusedCall, fn: (...args: unknown[]) => void, inputName: string): void {
  const x = call.input(inputName);
  const cos = call.input("cos");
  const sin = call.input("sin");
  const heads = call.attr<number>("heads");
  const [b, t, width] = x.shape as [number, number, number];
  const d = cos.shape[1]!;
  if (width !== heads * d || d % 2 !== 0 || t > cos.shape[0]!) {
    throw new Error(`${call.kernel} (native): x [${x.shape}] does not fit ${heads} heads of the tables [${cos.shape}]`);
  }
  const y = call.output(x.shape);
  if (b * t > 0) call.run(fn, call.offset(x), call.offset(cos), call.offset(sin), call.offset(y), b, t, heads, d);
}

export const ropeKernel = fusedKernel("PeftlabRope", (call, fn) => rope(call, fn, "x"));
export const ropeGradKernel = fusedKernel("PeftlabRopeGrad", (call, fn) => rope(call, fn, "dy"));
