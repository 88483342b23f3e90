// The training loop. It knows nothing about BeamLoRA or Light-PEFT: they are plug-ins that add
// variables and loss terms, see gradients, and act after each optimiser step. Everything a
// progress bar, plot or checkpoint needs leaves the loop as an event.
import * as tf from "../tensor/tf.js";
import type { TrainSpec } from "../../dsl/plan.js";
import { type Batch, IGNORE_INDEX } from "../data/types.js";
import { type BatchTensors, disposeBatch, taskLoss, toTensors } from "./batch.js";
import type { MemoryPeaks, RunEvent, StepEvent } from "../../results/events.js";
import { frozenMemory } from "../tensor/frozen/index.js";
import type { ForwardCtx } from "../tensor/nn.js";
import type { FamilyModel } from "../models/model.js";
import { nonFiniteWeights } from "../io/weight-health.js";
import { AdamW, clipByGlobalNorm, learningRateAt, type ParamSettings } from "./optim.js";

/** A group of trainable variables with their own optimiser settings. */
export interface ParamGroup {
  name: string;
  /** Called every step: the set may change (pruning replaces variables). */
  variables: () => Map<string, tf.Variable>;
  lrFactor: number;
  decay: boolean;
}

/** What plug-ins see of the running trainer. */
export interface TrainContext {
  readonly model: FamilyModel;
  readonly optimizer: AdamW;
  readonly train: TrainSpec;
  readonly baseLr: number;
  readonly seed: number;
  /** Optimiser steps completed so far. */
  readonly step: number;
  readonly totalSteps: number;
  emit(e: RunEvent): void;
  addGroup(g: ParamGroup): void;
  /** Every trainable variable by name, across groups. */
  trainableVariables(): Map<string, tf.Variable>;
}

export interface TrainerPlugin {
  readonly name: string;
  init?(ctx: TrainContext): void;
  /** Adds hooks to the forward context of a training step (inside the gradient tape). */
  forwardHooks?(ctx: TrainContext, fwd: ForwardCtx): void;
  /** An extra loss term (e.g. L1 on masks), computed inside the gradient tape. */
  extraLoss?(ctx: TrainContext): tf.Scalar | null;
  /** Gradients by variable name, before clipping and the update. Do not dispose them. */
  afterBackward?(ctx: TrainContext, grads: Map<string, tf.Tensor>, batch: BatchTensors): void;
  /** After the optimiser step; `ctx.step` is the number of completed steps. */
  afterStep?(ctx: TrainContext): void;
  /** Serialisable state for checkpoints. */
  saveState?(): unknown;
  loadState?(state: unknown, ctx: TrainContext): void;
  dispose?(): void;
}

export class NonFiniteLossError extends Error {
  /** `badWeights`: the base tensor holding NaN/Infinity (see nonFiniteWeights), when there is one. */
  constructor(readonly step: number, readonly loss: number, readonly lastFinite: number | null, readonly badWeights: string | null = null) {
    super(
      badWeights !== null
        ? `training stopped at step ${step}: the loss is ${loss} because the weights contain NaN or Infinity (${badWeights}); ` +
            "the weights file is broken, and no learning rate will fix it: re-export or re-download the model"
        : `training stopped at step ${step}: the loss is ${loss}` +
            (lastFinite === null ? " (no finite loss was seen before)" : `; the last finite loss was ${lastFinite.toPrecision(6)}`) +
            ". The parameters from before this step are kept; lower the learning rate or enable gradient clipping.",
    );
    this.name = "NonFiniteLossError";
  }
}

export interface TrainerOptions {
  model: FamilyModel;
  train: TrainSpec;
  lr: number;
  seed: number;
  plugins?: TrainerPlugin[];
  emit?: (e: RunEvent) => void;
  /** Deterministic per-step seed source for dropout. */
  stepSeed?: (step: number) => number;
}

export type StepStats = Omit<StepEvent, "type" | "time">;

export class Trainer implements TrainContext {
  readonly model: FamilyModel;
  readonly optimizer: AdamW;
  readonly train: TrainSpec;
  readonly baseLr: number;
  readonly seed: number;
  readonly plugins: TrainerPlugin[];
  step = 0;
  lastFiniteLoss: number | null = null;
  /** High-water mark of tf.memory().numBytes, sampled after every step. */
  peakBytes = 0;
  /** High-water marks of the process's resident memory and of the weight store, sampled after every step. */
  peakRssBytes = 0;
  peakStoreBytes = 0;
  private readonly groups: ParamGroup[] = [];
  private readonly listeners: ((e: RunEvent) => void)[] = [];
  private readonly stepSeed: (step: number) => number;

  constructor(o: TrainerOptions) {
    this.model = o.model;
    this.train = o.train;
    this.baseLr = o.lr;
    this.seed = o.seed;
    this.plugins = o.plugins ?? [];
    this.optimizer = new AdamW(o.train.optimizer);
    this.stepSeed = o.stepSeed ?? ((s) => (o.seed * 1_000_003 + s * 7919) >>> 0);
    if (o.emit) this.listeners.push(o.emit);
    this.addGroup({ name: "adapters", variables: () => adapterVariables(this.model), lrFactor: 1, decay: true });
    this.addGroup({ name: "head", variables: () => headVariables(this.model), lrFactor: 1, decay: true });
    for (const p of this.plugins) p.init?.(this);
  }

  get totalSteps(): number {
    return this.train.steps;
  }

  on(listener: (e: RunEvent) => void): void {
    this.listeners.push(listener);
  }

  emit(e: RunEvent): void {
    for (const l of this.listeners) l(e);
  }

  addGroup(g: ParamGroup): void {
    this.groups.push(g);
  }

  trainableVariables(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const g of this.groups) for (const [n, v] of g.variables()) out.set(n, v);
    return out;
  }

  trainableCount(): number {
    let n = 0;
    for (const v of this.trainableVariables().values()) n += v.size;
    return n;
  }

  private settingsFor(): (v: tf.Variable) => ParamSettings {
    const map = new Map<tf.Variable, ParamSettings>();
    for (const g of this.groups) for (const v of g.variables().values()) map.set(v, { lrFactor: g.lrFactor, decay: g.decay });
    return (v) => map.get(v) ?? { lrFactor: 1, decay: false };
  }

  /** One optimiser step on `batch`. Throws NonFiniteLossError (state untouched) on NaN/Inf. */
  trainStep(batch: Batch): StepStats {
    const t0 = performance.now();
    const lr = learningRateAt(this.step, this.train.steps, this.baseLr, this.train.schedule);
    const named = this.trainableVariables();
    const varList = [...named.values()];
    const byVarName = new Map<string, string>();
    for (const [n, v] of named) byVarName.set(v.name, n);
    let seedCounter = 0;
    const stepSeed = this.stepSeed(this.step);
    const fwd: ForwardCtx = { training: true, nextSeed: () => (stepSeed + 104729 * seedCounter++) >>> 0, recompute: this.train.recompute === "blocks" };
    for (const p of this.plugins) p.forwardHooks?.(this, fwd);
    const parts = microBatches(batch, this.train.microBatch || batch.size);
    if (parts.length > 1 && fwd.onAdapter) {
      throw new Error(`Error in trainStep: micro-batches (micro_batch ${this.train.microBatch} of batch ${batch.size}) do not combine with adapter hooks (BeamLoRA, Light-PEFT importance), which see one forward per step`);
    }
    // Each micro-batch's mean loss is weighted by its share of the step's scored targets, so the
    // summed gradients are those of the whole batch's mean loss.
    const scored = parts.map(scoredTargets);
    const total = scored.reduce((a, b) => a + b, 0);
    let lossValue = 0;
    let grads = new Map<tf.Variable, tf.Tensor>();
    let last: BatchTensors | null = null;
    try {
      let first = true;
      for (let m = 0; m < parts.length; m++) {
        if (total > 0 && scored[m] === 0) continue;
        const bt = toTensors(parts[m]!);
        if (last) disposeBatch(last);
        last = bt;
        const share = parts.length === 1 || total === 0 ? 1 : scored[m]! / total;
        const { value, grads: raw } = tf.variableGrads(() => {
          const logits = this.model.forward(bt.ids, bt.mask, fwd);
          let loss = taskLoss(logits, bt);
          if (share !== 1) loss = tf.mul(loss, share) as tf.Scalar;
          if (first) {
            for (const p of this.plugins) {
              const extra = p.extraLoss?.(this);
              if (extra) loss = tf.add(loss, extra) as tf.Scalar;
            }
          }
          return loss;
        }, varList);
        first = false;
        lossValue += value.dataSync()[0]!;
        value.dispose();
        grads = accumulate(grads, varList, raw);
      }
      const gradsByName = new Map<string, tf.Tensor>();
      for (const [v, g] of grads) gradsByName.set(byVarName.get(v.name) ?? v.name, g);
      if (!Number.isFinite(lossValue)) {
        for (const g of grads.values()) g.dispose();
        throw new NonFiniteLossError(this.step + 1, lossValue, this.lastFiniteLoss, nonFiniteWeights(this.model));
      }
      for (const p of this.plugins) p.afterBackward?.(this, gradsByName, last!);
    } catch (e) {
      if (!(e instanceof NonFiniteLossError)) for (const g of grads.values()) g.dispose();
      throw e;
    } finally {
      if (last) disposeBatch(last);
    }
    const clipped = clipByGlobalNorm(grads, this.train.clipNorm);
    this.optimizer.apply(clipped.grads, lr, this.settingsFor());
    for (const g of clipped.grads.values()) g.dispose();
    this.step += 1;
    this.lastFiniteLoss = lossValue;
    for (const p of this.plugins) p.afterStep?.(this);
    this.peakBytes = Math.max(this.peakBytes, tf.memory().numBytes);
    const store = frozenMemory();
    this.peakStoreBytes = Math.max(this.peakStoreBytes, store.peakNativeBytes + store.jsBytes);
    this.peakRssBytes = Math.max(this.peakRssBytes, process.resourceUsage().maxRSS * 1024);
    const stats: StepStats = { step: this.step, loss: lossValue, lr, gradNorm: clipped.norm, tokens: batch.tokens, stepMs: performance.now() - t0, rssBytes: this.peakRssBytes };
    if (this.step % Math.max(1, this.train.logEvery) === 0 || this.step === this.train.steps || this.step === 1) {
      this.emit({ type: "step", ...stats, time: Date.now() });
    }
    return stats;
  }

  /** The memory high-water marks of the steps so far. */
  memoryPeaks(): MemoryPeaks {
    return { rssBytes: this.peakRssBytes, tensorBytes: this.peakBytes, storeBytes: this.peakStoreBytes };
  }

  dispose(): void {
    for (const p of this.plugins) p.dispose?.();
    this.optimizer.dispose();
  }
}

/** The batch cut into micro-batches of `size` rows (the last one may be smaller). */
export function microBatches(b: Batch, size: number): Batch[] {
  if (size >= b.size) return [b];
  const out: Batch[] = [];
  for (let start = 0; start < b.size; start += size) {
    const rows = Math.min(size, b.size - start);
    const cut = (a: Int32Array | Float32Array, per: number) => a.slice(start * per, (start + rows) * per);
    const mask = cut(b.mask, b.length) as Float32Array;
    let tokens = 0;
    for (const m of mask) tokens += m;
    out.push({
      kind: b.kind, size: rows, length: b.length,
      ids: cut(b.ids, b.length) as Int32Array, mask,
      labels: cut(b.labels, b.kind === "classification" ? 1 : b.length) as Int32Array,
      tokens,
    });
  }
  return out;
}

/** Targets the loss averages over: classification rows, or scored next-token positions. */
export function scoredTargets(b: Batch): number {
  if (b.kind === "classification") return b.size;
  let n = 0;
  for (let i = 0; i < b.size; i++) {
    for (let j = 1; j < b.length; j++) if (b.labels[i * b.length + j] !== IGNORE_INDEX) n++;
  }
  return n;
}

/** Adds this pass's gradients to the running sums (disposing what they replace). */
function accumulate(sum: Map<tf.Variable, tf.Tensor>, vars: tf.Variable[], raw: tf.NamedTensorMap): Map<tf.Variable, tf.Tensor> {
  for (const v of vars) {
    const g = raw[v.name];
    if (!g) continue;
    const prev = sum.get(v);
    if (!prev) {
      sum.set(v, g);
      continue;
    }
    sum.set(v, tf.add(prev, g));
    prev.dispose();
    g.dispose();
  }
  return sum;
}

/** Trainable adapter variables of every linear layer, by stable name. */
export function adapterVariables(model: FamilyModel): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const l of model.linears().values()) {
    for (const name of l.active) {
      if (l.merged.has(name)) continue;
      const a = l.adapters.get(name);
      if (a) for (const [n, v] of a.trainable()) out.set(n, v);
    }
  }
  return out;
}

/** The classification head's variables (trained fully, like PEFT's modules_to_save). */
export function headVariables(model: FamilyModel): Map<string, tf.Variable> {
  return new Map(model.classifier ? model.classifier.params() : []);
}
