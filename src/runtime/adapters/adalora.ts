// AdaLoRA's SVD-form adapter with HF PEFT semantics (`tuners/adalora/layer.py`, SVDLinear):
//
//   ΔW = P Λ Q:  lora_A = Q [r, in],  lora_E = Λ [r, 1],  lora_B = P [out, r]
//   y = base(x) + dropout(x) · (A ⊙ E)ᵀ · Bᵀ · scaling / (ranknum + 1e-5)
//
// scaling = lora_alpha (r when alpha ≤ 0) and ranknum = init_r, both fixed: masking a singular value
// (E_i = 0) does not change the scale. Init: E = 0, A and B ~ N(0, 0.02), so a fresh adapter changes
// nothing. The rank allocator (plugins/adalora/) zeroes entries of E and records which it keeps.
import * as tf from "../tensor/tf.js";
import { type Adapter, type ForwardCtx, reassign, takeIndices, trainableVar } from "../tensor/nn.js";
import { gaussian } from "../rng.js";

export interface AdaLoraOptions {
  name: string;
  path: string;
  inFeatures: number;
  outFeatures: number;
  /** Physical rank (init_r at creation; the kept count when re-imported from a sliced file). */
  r: number;
  /** The rank the scale divides by: init_r (PEFT's `ranknum`). */
  ranknum: number;
  alpha: number;
  dropout: number;
  rand: () => number;
}

/** PEFT's AdaLoRA scale: lora_alpha (or r when alpha ≤ 0) / (ranknum + 1e-5). */
export function adaloraScale(alpha: number, r: number, ranknum: number): number {
  return (alpha > 0 ? alpha : r) / (ranknum + 1e-5);
}

export class AdaLoraAdapter implements Adapter {
  readonly kind = "adalora";
  readonly name: string;
  readonly path: string;
  A: tf.Variable; // [r, in]
  E: tf.Variable; // [r, 1]
  B: tf.Variable; // [out, r]
  readonly alpha: number;
  readonly ranknum: number;
  readonly dropout: number;
  /** scaling / (ranknum + 1e-5), fixed at creation. */
  readonly scale: number;
  /** The allocator's latest decision (true = kept) per rank; null before the first allocation. */
  keep: boolean[] | null = null;

  constructor(o: AdaLoraOptions) {
    if (!(Number.isInteger(o.r) && o.r >= 1)) throw new Error(`Error in ${o.path}: AdaLoRA rank must be a positive integer, got ${o.r}`);
    if (!(o.ranknum >= 1)) throw new Error(`Error in ${o.path}: AdaLoRA ranknum (init_r) must be >= 1, got ${o.ranknum}`);
    this.name = o.name;
    this.path = o.path;
    this.alpha = o.alpha;
    this.ranknum = o.ranknum;
    this.dropout = o.dropout;
    this.scale = adaloraScale(o.alpha, o.r, o.ranknum);
    this.A = trainableVar(tf.tensor2d(gaussian(o.r * o.inFeatures, 0.02, o.rand), [o.r, o.inFeatures]), this.varName("lora_A"));
    this.E = trainableVar(tf.zeros([o.r, 1]), this.varName("lora_E"));
    this.B = trainableVar(tf.tensor2d(gaussian(o.outFeatures * o.r, 0.02, o.rand), [o.outFeatures, o.r]), this.varName("lora_B"));
  }

  /** The stable name of one of the adapter's tensors, as the trainer and the allocator see it. */
  varName(kind: "lora_A" | "lora_E" | "lora_B"): string {
    return `${this.path}.${kind}.${this.name}`;
  }

  /** Physical rank (masked singular values included). */
  get rank(): number {
    return this.A.shape[0];
  }

  /** Ranks the allocator keeps (all of them before the first allocation). */
  get keptRank(): number {
    return this.keep ? this.keep.filter(Boolean).length : this.rank;
  }

  delta(x: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D {
    const xd = ctx.training && this.dropout > 0 ? (tf.dropout(x, this.dropout, undefined, ctx.nextSeed()) as tf.Tensor2D) : x;
    const h = tf.matMul(xd, tf.mul(this.A, this.E), false, true); // [N, r]
    return tf.mul(tf.matMul(h, this.B, false, true), this.scale) as tf.Tensor2D; // [N, out]
  }

  deltaWeight(): tf.Tensor2D {
    return tf.tidy(() => tf.mul(tf.matMul(this.B, tf.mul(this.A, this.E)), this.scale) as tf.Tensor2D);
  }

  /** Zeroes the singular values of the ranks not kept and records the decision. */
  applyMask(keep: boolean[]): void {
    if (keep.length !== this.rank) throw new Error(`Error in AdaLoRA mask of ${this.path}: expected ${this.rank} flags, got ${keep.length}`);
    this.keep = [...keep];
    tf.tidy(() => this.E.assign(tf.where(tf.tensor2d(keep, [keep.length, 1], "bool"), this.E, tf.zerosLike(this.E)))); // masked_fill_(…, 0.0)
  }

  trainable(): Map<string, tf.Variable> {
    return new Map([
      [this.varName("lora_A"), this.A],
      [this.varName("lora_E"), this.E],
      [this.varName("lora_B"), this.B],
    ]);
  }

  sliceOut(keep: number[]): void {
    this.B = reassign(this.B, takeIndices(this.B, keep, 0));
  }

  sliceIn(keep: number[]): void {
    this.A = reassign(this.A, takeIndices(this.A, keep, 1));
  }

  numParams(): number {
    return this.A.size + this.E.size + this.B.size;
  }

  dispose(): void {
    this.A.dispose();
    this.E.dispose();
    this.B.dispose();
  }
}
