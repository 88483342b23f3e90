// The training loop. It knows nothing about BeamLoRA or Light-PEFT: they are plug-ins that add
// variables and loss terms, see gradients, and act after each optimiser step. Everything a
// progress bar, plot or checkpoint needs leaves the loop as an event.
import * as tf from "../tensor/tf.js";
import type { TrainSpec } from "../../dsl/plan.js";
import type { Batch } from "../data/types.js";
import { type BatchTensors, disposeBatch, taskLoss, toTensors } from "./batch.js";
import type { RunEvent, StepEvent } from "../../results/events.js";
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
    const fwd: ForwardCtx = { training: true, nextSeed: () => (stepSeed + 104729 * seedCounter++) >>> 0 };
    for (const p of this.plugins) p.forwardHooks?.(this, fwd);
    const bt = toTensors(batch);
    let lossValue: number;
    let grads: Map<tf.Variable, tf.Tensor>;
    try {
      const { value, grads: raw } = tf.variableGrads(() => {
        const logits = this.model.forward(bt.ids, bt.mask, fwd);
        let loss = taskLoss(logits, bt);
        for (const p of this.plugins) {
          const extra = p.extraLoss?.(this);
          if (extra) loss = tf.add(loss, extra) as tf.Scalar;
        }
        return loss;
      }, varList);
      lossValue = value.dataSync()[0];
      value.dispose();
      grads = new Map();
      const gradsByName = new Map<string, tf.Tensor>();
      for (const v of varList) {
        const g = raw[v.name];
        if (!g) continue;
        grads.set(v, g);
        gradsByName.set(byVarName.get(v.name) ?? v.name, g);
      }
      if (!Number.isFinite(lossValue)) {
        for (const g of grads.values()) g.dispose();
        throw new NonFiniteLossError(this.step + 1, lossValue, this.lastFiniteLoss, nonFiniteWeights(this.model));
      }
      for (const p of this.plugins) p.afterBackward?.(this, gradsByName, bt);
    } finally {
      disposeBatch(bt);
    }
    const clipped = clipByGlobalNorm(grads, this.train.clipNorm);
    this.optimizer.apply(clipped.grads, lr, this.settingsFor());
    for (const g of clipped.grads.values()) g.dispose();
    this.step += 1;
    this.lastFiniteLoss = lossValue;
    for (const p of this.plugins) p.afterStep?.(this);
    this.peakBytes = Math.max(this.peakBytes, tf.memory().numBytes);
    const stats: StepStats = { step: this.step, loss: lossValue, lr, gradNorm: clipped.norm, tokens: batch.tokens, stepMs: performance.now() - t0 };
    if (this.step % Math.max(1, this.train.logEvery) === 0 || this.step === this.train.steps || this.step === 1) {
      this.emit({ type: "step", ...stats, time: Date.now() });
    }
    return stats;
  }

  dispose(): void {
    for (const p of this.plugins) p.dispose?.();
    this.optimizer.dispose();
  }
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
