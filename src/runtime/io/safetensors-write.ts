// Writing safetensors files: validated input, the reference writer's order and padding, data written
// tensor by tensor in bounded chunks, atomically (temporary file + rename).

import { withAtomicFile, writeAll } from "./atomic.js";
import {
  DTYPE_SIZE, encodeRange, isSupportedDtype, numel, SUPPORTED_DTYPES, writableMismatch, type WritableTensor,
} from "./safetensors-dtypes.js";
import { METADATA_KEY, SafetensorsError, serializeHeader, writeOrder, type HeaderEntry } from "./safetensors-header.js";

export interface WriteOptions {
  /** Bytes converted per write (default 8 MiB). */
  chunkBytes?: number;
}

/**
 * Writes `tensors` to `path` as safetensors, atomically. Tensors are stored in the reference writer's
 * order (larger element size first, then name), so the output is byte-for-byte deterministic.
 * Metadata values must be strings. Errors are SafetensorsErrors naming the file and tensor.
 */
export function writeSafetensors(
  path: string,
  tensors: Record<string, WritableTensor>,
  metadata?: Record<string, string>,
  opts: WriteOptions = {},
): void {
  const entries = planEntries(path, tensors);
  checkMetadata(path, metadata);
  const header = serializeHeader(entries, metadata);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(header.length), true);
  const chunk = Math.max(8, Math.floor((opts.chunkBytes ?? 8 << 20) / 8) * 8);
  withAtomicFile(path, (fd) => {
    writeAll(fd, prefix);
    writeAll(fd, header);
    const scratch = new Uint8Array(new ArrayBuffer(chunk));
    for (const e of entries) writeTensor(fd, tensors[e.name]!, scratch);
  });
}

/** Validates every tensor and assigns offsets in write order. */
function planEntries(path: string, tensors: Record<string, WritableTensor>): HeaderEntry[] {
  const items = Object.entries(tensors).map(([name, t]) => {
    checkTensor(path, name, t);
    return { name, dtype: t.dtype, shape: [...t.shape] };
  });
  let at = 0;
  return writeOrder(items).map((it) => {
    const bytes = numel(it.shape) * DTYPE_SIZE[it.dtype];
    const e: HeaderEntry = { ...it, begin: at, end: at + bytes };
    at += bytes;
    return e;
  });
}

function checkTensor(path: string, name: string, t: WritableTensor): void {
  const fail = (detail: string): never => {
    throw new SafetensorsError(path, "InvalidTensor", detail, name);
  };
  if (name === "" || name === METADATA_KEY) fail(`${JSON.stringify(name)} is not a valid tensor name`);
  if (!isSupportedDtype(t.dtype)) fail(`dtype ${JSON.stringify(t.dtype)} cannot be written (supported: ${SUPPORTED_DTYPES.join(", ")})`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`shape must be a list of non-negative integers, got ${JSON.stringify(t.shape)}`);
  }
  const n = numel(t.shape);
  if (t.data.length !== n) fail(`shape [${t.shape.join(", ")}] has ${n} elements but the data has ${t.data.length}`);
  const bad = writableMismatch(t.dtype, t.data);
  if (bad) fail(bad);
}

function checkMetadata(path: string, metadata: Record<string, string> | undefined): void {
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (typeof v !== "string") {
      throw new SafetensorsError(path, "InvalidMetadata", `metadata value of ${JSON.stringify(k)} must be a string, got ${JSON.stringify(v)}`);
    }
  }
}

function writeTensor(fd: number, t: WritableTensor, scratch: Uint8Array): void {
  const size = DTYPE_SIZE[t.dtype];
  if ((t.dtype === "F32" || t.dtype === "I32" || t.dtype === "U8" || t.dtype === "BOOL") && t.data.BYTES_PER_ELEMENT === size) {
    // Stored as in memory (little-endian, checked at open): written from the array itself.
    writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.length * size));
    return;
  }
  const perChunk = Math.floor(scratch.length / size);
  const n = t.data.length;
  for (let start = 0; start < n; start += perChunk) {
    const count = Math.min(perChunk, n - start);
    const dst = scratch.subarray(0, count * size);
    encodeRange(t.dtype, t.data, start, count, dst);
    writeAll(fd, dst);
  }
}
