// The storage formats of frozen weights, in JavaScript: what the native store (native/src/quant.c)
// computes, written from the same definitions with one float32 rounding per operation, so both give
// the same bits. Used where the addon is not available, and as the reference the native store is
// tested against.
//
//   f32   as is.
//   bf16  / f16  16-bit floats (round to nearest even from float32).
//   int8  per row (output channel): scale = absmax / 127, q = round(x / scale) (ties away from 0).
//   nf4   QLoRA's 4-bit NormalFloat: flat blocks of 64 values, each code the level nearest to
//         x / absmax (two per byte, the earlier value in the high nibble); the block absmax values are
//         double-quantised: minus their mean, in blocks of 256, as 8-bit codes of bitsandbytes' signed
//         dynamic map times the block's own absmax (float32).
import { bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from "./half.js";

export type Precision = "f32" | "bf16" | "f16" | "int8" | "nf4";
export const PRECISIONS: readonly Precision[] = ["f32", "bf16", "f16", "int8", "nf4"];
/** The native store's format numbers (weights.h). */
export const FORMAT_CODE: Record<Precision, number> = { f32: 0, bf16: 1, f16: 2, int8: 3, nf4: 4 };

export const NF4_BLOCK = 64;
export const NF4_BLOCK2 = 256;

const f = Math.fround;

/**
 * bitsandbytes' NF4 code: the 16 NormalFloat levels (quantiles of N(0, 1) at evenly spaced
 * probabilities, 8 positive and 7 negative, normalised by the largest, plus an exact 0), as float32.
 */
export const NF4_LEVELS: Float32Array = Float32Array.of(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171066284, 0.44070982933044434, 0.5626170039176941,
  0.7229568362236023, 1.0,
);

/**
 * bitsandbytes' create_dynamic_map(signed = true, max_exponent_bits = 7, total_bits = 8), ascending:
 * for i = 0..6 the 2^i means of neighbouring points of linspace(0.1, 1, 2^i + 1), times 10^(i − 6),
 * with both signs, then 0 and 1 (256 values, float32).
 */
export function dynamicMap(): Float32Array {
  const pow10 = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
  const out: number[] = [];
  for (let i = 0; i < 7; i++) {
    const points = 2 ** i + 1;
    const scale = f(pow10[i]!);
    for (let j = 0; j + 1 < points; j++) {
      const b0 = f(0.1 + (0.9 * j) / (points - 1));
      const b1 = f(0.1 + (0.9 * (j + 1)) / (points - 1));
      const mean = f(f(b0 + b1) / 2);
      out.push(f(scale * mean), -f(scale * mean));
    }
  }
  out.push(0, 1);
  return Float32Array.from(out).sort();
}

/** Midpoints between neighbouring values of an ascending table (float32). */
function midpoints(levels: Float32Array): Float32Array {
  return Float32Array.from({ length: levels.length - 1 }, (_, i) => f(f(levels[i]! + levels[i + 1]!) * 0.5));
}

const NF4_MID = midpoints(NF4_LEVELS);
let dyn: { map: Float32Array; mid: Float32Array } | null = null;
function dynamic(): { map: Float32Array; mid: Float32Array } {
  dyn ??= { map: dynamicMap(), mid: midpoints(dynamicMap()) };
  return dyn;
}

/** Index of the level nearest to v: the number of midpoints below v (a tie goes to the lower level). */
export function nearestLevel(mid: Float32Array, v: number): number {
  let lo = 0;
  let hi = mid.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (mid[m]! < v) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** A quantised matrix [rows, cols] in one of the formats. */
export interface Quantised {
  precision: Precision;
  rows: number;
  cols: number;
  /** f32: values; bf16/f16: bits; int8: codes; nf4: two codes per byte. */
  data: Float32Array | Uint16Array | Int8Array | Uint8Array;
  /** int8: one scale per row. */
  scales?: Float32Array;
  /** nf4: the 8-bit codes of the block scales, one per 64 values. */
  absmax8?: Uint8Array;
  /** nf4: one float32 per 256 block scales. */
  scale2?: Float32Array;
  /** nf4: the mean subtracted from the block scales. */
  offset?: number;
}

/** Bytes a quantised [rows, cols] matrix holds (codes and scales). */
export function storageBytes(precision: Precision, rows: number, cols: number): number {
  const n = rows * cols;
  switch (precision) {
    case "f32": return n * 4;
    case "bf16": case "f16": return n * 2;
    case "int8": return n + rows * 4;
    case "nf4": {
      const blocks = Math.ceil(n / NF4_BLOCK);
      return Math.ceil(n / 2) + blocks + Math.ceil(blocks / NF4_BLOCK2) * 4;
    }
  }
}

/** Storage bytes per parameter for large matrices (nf4: 0.5 + 1/64 + 4/(64·256)). */
export function bytesPerParam(precision: Precision): number {
  switch (precision) {
    case "f32": return 4;
    case "bf16": case "f16": return 2;
    case "int8": return 1;
    case "nf4": return 0.5 + 1 / NF4_BLOCK + 4 / (NF4_BLOCK * NF4_BLOCK2);
  }
}

const roundHalfAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));
/** max(m, |v|), where a NaN v leaves m as it is (a NaN weight does not become the scale). */
const maxAbs = (m: number, v: number): number => (Math.abs(v) > m ? Math.abs(v) : m);

/** Quantises float32 values (row-major [rows, cols]) into `precision`. */
export function quantise(values: Float32Array, rows: number, cols: number, precision: Precision): Quantised {
  const n = rows * cols;
  if (values.length !== n) throw new Error(`quantise: expected ${rows}×${cols} = ${n} values, got ${values.length}`);
  switch (precision) {
    case "f32": return { precision, rows, cols, data: Float32Array.from(values) };
    case "bf16": return { precision, rows, cols, data: Uint16Array.from(values, numberToBf16Bits) };
    case "f16": return { precision, rows, cols, data: Uint16Array.from(values, numberToF16Bits) };
    case "int8": {
      const data = new Int8Array(n);
      const scales = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        let absmax = 0;
        for (let c = 0; c < cols; c++) absmax = maxAbs(absmax, values[r * cols + c]!);
        const scale = f(absmax / 127);
        scales[r] = scale;
        for (let c = 0; c < cols; c++) {
          const q = scale > 0 ? roundHalfAway(f(values[r * cols + c]! / scale)) : 0;
          data[r * cols + c] = Math.max(-127, Math.min(127, q));
        }
      }
      return { precision, rows, cols, data, scales };
    }
    case "nf4": return quantiseNf4(values, rows, cols);
  }
}

function quantiseNf4(values: Float32Array, rows: number, cols: number): Quantised {
  const n = rows * cols;
  const blocks = Math.ceil(n / NF4_BLOCK);
  const data = new Uint8Array(Math.ceil(n / 2));
  const absmax = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const s = b * NF4_BLOCK;
    const e = Math.min(s + NF4_BLOCK, n);
    let m = 0;
    for (let i = s; i < e; i++) m = maxAbs(m, values[i]!);
    absmax[b] = m;
    for (let i = s; i < e; i++) {
      const code = nearestLevel(NF4_MID, m > 0 ? f(values[i]! / m) : 0);
      data[i >> 1] |= i & 1 ? code : code << 4;
    }
  }
  // double quantisation of the block scales
  let sum = 0;
  for (let b = 0; b < blocks; b++) sum += absmax[b]!;
  const offset = blocks ? f(sum / blocks) : 0;
  const groups = Math.ceil(blocks / NF4_BLOCK2);
  const scale2 = new Float32Array(groups);
  const absmax8 = new Uint8Array(blocks);
  const { mid } = dynamic();
  for (let g = 0; g < groups; g++) {
    const s = g * NF4_BLOCK2;
    const e = Math.min(s + NF4_BLOCK2, blocks);
    let m = 0;
    for (let b = s; b < e; b++) m = maxAbs(m, f(absmax[b]! - offset));
    scale2[g] = m;
    for (let b = s; b < e; b++) absmax8[b] = nearestLevel(mid, m > 0 ? f(f(absmax[b]! - offset) / m) : 0);
  }
  return { precision: "nf4", rows, cols, data, absmax8, scale2, offset };
}

/** The dequantised scale of nf4 block b. */
export function nf4BlockScale(q: Quantised, b: number): number {
  const map = dynamic().map;
  return f(f(map[q.absmax8![b]!]! * q.scale2![Math.floor(b / NF4_BLOCK2)]!) + q.offset!);
}

/** The float32 values of a quantised matrix. */
export function dequantise(q: Quantised, out: Float32Array = new Float32Array(q.rows * q.cols)): Float32Array {
  const n = q.rows * q.cols;
  switch (q.precision) {
    case "f32": out.set(q.data as Float32Array); break;
    case "bf16": for (let i = 0; i < n; i++) out[i] = bf16BitsToNumber((q.data as Uint16Array)[i]!); break;
    case "f16": for (let i = 0; i < n; i++) out[i] = f16BitsToNumber((q.data as Uint16Array)[i]!); break;
    case "int8":
      for (let r = 0; r < q.rows; r++) {
        const s = q.scales![r]!;
        for (let c = 0; c < q.cols; c++) out[r * q.cols + c] = f((q.data as Int8Array)[r * q.cols + c]! * s);
      }
      break;
    case "nf4": {
      const codes = q.data as Uint8Array;
      for (let b = 0; b * NF4_BLOCK < n; b++) {
        const s = nf4BlockScale(q, b);
        for (let i = b * NF4_BLOCK; i < Math.min(n, (b + 1) * NF4_BLOCK); i++) {
          const byte = codes[i >> 1]!;
          out[i] = f(NF4_LEVELS[i & 1 ? byte & 0xf : byte >> 4]! * s);
        }
      }
      break;
    }
  }
  return out;
}
