// The SVD and PiSSA: exact decomposition, PEFT's factor convention (divide by scaling), the residual
// left in the base, and the conversion to a LoRA on the original base (PEFT's rank-2r convention).
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { PissaLoraAdapter, pissaFactors } from "../../src/runtime/adapters/pissa.js";
import { reconstruct, svd, truncateSvd } from "../../src/runtime/adapters/svd.js";
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
