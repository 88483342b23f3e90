// Softmax cross-entropy and its gradient on the native addon
// (native/src/kernels/PeftlabSoftmaxCrossEntropy.c); the op and its contract are in
// src/runtime/tensor/ops/cross-entropy.ts.
import { fusedKernel } from "./fused-util.js";

export const softmaxCrossEntropyKernel = fusedKernel("PeftlabSoftmaxCrossEntropy", (call, fn) => {
  const logits = call.input("logits");
  const targets = call.input("targets", "int32");
  const weights = call.input("weights");
  const [n, c] = logits.shape as [number, number];
  const loss = call.output([]);
  const lse = call.output([n]);
  call.run(fn, call.offset(logits), call.offset(targets), call.offset(weights), call.offset(loss), call.offset(lse), n, c);
});

export const softmaxCrossEntropyGradKernel = fusedKernel("PeftlabSoftmaxCrossEntropyGrad", (call, fn) => {
  const dy = call.input("dy");
  const logits = call.input("logits");
  const targets = call.input("targets", "int32");
  const weights = call.input("weights");
  const lse = call.input("lse");
  const [n, c] = logits.shape as [number, number];
  const dl = call.output(logits.shape);
  if (n > 0) call.run(fn, call.offset(dy), call.offset(logits), call.offset(targets), call.offset(weights), call.offset(lse), call.offset(dl), n, c);
});
