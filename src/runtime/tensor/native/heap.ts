// Zero-copy access to the wasm backend's memory for the native kernels.
//
// tfjs-backend-wasm keeps every tensor in its WebAssembly memory: `backend.wasm.HEAPU8` views it
// and a tensor's bytes start at `backend.dataIdMap.get(dataId).memoryOffset`. A native kernel gets
// the memory's ArrayBuffer and byte offsets and works in place. Read the buffer again after any
// `makeOutput`: an allocation may grow the memory, which replaces the ArrayBuffer.
import type * as tf from "../tf.js";

/** The internals of BackendWasm that the native kernels use. */
export interface WasmInternals {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** Checks that `backend` is tfjs-backend-wasm (duck-typed) and returns its internals. */
export function wasmInternals(backend: unknown, kernel: string): WasmInternals {
  const b = backend as Partial<WasmInternals> | null;
  if (!b?.wasm?.HEAPU8 || typeof b.dataIdMap?.get !== "function" || typeof b.makeOutput !== "function") {
    throw new Error(`${kernel} (native): the backend is not tfjs-backend-wasm`);
  }
  return b as WasmInternals;
}

/** The memory's current ArrayBuffer (read it after the last makeOutput of a kernel). */
export function heapOf(b: WasmInternals): ArrayBuffer {
  return b.wasm.HEAPU8.buffer as ArrayBuffer;
}

/** Byte offset of a tensor's data in the memory. */
export function offsetOf(b: WasmInternals, t: tf.TensorInfo, kernel: string): number {
  const entry = b.dataIdMap.get(t.dataId);
  if (!entry) throw new Error(`${kernel} (native): tensor of shape [${t.shape.join(", ")}] has no data on the wasm backend`);
  return entry.memoryOffset;
}
