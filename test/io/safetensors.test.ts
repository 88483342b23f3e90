import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  bf16BitsToNumber, f16BitsToNumber, findNonFinite, numberToBf16Bits, numberToF16Bits, SafetensorsError,
  SafetensorsFile, toInt32Array, writeSafetensors, type WritableTensor,
} from "../../src/runtime/io/safetensors.js";
import { tempDir } from "./helpers.js";

const dir = tempDir("st");
let counter = 0;
const fresh = (name = "t") => path.join(dir, `${name}-${counter++}.safetensors`);

function headerOf(file: string): { n: number; json: Record<string, unknown>; raw: string } {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const raw = buf.subarray(8, 8 + n).toString("utf8");
  return { n, json: JSON.parse(raw), raw };
}

describe("reference byte layout", () => {
  // Expected bytes from the reference implementation's own serialisation tests (safetensors/src/tensor.rs).
  it("writes one F32 tensor exactly like the reference", () => {
    const file = fresh();
    writeSafetensors(file, { "attn.0": { dtype: "F32", shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) } });
    const expected = Buffer.concat([
      Buffer.from([64, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'),
      Buffer.from(new Float32Array([0, 1, 2, 3, 4, 5]).buffer),
    ]);
    expect(fs.readFileSync(file).equals(expected)).toBe(true);
  });

  it("pads the header with spaces to a multiple of 8", () => {
    const file = fresh();
    writeSafetensors(file, { attn0: { dtype: "F32", shape: [1, 1, 2, 3], data: new Float32Array(6) } });
    const { n, raw } = headerOf(file);
    expect(n).toBe(72);
    expect(raw).toBe('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ');
  });

  it.each([
    [undefined, [8, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from("{}      ")]],
    [{ framework: "pt" }, [40, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from('{"__metadata__":{"framework":"pt"}}     ')]],
  ])("writes an empty file with metadata %j like the reference", (meta, bytes) => {
    const file = fresh();
    writeSafetensors(file, {}, meta);
    expect([...fs.readFileSync(file)]).toEqual(bytes);
    const f = SafetensorsFile.open(file);
    expect(f.names()).toEqual([]);
    expect(f.metadata).toEqual(meta ?? {});
    f.close();
  });
});

describe("half-precision bit patterns", () => {
  it.each([
    [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [0.75 * 2 ** -24, 0x0001], [1.5 * 2 ** -24, 0x0002],
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [0.1, 0x2e66], [1 / 3, 0x3555], [-0, 0x8000], [0, 0],
  ])("F16 encodes %d as %i", (x, bits) => {
    expect(numberToF16Bits(x)).toBe(bits);
  });

  it.each([[0x3c00, 1], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x7bff, 65504], [0xc000, -2], [0xfc00, -Infinity], [0x3555, 0.333251953125]])(
    "F16 decodes %i as %d", (bits, x) => {
      expect(f16BitsToNumber(bits)).toBe(x);
    });

  it("F16 keeps NaN", () => {
    expect(Number.isNaN(f16BitsToNumber(numberToF16Bits(NaN)))).toBe(true);
    expect(numberToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it.each([
    [1, 0x3f80], [-2, 0xc000], [3, 0x4040], [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82], [0.1, 0x3dcd],
    [3.4028234663852886e38, 0x7f80], [-0, 0x8000], [NaN, 0x7fc0],
  ])("BF16 encodes %d as %i", (x, bits) => {
    expect(numberToBf16Bits(x)).toBe(bits);
  });

  it("BF16 decodes the top half of a float32", () => {
    expect(bf16BitsToNumber(0x3f80)).toBe(1);
    expect(bf16BitsToNumber(0x4049)).toBe(3.140625);
    expect(bf16BitsToNumber(0xff80)).toBe(-Infinity);
  });

  it("stores F16 and BF16 little-endian in the file", () => {
    const file = fresh();
    writeSafetensors(file, {
      a: { dtype: "F16", shape: [3], data: new Float32Array([1, -2, 65504]) },
      b: { dtype: "BF16", shape: [2], data: new Float32Array([1, 3]) },
    });
    const buf = fs.readFileSync(file);
    const { n, json } = headerOf(file);
    const at = (name: string) => 8 + n + (json[name] as { data_offsets: number[] }).data_offsets[0]!;
    expect([...buf.subarray(at("a"), at("a") + 6)]).toEqual([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]);
    expect([...buf.subarray(at("b"), at("b") + 4)]).toEqual([0x80, 0x3f, 0x40, 0x40]);
  });
});

describe("round trips", () => {
  const cases: [string, WritableTensor, (number | bigint)[]][] = [
    ["F32", { dtype: "F32", shape: [2, 3], data: new Float32Array([1.5, -2, 3e-7, 4e30, 0, -0.25]) }, [1.5, -2, Math.fround(3e-7), Math.fround(4e30), 0, -0.25]],
    ["F16", { dtype: "F16", shape: [4], data: new Float32Array([1, 0.1, -65504, 2 ** -24]) }, [1, f16BitsToNumber(0x2e66), -65504, 2 ** -24]],
    ["BF16", { dtype: "BF16", shape: [2, 2], data: new Float32Array([1, 0.1, -3, 1e38]) }, [1, bf16BitsToNumber(0x3dcd), -3, bf16BitsToNumber(numberToBf16Bits(1e38))]],
    ["F64 from Float64Array", { dtype: "F64", shape: [3], data: new Float64Array([0.1, -1e300, 2]) }, [Math.fround(0.1), -Infinity, 2]],
    ["F64 from Float32Array", { dtype: "F64", shape: [2], data: new Float32Array([0.5, 7]) }, [0.5, 7]],
    ["I32", { dtype: "I32", shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) }, [-2147483648, 0, 2147483647]],
    ["I64", { dtype: "I64", shape: [3], data: new BigInt64Array([-(2n ** 62n), 0n, 2n ** 40n]) }, [-(2n ** 62n), 0n, 2n ** 40n]],
    ["I64 from Int32Array", { dtype: "I64", shape: [2], data: new Int32Array([-5, 9]) }, [-5n, 9n]],
    ["U8", { dtype: "U8", shape: [3], data: new Uint8Array([0, 128, 255]) }, [0, 128, 255]],
    ["BOOL", { dtype: "BOOL", shape: [2, 1], data: new Uint8Array([1, 0]) }, [1, 0]],
    ["scalar", { dtype: "F32", shape: [], data: new Float32Array([42]) }, [42]],
    ["empty", { dtype: "F16", shape: [0, 5], data: new Float32Array(0) }, []],
  ];

  it.each(cases)("%s", (_label, tensor, expected) => {
    const file = fresh();
    writeSafetensors(file, { x: tensor, pad: { dtype: "U8", shape: [1], data: new Uint8Array([7]) } });
    const f = SafetensorsFile.open(file);
    const got = f.read("x");
    expect(got.dtype).toBe(tensor.dtype);
    expect(got.shape).toEqual(tensor.shape);
    expect([...got.data]).toEqual([...expected]);
    expect(f.read("pad").data).toEqual(new Uint8Array([7]));
    f.close();
  });

  it("keeps metadata and reports info without reading data", () => {
    const file = fresh();
    writeSafetensors(file, { w: { dtype: "BF16", shape: [4, 2], data: Float32Array.from({ length: 8 }, (_, i) => i + 1) } }, { format: "pt", note: "x" });
    const f = SafetensorsFile.open(file);
    expect(f.metadata).toEqual({ format: "pt", note: "x" });
    const bytes = fs.readFileSync(file);
    expect(f.info("w")).toEqual({ dtype: "BF16", shape: [4, 2], byteLength: 16, file, byteOffset: bytes.length - 16 });
    // The offset is absolute: the tensor's bfloat16 bits (1, 2, …, 8) start there.
    expect(Array.from(new Uint16Array(bytes.buffer.slice(bytes.byteOffset + bytes.length - 16, bytes.byteOffset + bytes.length)))).toEqual([0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0, 0x40e0, 0x4100]);
    f.close();
  });

  it("orders tensors by element size then name, each aligned to its size", () => {
    const file = fresh();
    writeSafetensors(file, {
      b_u8: { dtype: "U8", shape: [3], data: new Uint8Array(3) },
      z_f64: { dtype: "F64", shape: [1], data: new Float64Array(1) },
      a_f16: { dtype: "F16", shape: [1], data: new Float32Array(1) },
      a_f32: { dtype: "F32", shape: [1], data: new Float32Array(1) },
      c_i64: { dtype: "I64", shape: [1], data: new BigInt64Array(1) },
    });
    const f = SafetensorsFile.open(file);
    expect(f.names()).toEqual(["c_i64", "z_f64", "a_f32", "a_f16", "b_u8"]);
    const { n, json } = headerOf(file);
    expect((8 + n) % 8).toBe(0);
    for (const name of f.names()) {
      const info = f.info(name);
      const begin = (json[name] as { data_offsets: number[] }).data_offsets[0]!;
      expect(begin % (info.byteLength / Math.max(1, info.shape.reduce((a, b) => a * b, 1)))).toBe(0);
    }
    f.close();
  });

  it("is deterministic whatever the insertion order", () => {
    const t = (v: number): WritableTensor => ({ dtype: "F32", shape: [1], data: new Float32Array([v]) });
    const a = fresh();
    const b = fresh();
    writeSafetensors(a, { x: t(1), y: t(2), w: t(3) }, { k2: "2", k1: "1" });
    writeSafetensors(b, { w: t(3), y: t(2), x: t(1) }, { k1: "1", k2: "2" });
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true);
  });
});

describe("tensor-by-tensor reading", () => {
  it("reads tensors larger than the read buffer, for direct and converted dtypes", () => {
    const file = fresh("big");
    const n = 10_007;
    const ramp = Float32Array.from({ length: n }, (_, i) => (i % 500) - 250); // exact in F16 and BF16
    writeSafetensors(file, {
      f32: { dtype: "F32", shape: [n], data: ramp },
      f16: { dtype: "F16", shape: [n], data: ramp },
      bf16: { dtype: "BF16", shape: [n], data: ramp },
      f64: { dtype: "F64", shape: [n], data: ramp },
      i64: { dtype: "I64", shape: [n], data: Int32Array.from(ramp) },
    }, undefined, { chunkBytes: 96 });
    expect(fs.statSync(file).size).toBeGreaterThan(100 * 64);
    const f = SafetensorsFile.open(file, { chunkBytes: 64 });
    for (const name of ["f32", "f16", "bf16", "f64"]) expect(f.read(name).data).toEqual(ramp);
    expect([...f.read("i64").data].map(Number)).toEqual([...ramp]);
    f.close();
  });

  it("reads tensor data at its offset when asked, not at open", () => {
    const file = fresh();
    writeSafetensors(file, { a: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
    const f = SafetensorsFile.open(file);
    const { n } = headerOf(file);
    const fd = fs.openSync(file, "r+");
    fs.writeSync(fd, new Uint8Array(new Float32Array([5]).buffer), 0, 4, 8 + n + 4);
    fs.closeSync(fd);
    expect([...f.read("a").data]).toEqual([1, 5]);
    f.close();
    expect(() => f.read("a")).toThrow(/closed/);
  });
});

describe("writer", () => {
  it.each([
    ["shape/data mismatch", { dtype: "F32", shape: [2, 2], data: new Float32Array(3) }, /4 elements but the data has 3/],
    ["wrong array type", { dtype: "I32", shape: [1], data: new Float32Array(1) }, /I32 cannot be written from a Float32Array/],
    ["bad bool", { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 2]) }, /element 1 is 2/],
    ["bad dtype", { dtype: "U16", shape: [1], data: new Uint8Array(2) }, /dtype "U16" cannot be written/],
    ["negative dim", { dtype: "F32", shape: [-1], data: new Float32Array(0) }, /non-negative integers/],
  ] as [string, WritableTensor, RegExp][])("rejects %s naming file and tensor, leaving the old file", (_l, t, msg) => {
    const file = fresh();
    writeSafetensors(file, { ok: { dtype: "F32", shape: [1], data: new Float32Array([3]) } });
    const before = fs.readFileSync(file);
    let err: unknown;
    try {
      writeSafetensors(file, { bad: t });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain('tensor "bad"');
    expect((err as Error).message).toMatch(msg);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("fails cleanly when the folder does not exist", () => {
    expect(() => writeSafetensors(path.join(dir, "nope", "x.safetensors"), {})).toThrow(/ENOENT/);
  });
});

describe("loader helpers", () => {
  it("findNonFinite counts NaN and infinities and names the first", () => {
    expect(findNonFinite(new Float32Array([1, 2, 3]))).toBeNull();
    expect(findNonFinite(new Float32Array([1, NaN, Infinity, -Infinity, NaN]))).toEqual({ count: 4, nan: 2, inf: 2, firstIndex: 1, firstValue: NaN });
    expect(findNonFinite(new Int32Array([1]))).toBeNull();
  });

  it("toInt32Array converts I64 and rejects overflow", () => {
    expect(toInt32Array({ dtype: "I64", shape: [2], data: new BigInt64Array([-3n, 2147483647n]) }, "ids")).toEqual(new Int32Array([-3, 2147483647]));
    expect(() => toInt32Array({ dtype: "I64", shape: [1], data: new BigInt64Array([2n ** 31n]) }, "ids")).toThrow(/ids: element 0 = 2147483648 does not fit in int32/);
    expect(() => toInt32Array({ dtype: "F32", shape: [1], data: new Float32Array(1) }, "w")).toThrow(/integer tensor/);
  });
});
