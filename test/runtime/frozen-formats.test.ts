// The frozen-weight formats (src/runtime/tensor/frozen/formats.ts) against their definitions: the
// NormalFloat levels recomputed from normal quantiles as QLoRA defines them, bitsandbytes' dynamic
// map, and quantise → dequantise on fixed vectors worked out by hand (block absmax, nearest level,
// double quantisation of the block scales, int8 per row, 16-bit rounding). Pure JavaScript.
import { describe, expect, it } from "vitest";
import { dequantise, dynamicMap, NF4_LEVELS, quantise, storageBytes, bytesPerParam } from "../../src/runtime/tensor/frozen/formats.js";

const f = Math.fround;

/** erf by its Maclaurin series (|x| ≤ 3 here, where it converges to double precision). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const normalCdf = (z: number): number => 0.5 * (1 + erf(z / Math.SQRT2));
/** The standard normal quantile by bisection on the CDF. */
function normalPpf(p: number): number {
  let lo = -8;
  let hi = 8;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
const linspace = (a: number, b: number, n: number): number[] => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));

describe("NF4 levels", () => {
  it("are QLoRA's NormalFloat: quantiles of N(0, 1), 8 positive and 7 negative plus 0, normalised to [−1, 1]", () => {
    // QLoRA (Dettmers et al. 2023), create_normal_map(offset = 0.9677083, use_extra_value = True)
    const offset = 0.9677083;
    const positive = linspace(offset, 0.5, 9).slice(0, -1).map(normalPpf);
    const negative = linspace(offset, 0.5, 8).slice(0, -1).map((p) => -normalPpf(p));
    const values = [...positive, 0, ...negative].sort((a, b) => a - b);
    const max = Math.max(...values.map(Math.abs));
    expect(NF4_LEVELS.length).toBe(16);
    values.forEach((v, i) => expect(Math.abs(NF4_LEVELS[i]! - v / max), `level ${i}`).toBeLessThan(2e-7));
    expect(NF4_LEVELS[7]).toBe(0);
  });
});

describe("the dynamic map (8-bit codes of the nf4 block scales)", () => {
  const map = dynamicMap();
  it("has 256 distinct ascending values: ±(means of linspace(0.1, 1, 2^i + 1))·10^(i−6), 0 and 1", () => {
    expect(map.length).toBe(256);
    for (let i = 1; i < 256; i++) expect(map[i]!).toBeGreaterThan(map[i - 1]!);
    expect([...map]).toContain(0);
    expect(map[255]).toBe(1);
    // the largest below 1: i = 6, the mean of the last two of 65 points from 0.1 to 1
    expect(map[254]).toBe(f((1 + (1 - 0.9 / 64)) / 2));
    // the smallest in magnitude: i = 0, (0.1 + 1) / 2 · 10^−6, with both signs
    const zero = map.indexOf(0);
    const mean = f(f(f(0.1) + 1) / 2);
    expect(map[zero + 1]).toBe(f(f(1e-6) * mean));
    expect(map[zero - 1]).toBe(-f(f(1e-6) * mean));
    // −1 is not in it (127 negative values, 128 positive ones counting 1)
    expect(map[0]).toBe(-map[254]!);
    expect(map.filter((v) => v < 0).length).toBe(127);
  });
});

describe("nf4 quantise → dequantise on fixed vectors", () => {
  it("a block holding its levels times its absmax comes back exactly (one block: the scale is its own mean)", () => {
    const values = Float32Array.from({ length: 64 }, (_, i) => f(NF4_LEVELS[i % 16]! * 2));
    const q = quantise(values, 1, 64, "nf4");
    expect(q.offset).toBe(2); // the mean of the one block scale
    expect([...q.scale2!]).toEqual([0]); // block scale − mean = 0
    expect(q.data[0]).toBe(0x01); // codes 0 and 1, the first value in the high nibble
    expect(q.data[7]).toBe(0xef);
    expect([...dequantise(q)]).toEqual([...values]);
  });

  it("values between levels go to the nearest; double quantisation moves the block scales to the dynamic map", () => {
    // block 0: absmax 1 (from the value −1); block 1: absmax 3
    const values = new Float32Array(128);
    values[0] = -1;
    values[1] = 0.5; // between 0.4407 and 0.5626, nearer the first (midpoint 0.5017)
    values[2] = 0.51; // past the midpoint: 0.5626
    values[3] = -0.04; // nearer 0 than −0.0911
    values[64] = 3;
    values[65] = -1.5; // −0.5 of 3: nearest −0.5251
    const q = quantise(values, 1, 128, "nf4");
    expect([q.data[0]! >> 4, q.data[0]! & 15, q.data[1]! >> 4, q.data[1]! & 15]).toEqual([0, 12, 13, 7]);
    expect([q.data[32]! >> 4, q.data[32]! & 15]).toEqual([15, 2]);
    // scales 1 and 3: mean 2, centred −1 and +1, second-level absmax 1; +1 is in the map, −1 is
    // not: it becomes the nearest value, −0.99296875, so block 0's scale is 2 − 0.99296875
    expect(q.offset).toBe(2);
    expect([...q.scale2!]).toEqual([1]);
    const map = dynamicMap();
    expect(map[q.absmax8![0]!]).toBe(f(-0.99296875));
    expect(map[q.absmax8![1]!]).toBe(1);
    const s0 = f(2 - 0.99296875);
    const out = dequantise(q);
    expect(out[0]).toBe(f(-1 * s0));
    expect(out[1]).toBe(f(NF4_LEVELS[12]! * s0));
    expect(out[2]).toBe(f(NF4_LEVELS[13]! * s0));
    expect(out[3]).toBe(0);
    expect(out[64]).toBe(3);
    expect(out[65]).toBe(f(NF4_LEVELS[2]! * 3));
  });

  it("an all-zero block stays zero; a final partial block is its own block", () => {
    const values = new Float32Array(64 + 10);
    values[70] = 0.25;
    const q = quantise(values, 2, 37, "nf4");
    expect(q.absmax8!.length).toBe(2);
    expect(q.data.length).toBe(37);
    const out = dequantise(q);
    expect(out.subarray(0, 64).every((v) => v === 0)).toBe(true);
    expect(out[70]).toBeCloseTo(0.25, 6);
  });

  it("second-level scales are per 256 block scales", () => {
    // block scales near one another, as in a weight matrix (the mean-centred 8-bit codes resolve them finely)
    const blockScale = (i: number): number => 1 + 0.1 * Math.sin(Math.floor(i / 64));
    const values = Float32Array.from({ length: 64 * 300 }, (_, i) => Math.sin(i * 1.7) * blockScale(i));
    const q = quantise(values, 300, 64, "nf4");
    expect(q.scale2!.length).toBe(2);
    expect(storageBytes("nf4", 300, 64)).toBe(64 * 300 / 2 + 300 + 2 * 4);
    expect(bytesPerParam("nf4")).toBeCloseTo(0.5 + 1 / 64 + 4 / 16384, 12);
    const out = dequantise(q);
    // within half the widest level step (−1 to −0.6962) of the block scale, plus the scale's own 8-bit error
    const halfStep = (NF4_LEVELS[1]! - NF4_LEVELS[0]!) / 2;
    for (let i = 0; i < values.length; i++) expect(Math.abs(out[i]! - values[i]!)).toBeLessThan(halfStep * blockScale(i) + 0.002);
  });
});

describe("int8, bf16 and f16", () => {
  it("int8: per row absmax / 127, rounding half away from zero", () => {
    const values = Float32Array.of(2.54, -1.27, 0.01, 0, /* row 2 */ 0, 0, 0, 0);
    const q = quantise(values, 2, 4, "int8");
    expect([...q.scales!]).toEqual([f(2.54 / 127), 0]);
    expect([...(q.data as Int8Array)]).toEqual([127, -64, 1, 0, 0, 0, 0, 0]); // −1.27 / 0.02 = −63.5… → −64
    const out = dequantise(q);
    expect(out[1]).toBe(f(-64 * f(2.54 / 127)));
    expect([...out.subarray(4)]).toEqual([0, 0, 0, 0]);
  });

  it("bf16 and f16: round to nearest even", () => {
    const values = Float32Array.of(1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 2 ** -25);
    expect([...dequantise(quantise(values, 1, 6, "bf16"))]).toEqual([1, 1 + 2 ** -6, 1, 1, 70144, 2 ** -25]);
    expect([...dequantise(quantise(values, 1, 6, "f16"))]).toEqual([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1, 1 + 2 ** -9, Infinity, 0]);
  });
});
