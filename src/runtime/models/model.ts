// What every model family has in common: a stack of blocks whose linear layers are addressable
// by their Hugging Face module paths, a causal-LM or classification head, Light-PEFT masks and
// structural pruning, and the state dict under HF tensor names.
import * as tf from "../tensor/tf.js";
import { type Embedding, type ForwardCtx, Linear, frozen, trainableVar } from "../tensor/nn.js";
import { FrozenWeight, type Precision } from "../tensor/frozen/index.js";
import { gaussian } from "../rng.js";
import type { FamilyConfig } from "./config.js";
import { recomputedBlock } from "./recompute.js";

/** One transformer layer, as the model and the pruning plug-ins see it. */
export interface Block {
  readonly index: number;
  /** Current number of attention (query) heads (shrinks under head pruning). */
  heads: number;
  /** Current FFN inner size (shrinks under neuron pruning). */
  intermediate: number;
  /** Light-PEFT masks: [heads] and [intermediate], or null. */
  headMask: tf.Variable | null;
  neuronMask: tf.Variable | null;
  linears(): Linear[];
  /** Frozen non-linear parameters (norms), with HF names. */
  params(): [string, tf.Variable][];
  /** x [B, T, C] → [B, T, C]. */
  apply(x: tf.Tensor3D, ctx: ForwardCtx, aux: BlockAux): tf.Tensor3D;
  /** Keeps only these heads / FFN neurons, physically slicing base weights and adapters. */
  pruneHeads(keep: number[]): void;
  pruneNeurons(keep: number[]): void;
  dispose(): void;
}

/** A frozen matrix that lives in the weight store: its shape, what it holds, and how to fill it. */
export interface StoredSlot {
  readonly stored: FrozenWeight | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  store(w: FrozenWeight): void;
}

/** Per-forward tensors shared by all blocks. */
export interface BlockAux {
  padMask: tf.Tensor2D;
  /** The additive attention bias [B, 1, T, T], built on first use (native attention does not need it). */
  bias: () => tf.Tensor4D;
}

/** A deterministic N(0, std) tensor from a uniform source. */
export function normalInit(shape: number[], std: number, rand: () => number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(gaussian(n, std, rand), shape);
}

/**
 * A uniform source that builds a model without its large frozen matrices (linear weights,
 * embedding table): a loader then puts each one in the weight store (`Linear.store`), so no float32
 * copy of them is ever made. Norms and biases are made as usual.
 */
export const NO_BASE_WEIGHTS: () => number = () => 0.5;

/** A freshly initialised Linear (HF init: N(0, 0.02), zero bias); shape only under NO_BASE_WEIGHTS. */
export function newLinear(path: string, inF: number, outF: number, bias: boolean, rand: () => number): Linear {
  if (rand === NO_BASE_WEIGHTS) return new Linear(path, [outF, inF], bias ? (tf.zeros([outF]) as tf.Tensor1D) : null);
  const w = normalInit([outF, inF], 0.02, rand) as tf.Tensor2D;
  const b = bias ? (tf.zeros([outF]) as tf.Tensor1D) : null;
  const l = new Linear(path, w, b);
  w.dispose();
  b?.dispose();
  return l;
}

/** The trainable classification head (PEFT puts it in modules_to_save and trains it fully). */
export class ClassifierHead {
  weight: tf.Variable; // [labels, in]
  bias: tf.Variable | null;
  constructor(readonly path: string, inF: number, labels: number, bias: boolean, rand: () => number) {
    this.weight = trainableVar(normalInit([labels, inF], 0.02, rand), `${path}.weight`);
    this.bias = bias ? trainableVar(tf.zeros([labels]), `${path}.bias`) : null;
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    const y = tf.matMul(x, this.weight, false, true);
    return (this.bias ? tf.add(y, this.bias) : y) as tf.Tensor2D;
  }
  params(): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [[`${this.path}.weight`, this.weight]];
    if (this.bias) out.push([`${this.path}.bias`, this.bias]);
    return out;
  }
  dispose(): void {
    this.weight.dispose();
    this.bias?.dispose();
  }
}

export abstract class FamilyModel {
  abstract readonly blocks: Block[];
  constructor(readonly config: FamilyConfig) {}

  /** ids [B, T] int32, padMask [B, T] float (1 real, 0 pad) → hidden [B, T, C] after the final norm. */
  protected abstract hidden(ids: tf.Tensor2D, padMask: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor3D;
  /** Causal LM: hidden [N, C] → logits [N, V]. */
  protected abstract lmLogits(h: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D;
  /** Classification: hidden [B, T, C] + padMask → logits [B, L]. */
  protected abstract classify(h: tf.Tensor3D, padMask: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D;
  /** Frozen non-block parameters (embeddings, final norm, lm_head) with HF names. */
  protected abstract outerParams(): [string, tf.Variable][];
  /** Linear layers outside the blocks (lm_head when untied, bert pooler). */
  protected abstract outerLinears(): Linear[];
  /** The trainable head (classifier) or null for causal LMs. */
  abstract readonly classifier: ClassifierHead | null;

  /** One block x [B, T, C] → [B, T, C]; with `ctx.recompute` its activations are recomputed in the backward pass. */
  protected applyBlock(blk: Block, x: tf.Tensor3D, ctx: ForwardCtx, aux: BlockAux): tf.Tensor3D {
    return ctx.recompute && ctx.training ? recomputedBlock(blk, x, ctx, aux) : blk.apply(x, ctx, aux);
  }

  /** Causal LM → logits [B, T, V]; classifier → logits [B, L]. */
  forward(ids: tf.Tensor2D, padMask: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor {
    const [b, t] = ids.shape;
    if (t > this.config.maxPositions) {
      throw new Error(`Error in ${this.config.family}.forward: sequence length ${t} exceeds the model's context ${this.config.maxPositions}`);
    }
    if (padMask.shape[0] !== b || padMask.shape[1] !== t) {
      throw new Error(`Error in ${this.config.family}.forward: padMask must be [${b}, ${t}], got [${padMask.shape.join(", ")}]`);
    }
    const h = this.hidden(ids, padMask, ctx);
    if (this.config.head === "classifier") return this.classify(h, padMask, ctx);
    const logits = this.lmLogits(h.reshape([b * t, -1]) as tf.Tensor2D, ctx);
    return logits.reshape([b, t, -1]);
  }

  /** Every adaptable linear layer by its HF module path. */
  linears(): Map<string, Linear> {
    const m = new Map<string, Linear>();
    for (const blk of this.blocks) for (const l of blk.linears()) m.set(l.path, l);
    for (const l of this.outerLinears()) m.set(l.path, l);
    return m;
  }

  /** Frozen foundation parameters under HF tensor names (the base model's state dict). */
  stateDict(): Map<string, tf.Variable> {
    const m = new Map<string, tf.Variable>(this.outerParams());
    for (const blk of this.blocks) {
      for (const [n, v] of blk.params()) m.set(n, v);
    }
    for (const l of this.linears().values()) {
      if (l.hasDenseWeight) m.set(`${l.path}.weight`, l.weight);
      if (l.bias) m.set(`${l.path}.bias`, l.bias);
    }
    if (this.classifier) for (const [n, v] of this.classifier.params()) m.set(n, v);
    return m;
  }

  /** The frozen matrices held (or to be held) in the weight store instead of tensors, by HF name. */
  storedWeights(): Map<string, StoredSlot> {
    const m = new Map<string, StoredSlot>();
    for (const l of this.linears().values()) if (!l.hasDenseWeight) m.set(`${l.path}.weight`, l);
    for (const e of this.outerTables()) if (!e.hasDenseWeight) m.set(`${e.path}.weight`, { stored: e.stored, inFeatures: e.shape[1], outFeatures: e.shape[0], store: (w) => e.store(w) });
    return m;
  }

  /**
   * Moves every linear weight and the embedding table into the weight store at `precision`, one at
   * a time (each float32 tensor is freed as its stored copy is made). f32 changes nothing.
   */
  storeBase(precision: Precision): void {
    if (precision === "f32") return;
    for (const l of this.linears().values()) if (!l.stored) l.store(FrozenWeight.fromTensor(l.weight, precision));
    for (const e of this.outerTables()) if (!e.stored) e.store(FrozenWeight.fromTensor(e.weight, precision));
  }

  /** Embedding tables that may be held in the weight store (llama's token table). */
  protected outerTables(): Embedding[] {
    return [];
  }

  /** Parameters of the frozen foundation (classifier head excluded). */
  foundationParams(): number {
    let n = 0;
    for (const s of this.storedWeights().values()) n += s.inFeatures * s.outFeatures;
    const head = new Set(this.classifier ? this.classifier.params().map(([, v]) => v) : []);
    const seen = new Set<tf.Variable>();
    for (const v of this.stateDict().values()) {
      if (head.has(v) || seen.has(v)) continue;
      seen.add(v);
      n += v.size;
    }
    return n;
  }

  /** Attaches (or removes with null) Light-PEFT masks on every block, initialised to 1. */
  setMasks(kind: "heads" | "neurons", on: boolean): tf.Variable[] {
    const out: tf.Variable[] = [];
    for (const blk of this.blocks) {
      if (kind === "heads") {
        blk.headMask?.dispose();
        blk.headMask = on ? trainableVar(tf.ones([blk.heads]), `layers.${blk.index}.head_mask`) : null;
        if (blk.headMask) out.push(blk.headMask);
      } else {
        blk.neuronMask?.dispose();
        blk.neuronMask = on ? trainableVar(tf.ones([blk.intermediate]), `layers.${blk.index}.neuron_mask`) : null;
        if (blk.neuronMask) out.push(blk.neuronMask);
      }
    }
    return out;
  }

  dispose(): void {
    for (const blk of this.blocks) blk.dispose();
    for (const [, v] of this.outerParams()) if (!v.isDisposed) v.dispose();
    for (const l of this.outerLinears()) l.dispose();
    this.classifier?.dispose();
  }
}

/** Logits of the last real token of each sequence: h [B, T, C] → [B, C] (HF *ForSequenceClassification on decoders). */
export function lastTokenHidden(h: tf.Tensor3D, padMask: tf.Tensor2D): tf.Tensor2D {
  const [b, t, c] = h.shape;
  const lengths = tf.sum(padMask, 1).sub(1).cast("int32"); // [B]
  const rows = tf.add(tf.range(0, b * t, t, "int32"), lengths); // b·t + length - 1, int32 (mul by a number would make it float)
  return tf.gather(h.reshape([b * t, c]), rows) as tf.Tensor2D;
}

export { frozen };
