// The safetensors header: parsing with every check done before any tensor memory is allocated,
// and serialising the header the writer puts in front of the data.
//
// Layout: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON
//   {"__metadata__"?: {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
// then the data section; offsets are relative to its start.
//
// The rules follow the reference implementation (huggingface/safetensors, crate docs:
// https://docs.rs/safetensors/latest/safetensors/tensor/enum.SafeTensorError.html, and
// `Metadata::validate` in safetensors/src/tensor.rs): the header is at most 100,000,000 bytes
// (HeaderTooLarge); tensors sorted by offsets must start exactly where the previous one ended
// (InvalidOffset: no overlap and no gap); end - begin must equal numel × dtype size
// (TensorInvalidInfo, with checked multiplication: ValidationOverflow); and the last offset must be
// the end of the file (MetadataIncompleteBuffer: "the data offsets of the tensor does not fully cover
// the buffer part of the file. The last offset **must** be the end of the file").

import { DTYPE_SIZE, isKnownDtype, type KnownDtype } from "./safetensors-dtypes.js";

/** Largest header accepted, as in the reference implementation. */
export const MAX_HEADER_BYTES = 100_000_000;

export const METADATA_KEY = "__metadata__";

/** A malformed or unreadable safetensors file. `rule` is a stable short name of the broken rule. */
export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    readonly rule: string,
    detail: string,
    readonly tensor?: string,
  ) {
    super(`${file}: ${tensor !== undefined ? `tensor ${JSON.stringify(tensor)}: ` : ""}${detail} [${rule}]`);
    this.name = "SafetensorsError";
  }
}

/** One tensor of the header, with offsets relative to the data section. */
export interface HeaderEntry {
  name: string;
  dtype: KnownDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface ParsedHeader {
  /** Byte length N of the JSON header (the data section starts at 8 + N). */
  headerBytes: number;
  metadata: Record<string, string>;
  /** Entries in file order (sorted by offsets). */
  entries: HeaderEntry[];
}

/** Reads the header length from the first 8 bytes and checks it against the file size and the limit. */
export function checkHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new SafetensorsError(file, "HeaderTooSmall", `file has ${fileSize} bytes, fewer than the 8-byte header length`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(file, "HeaderTooLarge", `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (n > BigInt(fileSize - 8)) {
    throw new SafetensorsError(file, "InvalidHeaderLength", `header length ${n} runs past the end of the file (${fileSize} bytes); the file is truncated or not safetensors`);
  }
  if (n < 2n) throw new SafetensorsError(file, "InvalidHeaderLength", `header length ${n} is too short for a JSON object`);
  return Number(n);
}

/** Parses and validates the JSON header; `dataBytes` is the size of the data section in the file. */
export function parseHeader(file: string, json: Uint8Array, dataBytes: number): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(json);
  } catch {
    throw new SafetensorsError(file, "InvalidHeader", "header is not valid UTF-8");
  }
  if (!text.startsWith("{")) throw new SafetensorsError(file, "InvalidHeaderStart", "header does not start with '{'");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(file, "InvalidHeaderDeserialization", `header is not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new SafetensorsError(file, "InvalidHeaderDeserialization", "header JSON is not an object");
  }
  const obj = raw as Record<string, unknown>;
  // JSON.parse keeps the last of two equal keys, silently dropping a tensor: look for repeats.
  const repeated = repeatedTopLevelKey(text);
  if (repeated !== null) {
    throw new SafetensorsError(file, "DuplicateTensorName", "the header names this tensor more than once (one entry would hide the other)", repeated);
  }
  const metadata = parseMetadata(file, obj[METADATA_KEY]);
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(obj)) {
    if (name === METADATA_KEY) continue;
    entries.push(parseEntry(file, name, value, dataBytes));
  }
  checkCoverage(file, entries, dataBytes);
  return { headerBytes: json.length, metadata, entries };
}

/**
 * The first key that occurs twice in the outermost object of `json` (already known to be valid
 * JSON), or null. One pass with a depth counter and no recursion, so a 100 MB header of a
 * million entries costs one scan and a set of names.
 */
export function repeatedTopLevelKey(json: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < json.length) {
        const d = json.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d === 0x22) break;
        j++;
      }
      if (depth === 1 && expectKey) {
        const raw = json.slice(i, j + 1);
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      expectKey = depth === 1 && c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return null;
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new SafetensorsError(file, "InvalidMetadata", `${METADATA_KEY} must be an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== "string") {
      throw new SafetensorsError(file, "InvalidMetadata", `${METADATA_KEY}.${k} must be a string, got ${JSON.stringify(v)}`);
    }
    out[k] = v;
  }
  return out;
}

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function parseEntry(file: string, name: string, value: unknown, dataBytes: number): HeaderEntry {
  const fail = (rule: string, detail: string): never => {
    throw new SafetensorsError(file, rule, detail, name);
  };
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail("TensorInvalidInfo", "entry is not an object");
  const e = value as Record<string, unknown>;
  if (!isKnownDtype(e.dtype)) {
    fail("UnknownDtype", `unknown dtype ${JSON.stringify(e.dtype)} (known: ${Object.keys(DTYPE_SIZE).join(", ")})`);
  }
  const dtype = e.dtype as KnownDtype;
  if (!Array.isArray(e.shape) || !e.shape.every(isIndex)) {
    fail("TensorInvalidInfo", `shape must be a list of non-negative integers, got ${JSON.stringify(e.shape)}`);
  }
  const shape = e.shape as number[];
  const offs = e.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isIndex)) {
    fail("InvalidOffset", `data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offs)}`);
  }
  const [begin, end] = offs as [number, number];
  if (end < begin) fail("InvalidOffset", `data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataBytes) {
    fail("InvalidOffset", `data_offsets [${begin}, ${end}] run past the end of the data section (${dataBytes} bytes); the file is truncated or the offsets are wrong`);
  }
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (!Number.isSafeInteger(count)) fail("ValidationOverflow", `shape [${shape.join(", ")}] has too many elements`);
  }
  const bytes = count * DTYPE_SIZE[dtype];
  if (!Number.isSafeInteger(bytes)) fail("ValidationOverflow", `shape [${shape.join(", ")}] × ${DTYPE_SIZE[dtype]} bytes overflows`);
  if (bytes !== end - begin) {
    fail("TensorInvalidInfo", `shape [${shape.join(", ")}] of ${dtype} needs ${bytes} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, dtype, shape: [...shape], begin, end };
}

/** Sorts entries by offsets and checks they tile the data section exactly (reference rule). */
function checkCoverage(file: string, entries: HeaderEntry[], dataBytes: number): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev: HeaderEntry | null = null;
  for (const e of entries) {
    if (e.begin < at) {
      throw new SafetensorsError(file, "InvalidOffset", `data_offsets [${e.begin}, ${e.end}] overlap tensor ${JSON.stringify(prev!.name)} [${prev!.begin}, ${prev!.end}]`, e.name);
    }
    if (e.begin > at) {
      throw new SafetensorsError(file, "InvalidOffset", `data_offsets [${e.begin}, ${e.end}] leave bytes ${at}..${e.begin} of the data section unused (tensors must be contiguous)`, e.name);
    }
    at = e.end;
    prev = e;
  }
  if (at !== dataBytes) {
    const who = prev ? `the last tensor ${JSON.stringify(prev.name)} ends at ${at}` : "there are no tensors";
    throw new SafetensorsError(file, "MetadataIncompleteBuffer", `the data section has ${dataBytes} bytes but ${who}; the offsets must cover it exactly`);
  }
}

// ---------------------------------------------------------------- writing

/** Byte-wise (UTF-8) comparison, as Rust's String ordering. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * The writer's tensor order, as in the reference `prepare`: larger element size first (so every tensor is
 * aligned to its element size in an 8-aligned data section), then by name.
 */
export function writeOrder<T extends { name: string; dtype: KnownDtype }>(items: T[]): T[] {
  return [...items].sort((a, b) => DTYPE_SIZE[b.dtype] - DTYPE_SIZE[a.dtype] || compareUtf8(a.name, b.name));
}

/**
 * Header bytes for entries already in write order (offsets set): compact JSON, `__metadata__` first,
 * padded with spaces to a multiple of 8 bytes like the reference writer. Metadata keys are sorted.
 */
export function serializeHeader(entries: HeaderEntry[], metadata: Record<string, string> | undefined): Uint8Array {
  const parts: string[] = [];
  const metaKeys = Object.keys(metadata ?? {}).sort(compareUtf8);
  if (metaKeys.length > 0) {
    const sorted = Object.fromEntries(metaKeys.map((k) => [k, metadata![k]]));
    parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(sorted)}`);
  }
  for (const e of entries) {
    const info = { dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.end] };
    parts.push(`${JSON.stringify(e.name)}:${JSON.stringify(info)}`);
  }
  const json = Buffer.from(`{${parts.join(",")}}`, "utf8");
  const padded = Buffer.alloc(json.length + ((8 - (json.length % 8)) % 8), 0x20);
  json.copy(padded);
  return new Uint8Array(padded.buffer, padded.byteOffset, padded.length);
}
