// Building blocks shared by the model families: the adaptable Linear layer, embeddings, norms,
// and the forward context that carries training state and plug-in hooks.
//
// Weights follow Hugging Face's nn.Linear layout: weight [out, in], y = x Wᵀ + b.
import * as tf from "./tf.js";
import { embeddingLookup, layerNorm, rmsNorm } from "./ops/index.js";
import { FrozenWeight, frozenEmbedding, frozenLinear } from "./frozen/index.js";

/** Something injected into a Linear that adds `delta(x)` to its output (LoRA and friends). */
export interface Adapter {
  readonly name: string;
  readonly kind: string;
  /** Current rank (number of rank-1 components). */
  readonly rank: number;
  /** The additive output for x [N, in] → [N, out]. Called inside a tidy. */
  delta(x: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D;
  /** y + delta(x) in one step where the adapter can fuse them (used when no onAdapter hook needs the delta alone). */
  addDelta?(y: tf.Tensor2D, x: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D;
  /** The dense weight update ΔW [out, in] (for merging and export). Caller disposes. */
  deltaWeight(): tf.Tensor2D;
  /** Variables this adapter trains, by stable name. */
  trainable(): Map<string, tf.Variable>;
  /** Physically remove output rows / input columns (structural pruning of the base). */
  sliceOut(keep: number[]): void;
  sliceIn(keep: number[]): void;
  numParams(): number;
  dispose(): void;
}

/** Per-call state of a forward pass. */
export interface ForwardCtx {
  training: boolean;
  /** Source of seeds for dropout (deterministic per step). */
  nextSeed: () => number;
  /** Called for every adapter output (inside the tape): Light-PEFT module importance, BeamLoRA activation norms. */
  onAdapter?: (linear: Linear, adapter: Adapter, x: tf.Tensor2D, base: tf.Tensor2D, delta: tf.Tensor2D) => void;
  /** Gradient checkpointing: keep only each transformer block's input and recompute its forward in the backward pass. */
  recompute?: boolean;
}

export function inferenceCtx(): ForwardCtx {
  return { training: false, nextSeed: () => 0 };
}

/** Flattens all leading dims: [..., C] → [N, C]; returns the restore shape. */
export function flatten2d(x: tf.Tensor): [tf.Tensor2D, number[]] {
  const shape = x.shape;
  const c = shape[shape.length - 1];
  return [x.reshape([-1, c]) as tf.Tensor2D, shape.slice(0, -1)];
}

let varCounter = 0;

/** Makes a variable from `t` and disposes `t` (the variable keeps the data alive). */
export function ownVariable(t: tf.Tensor, trainable: boolean, name: string): tf.Variable {
  const v = tf.variable(t, trainable, `${name}#${varCounter++}`);
  t.dispose();
  return v;
}
/** A frozen (non-trainable) variable with a unique name; takes ownership of `t`. */
export function frozen(t: tf.Tensor, name: string): tf.Variable {
  return ownVariable(t, false, name);
}
/** A trainable variable with a unique name; takes ownership of `t`. */
export function trainableVar(t: tf.Tensor, name: string): tf.Variable {
  return ownVariable(t, true, name);
}

/** Replaces a variable by a new one holding `value` (possibly another shape); disposes both inputs. */
export function reassign(v: tf.Variable, value: tf.Tensor): tf.Variable {
  const out = ownVariable(value, v.trainable, v.name.split("#")[0]);
  v.dispose();
  return out;
}

/** Gathers rows (axis 0) or columns (axis 1) of a 2-D or 1-D tensor. */
export function takeIndices(t: tf.Tensor, keep: number[], axis: number): tf.Tensor {
  return tf.tidy(() => tf.gather(t, tf.tensor1d(keep, "int32"), axis));
}

export class Linear {
  readonly path: string;
  /** The float32 weight [out, in]; null while the base weight is held in `stored`. */
  private dense: tf.Variable | null = null;
  /** The frozen base weight held outside the tensors (a precision below f32), or null. */
  stored: FrozenWeight | null = null;
  private dims: [number, number];
  bias: tf.Variable | null; // [out]
  readonly adapters = new Map<string, Adapter>();
  /** Names of adapters applied in forward, in order. */
  active: string[] = [];
  /** Adapters whose ΔW is currently folded into `weight`. */
  readonly merged = new Set<string>();

  /** `weight`: the float32 weight [out, in], or only its shape when a loader will `store` it. */
  constructor(path: string, weight: tf.Tensor2D | [number, number], bias: tf.Tensor1D | null) {
    this.path = path;
    if (Array.isArray(weight)) {
      this.dims = [...weight];
    } else {
      this.dims = [weight.shape[0], weight.shape[1]];
      this.dense = frozen(weight, `${path}.weight`);
    }
    this.bias = bias ? frozen(bias, `${path}.bias`) : null;
  }

  /**
   * The float32 weight [out, in]. A stored weight is dequantised into one on first use (merging,
   * DoRA, PiSSA, pruning, export need it dense); the forward then uses it.
   */
  get weight(): tf.Variable {
    if (!this.dense) {
      if (!this.stored) throw new Error(`Error in ${this.path}: the weight [${this.dims.join(", ")}] was never loaded`);
      this.dense = frozen(this.stored.toTensor(), `${this.path}.weight`);
    }
    return this.dense;
  }
  set weight(v: tf.Variable) {
    this.dense = v;
    this.dims = [v.shape[0]!, v.shape[1]!];
    this.stored?.dispose();
    this.stored = null;
  }

  /** True while the weight is a float32 tensor (not only in the store). */
  get hasDenseWeight(): boolean {
    return this.dense !== null;
  }

  /** Holds the frozen base weight in `w` (the native store) instead of a float32 tensor. */
  store(w: FrozenWeight): void {
    if (w.shape[0] !== this.dims[0] || w.shape[1] !== this.dims[1]) {
      throw new Error(`Error in ${this.path}: a stored weight must be [${this.dims.join(", ")}], got [${w.shape.join(", ")}]`);
    }
    this.stored?.dispose();
    this.dense?.dispose();
    this.dense = null;
    this.stored = w;
  }

  get outFeatures(): number {
    return this.dims[0];
  }
  get inFeatures(): number {
    return this.dims[1];
  }

  /** x [..., in] → [..., out]. */
  apply(x: tf.Tensor, ctx: ForwardCtx): tf.Tensor {
    const inDim = x.shape[x.shape.length - 1];
    if (inDim !== this.inFeatures) {
      throw new Error(`Error in ${this.path}: x must be [..., ${this.inFeatures}], got [${x.shape.join(", ")}]`);
    }
    const [x2, lead] = flatten2d(x);
    let y = (this.dense || !this.stored ? tf.matMul(x2, this.weight, false, true) : frozenLinear(x2, this.stored)) as tf.Tensor2D;
    if (this.bias) y = tf.add(y, this.bias);
    const base = y;
    for (const name of this.active) {
      if (this.merged.has(name)) continue;
      const adapter = this.adapters.get(name);
      if (!adapter) continue;
      if (!ctx.onAdapter && adapter.addDelta) {
        y = adapter.addDelta(y, x2, ctx);
        continue;
      }
      const d = adapter.delta(x2, ctx);
      if (ctx.onAdapter) ctx.onAdapter(this, adapter, x2, base, d);
      y = tf.add(y, d);
    }
    return y.reshape([...lead, this.outFeatures]);
  }

  addAdapter(adapter: Adapter, activate = true): void {
    if (this.adapters.has(adapter.name)) {
      throw new Error(`Error in ${this.path}: an adapter named "${adapter.name}" is already attached`);
    }
    this.adapters.set(adapter.name, adapter);
    if (activate) this.active.push(adapter.name);
  }

  removeAdapter(name: string): void {
    const a = this.adapters.get(name);
    if (!a) return;
    if (this.merged.has(name)) this.unmerge(name);
    a.dispose();
    this.adapters.delete(name);
    this.active = this.active.filter((n) => n !== name);
  }

  /** Folds adapter `name` into the base weight (W ← W + ΔW). */
  merge(name: string): void {
    const a = this.requireAdapter(name);
    if (this.merged.has(name)) return;
    const next = tf.tidy(() => {
      const d = a.deltaWeight();
      return tf.add(this.weight, d);
    });
    this.weight.assign(next);
    next.dispose();
    this.merged.add(name);
  }

  /** Removes adapter `name` from the base weight (W ← W − ΔW). */
  unmerge(name: string): void {
    const a = this.requireAdapter(name);
    if (!this.merged.has(name)) return;
    const next = tf.tidy(() => tf.sub(this.weight, a.deltaWeight()));
    this.weight.assign(next);
    next.dispose();
    this.merged.delete(name);
  }

  /** Keeps only output rows `keep` (structural pruning), slicing adapters to match. */
  sliceOut(keep: number[]): void {
    this.weight = reassign(this.weight, takeIndices(this.weight, keep, 0));
    if (this.bias) this.bias = reassign(this.bias, takeIndices(this.bias, keep, 0));
    for (const a of this.adapters.values()) a.sliceOut(keep);
  }

  /** Keeps only input columns `keep`, slicing adapters to match. */
  sliceIn(keep: number[]): void {
    this.weight = reassign(this.weight, takeIndices(this.weight, keep, 1));
    for (const a of this.adapters.values()) a.sliceIn(keep);
  }

  numParams(): number {
    return this.dims[0] * this.dims[1] + (this.bias ? this.bias.size : 0);
  }

  dispose(): void {
    this.dense?.dispose();
    this.stored?.dispose();
    this.bias?.dispose();
    for (const a of this.adapters.values()) a.dispose();
    this.adapters.clear();
  }

  private requireAdapter(name: string): Adapter {
    const a = this.adapters.get(name);
    if (!a) throw new Error(`Error in ${this.path}: no adapter named "${name}" (have: ${[...this.adapters.keys()].join(", ") || "none"})`);
    return a;
  }
}

/** LayerNorm over the last axis (with bias) — HF's nn.LayerNorm. */
export class LayerNorm {
  weight: tf.Variable;
  bias: tf.Variable;
  constructor(readonly path: string, dim: number, readonly eps: number) {
    this.weight = frozen(tf.ones([dim]), `${path}.weight`);
    this.bias = frozen(tf.zeros([dim]), `${path}.bias`);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
  params(): [string, tf.Variable][] {
    return [[`${this.path}.weight`, this.weight], [`${this.path}.bias`, this.bias]];
  }
  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** RMSNorm over the last axis — HF's LlamaRMSNorm. */
export class RMSNorm {
  weight: tf.Variable;
  constructor(readonly path: string, dim: number, readonly eps: number) {
    this.weight = frozen(tf.ones([dim]), `${path}.weight`);
  }
  apply(x: tf.Tensor): tf.Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
  params(): [string, tf.Variable][] {
    return [[`${this.path}.weight`, this.weight]];
  }
  dispose(): void {
    this.weight.dispose();
  }
}

/** Token / position embedding table [V, C]. */
export class Embedding {
  private dense: tf.Variable | null = null;
  /** The table held outside the tensors (a precision below f32), or null. */
  stored: FrozenWeight | null = null;
  readonly shape: [number, number];
  /** `table`: the float32 table, or only its shape when a loader will `store` it. */
  constructor(readonly path: string, table: tf.Tensor2D | [number, number]) {
    if (Array.isArray(table)) {
      this.shape = [...table];
    } else {
      this.shape = [table.shape[0], table.shape[1]];
      this.dense = frozen(table, `${path}.weight`);
    }
  }
  /** The float32 table; a stored one is dequantised into it on first use. */
  get weight(): tf.Variable {
    if (!this.dense) {
      if (!this.stored) throw new Error(`Error in ${this.path}: the table [${this.shape.join(", ")}] was never loaded`);
      this.dense = frozen(this.stored.toTensor(), `${this.path}.weight`);
    }
    return this.dense;
  }
  get hasDenseWeight(): boolean {
    return this.dense !== null;
  }
  /** Holds the table in `w` (the native store) instead of a float32 tensor. */
  store(w: FrozenWeight): void {
    if (w.shape[0] !== this.shape[0] || w.shape[1] !== this.shape[1]) {
      throw new Error(`Error in ${this.path}: a stored table must be [${this.shape.join(", ")}], got [${w.shape.join(", ")}]`);
    }
    this.stored?.dispose();
    this.dense?.dispose();
    this.dense = null;
    this.stored = w;
  }
  /** ids [B, T] int32 → [B, T, C]. */
  apply(ids: tf.Tensor): tf.Tensor {
    if (!this.dense && this.stored) return frozenEmbedding(this.stored, ids);
    return embeddingLookup(this.weight as tf.Tensor2D, ids);
  }
  /** h [N, C] → h·tableᵀ [N, V] (a tied lm_head). */
  project(h: tf.Tensor2D): tf.Tensor2D {
    if (!this.dense && this.stored) return frozenLinear(h, this.stored) as tf.Tensor2D;
    return tf.matMul(h, this.weight, false, true);
  }
  params(): [string, tf.Variable][] {
    return this.dense ? [[`${this.path}.weight`, this.dense]] : [];
  }
  dispose(): void {
    this.dense?.dispose();
    this.stored?.dispose();
  }
}
