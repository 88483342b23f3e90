// The small surface of the wasm backend that our TypeScript kernels use.
//
// tfjs-backend-wasm's own JS kernels (Unique, SparseReshape, …) read inputs with
// `backend.readSync(dataId)` (a copy out of the wasm heap) and allocate outputs with
// `backend.makeOutput(shape, dtype)`, whose memory they then fill through
// `backend.typedArrayFromHeap(out)` (a view into the heap). A view must be taken after the
// last allocation: malloc may grow the heap and detach older views.

import * as tf from "../tf.js";

/** The methods of BackendWasm that our kernels call. */
export interface WasmBackendLike {
  readSync(dataId: tf.DataId): tf.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.TypedArray): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** Checks that `backend` is the wasm backend (duck-typed) and returns it typed. */
export function asWasmBackend(backend: unknown, kernel: string): WasmBackendLike {
  const b = backend as Partial<WasmBackendLike> | null;
  if (!b || typeof b.readSync !== "function" || typeof b.makeOutput !== "function" || typeof b.typedArrayFromHeap !== "function") {
    throw new Error(`${kernel} (peftlab wasm kernel): the backend is not tfjs-backend-wasm`);
  }
  return b as WasmBackendLike;
}

/** Reads a numeric tensor's values (a copy). */
export function readNumbers(backend: WasmBackendLike, info: tf.TensorInfo, kernel: string): Float32Array | Int32Array | Uint8Array {
  const values = backend.readSync(info.dataId);
  if (values instanceof Float32Array || values instanceof Int32Array || values instanceof Uint8Array) return values;
  throw new Error(`${kernel}: expected a numeric tensor, got dtype ${info.dtype}`);
}

/**
 * Runs another kernel registered for wasm directly (no engine, no tape): the way composite
 * kernels call building blocks. Intermediate results must be released with `backend.disposeData`.
 */
export function runWasmKernel(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap, backend: unknown): tf.TensorInfo {
  const config = tf.getKernel(name, "wasm");
  if (!config) throw new Error(`kernel ${name} is not registered for the wasm backend`);
  const out = config.kernelFunc({ inputs, backend: backend as object, attrs });
  if (Array.isArray(out)) throw new Error(`kernel ${name} returned ${out.length} outputs, expected one`);
  return out;
}
