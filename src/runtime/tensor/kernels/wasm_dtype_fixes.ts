// Wrappers around tfjs-backend-wasm 4.22 kernels that give wrong results for some dtypes
// (measured against the cpu backend, see test/runtime/kernels.test.ts):
//
// - Cast to bool keeps the raw low byte (3 → 3, -2 → 254, 0.5 → 0) instead of x ≠ 0.
// - StridedSlice of int32 or bool always allocates a float32 output and copies 4-byte words:
//   int32 values come back reinterpreted as tiny floats, bool values as garbage.
// - ClipByValue of int32 clamps the bits as if they were floats.
// - Reverse of bool reads 4-byte elements (out-of-bounds access, can abort the wasm module).
// - Select with bool branches returns wrong values.
//
// Each wrapper handles only the broken dtype case in TypeScript (or by routing bool through
// int32) and calls the original kernel otherwise.

import * as tf from "../tf.js";
import { asWasmBackend, readNumbers, runWasmKernel, type WasmBackendLike } from "./wasm_util.js";

export type Wrapper = (original: tf.KernelFunc) => tf.KernelFunc;

/** Kernel functions we installed, so wrapping stays idempotent. */
const OURS = new WeakSet<tf.KernelFunc>();

function output(backend: WasmBackendLike, shape: number[], dtype: tf.DataType) {
  const info = backend.makeOutput(shape, dtype);
  return { info, values: backend.typedArrayFromHeap(info) };
}

const castToBool: Wrapper = (original) => (args) => {
  const x = args.inputs["x"]!;
  if (args.attrs?.["dtype"] !== "bool" || x.dtype === "bool") return original(args);
  const backend = asWasmBackend(args.backend, "Cast");
  const xv = readNumbers(backend, x, "Cast");
  const out = output(backend, x.shape, "bool");
  for (let i = 0; i < xv.length; i++) out.values[i] = xv[i] !== 0 ? 1 : 0;
  return out.info;
};

/** Casts with the (fixed) Cast kernel; the result must be disposed by the caller. */
function castInfo(x: tf.TensorInfo, dtype: tf.DataType, backend: unknown): tf.TensorInfo {
  return runWasmKernel("Cast", { x }, { dtype }, backend);
}

/** Runs `original` with bool inputs named in `names` cast to int32, and casts the result back. */
function viaInt32(names: string[]): Wrapper {
  return (original) => (args) => {
    if (!names.some((n) => args.inputs[n]?.dtype === "bool")) return original(args);
    const backend = asWasmBackend(args.backend, "viaInt32");
    const temps: tf.TensorInfo[] = [];
    const inputs: tf.NamedTensorInfoMap = { ...args.inputs };
    for (const n of names) {
      const t = inputs[n];
      if (t?.dtype === "bool") temps.push((inputs[n] = castInfo(t, "int32", backend)));
    }
    const result = original({ ...args, inputs }) as tf.TensorInfo;
    temps.push(result);
    const back = castInfo(result, "bool", backend);
    for (const t of temps) backend.disposeData(t.dataId);
    return back;
  };
}

/**
 * Changes the dtype label of a wasm tensor whose bytes are already right. Uses the backend's
 * internal dataIdMap (the only place the wasm backend keeps a tensor's dtype).
 */
function relabel(backend: unknown, info: tf.TensorInfo, dtype: tf.DataType): void {
  const map = (backend as { dataIdMap?: { get(id: tf.DataId): { dtype: tf.DataType } | undefined } }).dataIdMap;
  const entry = map?.get(info.dataId);
  if (!entry) throw new Error("StridedSlice (peftlab wasm fix): cannot find the output in the wasm backend's dataIdMap");
  entry.dtype = dtype;
  (info as { dtype: tf.DataType }).dtype = dtype;
}

// The general wasm StridedSlice path copies 4-byte words (bit-exact: wasm loads and stores never
// alter float bits) but labels the result float32. For int32 the words are the right ones, so we
// relabel; bool (1-byte elements) goes through int32. Index handling stays the kernel's own.
const stridedSliceInt: Wrapper = (original) => {
  const kernel: tf.KernelFunc = (args) => {
    const x = args.inputs["x"]!;
    if (x.dtype === "float32") return original(args);
    if (x.dtype === "bool") return viaInt32(["x"])(kernel)(args);
    const out = original(args) as tf.TensorInfo;
    if (out.dtype !== x.dtype) relabel(args.backend, out, x.dtype);
    return out;
  };
  return kernel;
};

const clipInt: Wrapper = (original) => (args) => {
  const x = args.inputs["x"]!;
  if (x.dtype !== "int32") return original(args);
  const lo = Number(args.attrs?.["clipValueMin"]);
  const hi = Number(args.attrs?.["clipValueMax"]);
  const backend = asWasmBackend(args.backend, "ClipByValue");
  const xv = readNumbers(backend, x, "ClipByValue");
  const out = output(backend, x.shape, "int32");
  for (let i = 0; i < xv.length; i++) out.values[i] = Math.min(hi, Math.max(lo, xv[i]!));
  return out.info;
};

const FIXES: [string, Wrapper][] = [
  ["Cast", castToBool],
  ["StridedSlice", stridedSliceInt],
  ["ClipByValue", clipInt],
  ["Reverse", viaInt32(["x"])],
  ["Select", viaInt32(["t", "e"])],
];

/** Wraps each named wasm kernel once (idempotent). Returns the names it wrapped. */
export function wrapWasmKernels(wrappers: readonly (readonly [string, Wrapper])[]): string[] {
  const wrapped: string[] = [];
  for (const [name, wrap] of wrappers) {
    const config = tf.getKernel(name, "wasm");
    if (!config || OURS.has(config.kernelFunc)) continue;
    const kernelFunc = wrap(config.kernelFunc);
    OURS.add(kernelFunc);
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ ...config, kernelFunc });
    wrapped.push(name);
  }
  return wrapped;
}

/** Wraps the broken wasm kernels once. Returns the names it wrapped. */
export function fixWasmKernelDtypes(): string[] {
  return wrapWasmKernels(FIXES);
}
