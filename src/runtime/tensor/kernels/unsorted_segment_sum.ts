// UnsortedSegmentSum for the wasm backend (tfjs-backend-wasm 4.22 has none). tf.gather's gradient
// is built on it, so without it no embedding table can be trained on wasm.
//
// out[s, ...] = Σ_{i : ids[i] = s} x[i, ...]; ids outside [0, numSegments) are dropped (as in
// TensorFlow). `segmentIds` may have any rank k; it must match the first k dims of x.

import * as tf from "../tf.js";
import { asWasmBackend, readNumbers } from "./wasm_util.js";

const NAME = "UnsortedSegmentSum";

/** Output shape for x [...idsShape, ...inner] → [numSegments, ...inner]. */
function outputShape(x: tf.TensorInfo, ids: tf.TensorInfo, numSegments: number): number[] {
  const k = ids.shape.length;
  const ok = k <= x.shape.length && ids.shape.every((d, i) => d === x.shape[i]);
  if (!ok) throw new Error(`${NAME}: segmentIds shape [${ids.shape}] must be a prefix of x shape [${x.shape}]`);
  if (!Number.isInteger(numSegments) || numSegments < 0) throw new Error(`${NAME}: numSegments must be a non-negative integer, got ${numSegments}`);
  return [numSegments, ...x.shape.slice(k)];
}

/** The kernel function, exported for tests. */
export const unsortedSegmentSumWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = asWasmBackend(backend, NAME);
  const x = inputs["x"];
  const ids = inputs["segmentIds"];
  if (!x || !ids) throw new Error(`${NAME}: expected inputs x and segmentIds`);
  if (ids.dtype !== "int32") throw new Error(`${NAME}: segmentIds must be int32, got ${ids.dtype}`);
  if (x.dtype !== "float32" && x.dtype !== "int32") throw new Error(`${NAME}: x must be float32 or int32, got ${x.dtype}`);
  const numSegments = Number(attrs?.["numSegments"]);
  const shape = outputShape(x, ids, numSegments);

  const xv = readNumbers(wasm, x, NAME);
  const iv = readNumbers(wasm, ids, NAME);
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  const out = wasm.makeOutput(shape, x.dtype);
  const ov = wasm.typedArrayFromHeap(out); // after the allocation: see wasm_util.ts
  ov.fill(0); // wasm malloc does not zero memory
  for (let i = 0; i < iv.length; i++) {
    const s = iv[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) ov[dst + j] += xv[src + j]!;
  }
  return out;
};

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: "wasm",
  kernelFunc: unsortedSegmentSumWasm,
};
