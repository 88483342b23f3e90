// Reading a safetensors file tensor by tensor. Only the header is read at open; each `read` reads
// one tensor's bytes at its offset in bounded chunks, so files larger than memory are fine as long
// as each tensor fits.

import * as fs from "node:fs";
import {
  allocateFor, assertLittleEndianHost, DTYPE_SIZE, decodeInto, isDirectCopy, isSupportedDtype,
  SUPPORTED_DTYPES, type Dtype, type KnownDtype, type Tensor, type TensorData,
} from "./safetensors-dtypes.js";
import { checkHeaderLength, parseHeader, SafetensorsError, type HeaderEntry } from "./safetensors-header.js";

/** Where a tensor is and what it holds, without reading it. */
export interface TensorInfo {
  dtype: KnownDtype;
  shape: number[];
  /** Bytes of the tensor in the file. */
  byteLength: number;
  /** The file holding it. */
  file: string;
  /** Where its bytes start in `file` (absolute: past the header); they are contiguous and little-endian. */
  byteOffset: number;
}

/** A set of named tensors on disk: one safetensors file or a sharded model. */
export interface TensorSource {
  readonly path: string;
  /** `__metadata__` of the file (or the index's metadata, as strings, for a sharded model). */
  readonly metadata: Record<string, string>;
  /** Non-fatal findings made while opening (e.g. shard tensors the index does not list). */
  readonly warnings: string[];
  /** Tensor names in file order. */
  names(): string[];
  has(name: string): boolean;
  /** Throws a SafetensorsError naming the file when the tensor is absent. */
  info(name: string): TensorInfo;
  /** Reads one tensor: floats as Float32Array, I32 Int32Array, I64 BigInt64Array, U8/BOOL Uint8Array. */
  read(name: string): Tensor;
  /**
   * Reads a float tensor (F32, F16, BF16, F64) as float32 into `out` (exactly its element count), with
   * no other buffer for F32; e.g. straight into the memory of the variable it fills. `onChunk(start,
   * end)` is called after each chunk with the elements of `out` it filled (to check them while they
   * are in cache).
   */
  readFloat32Into(name: string, out: Float32Array, onChunk?: (start: number, end: number) => void): void;
  close(): void;
}

export interface OpenOptions {
  /** Largest read/convert buffer in bytes (default 8 MiB); tensors larger than this are read in pieces. */
  chunkBytes?: number;
}

const DEFAULT_CHUNK = 8 << 20;

export class SafetensorsFile implements TensorSource {
  readonly warnings: string[] = [];
  private fd: number | null;
  private readonly byName: Map<string, HeaderEntry>;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly dataStart: number,
    readonly metadata: Record<string, string>,
    private readonly entries: HeaderEntry[],
    private readonly chunkBytes: number,
  ) {
    this.fd = fd;
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  /** Opens and validates `path`; throws SafetensorsError naming the file, tensor and broken rule. */
  static open(path: string, opts: OpenOptions = {}): SafetensorsFile {
    assertLittleEndianHost();
    const chunk = Math.max(8, Math.floor((opts.chunkBytes ?? DEFAULT_CHUNK) / 8) * 8);
    let fd: number;
    try {
      fd = fs.openSync(path, "r");
    } catch (e) {
      throw new SafetensorsError(path, "IoError", `cannot open: ${(e as Error).message}`);
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new SafetensorsError(path, "IoError", "is not a regular file");
      const size = stat.size;
      const prefix = readExactly(fd, path, 0, Math.min(8, size), "header length");
      const n = checkHeaderLength(path, prefix, size);
      const json = readExactly(fd, path, 8, n, "header");
      const header = parseHeader(path, json, size - 8 - n);
      return new SafetensorsFile(path, fd, 8 + n, header.metadata, header.entries, chunk);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const e = this.entry(name);
    return { dtype: e.dtype, shape: [...e.shape], byteLength: e.end - e.begin, file: this.path, byteOffset: this.dataStart + e.begin };
  }

  read(name: string): Tensor {
    const e = this.entry(name);
    if (!isSupportedDtype(e.dtype)) {
      throw new SafetensorsError(this.path, "UnsupportedDtype", `dtype ${e.dtype} cannot be read by peftlab (supported: ${SUPPORTED_DTYPES.join(", ")})`, name);
    }
    const out = allocateFor(e.dtype, e.shape.reduce((a, b) => a * b, 1));
    this.readData(name, e, e.dtype, out);
    return { dtype: e.dtype, shape: [...e.shape], data: out };
  }

  readFloat32Into(name: string, out: Float32Array, onChunk?: (start: number, end: number) => void): void {
    const e = this.entry(name);
    if (e.dtype !== "F32" && e.dtype !== "F16" && e.dtype !== "BF16" && e.dtype !== "F64") {
      throw new SafetensorsError(this.path, "UnsupportedDtype", `dtype ${e.dtype} is not a float type`, name);
    }
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (out.length !== count) throw new SafetensorsError(this.path, "InvalidShape", `holds ${count} elements, the buffer ${out.length}`, name);
    this.readData(name, e, e.dtype, out, onChunk);
  }

  /** The tensor's bytes into `out` (allocated for its dtype by allocateFor), in bounded chunks. */
  private readData(name: string, e: HeaderEntry, dtype: Dtype, out: TensorData, onChunk?: (start: number, end: number) => void): void {
    const fd = this.openFd(name);
    const total = e.end - e.begin;
    const pos = this.dataStart + e.begin;
    if (isDirectCopy(dtype)) {
      const dst = new Uint8Array(out.buffer, out.byteOffset, total);
      for (let off = 0; off < total; off += this.chunkBytes) {
        const end = Math.min(total, off + this.chunkBytes);
        readInto(fd, this.path, dst.subarray(off, end), pos + off, name);
        onChunk?.(off / out.BYTES_PER_ELEMENT, end / out.BYTES_PER_ELEMENT);
      }
      return;
    }
    const size = DTYPE_SIZE[dtype];
    const scratch = new Uint8Array(new ArrayBuffer(Math.min(this.chunkBytes, total)));
    for (let off = 0; off < total; off += this.chunkBytes) {
      const len = Math.min(total - off, this.chunkBytes);
      readInto(fd, this.path, scratch.subarray(0, len), pos + off, name);
      decodeInto(dtype, scratch, len / size, out, off / size);
      onChunk?.(off / size, (off + len) / size);
    }
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private entry(name: string): HeaderEntry {
    const e = this.byName.get(name);
    if (!e) throw new SafetensorsError(this.path, "TensorNotFound", "no such tensor in the file", name);
    return e;
  }

  private openFd(name: string): number {
    if (this.fd === null) throw new SafetensorsError(this.path, "Closed", "the file was closed before reading", name);
    return this.fd;
  }
}

function readExactly(fd: number, file: string, pos: number, len: number, what: string): Uint8Array {
  const buf = new Uint8Array(new ArrayBuffer(len));
  let off = 0;
  while (off < len) {
    const got = fs.readSync(fd, buf, off, len - off, pos + off);
    if (got === 0) throw new SafetensorsError(file, "Truncated", `file ended after ${off} of ${len} bytes of the ${what}`);
    off += got;
  }
  return buf;
}

function readInto(fd: number, file: string, dst: Uint8Array, pos: number, tensor: string): void {
  let off = 0;
  while (off < dst.length) {
    const got = fs.readSync(fd, dst, off, dst.length - off, pos + off);
    if (got === 0) {
      throw new SafetensorsError(file, "Truncated", `file ended at byte ${pos + off} while reading the tensor (was it changed after opening?)`, tensor);
    }
    off += got;
  }
}
