// Filling a float32 variable in place: the loader reads a tensor's bytes from the file straight into
// the memory the backend keeps the variable in, instead of into a JS array that is then copied.
//
// tfjs-backend-wasm (and the native backend, which runs its kernels on the same memory) keeps a
// tensor at `backend.dataIdMap.get(dataId).memoryOffset` in `backend.wasm.HEAPU8`; the cpu backend
// keeps a typed array at `backend.data.get(dataId).values`. Other backends (TensorFlow, WebGPU) keep
// their data elsewhere: there the loader makes a tensor and assigns it.

import * as tf from "../tensor/tf.js";

interface Stored {
  memoryOffset?: number | null;
  values?: unknown;
  refCount?: number;
}

interface BackendInternals {
  wasm?: { HEAPU8?: Uint8Array };
  dataIdMap?: { get(dataId: tf.DataId): Stored | undefined };
  data?: { get(dataId: tf.DataId): Stored | undefined };
}

/**
 * A Float32Array over the backend memory holding `v`, to be written in place, or null when the
 * backend does not allow it or the data is shared with another tensor (refCount above 1). The view
 * is only valid until the next tensor is allocated (wasm memory may grow and move).
 */
export function variableMemory(v: tf.Tensor): Float32Array | null {
  if (v.dtype !== "float32" || v.isDisposed) return null;
  const b = tf.engine().backend as unknown as BackendInternals;
  const heap = b.wasm?.HEAPU8;
  if (heap && typeof b.dataIdMap?.get === "function") {
    const s = b.dataIdMap.get(v.dataId);
    if (!s || s.refCount !== 1 || typeof s.memoryOffset !== "number") return null;
    return new Float32Array(heap.buffer, heap.byteOffset + s.memoryOffset, v.size);
  }
  if (typeof b.data?.get === "function") {
    const s = b.data.get(v.dataId);
    if (!s || s.refCount !== 1 || !(s.values instanceof Float32Array) || s.values.length !== v.size) return null;
    return s.values;
  }
  return null;
}
