// Element types of safetensors files and their conversions to and from JS typed arrays.
// All data is little-endian (the format's rule); conversions use typed-array views, so the
// host must be little-endian too (checked once in `assertLittleEndianHost`).

import { endianness } from "node:os";
import { bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from "../tensor/frozen/half.js";

/** Every dtype of the reference implementation with a whole-byte size: a file holding any of them is valid. */
export const DTYPE_SIZE = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  F64: 8, I64: 8, U64: 8,
} as const;

export type KnownDtype = keyof typeof DTYPE_SIZE;

/** The dtypes peftlab reads and writes. */
export type Dtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "U8" | "BOOL";
export const SUPPORTED_DTYPES: readonly Dtype[] = ["F64", "F32", "F16", "BF16", "I64", "I32", "U8", "BOOL"];

/** What `read` returns: floats become Float32Array, I32 Int32Array, I64 BigInt64Array, U8/BOOL Uint8Array. */
export type TensorData = Float32Array | Int32Array | Uint8Array | BigInt64Array;
/** What the writer accepts (F64 may also be given as Float64Array, I64 as Int32Array). */
export type WritableData = TensorData | Float64Array;

export interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

export interface WritableTensor {
  dtype: Dtype;
  shape: number[];
  data: WritableData;
}

export function isKnownDtype(d: unknown): d is KnownDtype {
  return typeof d === "string" && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, d);
}

export function isSupportedDtype(d: unknown): d is Dtype {
  return typeof d === "string" && (SUPPORTED_DTYPES as readonly string[]).includes(d);
}

export function assertLittleEndianHost(): void {
  if (endianness() !== "LE") throw new Error("safetensors: big-endian hosts are not supported");
}

/** Allocates the array `read` returns for `n` elements of `dtype`. */
export function allocateFor(dtype: Dtype, n: number): TensorData {
  switch (dtype) {
    case "F64": case "F32": case "F16": case "BF16": return new Float32Array(n);
    case "I32": return new Int32Array(n);
    case "I64": return new BigInt64Array(n);
    case "U8": case "BOOL": return new Uint8Array(n);
  }
}

/** True when the file bytes of `dtype` can be copied straight into the output array. */
export function isDirectCopy(dtype: Dtype): boolean {
  return dtype === "F32" || dtype === "I32" || dtype === "I64" || dtype === "U8" || dtype === "BOOL";
}

// ---------------------------------------------------------------- half precision

let f16Table: Float32Array | null = null;

export { bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits };

function f16Lookup(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToNumber(h);
  }
  return f16Table;
}

// ---------------------------------------------------------------- chunk conversion

/** Converts `count` elements of file bytes (`src`, aligned) into `out` starting at element `at`. */
export function decodeInto(dtype: Dtype, src: Uint8Array, count: number, out: TensorData, at: number): void {
  const o = out as Float32Array;
  switch (dtype) {
    case "F16": {
      const u16 = new Uint16Array(src.buffer, src.byteOffset, count);
      const table = f16Lookup();
      for (let i = 0; i < count; i++) o[at + i] = table[u16[i]!]!;
      return;
    }
    case "BF16": {
      const u16 = new Uint16Array(src.buffer, src.byteOffset, count);
      const outBits = new Uint32Array(o.buffer, o.byteOffset + at * 4, count);
      for (let i = 0; i < count; i++) outBits[i] = u16[i]! << 16;
      return;
    }
    case "F64": {
      const f64 = new Float64Array(src.buffer, src.byteOffset, count);
      for (let i = 0; i < count; i++) o[at + i] = f64[i]!;
      return;
    }
    default:
      throw new Error(`decodeInto: ${dtype} is copied directly, not decoded`);
  }
}

/** Bytes of elements [start, start + count) of `data` stored as `dtype` in the file, written into `dst`. */
export function encodeRange(dtype: Dtype, data: WritableData, start: number, count: number, dst: Uint8Array): void {
  switch (dtype) {
    case "F32": case "I32": case "U8": case "BOOL": {
      const bytes = new Uint8Array(data.buffer, data.byteOffset + start * data.BYTES_PER_ELEMENT, count * data.BYTES_PER_ELEMENT);
      dst.set(bytes);
      return;
    }
    case "F16": case "BF16": {
      const u16 = new Uint16Array(dst.buffer, dst.byteOffset, count);
      const enc = dtype === "F16" ? numberToF16Bits : numberToBf16Bits;
      const src = data as Float32Array;
      for (let i = 0; i < count; i++) u16[i] = enc(src[start + i]!);
      return;
    }
    case "F64": {
      const f64 = new Float64Array(dst.buffer, dst.byteOffset, count);
      const src = data as Float32Array | Float64Array;
      for (let i = 0; i < count; i++) f64[i] = src[start + i]!;
      return;
    }
    case "I64": {
      const i64 = new BigInt64Array(dst.buffer, dst.byteOffset, count);
      if (data instanceof BigInt64Array) i64.set(data.subarray(start, start + count));
      else for (let i = 0; i < count; i++) i64[i] = BigInt((data as Int32Array)[start + i]!);
      return;
    }
  }
}

/** Checks that `data` is an array the writer can store as `dtype`; returns a reason when it is not. */
export function writableMismatch(dtype: Dtype, data: WritableData): string | null {
  const ok: Record<Dtype, boolean> = {
    F32: data instanceof Float32Array,
    F16: data instanceof Float32Array,
    BF16: data instanceof Float32Array,
    F64: data instanceof Float32Array || data instanceof Float64Array,
    I32: data instanceof Int32Array,
    I64: data instanceof BigInt64Array || data instanceof Int32Array,
    U8: data instanceof Uint8Array,
    BOOL: data instanceof Uint8Array,
  };
  if (!ok[dtype]) return `${dtype} cannot be written from a ${data.constructor.name}`;
  if (dtype === "BOOL") {
    const bad = (data as Uint8Array).findIndex((v) => v > 1);
    if (bad >= 0) return `BOOL data must be 0 or 1, element ${bad} is ${(data as Uint8Array)[bad]}`;
  }
  return null;
}

// ---------------------------------------------------------------- helpers for loaders

export interface NonFinite {
  /** Number of NaN / ±Infinity elements. */
  count: number;
  nan: number;
  inf: number;
  /** Flat index and value of the first one. */
  firstIndex: number;
  firstValue: number;
}

/** Scans float data for NaN / Infinity; null when every element is finite (or the data is not float). */
export function findNonFinite(data: TensorData | Float64Array): NonFinite | null {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return null;
  let nan = 0;
  let inf = 0;
  let firstIndex = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v === 0) continue; // finite
    if (v !== v) nan++;
    else inf++;
    if (firstIndex < 0) firstIndex = i;
  }
  if (firstIndex < 0) return null;
  return { count: nan + inf, nan, inf, firstIndex, firstValue: data[firstIndex]! };
}

/** Integer tensor data as Int32Array; I64 values outside the int32 range are an error naming `what`. */
export function toInt32Array(t: Tensor, what: string): Int32Array {
  if (t.data instanceof Int32Array) return t.data;
  if (t.data instanceof Uint8Array) return Int32Array.from(t.data);
  if (t.data instanceof BigInt64Array) {
    const out = new Int32Array(t.data.length);
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i]!;
      if (v > 2147483647n || v < -2147483648n) {
        throw new Error(`${what}: element ${i} = ${v} does not fit in int32`);
      }
      out[i] = Number(v);
    }
    return out;
  }
  throw new Error(`${what}: expected an integer tensor, got ${t.dtype}`);
}

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
