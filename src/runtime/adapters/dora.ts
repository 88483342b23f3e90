// DoRA (weight-decomposed LoRA) with HF PEFT semantics (`tuners/lora/dora.py`, DoraLinearLayer):
//
//   V = W + s·B·A                      [out, in]   (W the frozen base weight, nn.Linear layout)
//   n = ‖V_o,:‖₂ per OUTPUT row o      [out]       treated as a constant in backward (detached)
//   y = (m / n) ⊙ (W x + s·B A x) + bias
//
// with a trainable magnitude m [out] initialised to n, so a fresh adapter reproduces the base. As an
// additive delta on top of the base output (bias included there):
//   delta = (m/n − 1) ⊙ (x Wᵀ) + (m/n) ⊙ s·(x Aᵀ) Bᵀ,   x = dropout(x) in training (as PEFT).
// The file name of m is `lora_magnitude_vector` (PEFT strips the layer's `.weight`).
import * as tf from "../tensor/tf.js";
import { type Adapter, type ForwardCtx, type Linear, reassign, takeIndices, trainableVar } from "../tensor/nn.js";
import type { LoraAdapter } from "./lora.js";

/** Identity in the forward pass, zero gradient in the backward pass (torch's `.detach()`). */
export const detach = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as <T extends tf.Tensor>(x: T) => T;

/** L2 norm of each row of a [rows, cols] matrix → [rows]. */
export function rowNorms(m: tf.Tensor2D): tf.Tensor1D {
  return tf.sqrt(tf.sum(tf.square(m), 1)) as tf.Tensor1D;
}

export class DoraAdapter implements Adapter {
  readonly kind = "dora";
  readonly name: string;
  readonly path: string;
  /** Trainable magnitude m [out]. */
  magnitude: tf.Variable;
  /** ‖W₀ + s·B·A‖ rows at the moment of merging: unmerging needs it (the merged weight hides it). */
  private mergeNorm: Float32Array | null = null;

  /**
   * Wraps `lora` (its A, B, scaling and dropout; not attached itself) as a DoRA adapter of `linear`.
   * m starts at the row norms of W + s·B·A, so `lora` may already be non-zero (PiSSA).
   */
  constructor(readonly linear: Linear, readonly lora: LoraAdapter) {
    if (lora.gate) throw new Error(`Error in DoRA on ${linear.path}: the LoRA part has a BeamLoRA gate; DoRA does not support gates`);
    this.name = lora.name;
    this.path = linear.path;
    const m = tf.tidy(() => rowNorms(this.combined()));
    this.magnitude = trainableVar(m, `${this.path}.lora_magnitude_vector.${this.name}`);
  }

  get rank(): number {
    return this.lora.rank;
  }

  /** s·B·A [out, in]. */
  private loraWeight(): tf.Tensor2D {
    return tf.mul(tf.matMul(this.lora.B, this.lora.A), this.lora.scaling) as tf.Tensor2D;
  }

  /** W + s·B·A [out, in] for the current (unmerged) base weight. */
  private combined(): tf.Tensor2D {
    return tf.add(this.linear.weight, this.loraWeight()) as tf.Tensor2D;
  }

  delta(x: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D {
    const l = this.lora;
    const xd = ctx.training && l.dropout > 0 ? (tf.dropout(x, l.dropout, undefined, ctx.nextSeed()) as tf.Tensor2D) : x;
    const norm = detach(rowNorms(this.combined())); // [out]
    const g = tf.div(this.magnitude, norm); // [out]
    const base = tf.matMul(xd, this.linear.weight, false, true); // [N, out]
    const update = tf.mul(tf.matMul(tf.matMul(xd, l.A, false, true), l.B, false, true), l.scaling); // [N, out]
    return tf.add(tf.mul(tf.sub(g, 1), base), tf.mul(g, update)) as tf.Tensor2D;
  }

  /**
   * W' − W with W' = (m/n) ⊙ (W + s·B·A) row-wise. While merged (the Linear holds W'), the original W
   * is recovered with the norm cached at merge time, so Linear.unmerge restores the base.
   */
  deltaWeight(): tf.Tensor2D {
    return tf.tidy(() => {
      const m = this.magnitude.reshape([-1, 1]);
      const lw = this.loraWeight();
      if (this.linear.merged.has(this.name)) {
        if (!this.mergeNorm) throw new Error(`Error in DoRA on ${this.path}: merged without a cached weight norm`);
        const n = tf.tensor2d(this.mergeNorm, [this.mergeNorm.length, 1]);
        const original = tf.sub(tf.mul(this.linear.weight, tf.div(n, m)), lw);
        return tf.sub(this.linear.weight, original) as tf.Tensor2D;
      }
      const v = tf.add(this.linear.weight, lw);
      const n = rowNorms(v as tf.Tensor2D);
      this.mergeNorm = n.dataSync().slice() as Float32Array;
      return tf.sub(tf.mul(v, tf.div(m, n.reshape([-1, 1]))), this.linear.weight) as tf.Tensor2D;
    });
  }

  trainable(): Map<string, tf.Variable> {
    const out = this.lora.trainable();
    out.set(`${this.path}.lora_magnitude_vector.${this.name}`, this.magnitude);
    return out;
  }

  sliceOut(keep: number[]): void {
    this.lora.sliceOut(keep);
    this.magnitude = reassign(this.magnitude, takeIndices(this.magnitude, keep, 0));
  }

  sliceIn(keep: number[]): void {
    this.lora.sliceIn(keep);
  }

  numParams(): number {
    return this.lora.numParams() + this.magnitude.size;
  }

  dispose(): void {
    this.lora.dispose();
    this.magnitude.dispose();
  }
}
