// Frozen weights in the native store against the JavaScript formats (src/runtime/tensor/frozen/
// formats.ts): stored codes and scales, dequantised values, the frozen product and its input
// gradient against the float32 product on the dequantised weight, thread counts, SIMD against plain
// C, streaming writes, the embedding gather, and that dispose frees the native memory.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { initBackend } from "../../src/runtime/tensor/backend.js";
import { loadAddon } from "../../src/runtime/tensor/native/index.js";
import {
  dequantise, FrozenWeight, frozenEmbedding, frozenLinear, frozenMemory, nativeStore, PRECISIONS, quantise, storageBytes,
  type Precision, type Quantised, type SourceDtype,
} from "../../src/runtime/tensor/frozen/index.js";
import { numberToBf16Bits, numberToF16Bits } from "../../src/runtime/tensor/frozen/half.js";
import { Rng } from "../../src/runtime/rng.js";

const rng = new Rng(2024);
const randArray = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * scale);
const same = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Source bytes of `values` in `dtype`, and the float32 values those bytes hold. */
function source(values: Float32Array, dtype: SourceDtype): { bytes: Uint8Array; exact: Float32Array } {
  if (dtype === "F32") return { bytes: new Uint8Array(values.buffer.slice(0)), exact: values };
  const bits = Uint16Array.from(values, dtype === "BF16" ? numberToBf16Bits : numberToF16Bits);
  const exact = dequantise({ precision: dtype === "BF16" ? "bf16" : "f16", rows: 1, cols: values.length, data: bits });
  return { bytes: new Uint8Array(bits.buffer), exact };
}

function expectStoredEqual(actual: Quantised, expected: Quantised, what: string): void {
  expect(same(actual.data, expected.data), `${what}: codes`).toBe(true);
  if (expected.scales) expect(same(actual.scales!, expected.scales), `${what}: row scales`).toBe(true);
  if (expected.absmax8) {
    expect(same(actual.absmax8!, expected.absmax8), `${what}: block scale codes`).toBe(true);
    expect(same(actual.scale2!, expected.scale2!), `${what}: second-level scales`).toBe(true);
    expect(Object.is(actual.offset, Math.fround(expected.offset!)), `${what}: offset`).toBe(true);
  }
}

let addon: ReturnType<typeof loadAddon>["addon"];

beforeAll(async () => {
  const info = await initBackend("native");
  expect(info.name).toBe("native");
  addon = loadAddon().addon;
});

afterAll(async () => {
  addon.setSimd(true);
  await initBackend("wasm");
});

// [out, in]: odd sizes, rows that end inside an nf4 block, more than 256 blocks (two second-level groups)
const SHAPES: [number, number][] = [[37, 129], [130, 67], [5, 1], [97, 300], [301, 72]];

describe("the native store holds what the JavaScript formats define", () => {
  for (const precision of PRECISIONS) {
    for (const dtype of ["F32", "BF16", "F16"] as SourceDtype[]) {
      it(`${precision} from ${dtype}`, () => {
        for (const [rows, cols] of SHAPES) {
          const { bytes, exact } = source(randArray(rows * cols, 0.02), dtype);
          const w = FrozenWeight.fromBytes(bytes, dtype, [rows, cols], precision);
          try {
            expect(w.native).toBe(true);
            expect(w.bytes).toBe(storageBytes(precision, rows, cols));
            const ref = quantise(exact, rows, cols, precision);
            expectStoredEqual(w.stored(), ref, `${precision} [${rows}, ${cols}] from ${dtype}`);
            expect(same(w.toFloat32(), dequantise(ref)), `${precision} [${rows}, ${cols}] dequantised`).toBe(true);
          } finally {
            w.dispose();
          }
        }
      });
    }
  }
});

describe("non-finite weights", () => {
  it("NaN and ±Infinity are stored as the JavaScript formats store them, in every precision", () => {
    const values = randArray(4 * 130, 0.02);
    values[3] = NaN;
    values[140] = Infinity;
    values[141] = -Infinity;
    values[300] = NaN;
    values[301] = Infinity;
    for (const precision of PRECISIONS) {
      const w = FrozenWeight.fromFloat32(values, [4, 130], precision);
      expectStoredEqual(w.stored(), quantise(values, 4, 130, precision), `${precision} with NaN and Infinity`);
      w.dispose();
    }
  });
});

describe("frozenLinear", () => {
  const CASES: { x: number[]; w: [number, number] }[] = [
    { x: [7, 129], w: [37, 129] },
    { x: [2, 9, 67], w: [130, 67] },
    { x: [1, 300], w: [97, 300] },
    { x: [33, 72], w: [301, 72] },
    { x: [260, 200], w: [520, 200] },
  ];

  /** y, dx for sum(y·r) on the frozen op, and the same from tf.matMul on the dequantised weight. */
  function both(x: tf.Tensor, w: FrozenWeight, r: tf.Tensor): { frozen: Float32Array[]; ref: Float32Array[] } {
    return tf.tidy(() => {
      const wt = tf.tensor2d(w.toFloat32(), w.shape);
      const [, inF] = w.shape;
      const f1 = (a: tf.Tensor) => tf.sum(tf.mul(frozenLinear(a, w), r));
      const f2 = (a: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a.reshape([-1, inF]), wt, false, true).reshape(r.shape), r));
      return {
        frozen: [frozenLinear(x, w).dataSync() as Float32Array, tf.grad(f1)(x).dataSync() as Float32Array],
        ref: [tf.matMul(x.reshape([-1, inF]), wt, false, true).dataSync() as Float32Array, tf.grad(f2)(x).dataSync() as Float32Array],
      };
    });
  }

  for (const precision of PRECISIONS) {
    it(`${precision}: output and dx equal the float32 product on the dequantised weight, bit for bit`, async () => {
      await initBackend("native");
      for (const c of CASES) {
        const w = FrozenWeight.fromFloat32(randArray(c.w[0] * c.w[1], 0.05), c.w, precision);
        const x = tf.tensor(randArray(c.x.reduce((a, b) => a * b, 1)), c.x);
        const r = tf.tensor(randArray((x.size / c.w[1]) * c.w[0]), [...c.x.slice(0, -1), c.w[0]]);
        const before = tf.memory().numTensors;
        const { frozen, ref } = both(x, w, r);
        expect(tf.memory().numTensors, "tensors leaked").toBe(before);
        expect(same(frozen[0]!, ref[0]!), `y for x [${c.x}], W [${c.w}]`).toBe(true);
        expect(same(frozen[1]!, ref[1]!), `dx for x [${c.x}], W [${c.w}]`).toBe(true);
        tf.dispose([x, r]);
        w.dispose();
      }
    });
  }

  it("a weight wider than one panel (several slabs, forward and gradient) gives the same bits on 1 and 2 threads", async () => {
    await initBackend("native");
    const [out, inF] = [400, 30000]; // x·Wᵀ in 2 slabs of W's rows, dy·W in 2 slabs of its columns
    const values = Float32Array.from({ length: out * inF }, (_, i) => Math.sin(i * 0.7) * 0.05);
    const x = tf.tensor2d(randArray(3 * inF), [3, inF]);
    const dy = tf.tensor2d(randArray(3 * out), [3, out]);
    for (const precision of ["nf4", "bf16"] as const) {
      const w = FrozenWeight.fromFloat32(values, [out, inF], precision);
      const wt = tf.tensor2d(w.toFloat32(), [out, inF]);
      const results: Float32Array[][] = [];
      for (const threads of [1, 2]) {
        addon.setThreads(threads);
        results.push(tf.tidy(() => [frozenLinear(x, w).dataSync() as Float32Array, tf.grad((a: tf.Tensor) => tf.sum(tf.mul(frozenLinear(a, w), dy)))(x).dataSync() as Float32Array]));
      }
      const ref = tf.tidy(() => [tf.matMul(x, wt, false, true).dataSync() as Float32Array, tf.matMul(dy, wt).dataSync() as Float32Array]);
      await initBackend("native"); // back to the default thread count
      for (const [k, r] of results.entries()) {
        expect(same(r[0]!, ref[0]!), `${precision} y, ${k + 1} thread(s)`).toBe(true);
        expect(same(r[1]!, ref[1]!), `${precision} dx, ${k + 1} thread(s)`).toBe(true);
      }
      wt.dispose();
      w.dispose();
    }
    tf.dispose([x, dy]);
  });

  it("bf16 and f16 equal the product with the weights rounded to 16 bits", async () => {
    await initBackend("native");
    const values = randArray(61 * 83);
    for (const [precision, round] of [["bf16", numberToBf16Bits], ["f16", numberToF16Bits]] as const) {
      const rounded = dequantise({ precision, rows: 61, cols: 83, data: Uint16Array.from(values, round) });
      const w = FrozenWeight.fromFloat32(values, [61, 83], precision);
      const x = tf.tensor(randArray(19 * 83), [19, 83]);
      const y = tf.tidy(() => frozenLinear(x, w).dataSync() as Float32Array);
      const yRef = tf.tidy(() => tf.matMul(x, tf.tensor2d(rounded, [61, 83]), false, true).dataSync() as Float32Array);
      expect(same(y, yRef), precision).toBe(true);
      x.dispose();
      w.dispose();
    }
  });

  it("gives the same bits on 1, 2 and 3 threads", async () => {
    await initBackend("native");
    for (const precision of PRECISIONS) {
      const w = FrozenWeight.fromFloat32(randArray(300 * 520, 0.05), [300, 520], precision);
      const x = tf.tensor(randArray(70 * 520), [70, 520]);
      const dy = tf.tensor(randArray(70 * 300), [70, 300]);
      const results: Float32Array[][] = [];
      for (const threads of [1, 2, 3]) {
        addon.setThreads(threads);
        results.push(tf.tidy(() => [frozenLinear(x, w).dataSync() as Float32Array, tf.grad((a: tf.Tensor) => tf.sum(tf.mul(frozenLinear(a, w), dy)))(x).dataSync() as Float32Array]));
      }
      await initBackend("native"); // back to the default thread count
      for (let k = 1; k < results.length; k++) {
        expect(same(results[k]![0]!, results[0]![0]!), `${precision} y, ${k + 1} threads`).toBe(true);
        expect(same(results[k]![1]!, results[0]![1]!), `${precision} dx, ${k + 1} threads`).toBe(true);
      }
      tf.dispose([x, dy]);
      w.dispose();
    }
  });

  it("the plain C path quantises and dequantises the same values and equals the plain C product on them", async () => {
    await initBackend("native");
    for (const precision of PRECISIONS) {
      const values = randArray(130 * 200, 0.05);
      const w = FrozenWeight.fromFloat32(values, [130, 200], precision);
      const x = tf.tensor(randArray(20 * 200), [20, 200]);
      const simd = w.toFloat32();
      addon.setSimd(false);
      try {
        for (const dtype of ["F32", "BF16", "F16"] as SourceDtype[]) {
          const { bytes } = source(values, dtype);
          const plain = FrozenWeight.fromBytes(bytes, dtype, [130, 200], precision);
          addon.setSimd(true);
          const vector = FrozenWeight.fromBytes(bytes, dtype, [130, 200], precision);
          addon.setSimd(false);
          expectStoredEqual(plain.stored(), vector.stored(), `${precision} from ${dtype}, plain C vs SIMD`);
          plain.dispose();
          vector.dispose();
        }
        expect(same(w.toFloat32(), simd), `${precision} dequantised`).toBe(true);
        const y = tf.tidy(() => frozenLinear(x, w).dataSync() as Float32Array);
        const yRef = tf.tidy(() => tf.matMul(x, tf.tensor2d(simd, w.shape), false, true).dataSync() as Float32Array);
        expect(same(y, yRef), `${precision} y`).toBe(true);
      } finally {
        addon.setSimd(true);
      }
      x.dispose();
      w.dispose();
    }
  });

  it("on wasm (no native kernels) uses the dequantised weight: the same values up to summation order", async () => {
    const w = FrozenWeight.fromFloat32(randArray(45 * 70, 0.05), [45, 70], "nf4");
    const xv = randArray(9 * 70);
    await initBackend("native");
    const yNative = tf.tidy(() => frozenLinear(tf.tensor2d(xv, [9, 70]), w).dataSync() as Float32Array);
    await initBackend("wasm");
    const before = tf.memory().numTensors;
    const yWasm = tf.tidy(() => frozenLinear(tf.tensor2d(xv, [9, 70]), w).dataSync() as Float32Array);
    expect(tf.memory().numTensors, "only the weight's cached tensor stays").toBe(before + 1);
    for (let i = 0; i < yNative.length; i++) expect(Math.abs(yWasm[i]! - yNative[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(yNative[i]!)));
    w.dispose();
    expect(tf.memory().numTensors, "dispose frees the cached tensor").toBe(before);
    await initBackend("native");
  });

  it("rejects a wrong input width and a disposed weight, naming them", async () => {
    await initBackend("native");
    const w = FrozenWeight.fromFloat32(randArray(8 * 16), [8, 16], "int8");
    const x = tf.zeros([3, 15]);
    expect(() => frozenLinear(x, w)).toThrow(/frozenLinear: x must be float32 \[\.\.\., 16\] for W \[8, 16\], got float32 \[3, 15\]/);
    w.dispose();
    expect(() => frozenLinear(tf.zeros([3, 16]), w)).toThrow(/frozen weight \[8, 16\] \(int8\) was disposed/);
    x.dispose();
  });
});

describe("a LoRA layer on a frozen base", () => {
  it("has the gradients (x, A, B) of the same layer on the dequantised float32 base, bit for bit", async () => {
    await initBackend("native");
    const { loraAdd } = await import("../../src/runtime/tensor/ops/index.js");
    for (const precision of ["nf4", "bf16", "int8"] as const) {
      const [out, inF, r, n] = [96, 80, 8, 21];
      const w = FrozenWeight.fromFloat32(randArray(out * inF, 0.05), [out, inF], precision);
      const x = tf.tensor2d(randArray(n * inF), [n, inF]);
      const a = tf.tensor2d(randArray(r * inF, 0.1), [r, inF]);
      const b = tf.tensor2d(randArray(out * r, 0.1), [out, r]);
      const target = tf.tensor2d(randArray(n * out), [n, out]);
      const grads = (base: (x: tf.Tensor2D) => tf.Tensor2D): Float32Array[] =>
        tf.tidy(() => {
          const loss = (xx: tf.Tensor, aa: tf.Tensor, bb: tf.Tensor) =>
            tf.sum(tf.square(tf.sub(loraAdd(base(xx as tf.Tensor2D), xx as tf.Tensor2D, aa as tf.Tensor2D, bb as tf.Tensor2D, 2), target)));
          return tf.grads(loss)([x, a, b]).map((g) => g.dataSync() as Float32Array);
        });
      const wt = tf.tensor2d(w.toFloat32(), [out, inF]);
      const frozenGrads = grads((xx) => frozenLinear(xx, w) as tf.Tensor2D);
      const denseGrads = grads((xx) => tf.matMul(xx, wt, false, true));
      ["x", "A", "B"].forEach((name, i) => expect(same(frozenGrads[i]!, denseGrads[i]!), `${precision} d${name}`).toBe(true));
      tf.dispose([x, a, b, target, wt]);
      w.dispose();
    }
  });
});

describe("streaming writes", () => {
  it("rows written in chunks (any order) store the same as one write", () => {
    for (const precision of PRECISIONS) {
      const [rows, cols] = [203, 40];
      const values = randArray(rows * cols, 0.1);
      const whole = FrozenWeight.fromFloat32(values, [rows, cols], precision);
      const writer = FrozenWeight.writer([rows, cols], precision);
      const chunk = writer.rowAlign * 3; // nf4: 8 rows of 40 values = 5 blocks
      const starts = [];
      for (let r = 0; r < rows; r += chunk) starts.push(r);
      for (const r of starts.reverse()) {
        const n = Math.min(chunk, rows - r);
        const part = source(values.slice(r * cols, (r + n) * cols), "F32");
        writer.write(r, part.bytes, "F32");
      }
      const streamed = writer.finish();
      expectStoredEqual(streamed.stored(), whole.stored(), precision);
      whole.dispose();
      streamed.dispose();
    }
  });

  it("fromFile reads a tensor's bytes at an offset in chunks of whole rows, as fromBytes stores them", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-frozen-"));
    try {
      const [rows, cols] = [75, 40];
      const { bytes } = source(randArray(rows * cols, 0.1), "BF16");
      const file = path.join(dir, "w.bin");
      fs.writeFileSync(file, Buffer.concat([Buffer.alloc(13, 7), Buffer.from(bytes), Buffer.alloc(5)]));
      for (const precision of PRECISIONS) {
        const whole = FrozenWeight.fromBytes(bytes, "BF16", [rows, cols], precision);
        const read = FrozenWeight.fromFile(file, 13, "BF16", [rows, cols], precision, { chunkBytes: 1000 }); // 12 rows, or 8 for nf4
        expectStoredEqual(read.stored(), whole.stored(), precision);
        whole.dispose();
        read.dispose();
      }
      const before = frozenMemory().nativeBytes;
      expect(() => FrozenWeight.fromFile(file, 13, "BF16", [rows + 3, cols], "nf4")).toThrow(/ends before byte/);
      expect(frozenMemory().nativeBytes, "a failed read frees what it wrote").toBe(before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finishing with a row never written is an error naming it (JavaScript and native checks)", () => {
    const writer = FrozenWeight.writer([6, 8], "int8");
    writer.write(0, new Uint8Array(3 * 8 * 4), "F32");
    writer.write(4, new Uint8Array(2 * 8 * 4), "F32");
    expect(() => writer.finish()).toThrow(/row 3 of the \[6, 8\] weight was never written/);
    writer.abort();
    const store = nativeStore()!;
    const id = store.weightsCreate(0, 2, 4);
    store.weightsWrite(id, 1, 1, new Float32Array(4), 0);
    expect(() => store.weightsFinish(id)).toThrow(/row 0 of the \[2, 4\] weight was never written/);
    expect(store.weightsFree(id)).toBe(true);
  });

  it("an nf4 chunk that ends inside a block is an error", () => {
    const writer = FrozenWeight.writer([10, 40], "nf4");
    expect(writer.rowAlign).toBe(8);
    expect(() => writer.write(0, new Uint8Array(3 * 40 * 4), "F32")).toThrow(/block of 64/);
    writer.abort();
  });
});

describe("frozenEmbedding", () => {
  it("gathers dequantised rows of every precision; a bad id is an error naming it", async () => {
    await initBackend("native");
    for (const precision of PRECISIONS) {
      const table = FrozenWeight.fromFloat32(randArray(50 * 24), [50, 24], precision);
      const ids = tf.tensor([[3, 49, 0], [7, 7, 12]], [2, 3], "int32");
      const all = table.toFloat32();
      const out = tf.tidy(() => frozenEmbedding(table, ids));
      expect(out.shape).toEqual([2, 3, 24]);
      const got = out.dataSync() as Float32Array;
      [3, 49, 0, 7, 7, 12].forEach((id, i) => expect(same(got.subarray(i * 24, (i + 1) * 24), all.subarray(id * 24, (id + 1) * 24))).toBe(true));
      const bad = tf.tensor([1, 50], [2], "int32");
      expect(() => frozenEmbedding(table, bad)).toThrow(/id 50 at position 1 is outside the table's 50 rows/);
      tf.dispose([ids, out, bad]);
      table.dispose();
    }
  });
});

describe("memory", () => {
  it("the store counts each weight's bytes and dispose gives them back", () => {
    const start = frozenMemory();
    const made: FrozenWeight[] = [];
    let expected = 0;
    for (const precision of PRECISIONS as readonly Precision[]) {
      made.push(FrozenWeight.fromFloat32(randArray(64 * 100), [64, 100], precision));
      expected += storageBytes(precision, 64, 100);
    }
    const during = frozenMemory();
    expect(during.nativeBytes - start.nativeBytes).toBe(expected);
    expect(during.weights - start.weights).toBe(PRECISIONS.length);
    expect(during.peakNativeBytes).toBeGreaterThanOrEqual(during.nativeBytes);
    for (const w of made) w.dispose();
    made[0]!.dispose(); // idempotent
    const end = frozenMemory();
    expect(end.nativeBytes).toBe(start.nativeBytes);
    expect(end.weights).toBe(start.weights);
  });

  it("a 4-bit weight takes about an eighth of its float32 size", () => {
    const [rows, cols] = [512, 1024];
    const f32 = FrozenWeight.fromFloat32(randArray(rows * cols), [rows, cols], "f32");
    const nf4 = FrozenWeight.fromFloat32(f32.toFloat32(), [rows, cols], "nf4");
    expect(nf4.bytes / f32.bytes).toBeCloseTo((0.5 + 1 / 64 + 4 / (64 * 256)) / 4, 6);
    f32.dispose();
    nf4.dispose();
  });
});

describe("the safety nets (a child process on the built package)", () => {
  const script = String.raw`
    import { Worker } from "node:worker_threads";
    import { frozen } from "${new URL("../../dist/index.js", import.meta.url).href}";
    const bytes = () => frozen.frozenMemory().nativeBytes;
    const start = bytes();
    (() => { for (let i = 0; i < 5; i++) frozen.FrozenWeight.fromFloat32(new Float32Array(64 * 100), [64, 100], "nf4"); })();
    const made = bytes();
    for (let i = 0; i < 50 && bytes() > start; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
    const collected = bytes();
    const worker = new Worker(${"`"}Promise.all([import("${new URL("../../dist/index.js", import.meta.url).href}"), import("node:worker_threads")]).then(([{ frozen }, { parentPort }]) => { globalThis.kept = frozen.FrozenWeight.fromFloat32(new Float32Array(128 * 128), [128, 128], "bf16"); parentPort.postMessage(frozen.frozenMemory().nativeBytes); });${"`"}, { eval: true });
    const inWorker = await new Promise((r) => worker.once("message", r));
    await worker.terminate();
    console.log(JSON.stringify({ start, made, collected, inWorker, afterWorker: bytes() }));
  `;

  it("a weight dropped without dispose is freed when collected; a worker's weights when it exits", () => {
    const res = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    expect(res.stderr).toBe("");
    const r = JSON.parse(res.stdout.trim().split("\n").pop()!) as Record<string, number>;
    expect(r.made! - r.start!).toBe(5 * storageBytes("nf4", 64, 100));
    expect(r.collected).toBe(r.start);
    expect(r.inWorker! - r.start!).toBe(storageBytes("bf16", 128, 128));
    expect(r.afterWorker).toBe(r.start);
  });
});
