// Frozen weights: base matrices [rows, cols] (a Linear's [out, in] as Hugging Face stores it, or
// an embedding table [V, C]) kept outside the tensors, in float32, bfloat16, float16, int8 or nf4.
//
// Where the native addon loads (whatever the backend), a weight lives in memory the addon
// allocates with malloc, outside the wasm heap (which cannot grow past 4 GB), and the native
// kernels read it directly; the source bytes are quantised in C, on the thread pool, tensor by
// tensor or rows at a time, so a loader never holds two float32 copies. Without the addon it is
// held in JavaScript arrays in the same format (./formats.ts). Either way `dispose()` frees it; a
// FinalizationRegistry frees a weight that was dropped without it.
import fs from "node:fs";
import * as tf from "../tf.js";
import { loadAddon, NativeUnavailable, type NativeAddon } from "../native/addon.js";
import { bf16BitsToNumber, f16BitsToNumber } from "./half.js";
import { dequantise, FORMAT_CODE, NF4_BLOCK, PRECISIONS, quantise, storageBytes, type Precision, type Quantised } from "./formats.js";

/** The dtypes a weight can be written from (safetensors names). */
export type SourceDtype = "F32" | "BF16" | "F16";
const SOURCE_CODE: Record<SourceDtype, number> = { F32: 0, BF16: 1, F16: 2 };
const SOURCE_BYTES: Record<SourceDtype, number> = { F32: 4, BF16: 2, F16: 2 };

/** The addon's frozen-weight functions (native/src/weights.c). */
interface WeightStore {
  weightsCreate(format: number, rows: number, cols: number): number;
  weightsWrite(id: number, rowStart: number, rows: number, bytes: ArrayBufferView, dtype: number): void;
  weightsFinish(id: number): void;
  weightsFree(id: number): boolean;
  weightsRead(id: number, rowStart: number, rows: number, out: Float32Array): void;
  weightsRaw(id: number, part: number): ArrayBuffer;
  weightsStats(): { bytes: number; peakBytes: number; count: number };
  weightsResetPeak(): void;
  weightsTables(): { nf4: ArrayBuffer; dynamic: ArrayBuffer };
}

let storeCache: { store: WeightStore | null; reason: string } | null = null;

/** The addon's store, or null (with the reason) when the addon cannot be used. */
export function nativeStore(): WeightStore | null {
  if (!storeCache) {
    try {
      const addon: NativeAddon = loadAddon().addon;
      const ok = typeof addon["weightsCreate"] === "function";
      storeCache = { store: ok ? (addon as unknown as WeightStore) : null, reason: ok ? "" : "the addon predates frozen weights (rebuild it)" };
    } catch (err) {
      storeCache = { store: null, reason: err instanceof NativeUnavailable ? err.message : String(err) };
    }
  }
  return storeCache.store;
}

let jsBytes = 0;
let jsWeights = 0;

/** Frees native weights that were garbage-collected without dispose() (and uncounts JavaScript ones). */
const finalizer = new FinalizationRegistry<{ id: number; bytes: number }>(({ id, bytes }) => {
  if (id > 0) {
    nativeStore()?.weightsFree(id);
  } else {
    jsBytes -= bytes;
    jsWeights--;
  }
});

function checkShape(op: string, shape: readonly number[]): [number, number] {
  const [rows, cols] = shape;
  if (shape.length !== 2 || !Number.isInteger(rows) || !Number.isInteger(cols) || rows! < 1 || cols! < 1) {
    throw new Error(`Error in ${op}: shape must be [rows ≥ 1, cols ≥ 1], got [${shape.join(", ")}]`);
  }
  return [rows!, cols!];
}

function checkPrecision(op: string, precision: string): asserts precision is Precision {
  if (!(PRECISIONS as readonly string[]).includes(precision)) {
    throw new Error(`Error in ${op}: precision must be one of ${PRECISIONS.join(", ")}, got "${precision}"`);
  }
}

function checkDtype(op: string, dtype: string): asserts dtype is SourceDtype {
  if (!(dtype in SOURCE_CODE)) throw new Error(`Error in ${op}: source dtype must be F32, BF16 or F16, got "${dtype}"`);
}

/** `count` little-endian values of `dtype` as float32 values. */
function decodeRows(bytes: Uint8Array, dtype: SourceDtype, count: number): Float32Array {
  const copy = bytes.slice(0, count * SOURCE_BYTES[dtype]); // aligned
  if (dtype === "F32") return new Float32Array(copy.buffer);
  const bits = new Uint16Array(copy.buffer);
  const decode = dtype === "BF16" ? bf16BitsToNumber : f16BitsToNumber;
  return Float32Array.from(bits, decode);
}

/** A frozen matrix [rows, cols]. */
export class FrozenWeight {
  private _disposed = false;
  private cached: { tensor: tf.Tensor2D; backend: string } | null = null;

  private constructor(
    readonly shape: [number, number],
    readonly precision: Precision,
    /** The native store's id (native weights), else -1. */
    readonly id: number,
    private readonly js: Quantised | null,
    /** Bytes it holds (codes and scales). */
    readonly bytes: number,
  ) {}

  /** True when the weight is held by the native addon (outside the wasm heap). */
  get native(): boolean {
    return this.id > 0;
  }

  get disposed(): boolean {
    return this._disposed;
  }

  /** One tensor's little-endian bytes (e.g. as stored in safetensors), quantised at once. */
  static fromBytes(bytes: Uint8Array, dtype: SourceDtype, shape: readonly number[], precision: Precision): FrozenWeight {
    const w = FrozenWeight.writer(shape, precision);
    try {
      w.write(0, bytes, dtype);
      return w.finish();
    } catch (err) {
      w.abort();
      throw err;
    }
  }

  /**
   * A tensor's bytes read straight from a file (e.g. a safetensors file: the data section's start
   * plus the tensor's begin offset), in chunks of whole rows of at most `chunkBytes` (default 8 MiB)
   * through one reused buffer: no float32 copy of the tensor is made. `onChunk(bytes, rowStart)` sees
   * each chunk's bytes as read (e.g. to check them while they are in cache); the buffer is reused.
   */
  static fromFile(
    file: string | number, byteOffset: number, dtype: SourceDtype, shape: readonly number[], precision: Precision,
    opts: { chunkBytes?: number; onChunk?: (bytes: Uint8Array, rowStart: number) => void } = {},
  ): FrozenWeight {
    checkDtype("FrozenWeight.fromFile", dtype);
    const w = FrozenWeight.writer(shape, precision);
    const rowBytes = w.cols * SOURCE_BYTES[dtype];
    const rowsPerChunk = Math.max(w.rowAlign, Math.floor(Math.floor((opts.chunkBytes ?? 8 << 20) / rowBytes) / w.rowAlign) * w.rowAlign);
    const fd = typeof file === "number" ? file : fs.openSync(file, "r");
    try {
      const buf = new Uint8Array(Math.min(rowsPerChunk, w.rows) * rowBytes);
      for (let r = 0; r < w.rows; r += rowsPerChunk) {
        const n = Math.min(rowsPerChunk, w.rows - r);
        const chunk = buf.subarray(0, n * rowBytes);
        let got = 0;
        while (got < chunk.length) {
          const k = fs.readSync(fd, chunk, got, chunk.length - got, byteOffset + r * rowBytes + got);
          if (k === 0) throw new Error(`Error in FrozenWeight.fromFile: ${typeof file === "number" ? `fd ${file}` : file} ends before byte ${byteOffset + r * rowBytes + chunk.length} (a [${w.rows}, ${w.cols}] ${dtype} tensor at byte ${byteOffset})`);
          got += k;
        }
        opts.onChunk?.(chunk, r);
        w.write(r, chunk, dtype);
      }
      return w.finish();
    } catch (err) {
      w.abort();
      throw err;
    } finally {
      if (typeof file !== "number") fs.closeSync(fd);
    }
  }

  /** Float32 values (row-major), quantised at once. */
  static fromFloat32(values: Float32Array, shape: readonly number[], precision: Precision): FrozenWeight {
    return FrozenWeight.fromBytes(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), "F32", shape, precision);
  }

  /** A 2-D float32 tensor's values, quantised at once. */
  static fromTensor(t: tf.Tensor, precision: Precision): FrozenWeight {
    if (t.rank !== 2 || t.dtype !== "float32") throw new Error(`Error in FrozenWeight.fromTensor: expected a float32 [rows, cols] tensor, got ${t.dtype} [${t.shape.join(", ")}]`);
    return FrozenWeight.fromFloat32(t.dataSync() as Float32Array, t.shape, precision);
  }

  /** Writes a weight rows at a time (streaming a large tensor from a file), then finish(). */
  static writer(shape: readonly number[], precision: Precision): FrozenWeightWriter {
    const [rows, cols] = checkShape("FrozenWeight.writer", shape);
    checkPrecision("FrozenWeight.writer", precision);
    return new FrozenWeightWriter(rows, cols, precision, nativeStore());
  }

  /** @internal: made by FrozenWeightWriter.finish(). */
  static made(shape: [number, number], precision: Precision, id: number, js: Quantised | null): FrozenWeight {
    const w = new FrozenWeight(shape, precision, id, js, storageBytes(precision, shape[0], shape[1]));
    finalizer.register(w, { id, bytes: w.bytes }, w);
    if (id <= 0) {
      jsBytes += w.bytes;
      jsWeights++;
    }
    return w;
  }

  private check(op: string): void {
    if (this._disposed) throw new Error(`Error in ${op}: the frozen weight [${this.shape.join(", ")}] (${this.precision}) was disposed`);
  }

  /** The dequantised values, rows × cols. */
  toFloat32(): Float32Array {
    this.check("FrozenWeight.toFloat32");
    const out = new Float32Array(this.shape[0] * this.shape[1]);
    if (this.id > 0) nativeStore()!.weightsRead(this.id, 0, this.shape[0], out);
    else dequantise(this.js!, out);
    return out;
  }

  /** Dequantised rows [rowStart, rowStart + count). */
  readRows(rowStart: number, count: number): Float32Array {
    this.check("FrozenWeight.readRows");
    const [rows, cols] = this.shape;
    if (!Number.isInteger(rowStart) || !Number.isInteger(count) || rowStart < 0 || count < 0 || rowStart + count > rows) {
      throw new Error(`Error in FrozenWeight.readRows: rows [${rowStart}, ${rowStart + count}) outside [0, ${rows})`);
    }
    if (this.id > 0) {
      const out = new Float32Array(count * cols);
      nativeStore()!.weightsRead(this.id, rowStart, count, out);
      return out;
    }
    return this.toFloat32().slice(rowStart * cols, (rowStart + count) * cols);
  }

  /** A new float32 tensor of the dequantised values (the caller owns it). */
  toTensor(): tf.Tensor2D {
    return tf.tensor2d(this.toFloat32(), this.shape, "float32");
  }

  /**
   * The dequantised values as a tensor kept with the weight (made once per backend, freed by
   * dispose): the composite path of the frozen ops on backends without the native kernels.
   */
  cachedTensor(): tf.Tensor2D {
    this.check("FrozenWeight.cachedTensor");
    const backend = tf.getBackend();
    if (this.cached && (this.cached.backend !== backend || this.cached.tensor.isDisposed)) {
      if (!this.cached.tensor.isDisposed) this.cached.tensor.dispose();
      this.cached = null;
    }
    this.cached ??= { tensor: tf.keep(this.toTensor()), backend };
    return this.cached.tensor;
  }

  /** The stored codes and scales (for tests and tools): the same layout as {@link Quantised}. */
  stored(): Quantised {
    this.check("FrozenWeight.stored");
    if (this.id <= 0) return this.js!;
    const s = nativeStore()!;
    const [rows, cols] = this.shape;
    const data = s.weightsRaw(this.id, 0);
    const q: Quantised = { precision: this.precision, rows, cols, data: new Uint8Array(data) };
    switch (this.precision) {
      case "f32": q.data = new Float32Array(data); break;
      case "bf16": case "f16": q.data = new Uint16Array(data); break;
      case "int8": q.data = new Int8Array(data); q.scales = new Float32Array(s.weightsRaw(this.id, 1)); break;
      case "nf4":
        q.absmax8 = new Uint8Array(s.weightsRaw(this.id, 1));
        q.scale2 = new Float32Array(s.weightsRaw(this.id, 2));
        q.offset = new Float32Array(s.weightsRaw(this.id, 3))[0]!;
        break;
    }
    return q;
  }

  /** Frees the weight's memory (and its cached tensor). Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    if (this.cached && !this.cached.tensor.isDisposed) this.cached.tensor.dispose();
    this.cached = null;
    finalizer.unregister(this);
    if (this.id > 0) {
      nativeStore()?.weightsFree(this.id);
    } else {
      jsBytes -= this.bytes;
      jsWeights--;
    }
  }
}

/**
 * Fills a frozen weight rows at a time: `write(rowStart, bytes, dtype)` for each chunk (each row
 * once, any order), then `finish()`. For nf4 a chunk must start and end on a block of 64 values
 * (its row count a multiple of `rowAlign`), except the chunk holding the last row.
 */
export class FrozenWeightWriter {
  /** Rows per chunk must be a multiple of this (nf4: 64 / gcd(cols, 64); else 1). */
  readonly rowAlign: number;
  private id = -1;
  private values: Float32Array | null = null;
  private done = false;
  /** 1 for each row written. */
  private readonly written: Uint8Array;

  constructor(readonly rows: number, readonly cols: number, readonly precision: Precision, private readonly store: WeightStore | null) {
    const g = gcd(cols, NF4_BLOCK);
    this.rowAlign = precision === "nf4" ? NF4_BLOCK / g : 1;
    this.written = new Uint8Array(rows);
    if (store) this.id = store.weightsCreate(FORMAT_CODE[precision], rows, cols);
    else this.values = new Float32Array(rows * cols);
  }

  /** Rows [rowStart, rowStart + n) from little-endian bytes of `dtype` (n = bytes / (cols · element size)). */
  write(rowStart: number, bytes: Uint8Array, dtype: SourceDtype): void {
    if (this.done) throw new Error("Error in FrozenWeightWriter.write: the writer is finished");
    checkDtype("FrozenWeightWriter.write", dtype);
    const rowBytes = this.cols * SOURCE_BYTES[dtype];
    if (bytes.byteLength % rowBytes !== 0) {
      throw new Error(`Error in FrozenWeightWriter.write: ${bytes.byteLength} bytes is not a whole number of ${dtype} rows of ${this.cols} values`);
    }
    const n = bytes.byteLength / rowBytes;
    if (!Number.isInteger(rowStart) || rowStart < 0 || rowStart + n > this.rows) {
      throw new Error(`Error in FrozenWeightWriter.write: rows [${rowStart}, ${rowStart + n}) outside [0, ${this.rows})`);
    }
    if (this.id > 0) {
      const elem = SOURCE_BYTES[dtype];
      const src = bytes.byteOffset % elem === 0 ? bytes : bytes.slice();
      this.store!.weightsWrite(this.id, rowStart, n, src, SOURCE_CODE[dtype]);
    } else {
      this.values!.set(decodeRows(bytes, dtype, n * this.cols), rowStart * this.cols);
    }
    this.written.fill(1, rowStart, rowStart + n);
  }

  /** The finished weight (nf4: its block scales are double-quantised now). */
  finish(): FrozenWeight {
    if (this.done) throw new Error("Error in FrozenWeightWriter.finish: already finished");
    const missing = this.written.indexOf(0);
    if (missing >= 0) throw new Error(`Error in FrozenWeightWriter.finish: row ${missing} of the [${this.rows}, ${this.cols}] weight was never written`);
    this.done = true;
    if (this.id > 0) {
      this.store!.weightsFinish(this.id);
      return FrozenWeight.made([this.rows, this.cols], this.precision, this.id, null);
    }
    const q = quantise(this.values!, this.rows, this.cols, this.precision);
    this.values = null;
    return FrozenWeight.made([this.rows, this.cols], this.precision, -1, q);
  }

  /** Frees what was written (after an error). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.id > 0) this.store!.weightsFree(this.id);
    this.values = null;
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Memory held by frozen weights. */
export interface FrozenMemory {
  /** Bytes the native store holds now (codes, scales, and scales of nf4 weights being written). */
  nativeBytes: number;
  /** The most it held since the process started or {@link resetFrozenPeak}. */
  peakNativeBytes: number;
  /** Bytes of weights held in JavaScript arrays (no addon). */
  jsBytes: number;
  /** Live weights, native and JavaScript. */
  weights: number;
}

export function frozenMemory(): FrozenMemory {
  const s = nativeStore()?.weightsStats() ?? { bytes: 0, peakBytes: 0, count: 0 };
  return { nativeBytes: s.bytes, peakNativeBytes: s.peakBytes, jsBytes, weights: s.count + jsWeights };
}

export function resetFrozenPeak(): void {
  nativeStore()?.weightsResetPeak();
}
