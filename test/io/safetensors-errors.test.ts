import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { SafetensorsError, SafetensorsFile, writeSafetensors } from "../../src/runtime/io/safetensors.js";
import { f32Bytes, rawSafetensors, tempDir } from "./helpers.js";

const dir = tempDir("st-err");
let counter = 0;

function place(bytes: Uint8Array): string {
  const file = path.join(dir, `bad-${counter++}.safetensors`);
  fs.writeFileSync(file, bytes);
  return file;
}

function openError(file: string): SafetensorsError {
  try {
    SafetensorsFile.open(file).close();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error(`expected ${file} to be rejected`);
}

const entry = (dtype: string, shape: unknown, offs: unknown) => ({ dtype, shape, data_offsets: offs });
const validBytes = (() => {
  const file = path.join(dir, "valid.safetensors");
  writeSafetensors(file, {
    a: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) },
    b: { dtype: "F32", shape: [3], data: new Float32Array([3, 4, 5]) },
  });
  return fs.readFileSync(file);
})();

interface Case {
  label: string;
  bytes: () => Uint8Array;
  rule: string;
  /** Tensor the message must name (null: a file-level error). */
  tensor: string | null;
  msg: RegExp;
}

const cases: Case[] = [
  { label: "empty file", bytes: () => new Uint8Array(0), rule: "HeaderTooSmall", tensor: null, msg: /0 bytes/ },
  { label: "5-byte file", bytes: () => new Uint8Array(5), rule: "HeaderTooSmall", tensor: null, msg: /fewer than the 8-byte/ },
  { label: "header length beyond the file", bytes: () => rawSafetensors({}, undefined, 500n), rule: "InvalidHeaderLength", tensor: null, msg: /header length 500 runs past the end/ },
  { label: "huge header length", bytes: () => rawSafetensors({}, undefined, 1n << 40n), rule: "HeaderTooLarge", tensor: null, msg: /exceeds the limit of 100000000/ },
  { label: "u64 max header length", bytes: () => rawSafetensors({}, undefined, (1n << 64n) - 1n), rule: "HeaderTooLarge", tensor: null, msg: /18446744073709551615/ },
  { label: "truncated header", bytes: () => validBytes.subarray(0, 30), rule: "InvalidHeaderLength", tensor: null, msg: /truncated/ },
  { label: "bad JSON", bytes: () => rawSafetensors('{"a": {"dtype": "F32",'), rule: "InvalidHeaderDeserialization", tensor: null, msg: /not valid JSON/ },
  { label: "JSON array", bytes: () => rawSafetensors("[1, 2]"), rule: "InvalidHeaderStart", tensor: null, msg: /start with '\{'/ },
  { label: "invalid UTF-8", bytes: () => rawSafetensors(new Uint8Array([0x7b, 0xff, 0x7d])), rule: "InvalidHeader", tensor: null, msg: /UTF-8/ },
  { label: "metadata not strings", bytes: () => rawSafetensors({ __metadata__: { step: 3 } }), rule: "InvalidMetadata", tensor: null, msg: /__metadata__\.step must be a string/ },
  { label: "unknown dtype", bytes: () => rawSafetensors({ w: entry("Q4", [2], [0, 1]) }, new Uint8Array(1)), rule: "UnknownDtype", tensor: "w", msg: /unknown dtype "Q4"/ },
  { label: "entry not an object", bytes: () => rawSafetensors({ w: [1, 2] }), rule: "TensorInvalidInfo", tensor: "w", msg: /not an object/ },
  { label: "negative dimension", bytes: () => rawSafetensors({ w: entry("F32", [-1], [0, 4]) }, f32Bytes([1])), rule: "TensorInvalidInfo", tensor: "w", msg: /non-negative integers/ },
  { label: "fractional dimension", bytes: () => rawSafetensors({ w: entry("F32", [1.5], [0, 4]) }, f32Bytes([1])), rule: "TensorInvalidInfo", tensor: "w", msg: /non-negative integers/ },
  { label: "offsets of wrong arity", bytes: () => rawSafetensors({ w: entry("F32", [1], [0]) }, f32Bytes([1])), rule: "InvalidOffset", tensor: "w", msg: /\[begin, end\]/ },
  { label: "negative offset", bytes: () => rawSafetensors({ w: entry("F32", [1], [-4, 0]) }, f32Bytes([1])), rule: "InvalidOffset", tensor: "w", msg: /non-negative/ },
  { label: "end before begin", bytes: () => rawSafetensors({ w: entry("F32", [0], [4, 0]) }, f32Bytes([1])), rule: "InvalidOffset", tensor: "w", msg: /end before they begin/ },
  { label: "offsets beyond the file", bytes: () => rawSafetensors({ w: entry("F32", [4], [0, 16]) }, f32Bytes([1])), rule: "InvalidOffset", tensor: "w", msg: /run past the end of the data section \(4 bytes\)/ },
  { label: "truncated data", bytes: () => validBytes.subarray(0, validBytes.length - 4), rule: "InvalidOffset", tensor: "b", msg: /truncated/ },
  { label: "size mismatch", bytes: () => rawSafetensors({ w: entry("F32", [3], [0, 8]) }, f32Bytes([1, 2])), rule: "TensorInvalidInfo", tensor: "w", msg: /needs 12 bytes but data_offsets \[0, 8\] hold 8/ },
  { label: "hostile shape", bytes: () => rawSafetensors({ w: entry("F32", [1e15], [0, 4]) }, f32Bytes([1])), rule: "TensorInvalidInfo", tensor: "w", msg: /needs 4000000000000000 bytes/ },
  { label: "overflowing shape", bytes: () => rawSafetensors({ w: entry("F64", [1e10, 1e10, 1e10], [0, 8]) }, new Uint8Array(8)), rule: "ValidationOverflow", tensor: "w", msg: /too many elements/ },
  {
    label: "overlapping tensors",
    bytes: () => rawSafetensors({ a: entry("F32", [2], [0, 8]), b: entry("F32", [2], [4, 12]) }, f32Bytes([1, 2, 3])),
    rule: "InvalidOffset", tensor: "b", msg: /overlap tensor "a" \[0, 8\]/,
  },
  {
    label: "gap between tensors",
    bytes: () => rawSafetensors({ a: entry("F32", [1], [0, 4]), b: entry("F32", [1], [8, 12]) }, f32Bytes([1, 2, 3])),
    rule: "InvalidOffset", tensor: "b", msg: /leave bytes 4\.\.8 .* unused/,
  },
  { label: "trailing bytes", bytes: () => rawSafetensors({ a: entry("F32", [1], [0, 4]) }, f32Bytes([1, 2])), rule: "MetadataIncompleteBuffer", tensor: null, msg: /has 8 bytes but the last tensor "a" ends at 4/ },
  { label: "data without tensors", bytes: () => rawSafetensors({}, f32Bytes([1])), rule: "MetadataIncompleteBuffer", tensor: null, msg: /there are no tensors/ },
];

describe("bad files", () => {
  it.each(cases)("$label → $rule", ({ bytes, rule, tensor, msg }) => {
    const file = place(bytes());
    const err = openError(file);
    expect(err.rule).toBe(rule);
    expect(err.file).toBe(file);
    expect(err.message.startsWith(`${file}: `)).toBe(true);
    expect(err.message).toMatch(msg);
    if (tensor !== null) {
      expect(err.tensor).toBe(tensor);
      expect(err.message).toContain(`tensor "${tensor}"`);
    }
  });

  it("rejects a hostile shape without allocating its size", () => {
    const file = place(rawSafetensors({ w: entry("F32", [250_000_000], [0, 4]) }, f32Bytes([1])));
    const before = process.memoryUsage().arrayBuffers;
    expect(openError(file).rule).toBe("TensorInvalidInfo");
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(50 << 20);
  });

  it("a folder is an IoError naming it", () => {
    expect(openError(dir).message).toBe(`${dir}: is not a regular file [IoError]`);
  });

  it("a missing file is an IoError naming it", () => {
    const file = path.join(dir, "missing.safetensors");
    const err = openError(file);
    expect(err.rule).toBe("IoError");
    expect(err.message).toContain(file);
  });
});

describe("bad reads", () => {
  it("a known but unsupported dtype opens, and reading it names the tensor", () => {
    const file = place(rawSafetensors({ ids: entry("U16", [2], [0, 4]), w: entry("F32", [1], [4, 8]) }, new Uint8Array(8)));
    const f = SafetensorsFile.open(file);
    expect(f.info("ids").dtype).toBe("U16");
    expect(() => f.read("ids")).toThrow(new RegExp(`${file}: tensor "ids": dtype U16 cannot be read`));
    expect(f.read("w").data).toEqual(new Float32Array([0]));
    f.close();
  });

  it("an absent tensor names the file and tensor", () => {
    const f = SafetensorsFile.open(place(validBytes));
    expect(() => f.read("nope")).toThrow(/tensor "nope": no such tensor in the file \[TensorNotFound\]/);
    expect(() => f.info("nope")).toThrow(SafetensorsError);
    f.close();
  });

  it("a file truncated after opening gives a clear error on read", () => {
    const file = place(validBytes);
    const f = SafetensorsFile.open(file);
    fs.truncateSync(file, validBytes.length - 6);
    expect(() => f.read("b")).toThrow(/tensor "b": file ended at byte .* \[Truncated\]/);
    f.close();
  });
});
