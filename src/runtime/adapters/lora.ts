// LoRA with Hugging Face PEFT semantics:
//   y = base(x) + scaling · B(A(dropout(x)))      scaling = alpha / r   (rsLoRA: alpha / √r)
// A [r, in] Kaiming-uniform (a = √5), B [out, r] zeros, so a fresh adapter changes nothing.
// An optional per-rank gate g [r] (BeamLoRA) weights the ranks with s = r · softmax(g / τ):
//   y = base(x) + scaling · B((A x) ⊙ s)
import * as tf from "../tensor/tf.js";
import { type Adapter, type ForwardCtx, reassign, takeIndices, trainableVar } from "../tensor/nn.js";
import { loraAdd, loraDelta } from "../tensor/ops/index.js";
import { gaussian, kaimingUniform } from "../rng.js";

export interface LoraOptions {
  name: string;
  /** Module path of the Linear this adapter sits in. */
  path: string;
  inFeatures: number;
  outFeatures: number;
  r: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  init: "kaiming" | "gaussian";
  /** Uniform [0, 1) source for initialisation (seeded). */
  rand: () => number;
}

/** PEFT's scaling rule. */
export function loraScaling(alpha: number, r: number, rslora: boolean): number {
  return rslora ? alpha / Math.sqrt(r) : alpha / r;
}

export class LoraAdapter implements Adapter {
  readonly kind: string = "lora";
  readonly name: string;
  readonly path: string;
  A: tf.Variable; // [r, in]
  B: tf.Variable; // [out, r]
  /** BeamLoRA gate logits [r] (null for plain LoRA). */
  gate: tf.Variable | null = null;
  /** Softmax temperature of the gate. */
  tau = 0.05;
  /** Fixed at creation: alpha / r_original (Light-PEFT keeps it after rank pruning). */
  scaling: number;
  readonly alpha: number;
  readonly rOriginal: number;
  readonly dropout: number;
  readonly rslora: boolean;

  constructor(o: LoraOptions) {
    if (!(o.r >= 1) || !Number.isInteger(o.r)) throw new Error(`Error in ${o.path}: LoRA rank must be a positive integer, got ${o.r}`);
    this.name = o.name;
    this.path = o.path;
    this.alpha = o.alpha;
    this.rOriginal = o.r;
    this.dropout = o.dropout;
    this.rslora = o.rslora;
    this.scaling = loraScaling(o.alpha, o.r, o.rslora);
    const a = o.init === "gaussian" ? gaussian(o.r * o.inFeatures, 1 / o.r, o.rand) : kaimingUniform(o.r, o.inFeatures, o.rand);
    this.A = trainableVar(tf.tensor2d(a, [o.r, o.inFeatures]), `${o.path}.lora_A.${o.name}`);
    this.B = trainableVar(tf.zeros([o.outFeatures, o.r]), `${o.path}.lora_B.${o.name}`);
  }

  get rank(): number {
    return this.A.shape[0];
  }

  /** Adds a zero-initialised gate (BeamLoRA): with g = 0, s = 1 and the adapter is exactly plain LoRA. */
  enableGate(tau: number): void {
    this.tau = tau;
    if (!this.gate) this.gate = trainableVar(tf.zeros([this.rank]), `${this.path}.lora_gate.${this.name}`);
  }

  /** s = r · softmax(g / τ) [r]; all ones without a gate. Caller disposes. */
  gateWeights(): tf.Tensor1D {
    return tf.tidy(() => {
      if (!this.gate) return tf.ones([this.rank]) as tf.Tensor1D;
      return tf.mul(tf.softmax(tf.div(this.gate, this.tau)), this.rank) as tf.Tensor1D;
    });
  }

  addDelta(y: tf.Tensor2D, x: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D {
    if (this.gate) return tf.add(y, this.delta(x, ctx));
    return loraAdd(y, this.dropped(x, ctx), this.A as tf.Tensor2D, this.B as tf.Tensor2D, this.scaling);
  }

  /** x with dropout applied when training (seeded by the forward context). */
  private dropped(x: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D {
    return ctx.training && this.dropout > 0 ? (tf.dropout(x, this.dropout, undefined, ctx.nextSeed()) as tf.Tensor2D) : x;
  }

  delta(x: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D {
    const xd = this.dropped(x, ctx);
    if (!this.gate) return loraDelta(xd, this.A as tf.Tensor2D, this.B as tf.Tensor2D, this.scaling); // [N, out]
    let h = tf.matMul(xd, this.A, false, true); // [N, r]
    h = tf.mul(h, tf.mul(tf.softmax(tf.div(this.gate, this.tau)), this.rank));
    return tf.mul(tf.matMul(h, this.B, false, true), this.scaling) as tf.Tensor2D; // [N, out]
  }

  deltaWeight(): tf.Tensor2D {
    return tf.tidy(() => {
      const s = this.gateWeights();
      const aScaled = tf.mul(this.A, s.reshape([-1, 1])); // diag(s) A
      return tf.mul(tf.matMul(this.B, aScaled), this.scaling) as tf.Tensor2D;
    });
  }

  /** A with the gate folded in (diag(s) · A): what a stock PEFT loader needs. Caller disposes. */
  foldedA(): tf.Tensor2D {
    return tf.tidy(() => tf.mul(this.A, this.gateWeights().reshape([-1, 1])) as tf.Tensor2D);
  }

  trainable(): Map<string, tf.Variable> {
    const m = new Map<string, tf.Variable>([
      [`${this.path}.lora_A.${this.name}`, this.A],
      [`${this.path}.lora_B.${this.name}`, this.B],
    ]);
    if (this.gate) m.set(`${this.path}.lora_gate.${this.name}`, this.gate);
    return m;
  }

  /** Keeps only the ranks `keep` (Light-PEFT rank pruning). Scaling is unchanged. */
  keepRanks(keep: number[]): void {
    if (keep.length === 0) throw new Error(`Error in ${this.path}: cannot keep zero ranks; remove the adapter instead`);
    this.A = reassign(this.A, takeIndices(this.A, keep, 0));
    this.B = reassign(this.B, takeIndices(this.B, keep, 1));
    if (this.gate) this.gate = reassign(this.gate, takeIndices(this.gate, keep, 0));
  }

  sliceOut(keep: number[]): void {
    this.B = reassign(this.B, takeIndices(this.B, keep, 0));
  }

  sliceIn(keep: number[]): void {
    this.A = reassign(this.A, takeIndices(this.A, keep, 1));
  }

  numParams(): number {
    return this.A.size + this.B.size + (this.gate ? this.gate.size : 0);
  }

  dispose(): void {
    this.A.dispose();
    this.B.dispose();
    this.gate?.dispose();
  }
}
