// AdaLoRA's rank allocator as a trainer plug-in (HF PEFT `RankAllocator` + `AdaLoraModel.forward` /
// `update_and_allocate`), run by the training loop itself so it cannot be forgotten.
//
// Per step, with t = completed optimiser steps (1…T, T = the run's steps = PEFT's total_step):
// - extraLoss: orth_reg_weight · mean over every A and B of ‖AAᵀ − I‖_F and ‖BᵀB − I‖_F
//   (Frobenius norm, not squared);
// - afterBackward: keep the adapter's gradients as the optimiser will use them (clipped like the
//   trainer clips), because PEFT's documented loop calls update_and_allocate after optimizer.step()
//   with p.grad still set: importance = |p_after_step ⊙ grad|;
// - afterStep: t < T − tfinal: update the EMAs, then mask to the cubic budget when t > tinit and
//   t % deltaT == 0; t = T − tfinal: forced mask to target_r × modules, which becomes the final
//   rank_pattern, and the EMAs are reset; t > T − tfinal: re-apply the final rank_pattern.
// With t counted from 1 the final allocation always happens (at the last step when tfinal = 0).
import type { AdaLoraSpec, Plan, RunSpec } from "../../../dsl/plan.js";
import * as tf from "../../tensor/tf.js";
import { AdaLoraAdapter } from "../../adapters/adalora.js";
import type { TrainContext, TrainerPlugin } from "../../train/trainer.js";
import { ImportanceEma, type PlainEma, adaloraVarNames } from "./importance.js";
import { type BudgetSchedule, budgetAt, maskToBudget, phaseAt, validateAdaLoraSchedule } from "./schedule.js";

export { budgetAt, maskToBudget, phaseAt, validateAdaLoraSchedule, type AllocationPhase, type BudgetSchedule } from "./schedule.js";
export { ImportanceEma } from "./importance.js";

/** One masking decision. */
export interface AdaLoraAllocation {
  step: number;
  /** The budget b(t) (rank-1 triplets over all modules). */
  budget: number;
  /** Triplets kept (equals budget unless scores tie at the threshold). */
  kept: number;
  /** True for the final, forced allocation at T − tfinal. */
  final: boolean;
}

/** Module path → keep flag per rank (PEFT's rank_pattern, keyed by module path). */
export type RankPattern = Record<string, boolean[]>;

/** Checkpoint state (plain JSON); the tensors A, E, B themselves are checkpointed by the trainer. */
export interface AdaLoraState {
  version: 1;
  ema: Record<string, PlainEma>;
  pattern: RankPattern | null;
  finalPattern: RankPattern | null;
  history: AdaLoraAllocation[];
}

export class AdaLoraPlugin implements TrainerPlugin {
  readonly name: string;
  /** Every masking decision so far, in order. */
  history: AdaLoraAllocation[] = [];
  /** The latest allocation; the final rank_pattern once `finalPattern` is set. */
  rankPattern: RankPattern | null = null;
  finalPattern: RankPattern | null = null;
  private modules: AdaLoraAdapter[] = [];
  private schedule: BudgetSchedule | null = null;
  private readonly ema: ImportanceEma;
  private pending: Map<string, tf.Tensor> | null = null;

  constructor(readonly adapter: string, readonly spec: AdaLoraSpec) {
    this.name = `adalora:${adapter}`;
    this.ema = new ImportanceEma(spec.beta1, spec.beta2);
  }

  /** The adapters under allocation, in model order. */
  get adapters(): readonly AdaLoraAdapter[] {
    return this.modules;
  }

  get budgetSchedule(): BudgetSchedule {
    if (!this.schedule) throw new Error(`Error in AdaLoRA adapter "${this.adapter}": the plug-in was used before init (pass it to the Trainer's plugins)`);
    return this.schedule;
  }

  init(ctx: TrainContext): void {
    validateAdaLoraSchedule(this.adapter, this.spec, ctx.totalSteps);
    this.modules = [];
    for (const l of ctx.model.linears().values()) {
      const a = l.adapters.get(this.adapter);
      if (a instanceof AdaLoraAdapter) this.modules.push(a);
    }
    if (this.modules.length === 0) {
      throw new Error(`Error in AdaLoRA: no AdaLoRA adapter named "${this.adapter}" is attached to the model; inject it before creating the trainer`);
    }
    const { tinit, tfinal, deltaT, targetR } = this.spec;
    const initBudget = this.modules.reduce((n, a) => n + a.rank, 0);
    this.schedule = { initBudget, targetBudget: targetR * this.modules.length, tinit, tfinal, totalStep: ctx.totalSteps, deltaT };
  }

  extraLoss(): tf.Scalar | null {
    const w = this.spec.orthRegWeight;
    if (!(w > 0) || this.modules.length === 0) return null;
    const terms: tf.Scalar[] = [];
    for (const a of this.modules) {
      const eye = tf.eye(a.rank);
      terms.push(frobenius(tf.sub(tf.matMul(a.A, a.A, false, true), eye)));
      terms.push(frobenius(tf.sub(tf.matMul(a.B, a.B, true, false), eye)));
    }
    return tf.mul(tf.div(tf.addN(terms), terms.length), w) as tf.Scalar;
  }

  afterBackward(ctx: TrainContext, grads: Map<string, tf.Tensor>): void {
    this.dropPending();
    if (phaseAt(this.budgetSchedule, ctx.step + 1) !== "allocate") return;
    const coef = clipCoefficient(grads, ctx.train.clipNorm);
    const kept = new Map<string, tf.Tensor>();
    for (const a of this.modules) {
      for (const name of adaloraVarNames(a)) {
        const g = grads.get(name);
        if (g) kept.set(name, coef === 1 ? tf.clone(g) : tf.mul(g, coef));
      }
    }
    this.pending = kept;
  }

  afterStep(ctx: TrainContext): void {
    const t = ctx.step;
    const s = this.budgetSchedule;
    const phase = phaseAt(s, t);
    if (phase === "allocate") {
      this.updateImportance();
      const { budget, mask } = budgetAt(s, t);
      if (mask) this.allocate(t, budget, false);
    } else if (phase === "finalize") {
      this.allocate(t, budgetAt(s, t).budget, true);
      this.finalPattern = this.rankPattern;
      this.ema.reset();
    } else {
      const fixed = this.finalPattern;
      if (!fixed) throw new Error(`Error in AdaLoRA adapter "${this.adapter}" at step ${t}: no final rank_pattern (restore the plug-in state with the checkpoint)`);
      for (const a of this.modules) a.applyMask(fixed[a.path]);
    }
    this.dropPending();
  }

  private updateImportance(): void {
    const pending = this.pending;
    if (!pending) return;
    for (const a of this.modules) {
      for (const [name, v] of a.trainable()) {
        const g = pending.get(name);
        if (g) this.ema.update(name, v, g);
      }
    }
  }

  private allocate(step: number, budget: number, final: boolean): void {
    const scores = this.ema.tripletScores(this.modules);
    const keep = maskToBudget(scores, this.budgetSchedule.initBudget, budget);
    const pattern: RankPattern = {};
    this.modules.forEach((a, m) => {
      a.applyMask(keep[m]);
      pattern[a.path] = keep[m];
    });
    this.rankPattern = pattern;
    const kept = keep.reduce((n, k) => n + k.filter(Boolean).length, 0);
    this.history.push({ step, budget, kept, final });
  }

  /** Kept ranks per module path of the latest allocation (init_r everywhere before the first). */
  ranks(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const a of this.modules) out[a.path] = a.keptRank;
    return out;
  }

  private dropPending(): void {
    if (!this.pending) return;
    for (const g of this.pending.values()) g.dispose();
    this.pending = null;
  }

  saveState(): AdaLoraState {
    return { version: 1, ema: this.ema.toPlain(), pattern: this.rankPattern, finalPattern: this.finalPattern, history: this.history };
  }

  loadState(state: unknown): void {
    const s = state as AdaLoraState;
    if (!s || s.version !== 1 || typeof s.ema !== "object" || !Array.isArray(s.history)) {
      throw new Error(`Error in AdaLoRA.loadState: expected {version: 1, ema, pattern, finalPattern, history}, got ${JSON.stringify(state)?.slice(0, 80)}`);
    }
    const shapes = new Map<string, number[]>();
    for (const a of this.modules) for (const [name, v] of a.trainable()) shapes.set(name, [...v.shape]);
    for (const pattern of [s.pattern, s.finalPattern]) if (pattern) this.checkPattern(pattern);
    this.ema.loadPlain(s.ema, shapes);
    this.rankPattern = s.pattern;
    this.finalPattern = s.finalPattern;
    this.history = [...s.history];
    for (const a of this.modules) a.keep = s.pattern ? [...s.pattern[a.path]] : null;
  }

  private checkPattern(p: RankPattern): void {
    for (const a of this.modules) {
      const flags = p[a.path];
      if (!Array.isArray(flags) || flags.length !== a.rank) {
        throw new Error(`Error in AdaLoRA.loadState: the rank_pattern of ${a.path} should have ${a.rank} flags, got ${JSON.stringify(flags)?.slice(0, 60)}`);
      }
    }
  }

  dispose(): void {
    this.dropPending();
    this.ema.dispose();
  }
}

/** ‖M‖_F = √Σ M² (not squared, as in PEFT). */
function frobenius(m: tf.Tensor): tf.Scalar {
  return tf.sqrt(tf.sum(tf.square(m))) as tf.Scalar;
}

/** The factor the trainer's global-norm clipping will apply (torch's clip_grad_norm_: max/(norm + 1e-6), capped at 1). */
export function clipCoefficient(grads: Map<string, tf.Tensor>, maxNorm: number): number {
  if (!(maxNorm > 0) || grads.size === 0) return 1;
  const sq = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))));
  const norm = sq.dataSync()[0];
  sq.dispose();
  if (!Number.isFinite(norm)) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/** Creates the allocator of the AdaLoRA adapter `adapter`. */
export function createAdaLoraPlugin(adapter: string, spec: AdaLoraSpec): AdaLoraPlugin {
  return new AdaLoraPlugin(adapter, spec);
}

/** One allocator per AdaLoRA adapter of `run` (what a job adds to its trainer's plug-ins). */
export function adaloraPluginsFor(plan: Plan, run: RunSpec): AdaLoraPlugin[] {
  const out: AdaLoraPlugin[] = [];
  for (const name of run.adapters) {
    const spec = plan.adapters[name];
    if (spec?.method !== "adalora") continue;
    if (!spec.adalora) throw new Error(`Error in run "${run.name}": AdaLoRA adapter "${name}" has no allocator settings`);
    out.push(createAdaLoraPlugin(name, spec.adalora));
  }
  return out;
}
