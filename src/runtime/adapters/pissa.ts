// PiSSA initialisation (HF PEFT `init_lora_weights="pissa"`): A and B take the principal singular
// components of the base weight and the frozen base keeps only the residual.
//
//   W = U S Vᵀ,   A = diag(√(S_r / s)) V_rᵀ  [r, in],   B = U_r diag(√(S_r / s))  [out, r]
//   W_res = W − s·B·A  (replaces the Linear's weight),   s = the adapter's scaling
//
// so s·B·A is exactly the rank-r principal part and the model's outputs are unchanged at init.
// The initial factors A₀, B₀ are kept (plain arrays) so that a trained adapter can be exported
// relative to the ORIGINAL base, PEFT's `path_initial_model_for_weight_conversion`:
//   W_res + s·B·A = W + s·(B·A − B₀·A₀) = W + s·[B, −B₀]·[A; A₀]   (a rank r + r₀ LoRA).
import * as tf from "../tensor/tf.js";
import type { Linear } from "../tensor/nn.js";
import { LoraAdapter, type LoraOptions, loraScaling } from "./lora.js";
import { lowRankSvd, svd, truncateSvd } from "./svd.js";

/** PiSSA's factors of one weight: A [r, in], B [out, r] and the residual W − s·B·A [out, in], row-major. */
export interface PissaFactors {
  r: number;
  A: Float32Array;
  B: Float32Array;
  residual: Float32Array;
}

/**
 * How PiSSA finds the leading components: the exact SVD (PEFT's "pissa"), or `niter` iterations of
 * randomized subspace iteration seeded by `rand` (PEFT's "pissa_niter_N"), far faster on large weights.
 */
export interface PissaSvd {
  niter: number;
  rand: () => number;
}

/** The PiSSA factors of a row-major [out, in] weight for rank r and scaling s (exact SVD unless `fast`). */
export function pissaFactors(weight: ArrayLike<number>, out: number, inF: number, r: number, scaling: number, fast?: PissaSvd): PissaFactors {
  const k = Math.min(out, inF);
  if (!(Number.isInteger(r) && r >= 1 && r <= k)) {
    throw new RangeError(`Error in pissaFactors: rank ${r} must be in [1, ${k}] for a ${out}×${inF} weight (PiSSA takes r singular components)`);
  }
  if (!(scaling > 0)) throw new RangeError(`Error in pissaFactors: scaling must be > 0, got ${scaling}`);
  const d = fast ? lowRankSvd(weight, out, inF, r, fast.niter, fast.rand) : truncateSvd(svd(weight, out, inF), r);
  const A = new Float32Array(r * inF);
  const B = new Float32Array(out * r);
  for (let c = 0; c < r; c++) {
    const root = Math.sqrt(d.S[c] / scaling);
    for (let j = 0; j < inF; j++) A[c * inF + j] = root * d.Vt[c * inF + j];
    for (let i = 0; i < out; i++) B[i * r + c] = d.U[i * r + c] * root;
  }
  // The residual from the float32 factors the adapter will hold, so W_res + s·B·A ≈ W to float32 rounding.
  const residual = new Float32Array(out * inF);
  for (let i = 0; i < out; i++) {
    for (let j = 0; j < inF; j++) {
      let ba = 0;
      for (let c = 0; c < r; c++) ba += B[i * r + c] * A[c * inF + j];
      residual[i * inF + j] = weight[i * inF + j] - scaling * ba;
    }
  }
  return { r, A, B, residual };
}

/** Options of a PiSSA-initialised LoRA adapter (sizes come from the Linear); `fast` as in pissaFactors. */
export type PissaOptions = Omit<LoraOptions, "init" | "rand" | "inFeatures" | "outFeatures" | "path"> & { fast?: PissaSvd };

/**
 * A LoRA adapter initialised by PiSSA. It is a plain LoraAdapter in every other respect (BeamLoRA
 * gates and Light-PEFT rank pruning apply); it additionally remembers A₀, B₀ for the conversion.
 */
export class PissaLoraAdapter extends LoraAdapter {
  readonly init = "pissa";
  /** Initial factors, row-major: A₀ [r₀, in], B₀ [out, r₀]. Sliced with the base, never by rank pruning. */
  A0: Float32Array;
  B0: Float32Array;
  readonly r0: number;
  /** Iterations of the randomized SVD that found A₀, B₀; null: the exact SVD. */
  readonly niter: number | null;

  private constructor(o: LoraOptions, f: PissaFactors, niter: number | null) {
    super(o);
    this.r0 = f.r;
    this.niter = niter;
    this.A0 = f.A;
    this.B0 = f.B;
    tf.tidy(() => {
      this.A.assign(tf.tensor2d(f.A, [f.r, o.inFeatures]));
      this.B.assign(tf.tensor2d(f.B, [o.outFeatures, f.r]));
    });
  }

  /**
   * Builds the adapter for `linear` and replaces the Linear's weight by the residual (the caller
   * attaches the adapter, directly or inside DoRA). The Linear must not have merged adapters.
   */
  static create(linear: Linear, o: PissaOptions): PissaLoraAdapter {
    if (linear.adapters.has(o.name)) throw new Error(`Error in PiSSA init of ${linear.path}: an adapter named "${o.name}" is already attached`);
    if (linear.merged.size > 0) {
      throw new Error(`Error in PiSSA init of ${linear.path}: unmerge adapters ${[...linear.merged].join(", ")} first (the residual is taken from the base weight)`);
    }
    const k = Math.min(linear.outFeatures, linear.inFeatures);
    if (!(Number.isInteger(o.r) && o.r >= 1 && o.r <= k)) {
      throw new Error(`Error in PiSSA init of ${linear.path}: rank ${o.r} must be in [1, ${k}] for a ${linear.outFeatures}×${linear.inFeatures} weight`);
    }
    const scaling = loraScaling(o.alpha, o.r, o.rslora);
    const f = pissaFactors(linear.weight.dataSync(), linear.outFeatures, linear.inFeatures, o.r, scaling, o.fast);
    const { fast: _fast, ...lora } = o;
    const opts: LoraOptions = { ...lora, path: linear.path, inFeatures: linear.inFeatures, outFeatures: linear.outFeatures, init: "kaiming", rand: () => 0.5 };
    const adapter = new PissaLoraAdapter(opts, f, o.fast?.niter ?? null);
    tf.tidy(() => linear.weight.assign(tf.tensor2d(f.residual, [linear.outFeatures, linear.inFeatures])));
    return adapter;
  }

  override sliceOut(keep: number[]): void {
    super.sliceOut(keep);
    this.B0 = pickRows(this.B0, this.r0, keep);
  }

  override sliceIn(keep: number[]): void {
    super.sliceIn(keep);
    this.A0 = pickCols(this.A0, this.r0, keep);
  }
}

/** LoRA factors as plain row-major arrays: A [rank, in], B [out, rank]. */
export interface PlainLora {
  rank: number;
  A: Float32Array;
  B: Float32Array;
}

/**
 * The adapter relative to the original base: A = [A·gate; A₀] and B = [B, −B₀] (rank r + r₀), with
 * the adapter's scaling unchanged.
 */
export function pissaConverted(a: PissaLoraAdapter, A: tf.Tensor2D, B: tf.Tensor2D): PlainLora {
  const [r, inF] = A.shape;
  const out = B.shape[0];
  const rank = r + a.r0;
  if (a.A0.length !== a.r0 * inF || a.B0.length !== out * a.r0) {
    throw new Error(`Error in pissaConverted (${a.path}): the initial factors do not fit a ${out}×${inF} weight`);
  }
  const Aout = new Float32Array(rank * inF);
  Aout.set(A.dataSync(), 0);
  Aout.set(a.A0, r * inF);
  const b = B.dataSync();
  const Bout = new Float32Array(out * rank);
  for (let i = 0; i < out; i++) {
    for (let c = 0; c < r; c++) Bout[i * rank + c] = b[i * r + c];
    for (let c = 0; c < a.r0; c++) Bout[i * rank + r + c] = -a.B0[i * a.r0 + c];
  }
  return { rank, A: Aout, B: Bout };
}

/** Rows `keep` of a row-major [n, cols] array. */
function pickRows(m: Float32Array, cols: number, keep: number[]): Float32Array {
  const out = new Float32Array(keep.length * cols);
  keep.forEach((i, k) => out.set(m.subarray(i * cols, (i + 1) * cols), k * cols));
  return out;
}

/** Columns `keep` of a row-major [rows, n] array. */
function pickCols(m: Float32Array, rows: number, keep: number[]): Float32Array {
  const n = m.length / rows;
  const out = new Float32Array(rows * keep.length);
  for (let i = 0; i < rows; i++) keep.forEach((j, k) => (out[i * keep.length + k] = m[i * n + j]));
  return out;
}
