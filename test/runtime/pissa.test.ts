// The SVD and PiSSA: exact decomposition, PEFT's factor convention (divide by scaling), the residual
// left in the base, and the conversion to a LoRA on the original base (PEFT's rank-2r convention).
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { PissaLoraAdapter, pissaFactors } from "../../src/runtime/adapters/pissa.js";
import { lowRankSvd, reconstruct, svd, truncateSvd } from "../../src/runtime/adapters/svd.js";
import { injectAdapter } from "../../src/runtime/adapters/inject.js";
import { exportAsLora } from "../../src/runtime/adapters/peft-io.js";
import { loraScaling } from "../../src/runtime/adapters/lora.js";
import { Linear, inferenceCtx } from "../../src/runtime/tensor/nn.js";
import { adapterSpec, maxDiff, perturb } from "./baselines-util.js";
import { seeded, tinyModel, useCpu } from "./helpers.js";

function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const r = seeded(seed);
  return Float64Array.from({ length: rows * cols }, () => r() * 2 - 1);
}

/** Max |QᵀQ − I| over the k columns of a row-major [n, k] matrix. */
function orthError(q: Float64Array, n: number, k: number, byRows = false): number {
  let worst = 0;
  const at = (i: number, c: number) => (byRows ? q[c * n + i] : q[i * k + c]);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += at(i, a) * at(i, b);
      worst = Math.max(worst, Math.abs(s - (a === b ? 1 : 0)));
    }
  }
  return worst;
}

beforeAll(useCpu);

describe("svd", () => {
  it.each([
    ["tall", 9, 4],
    ["wide", 3, 11],
    ["square", 6, 6],
    ["a row", 1, 5],
    ["wide attention-sized", 16, 48],
  ])("decomposes a %s matrix (%i×%i) exactly with orthonormal factors and descending values", (_, rows, cols) => {
    const w = randomMatrix(rows, cols, rows * 31 + cols);
    const d = svd(w, rows, cols);
    expect(d.k).toBe(Math.min(rows, cols));
    expect(maxDiff(reconstruct(d), w)).toBeLessThan(1e-12);
    expect(orthError(d.U, rows, d.k)).toBeLessThan(1e-12);
    expect(orthError(d.Vt, cols, d.k, true)).toBeLessThan(1e-12);
    for (let i = 1; i < d.k; i++) expect(d.S[i]).toBeLessThanOrEqual(d.S[i - 1]);
    expect(d.S[d.k - 1]).toBeGreaterThanOrEqual(0);
  });

  it("recovers the singular values of a matrix built from known factors, rank-deficient included", () => {
    // W = Q1 diag(5, 3, 0.5, 0) Q2ᵀ with Q1, Q2 orthonormal (from the SVD of random matrices).
    const q1 = svd(randomMatrix(7, 4, 1), 7, 4).U;
    const q2 = svd(randomMatrix(4, 4, 2), 4, 4).U;
    const s = [5, 3, 0.5, 0];
    const w = reconstruct({ rows: 7, cols: 4, k: 4, U: q1, S: Float64Array.from(s), Vt: transpose(q2, 4, 4) });
    const d = svd(w, 7, 4);
    s.forEach((v, i) => expect(d.S[i]).toBeCloseTo(v, 12));
    expect(maxDiff(reconstruct(d), w)).toBeLessThan(1e-12);
  });

  it("is exact at projection sizes, with a graded spectrum and with repeated values (the preconditioned path)", () => {
    // A 120×48 matrix with singular values 1 … 1e-6 (graded), and one whose values repeat: the
    // Gram eigenvectors only precondition, the Jacobi sweeps after them make every result exact.
    const q1 = svd(randomMatrix(120, 48, 7), 120, 48).U;
    const q2 = svd(randomMatrix(48, 48, 8), 48, 48).U;
    for (const s of [Array.from({ length: 48 }, (_, i) => 10 ** (-6 * (i / 47))), Array.from({ length: 48 }, (_, i) => (i < 20 ? 2 : i < 40 ? 1 : 0))]) {
      const w = reconstruct({ rows: 120, cols: 48, k: 48, U: q1, S: Float64Array.from(s), Vt: transpose(q2, 48, 48) });
      for (const [m, rows, cols] of [[w, 120, 48], [transpose(w, 120, 48), 48, 120]] as const) {
        const d = svd(m, rows, cols);
        s.forEach((v, i) => expect(Math.abs(d.S[i] - v)).toBeLessThan(1e-13));
        expect(maxDiff(reconstruct(d), m)).toBeLessThan(1e-13);
        expect(orthError(d.Vt, cols, d.k, true)).toBeLessThan(1e-12);
      }
    }
  });

  it("keeps the leading components when truncated, and rejects bad input with the shape in the message", () => {
    const w = randomMatrix(5, 8, 3);
    const d = svd(w, 5, 8);
    const t = truncateSvd(d, 2);
    expect(Array.from(t.S)).toEqual(Array.from(d.S.slice(0, 2)));
    // The best rank-2 approximation error is the next singular value (Eckart–Young, spectral norm ≥ Frobenius/√k).
    const resid = reconstruct(t).map((v, i) => w[i] - v);
    const frob = Math.sqrt(resid.reduce((a, v) => a + v * v, 0));
    expect(frob).toBeCloseTo(Math.sqrt(d.S[2] ** 2 + d.S[3] ** 2 + d.S[4] ** 2), 10);
    expect(() => svd([1, 2, 3], 2, 2)).toThrow(/2×2 matrix \(4 values\), got 3/);
    expect(() => svd([1, NaN, 3, 4], 2, 2)).toThrow(/non-finite value at \[0, 1\]/);
    expect(() => truncateSvd(d, 6)).toThrow(/\[1, 5\]/);
  });
});

describe("lowRankSvd (randomized subspace iteration, PEFT's pissa_niter_N)", () => {
  /** A rows×cols matrix with singular values `s` and random singular vectors. */
  function withSpectrum(rows: number, cols: number, s: number[], seed: number): Float64Array {
    const k = s.length;
    const u = svd(randomMatrix(rows, k, seed), rows, k).U;
    const v = svd(randomMatrix(cols, k, seed + 1), cols, k).U;
    return reconstruct({ rows, cols, k, U: u, S: Float64Array.from(s), Vt: transpose(v, cols, k) });
  }
  /** Smallest |⟨x_c, y_c⟩| over the q leading columns (1: the same vectors up to sign). */
  function alignment(x: Float64Array, y: Float64Array, n: number, kx: number, ky: number, q: number): number {
    let worst = 1;
    for (let c = 0; c < q; c++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += x[i * kx + c] * y[i * ky + c];
      worst = Math.min(worst, Math.abs(d));
    }
    return worst;
  }

  it.each([["tall", 90, 40], ["wide", 30, 70]])("finds the leading components of a %s matrix with a decaying spectrum (%i×%i)", (_, rows, cols) => {
    const k = Math.min(rows, cols);
    const s = Array.from({ length: k }, (_, i) => 0.3 ** i); // the error of value c shrinks about like (σ₇/σ₆)^(4·niter + 2)
    const w = withSpectrum(rows, cols, s, rows + cols);
    const exact = svd(w, rows, cols);
    const q = 6;
    const d = lowRankSvd(w, rows, cols, q, 4, seeded(3));
    expect(d.k).toBe(q);
    for (let c = 0; c < q; c++) expect(Math.abs(d.S[c] - s[c]) / s[c]).toBeLessThan(1e-6);
    expect(orthError(d.U, rows, q)).toBeLessThan(1e-12);
    expect(orthError(d.Vt, cols, q, true)).toBeLessThan(1e-12);
    expect(alignment(d.U, exact.U, rows, q, exact.k, q)).toBeGreaterThan(1 - 1e-6);
    expect(alignment(transpose(d.Vt, q, cols), transpose(exact.Vt, exact.k, cols), cols, q, exact.k, q)).toBeGreaterThan(1 - 1e-6);
    // U·S·Vt is the best rank-q approximation: its error is the exact tail.
    const resid = reconstruct(d).map((v, i) => w[i] - v);
    const tail = Math.sqrt(s.slice(q).reduce((a, x) => a + x * x, 0));
    expect(Math.sqrt(resid.reduce((a, v) => a + v * v, 0))).toBeCloseTo(tail, 6);
  });

  it("improves with iterations, follows its seed, and rejects bad sizes", () => {
    // A slowly decaying spectrum: no iteration leaves a visible error, more iterations shrink it.
    const s = Array.from({ length: 30 }, (_, i) => 0.97 ** i);
    const w = withSpectrum(60, 30, s, 11);
    const err = (niter: number) => {
      const d = lowRankSvd(w, 60, 30, 4, niter, seeded(5));
      return Math.max(...Array.from(d.S, (v, c) => Math.abs(v - s[c]) / s[c]));
    };
    const [e0, e2, e16] = [err(0), err(2), err(16)];
    expect(e2).toBeLessThan(e0);
    expect(e16).toBeLessThan(e2);
    expect(Array.from(lowRankSvd(w, 60, 30, 4, 2, seeded(5)).U)).toEqual(Array.from(lowRankSvd(w, 60, 30, 4, 2, seeded(5)).U));
    expect(Array.from(lowRankSvd(w, 60, 30, 4, 2, seeded(6)).U)).not.toEqual(Array.from(lowRankSvd(w, 60, 30, 4, 2, seeded(5)).U));
    expect(() => lowRankSvd(w, 60, 30, 31, 2, seeded(1))).toThrow(/q must be an integer in \[1, 30\] for a 60×30 matrix, got 31/);
    expect(() => lowRankSvd(w, 60, 30, 4, -1, seeded(1))).toThrow(/niter must be a whole number/);
    expect(() => lowRankSvd([1, 2, NaN, 4], 2, 2, 1, 1, seeded(1))).toThrow(/non-finite value at \[1, 0\]/);
  });

  it("gives zero components past the rank of a rank-deficient matrix", () => {
    const w = withSpectrum(20, 12, [3, 2], 21); // rank 2
    const d = lowRankSvd(w, 20, 12, 4, 2, seeded(2));
    expect(d.S[0]).toBeCloseTo(3, 10);
    expect(d.S[1]).toBeCloseTo(2, 10);
    expect(d.S[2]).toBeLessThan(1e-10);
    expect(maxDiff(reconstruct(d), w)).toBeLessThan(1e-10);
  });
});

function transpose(m: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m[i * cols + j];
  return out;
}

describe("PiSSA factors", () => {
  it("follow PEFT: A = diag(√(S/s)) Vᵀ, B = U diag(√(S/s)), s·B·A the principal part, residual = W − s·B·A", () => {
    const [out, inF, r, scaling] = [12, 8, 3, loraScaling(8, 3, false)];
    const w = randomMatrix(out, inF, 4);
    const d = svd(w, out, inF);
    const f = pissaFactors(w, out, inF, r, scaling);
    for (let c = 0; c < r; c++) {
      let a2 = 0;
      for (let j = 0; j < inF; j++) a2 += f.A[c * inF + j] ** 2;
      expect(Math.sqrt(a2)).toBeCloseTo(Math.sqrt(d.S[c] / scaling), 5); // row c of A has norm √(S_c/s)
    }
    const principal = reconstruct(truncateSvd(d, r));
    const sba = new Float64Array(out * inF);
    for (let i = 0; i < out; i++) for (let j = 0; j < inF; j++) for (let c = 0; c < r; c++) sba[i * inF + j] += scaling * f.B[i * r + c] * f.A[c * inF + j];
    expect(maxDiff(sba, principal)).toBeLessThan(1e-5);
    expect(maxDiff(Array.from(f.residual, (v, i) => v + sba[i]), w)).toBeLessThan(1e-6);
    // The residual's spectrum is the tail of W's.
    const tail = svd(f.residual, out, inF).S;
    expect(tail[0]).toBeCloseTo(d.S[r], 5);
    expect(() => pissaFactors(w, out, inF, 9, scaling)).toThrow(/rank 9 must be in \[1, 8\]/);
  });

  it("replaces the Linear's weight by the residual and reproduces its outputs (with bias)", () => {
    const rand = seeded(5);
    const w = tf.tensor2d(Float32Array.from({ length: 6 * 10 }, () => rand() - 0.5), [6, 10]);
    const b = tf.tensor1d(Float32Array.from({ length: 6 }, () => rand()));
    const l = new Linear("m", w, b);
    const x = tf.randomNormal([5, 10], 0, 1, "float32", 1) as tf.Tensor2D;
    const before = l.apply(x, inferenceCtx()).dataSync().slice();
    const original = l.weight.dataSync().slice();
    const a = PissaLoraAdapter.create(l, { name: "p", r: 2, alpha: 4, dropout: 0, rslora: true });
    l.addAdapter(a);
    expect(maxDiff(l.weight.dataSync(), original)).toBeGreaterThan(1e-2);
    expect(maxDiff(l.apply(x, inferenceCtx()).dataSync(), before)).toBeLessThan(1e-5);
    expect(() => PissaLoraAdapter.create(l, { name: "q", r: 7, alpha: 4, dropout: 0, rslora: false })).toThrow(/Error in PiSSA init of m: rank 7 must be in \[1, 6\]/);
    x.dispose();
    l.dispose();
  });
});

describe("PiSSA with the randomized SVD (niter)", () => {
  it("keeps the outputs at init, and its factors match the exact ones where the spectrum has a gap", () => {
    const [out, inF, r] = [40, 24, 3];
    const rand = seeded(9);
    // A strong rank-3 part on top of noise: the leading components are well separated.
    const u = svd(randomMatrix(out, r, 12), out, r).U;
    const v = svd(randomMatrix(inF, r, 13), inF, r).U;
    const strong = reconstruct({ rows: out, cols: inF, k: r, U: u, S: Float64Array.from([4, 3, 2]), Vt: transpose(v, inF, r) });
    const w = Float32Array.from(strong, (x) => x + 0.01 * (rand() - 0.5));
    const scaling = loraScaling(6, r, false);
    const exact = pissaFactors(w, out, inF, r, scaling);
    const fast = pissaFactors(w, out, inF, r, scaling, { niter: 4, rand: seeded(1) });
    const sba = (f: typeof fast) => {
      const m = new Float64Array(out * inF);
      for (let i = 0; i < out; i++) for (let j = 0; j < inF; j++) for (let c = 0; c < r; c++) m[i * inF + j] += scaling * f.B[i * r + c] * f.A[c * inF + j];
      return m;
    };
    expect(maxDiff(Array.from(fast.residual, (x, i) => x + sba(fast)[i]), w)).toBeLessThan(1e-6);
    expect(maxDiff(sba(fast), sba(exact))).toBeLessThan(1e-5);
  });

  it("is written back under PEFT's name: pissa_niter_N, or pissa for the exact SVD", () => {
    for (const niter of [null, 4]) {
      const model = tinyModel("llama");
      const spec = adapterSpec({ init: "pissa", ...(niter ? { pissaNiter: niter } : {}), target: { regex: null, names: ["q_proj"] } });
      injectAdapter(model, "p", spec, { rand: seeded(1) });
      const asIs = exportAsLora(model, "p", null, { taskType: "CAUSAL_LM", pissa: "as-is" });
      expect(asIs.config.init_lora_weights).toBe(niter ? `pissa_niter_${niter}` : "pissa");
      expect(exportAsLora(model, "p", null, { taskType: "CAUSAL_LM" }).config.init_lora_weights).toBe(true);
      model.dispose();
    }
  });
});

describe("PiSSA export", () => {
  it.each([false, true])("converts to PEFT's rank-2r LoRA (rslora %s: alpha doubled, or ×√2) relative to the original base", (rslora) => {
    const model = tinyModel("llama");
    injectAdapter(model, "p", adapterSpec({ init: "pissa", rslora, target: { regex: null, names: ["q_proj", "v_proj"] } }), { rand: seeded(1) });
    const exp = exportAsLora(model, "p", null, { taskType: "CAUSAL_LM" });
    expect(exp.config.r).toBe(8);
    expect(exp.config.lora_alpha).toBe(rslora ? 8 * Math.SQRT2 : 16); // alpha · √(2r / r) and alpha · 2r / r, as exact as a double holds them
    expect(exp.config.init_lora_weights).toBe(true);
    expect(exp.config.rank_pattern).toEqual({});
    // Untrained, the converted update is B·A − B₀·A₀ = 0.
    for (const m of exp.modules) {
      const dw = new Float64Array((m.B.length / m.rank) * (m.A.length / m.rank));
      const inF = m.A.length / m.rank;
      for (let i = 0; i < dw.length / inF; i++) for (let j = 0; j < inF; j++) for (let c = 0; c < m.rank; c++) dw[i * inF + j] += m.B[i * m.rank + c] * m.A[c * inF + j];
      expect(Math.max(...dw.map(Math.abs))).toBeLessThan(1e-6);
    }
    const asIs = exportAsLora(model, "p", null, { taskType: "CAUSAL_LM", pissa: "as-is" });
    expect(asIs.config.r).toBe(4);
    expect(asIs.config.init_lora_weights).toBe("pissa");
    model.dispose();
  });

  it("stays relative to the (sliced) original base after structural pruning of the base", () => {
    const rand = seeded(8);
    const w0 = Float32Array.from({ length: 8 * 6 }, () => rand() - 0.5);
    const l = new Linear("m", tf.tensor2d(w0, [8, 6]), null);
    const a = PissaLoraAdapter.create(l, { name: "p", r: 3, alpha: 6, dropout: 0, rslora: false });
    l.addAdapter(a);
    perturb(a.trainable().values(), 0.1, 3);
    const [rows, cols] = [[0, 2, 3, 7], [1, 2, 5]];
    l.sliceOut(rows);
    l.sliceIn(cols);
    const A = a.foldedA();
    const conv = (l.adapters.get("p") as PissaLoraAdapter);
    expect(conv.A0.length).toBe(3 * 3);
    expect(conv.B0.length).toBe(4 * 3);
    // W_res + s·B·A must equal W₀[rows, cols] + s·[B, −B₀]·[A; A₀].
    const current = tf.tidy(() => tf.add(l.weight, a.deltaWeight()).dataSync());
    const b = a.B.dataSync();
    const expected = new Float64Array(4 * 3);
    rows.forEach((i, ri) => cols.forEach((j, cj) => {
      let d = 0;
      for (let c = 0; c < 3; c++) d += b[ri * 3 + c] * A.dataSync()[c * 3 + cj] - conv.B0[ri * 3 + c] * conv.A0[c * 3 + cj];
      expected[ri * 3 + cj] = w0[i * 6 + j] + a.scaling * d;
    }));
    expect(maxDiff(current, expected)).toBeLessThan(1e-5);
    A.dispose();
    l.dispose();
  });
});
