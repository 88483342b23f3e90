// AdaLoRA's importance (HF PEFT `RankAllocator.update_ipt`, `_element_score`, `mask_to_budget`):
// per element I = |w ⊙ ∇w|, sensitivity EMA Ī ← β₁Ī + (1−β₁)I, uncertainty EMA
// Ū ← β₂Ū + (1−β₂)|I − Ī| (with the updated Ī), element score Ī·Ū; the score of rank i is
// score(E_i) + mean over row A_i + mean over column B_:,i.
import * as tf from "../../tensor/tf.js";
import type { AdaLoraAdapter } from "../../adapters/adalora.js";

const PARTS = ["lora_A", "lora_E", "lora_B"] as const;

/** Plain-JSON form of the EMAs (checkpoints). */
export interface PlainEma {
  shape: number[];
  ipt: number[];
  unc: number[];
}

/** The two EMAs of every AdaLoRA tensor, keyed by the tensor's trainable name. */
export class ImportanceEma {
  private readonly ipt = new Map<string, tf.Tensor>();
  private readonly unc = new Map<string, tf.Tensor>();

  constructor(readonly beta1: number, readonly beta2: number) {}

  /** Folds in one step: `p` the parameter, `g` the gradient the optimiser used. */
  update(name: string, p: tf.Tensor, g: tf.Tensor): void {
    const prevI = this.ipt.get(name);
    const prevU = this.unc.get(name);
    const fresh = !prevI || prevI.shape.join(",") !== p.shape.join(",");
    const [nextI, nextU] = tf.tidy(() => {
      const i = tf.abs(tf.mul(p, g));
      const oldI = fresh ? tf.zerosLike(i) : prevI!;
      const oldU = fresh ? tf.zerosLike(i) : prevU!;
      const avgI = tf.add(tf.mul(oldI, this.beta1), tf.mul(i, 1 - this.beta1));
      const avgU = tf.add(tf.mul(oldU, this.beta2), tf.mul(tf.abs(tf.sub(i, avgI)), 1 - this.beta2));
      return [avgI, avgU];
    });
    prevI?.dispose();
    prevU?.dispose();
    this.ipt.set(name, nextI);
    this.unc.set(name, nextU);
  }

  /** Ī·Ū of `name` (caller disposes), zeros of `shape` when nothing was measured yet. */
  elementScore(name: string, shape: number[]): tf.Tensor {
    const i = this.ipt.get(name);
    const u = this.unc.get(name);
    if (!i || !u || i.shape.join(",") !== shape.join(",")) return tf.zeros(shape);
    return tf.mul(i, u);
  }

  /** Triplet scores [r] of each module, in the given order (one download for all). */
  tripletScores(adapters: readonly AdaLoraAdapter[]): number[][] {
    if (adapters.length === 0) return [];
    const flat = tf.tidy(() => {
      const parts = adapters.map((a) => {
        const sA = tf.mean(this.elementScore(a.varName("lora_A"), a.A.shape), 1); // [r]
        const sE = this.elementScore(a.varName("lora_E"), a.E.shape).reshape([-1]); // [r]
        const sB = tf.mean(this.elementScore(a.varName("lora_B"), a.B.shape), 0); // [r]
        return tf.add(sE, tf.add(sA, sB));
      });
      return tf.concat(parts);
    });
    const data = flat.dataSync();
    flat.dispose();
    const out: number[][] = [];
    let at = 0;
    for (const a of adapters) {
      out.push(Array.from(data.subarray(at, at + a.rank)));
      at += a.rank;
    }
    return out;
  }

  /** Drops every EMA (PEFT's reset_ipt after the final allocation). */
  reset(): void {
    for (const t of [...this.ipt.values(), ...this.unc.values()]) t.dispose();
    this.ipt.clear();
    this.unc.clear();
  }

  get size(): number {
    return this.ipt.size;
  }

  toPlain(): Record<string, PlainEma> {
    const out: Record<string, PlainEma> = {};
    for (const [name, i] of this.ipt) {
      out[name] = { shape: [...i.shape], ipt: Array.from(i.dataSync()), unc: Array.from(this.unc.get(name)!.dataSync()) };
    }
    return out;
  }

  /** Replaces the EMAs by `plain`; `shapes` (trainable name → shape) are the tensors that exist. */
  loadPlain(plain: Record<string, PlainEma>, shapes: Map<string, number[]>): void {
    const fresh: [string, tf.Tensor, tf.Tensor][] = [];
    for (const [name, e] of Object.entries(plain)) {
      const shape = shapes.get(name);
      const n = shape ? shape.reduce((a, b) => a * b, 1) : -1;
      if (!shape || e.shape.join(",") !== shape.join(",") || e.ipt.length !== n || e.unc.length !== n) {
        fresh.forEach(([, i, u]) => (i.dispose(), u.dispose()));
        throw new Error(`Error in AdaLoRA.loadState: the importance of "${name}" is [${e.shape}] but the model has ${shape ? `[${shape}]` : "no such tensor"}`);
      }
      fresh.push([name, tf.tensor(e.ipt, shape), tf.tensor(e.unc, shape)]);
    }
    this.reset();
    for (const [name, i, u] of fresh) {
      this.ipt.set(name, i);
      this.unc.set(name, u);
    }
  }

  dispose(): void {
    this.reset();
  }
}

/** The trainable names of an AdaLoRA adapter's three tensors. */
export function adaloraVarNames(a: AdaLoraAdapter): string[] {
  return PARTS.map((p) => a.varName(p));
}
