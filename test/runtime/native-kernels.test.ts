// The native kernels against the wasm kernels they replace: random shapes with odd sizes and edge
// batches, outputs and gradients; the SIMD path against the plain C path; thread counts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { initBackend } from "../../src/runtime/tensor/backend.js";
import { loadAddon } from "../../src/runtime/tensor/native/index.js";
import { Rng } from "../../src/runtime/rng.js";

type Values = Float32Array[];

const rng = new Rng(99);
const randn = (shape: number[]): tf.Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape, "float32");
};

/** Runs `f` under `backend` ("native" or "wasm") and returns its outputs; checks for leaked tensors. */
async function runOn(backend: "native" | "wasm", f: () => tf.Tensor[]): Promise<Values> {
  await initBackend(backend);
  const before = tf.memory().numTensors;
  const values = tf.tidy(() => f().map((t) => t.dataSync() as Float32Array));
  expect(tf.memory().numTensors, `tensors leaked on ${backend}`).toBe(before);
  return values;
}

/** Largest |a − e| / (1 + |e|) over all outputs. */
function worstRelative(actual: Values, expected: Values): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  actual.forEach((a, k) => {
    const e = expected[k]!;
    expect(a.length, `output ${k} size`).toBe(e.length);
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!) / (1 + Math.abs(e[i]!)));
  });
  return worst;
}

/** The product and the gradients of sum(product · w) w.r.t. both inputs. */
function productAndGrads(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean, w: tf.Tensor): tf.Tensor[] {
  const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w));
  const [ga, gb] = tf.grads(f)([a, b]);
  return [tf.matMul(a, b, ta, tb), ga!, gb!];
}

interface Case {
  name: string;
  a: number[];
  b: number[];
  ta?: boolean;
  tb?: boolean;
  /** tfjs's BatchMatMul gradient cannot reduce broadcast batch axes: outputs only. */
  outputOnly?: boolean;
}

// m, n, k in {1, 7, 33, 129, …}; batch axes equal, or one side 1 (what wasm supports).
const CASES: Case[] = [
  { name: "1×1·1×1", a: [1, 1], b: [1, 1] },
  { name: "vector times matrix", a: [1, 33], b: [33, 7] },
  { name: "matrix times vector", a: [129, 7], b: [7, 1] },
  { name: "odd sizes", a: [33, 129], b: [129, 7] },
  { name: "transposeA", a: [129, 33], b: [129, 17], ta: true },
  { name: "transposeB", a: [7, 129], b: [33, 129], tb: true },
  { name: "both transposed", a: [65, 31], b: [17, 65], ta: true, tb: true },
  { name: "k larger than one block", a: [13, 600], b: [600, 19] },
  { name: "n larger than one block", a: [3, 5], b: [5, 3100] },
  { name: "m larger than one row block", a: [2100, 3], b: [3, 20] },
  { name: "batched, equal batches", a: [5, 7, 33], b: [5, 33, 9] },
  { name: "batched, a broadcast", a: [1, 7, 33], b: [6, 33, 9], outputOnly: true },
  { name: "batched, b broadcast (a rank 4)", a: [2, 3, 16, 8], b: [8, 16], outputOnly: true },
  { name: "batched, b broadcast and transposed", a: [4, 9, 5], b: [1, 3, 5], tb: true, outputOnly: true },
  { name: "attention scores: [B, H, T, d]·[B, H, T, d]ᵀ", a: [2, 4, 33, 16], b: [2, 4, 33, 16], tb: true },
  { name: "attention values: [B, H, T, T]·[B, H, T, d]", a: [2, 4, 33, 33], b: [2, 4, 33, 16] },
  { name: "one batch of one", a: [1, 1, 1, 5], b: [1, 1, 5, 1] },
  // n ≤ 16 and m ≤ 12: the product reads A (resp. B) in place instead of packing it
  { name: "LoRA down-projection x·Aᵀ (12×8 tiles, A in place)", a: [1027, 129], b: [8, 129], tb: true },
  { name: "n ≤ 8 with B packed", a: [130, 300], b: [300, 7] },
  { name: "A in place, transposed", a: [300, 37], b: [300, 5], ta: true },
  { name: "LoRA gradient gᵀ·x (B in place)", a: [600, 8], b: [600, 64], ta: true },
  { name: "B in place, a wide product", a: [7, 260], b: [260, 160] },
  { name: "B in place, batched", a: [3, 11, 40], b: [3, 40, 48] },
];

let addon: ReturnType<typeof loadAddon>["addon"];

beforeAll(async () => {
  const info = await initBackend("native");
  expect(info.name).toBe("native");
  expect(info.tfjsName).toBe("wasm");
  addon = loadAddon().addon;
});

afterAll(async () => {
  addon.setSimd(true);
  await initBackend("wasm");
});

describe("BatchMatMul", () => {
  it.each(CASES)("$name: output and gradients match wasm", async ({ a, b, ta = false, tb = false, outputOnly = false }) => {
    const av = randn(a);
    const bv = randn(b);
    const outShape = tf.tidy(() => tf.matMul(av, bv, ta, tb).shape);
    const w = randn(outShape);
    const f = () => (outputOnly ? [tf.matMul(av, bv, ta, tb)] : productAndGrads(av, bv, ta, tb, w));
    const native = await runOn("native", f);
    const wasm = await runOn("wasm", f);
    expect(worstRelative(native, wasm)).toBeLessThan(1e-4);
    tf.dispose([av, bv, w]);
  });

  it("broadcasts batch axes both ways ([2, 1] with [1, 3]), as tiled inputs would", async () => {
    const av = randn([2, 1, 5, 7]);
    const bv = randn([1, 3, 7, 4]);
    const [out] = await runOn("native", () => [tf.matMul(av, bv)]);
    const [tiled] = await runOn("wasm", () => [tf.matMul(tf.tile(av, [1, 3, 1, 1]).reshape([6, 5, 7]), tf.tile(bv, [2, 1, 1, 1]).reshape([6, 7, 4]))]);
    expect(worstRelative([out!], [tiled!])).toBeLessThan(2e-5);
    tf.dispose([av, bv]);
  });

  it("handles empty products; int32 inputs go to the wasm kernel (which rejects them)", async () => {
    const [empty] = await runOn("native", () => [tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4]))]);
    expect(Array.from(empty!)).toEqual(new Array(12).fill(0));
    const [none] = await runOn("native", () => [tf.matMul(tf.zeros([0, 5]), tf.zeros([5, 4]))]);
    expect(none!.length).toBe(0);
    const ints = () => tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"), tf.tensor2d([5, 6, 7, 8], [2, 2], "int32")));
    expect(ints).toThrow(/BatchMatMul for non non-float32 tensors not yet supported/);
  });

  it("rejects mismatched inner sizes naming both shapes", async () => {
    await initBackend("native");
    expect(() => tf.tidy(() => tf.engine().runKernel("BatchMatMul", { a: tf.zeros([2, 3]), b: tf.zeros([4, 5]) }, { transposeA: false, transposeB: false })))
      .toThrow(/BatchMatMul \(native\): inner sizes differ: a \[2,3\] has 3, b \[4,5\] has 4/);
  });

  it("the AVX2 path matches the plain C path", async () => {
    if (!addon.info().avx2) return; // nothing to compare: plain C is the only path
    const av = randn([3, 37, 261]);
    const bv = randn([3, 261, 45]);
    const simd = await runOn("native", () => [tf.matMul(av, bv), tf.matMul(av, bv, false, false).transpose()]);
    addon.setSimd(false);
    try {
      expect(addon.info().simd).toBe(false);
      const plain = await runOn("native", () => [tf.matMul(av, bv), tf.matMul(av, bv, false, false).transpose()]);
      expect(worstRelative(simd, plain)).toBeLessThan(1e-5);
      expect(worstRelative(simd, plain)).toBeGreaterThan(0); // two different code paths really ran
    } finally {
      addon.setSimd(true);
      tf.dispose([av, bv]);
    }
  });

  it("the 12×8 (n ≤ 8) and AVX-512 (n > 128) tiles give the same bits as the 6×16 AVX2 one", async () => {
    if (!addon.info().avx2) return; // plain C only: no tile variants
    const cases: [number[], number[], boolean, boolean][] = [
      [[1027, 129], [8, 129], false, true], // LoRA x·Aᵀ: 12×8, A in place
      [[600, 8], [600, 5], true, false], // 12×8, transposed A in place, an edge strip
      [[130, 300], [300, 7], false, false], // 12×8 with packed B
      [[300, 600], [600, 700], false, false], // AVX-512 where the CPU has it
      [[1000, 37], [1000, 259], true, false],
      [[2, 129, 65], [2, 333, 65], false, true],
    ];
    await initBackend("native");
    try {
      for (const [a, b, ta, tb] of cases) {
        const av = randn(a);
        const bv = randn(b);
        const variant = tf.tidy(() => tf.matMul(av, bv, ta, tb).dataSync() as Float32Array);
        addon.setGemmVariants(false);
        expect(addon.info().gemm).toBe("AVX2+FMA");
        const reference = tf.tidy(() => tf.matMul(av, bv, ta, tb).dataSync() as Float32Array);
        addon.setGemmVariants(true);
        expect(Buffer.from(variant.buffer).equals(Buffer.from(reference.buffer)), `[${a}]·[${b}]`).toBe(true);
        tf.dispose([av, bv]);
      }
    } finally {
      addon.setGemmVariants(true);
    }
  });

  it("gives the same bits on 1, 2 and 3 threads (threads split rows or columns, never k)", async () => {
    const cases: [number[], number[]][] = [
      [[300, 700], [700, 250]],
      [[8, 700], [700, 1000]],
      [[16, 4, 64, 16], [16, 4, 16, 64]],
    ];
    for (const [a, b] of cases) {
      const av = randn(a);
      const bv = randn(b);
      const results: Float32Array[] = [];
      await initBackend("native");
      for (const threads of [1, 2, 3]) {
        addon.setThreads(threads);
        results.push(tf.tidy(() => tf.matMul(av, bv).dataSync() as Float32Array));
      }
      await initBackend("native"); // back to the default thread count
      expect(Buffer.from(results[1]!.buffer).equals(Buffer.from(results[0]!.buffer)), `[${a}]·[${b}] 2 vs 1 thread`).toBe(true);
      expect(Buffer.from(results[2]!.buffer).equals(Buffer.from(results[0]!.buffer)), `[${a}]·[${b}] 3 vs 1 thread`).toBe(true);
      tf.dispose([av, bv]);
    }
  });
});
