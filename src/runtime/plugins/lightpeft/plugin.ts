// The Light-PEFT trainer plug-in: estimation window with masks and importance records, then the
// one-shot structural decision, then ordinary training of what is left. See index.ts for
// the rules and how they map onto each model family.
import * as tf from "../../tensor/tf.js";
import type { PruneSpec } from "../../../dsl/plan.js";
import type { BatchTensors } from "../../train/batch.js";
import type { LightPruneEvent, MaskEvent, ParamCounts } from "../../../results/events.js";
import { LoraAdapter } from "../../adapters/lora.js";
import type { ForwardCtx } from "../../tensor/nn.js";
import type { FamilyModel } from "../../models/model.js";
import type { TrainContext, TrainerPlugin } from "../../train/trainer.js";
import { applyLightPeftDecisions, decideLightPeft, type EstimationResult, type LightPeftDecisions, loraAdaptersNamed } from "./decide.js";
import { averagedSteps, maskedMean, rankImportance, rowMask, tokenRatios, WindowMean, type WindowMeanState } from "./importance.js";
import { summarize } from "./quantile.js";

export interface LightPeftOptions {
  /** Name of the LoRA adapter whose modules and ranks are estimated and pruned. */
  adapter: string;
  /** Emit `lightpeft.masks` every this many steps of the window (default: the run's logEvery); always at its end. */
  maskEvery?: number;
}

/** Second-half means of the importance records so far. */
export interface LightPeftImportance {
  modules: Record<string, number>;
  ranks: Record<string, number[]>;
}

export interface LightPeftPlugin extends TrainerPlugin {
  /** "estimate" until the end of the window, then "pruned". */
  readonly phase: "estimate" | "pruned";
  /** The structure chosen at the end of the window (null before). */
  readonly decisions: LightPeftDecisions | null;
  importance(): LightPeftImportance;
  saveState(): LightPeftState;
  loadState(state: unknown, ctx: TrainContext): void;
}

/** Checkpoint state: the running importance means, the masks during estimation, the decisions after. */
export interface LightPeftState {
  version: 1;
  estimateSteps: number;
  modules: WindowMeanState;
  ranks: WindowMeanState;
  masks: { heads: number[][]; neurons: number[][] } | null;
  decisions: LightPeftDecisions | null;
}

/** Throws an error naming the first field of `spec` that is out of range. */
export function checkPruneSpec(spec: PruneSpec): void {
  const where = "Light-PEFT prune spec";
  if (!Number.isInteger(spec.estimateSteps) || spec.estimateSteps < 1) {
    throw new Error(`${where}: estimateSteps must be an integer >= 1, got ${spec.estimateSteps}`);
  }
  const ratios: [string, number][] = [["heads.ratio", spec.heads.ratio], ["neurons.ratio", spec.neurons.ratio], ["moduleRatio", spec.moduleRatio], ["rankRatio", spec.rankRatio]];
  for (const [k, v] of ratios) if (!(v >= 0 && v <= 1)) throw new Error(`${where}: ${k} must be in [0, 1], got ${v}`);
  if (!(spec.l1 >= 0) || !Number.isFinite(spec.l1)) throw new Error(`${where}: l1 must be a finite number >= 0, got ${spec.l1}`);
  if (!(spec.maskLrFactor >= 0) || !Number.isFinite(spec.maskLrFactor)) throw new Error(`${where}: maskLrFactor must be a finite number >= 0, got ${spec.maskLrFactor}`);
}

/** The mask variables currently attached to the model, by stable name. */
export function maskVariables(model: FamilyModel): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const blk of model.blocks) {
    if (blk.headMask) out.set(`lightpeft.layers.${blk.index}.head_mask`, blk.headMask);
    if (blk.neuronMask) out.set(`lightpeft.layers.${blk.index}.neuron_mask`, blk.neuronMask);
  }
  return out;
}

function readMasks(model: FamilyModel): { heads: number[][]; neurons: number[][] } {
  const read = (v: tf.Variable | null) => (v ? Array.from(v.dataSync()) : []);
  return { heads: model.blocks.map((b) => read(b.headMask)), neurons: model.blocks.map((b) => read(b.neuronMask)) };
}

function paramCounts(ctx: TrainContext): ParamCounts {
  let trainable = 0;
  for (const v of ctx.trainableVariables().values()) trainable += v.size;
  return { foundation: ctx.model.foundationParams(), trainable };
}

class LightPeft implements LightPeftPlugin {
  readonly name = "lightpeft";
  phase: "estimate" | "pruned" = "estimate";
  decisions: LightPeftDecisions | null = null;
  private readonly modules: WindowMean;
  private readonly ranks: WindowMean;
  private pending: { path: string; ratios: tf.Tensor1D }[] = [];
  private model: FamilyModel | null = null;
  private maskEvery = 1;

  constructor(private readonly spec: PruneSpec, private readonly opts: LightPeftOptions) {
    checkPruneSpec(spec);
    const { first, last } = averagedSteps(spec.estimateSteps);
    this.modules = new WindowMean(first, last);
    this.ranks = new WindowMean(first, last);
  }

  init(ctx: TrainContext): void {
    const name = this.opts.adapter;
    if (this.spec.estimateSteps > ctx.totalSteps) {
      throw new Error(`Light-PEFT: the estimation window (${this.spec.estimateSteps} steps) is longer than the run (${ctx.totalSteps} steps)`);
    }
    for (const l of ctx.model.linears().values()) {
      const a = l.adapters.get(name);
      if (a && !(a instanceof LoraAdapter)) throw new Error(`Light-PEFT: adapter "${name}" on ${l.path} is "${a.kind}"; only LoRA adapters can be estimated`);
    }
    if (loraAdaptersNamed(ctx.model, name).size === 0) throw new Error(`Light-PEFT: the model has no LoRA adapter named "${name}"`);
    this.model = ctx.model;
    this.maskEvery = Math.max(1, this.opts.maskEvery ?? ctx.train.logEvery);
    ctx.model.setMasks("heads", true);
    ctx.model.setMasks("neurons", true);
    ctx.addGroup({ name: "lightpeft.masks", variables: () => maskVariables(ctx.model), lrFactor: this.spec.maskLrFactor, decay: false });
  }

  forwardHooks(ctx: TrainContext, fwd: ForwardCtx): void {
    this.dropPending(); // left over by a step that stopped on a non-finite loss
    if (this.phase !== "estimate" || !this.modules.covers(ctx.step + 1)) return;
    const prev = fwd.onAdapter;
    const name = this.opts.adapter;
    fwd.onAdapter = (linear, adapter, x, base, delta) => {
      prev?.(linear, adapter, x, base, delta);
      if (adapter.name === name) this.pending.push({ path: linear.path, ratios: tf.keep(tokenRatios(base, delta)) });
    };
  }

  extraLoss(ctx: TrainContext): tf.Scalar | null {
    if (this.phase !== "estimate" || this.spec.l1 === 0) return null;
    const masks = [...maskVariables(ctx.model).values()];
    if (masks.length === 0) return null;
    return tf.mul(tf.addN(masks.map((m) => tf.sum(tf.abs(m)))), this.spec.l1) as tf.Scalar; // λ Σ|m|
  }

  afterBackward(ctx: TrainContext, grads: Map<string, tf.Tensor>, batch: BatchTensors): void {
    if (this.phase !== "estimate" || !this.modules.covers(ctx.step + 1)) return this.dropPending();
    this.recordModules(batch.mask);
    this.recordRanks(ctx.model, grads);
  }

  afterStep(ctx: TrainContext): void {
    if (this.phase !== "estimate") return;
    const end = ctx.step >= this.spec.estimateSteps;
    if (end || ctx.step % this.maskEvery === 0) ctx.emit(this.maskEvent(ctx.model, ctx.step));
    if (end) this.prune(ctx);
  }

  importance(): LightPeftImportance {
    const modules: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.modules.means())) modules[k] = v[0];
    return { modules, ranks: this.ranks.means() };
  }

  saveState(): LightPeftState {
    return {
      version: 1,
      estimateSteps: this.spec.estimateSteps,
      modules: this.modules.toJSON(),
      ranks: this.ranks.toJSON(),
      masks: this.phase === "estimate" && this.model ? readMasks(this.model) : null,
      decisions: this.decisions,
    };
  }

  /**
   * Restores a checkpoint. After the decision this re-applies the pruned structure to the fresh
   * model, so call it before the adapter weights and optimiser moments are restored.
   */
  loadState(state: unknown, ctx: TrainContext): void {
    const s = state as LightPeftState;
    if (!s || s.version !== 1) throw new Error(`Light-PEFT: unsupported checkpoint state (version ${(s as { version?: unknown })?.version})`);
    if (s.estimateSteps !== this.spec.estimateSteps) {
      throw new Error(`Light-PEFT: the checkpoint was estimated over ${s.estimateSteps} steps, this run over ${this.spec.estimateSteps}`);
    }
    if (this.phase !== "estimate") throw new Error("Light-PEFT: loadState needs a model that has not been pruned yet");
    this.modules.load(s.modules);
    this.ranks.load(s.ranks);
    if (s.decisions) {
      applyLightPeftDecisions(ctx.model, s.decisions);
      this.decisions = s.decisions;
      this.phase = "pruned";
      ctx.optimizer.retainOnly(ctx.trainableVariables().values());
    } else if (s.masks) {
      this.restoreMasks(ctx.model, s.masks);
    }
  }

  dispose(): void {
    this.dropPending();
  }

  private dropPending(): void {
    for (const p of this.pending) p.ratios.dispose();
    this.pending = [];
  }

  private recordModules(padMask: tf.Tensor2D): void {
    const pending = this.pending;
    this.pending = [];
    if (pending.length === 0) return;
    const means = tf.tidy(() => tf.stack(pending.map((p) => maskedMean(p.ratios, rowMask(padMask, p.ratios.shape[0])))));
    const data = means.dataSync();
    means.dispose();
    for (const p of pending) p.ratios.dispose();
    const calls = new Map<string, number[]>(); // a module called twice in one step averages its calls
    pending.forEach((p, i) => calls.set(p.path, [...(calls.get(p.path) ?? []), data[i]]));
    for (const [path, v] of calls) this.modules.add(path, [v.reduce((a, b) => a + b, 0) / v.length]);
  }

  private recordRanks(model: FamilyModel, grads: Map<string, tf.Tensor>): void {
    const items: { path: string; a: LoraAdapter; gA: tf.Tensor; gB: tf.Tensor }[] = [];
    for (const [path, a] of loraAdaptersNamed(model, this.opts.adapter)) {
      let gA: tf.Tensor | undefined;
      let gB: tf.Tensor | undefined;
      for (const [n, v] of a.trainable()) {
        if (v === a.A) gA = grads.get(n);
        if (v === a.B) gB = grads.get(n);
      }
      if (gA && gB) items.push({ path, a, gA, gB });
    }
    if (items.length === 0) return;
    const all = tf.tidy(() => tf.concat(items.map((it) => rankImportance(it.a.A as tf.Tensor2D, it.gA, it.a.B as tf.Tensor2D, it.gB))));
    const data = all.dataSync();
    all.dispose();
    let off = 0;
    for (const it of items) {
      const r = it.a.rank;
      this.ranks.add(it.path, data.subarray(off, off + r));
      off += r;
    }
  }

  private maskEvent(model: FamilyModel, step: number): MaskEvent {
    const m = readMasks(model);
    return { type: "lightpeft.masks", step, heads: m.heads, neurons: m.neurons.map((n) => summarize(n)) };
  }

  private estimation(model: FamilyModel): EstimationResult {
    const m = readMasks(model);
    m.heads.concat(m.neurons).forEach((layer, i) => {
      if (layer.some((v) => !Number.isFinite(v))) {
        const what = i < m.heads.length ? `head masks of layer ${i}` : `neuron masks of layer ${i - m.heads.length}`;
        throw new Error(`Light-PEFT: the ${what} are not finite at the end of the estimation window; lower the learning rate or maskLrFactor`);
      }
    });
    const imp = this.importance();
    return { headMasks: m.heads, neuronMasks: m.neurons, moduleScores: imp.modules, rankScores: imp.ranks };
  }

  private prune(ctx: TrainContext): void {
    const model = ctx.model;
    const est = this.estimation(model);
    const ranksBefore = new Map([...loraAdaptersNamed(model, this.opts.adapter)].map(([p, a]) => [p, a.rank]));
    const d = decideLightPeft(model, this.opts.adapter, this.spec, est);
    if (Object.keys(d.ranks).length === 0) {
      throw new Error(
        `Light-PEFT: the module rule (moduleRatio ${this.spec.moduleRatio}) and the rank rule (rankRatio ${this.spec.rankRatio}) ` +
          `removed every module of adapter "${this.opts.adapter}" (importance ties?); lower the ratios or lengthen the estimation window`,
      );
    }
    const before = paramCounts(ctx);
    applyLightPeftDecisions(model, d);
    // The authors train the pruned model in a new run: a fresh optimiser for everything.
    ctx.optimizer.retainOnly([]);
    ctx.optimizer.step = 0;
    this.decisions = d;
    this.phase = "pruned";
    ctx.emit(this.pruneEvent(ctx.step, est, d, ranksBefore, before, paramCounts(ctx)));
  }

  private pruneEvent(step: number, est: EstimationResult, d: LightPeftDecisions, ranksBefore: Map<string, number>, before: ParamCounts, after: ParamCounts): LightPruneEvent {
    const removed = (kept: number[], n: number) => Array.from({ length: n }, (_, i) => i).filter((i) => !kept.includes(i));
    return {
      type: "lightpeft.prune",
      step,
      heads: d.heads.map((kept, layer) => ({ layer, kept, removed: removed(kept, est.headMasks[layer].length) })),
      neurons: d.neurons.map((kept, layer) => ({ layer, kept: kept.length, removed: est.neuronMasks[layer].length - kept.length })),
      modulesRemoved: d.modulesRemoved,
      ranks: Object.entries(d.ranks).map(([module, kept]) => ({ module, kept, before: ranksBefore.get(module)! })),
      before,
      after,
    };
  }

  private restoreMasks(model: FamilyModel, masks: { heads: number[][]; neurons: number[][] }): void {
    model.blocks.forEach((blk, l) => {
      const pairs: [tf.Variable | null, number[] | undefined, string][] = [[blk.headMask, masks.heads[l], "head"], [blk.neuronMask, masks.neurons[l], "neuron"]];
      for (const [v, values, what] of pairs) {
        if (!v || !values || values.length !== v.size) {
          throw new Error(`Light-PEFT: the checkpoint's ${what} masks of layer ${l} do not match the model (${values?.length ?? 0} values for ${v?.size ?? 0})`);
        }
        const t = tf.tensor1d(values);
        v.assign(t);
        t.dispose();
      }
    });
  }
}

/**
 * The Light-PEFT plug-in for adapter `opts.adapter`: masks and importance records during the
 * first `spec.estimateSteps` steps, then structural pruning of heads, neurons, adapter modules
 * and ranks, then training continues on the smaller model.
 */
export function createLightPeftPlugin(spec: PruneSpec, opts: LightPeftOptions): LightPeftPlugin {
  return new LightPeft(spec, opts);
}
