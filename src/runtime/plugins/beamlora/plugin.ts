// The BeamLoRA trainer plug-in (Gu et al., ACL 2025, and the authors' official code): a zero-initialised gate on every LoRA module of
// one adapter, a snapshot every period at the snapshot offset, and at each period boundary a
// global top-p prune whose slots are re-seeded from the snapshot of the module's strongest ranks.
//
// Step arithmetic uses `ctx.step` = completed optimiser steps, seen in afterStep:
// - snapshot when step % T == snapshotOffset (default T/2, mid-period);
// - prune-and-expand when step % T == 0, step > 0 and totalSteps − step ≥ T (none in the last
//   window), unless p(step) ≥ 1 (then the step is skipped entirely: our reading, as nothing would be pruned).
// At a prune step, in order: importances are read (before any change), the decision is made, each
// module is expanded, every module's gate moments are zeroed, then the events are emitted.
import type { BeamSpec } from "../../../dsl/plan.js";
import type { BeamImportanceEvent, BeamPruneEvent } from "../../../results/events.js";
import { LoraAdapter } from "../../adapters/lora.js";
import type { Adapter, ForwardCtx } from "../../tensor/nn.js";
import type { TrainContext, TrainerPlugin } from "../../train/trainer.js";
import type * as tf from "../../tensor/tf.js";
import { expandModule } from "./expand.js";
import { type BeamModule, type ImportanceTracker, createTracker } from "./importance.js";
import { capFor, isPruneStep, isSnapshotStep, resolveTau, topPAt, validateBeamSpec } from "./schedule.js";
import { type ModulePlan, pairingRand, planPrune } from "./select.js";
import { BeamSnapshot, type PlainSnapshot, requireGate } from "./snapshot.js";

export interface BeamLoraOptions {
  /** Name of the injected LoRA adapter to constrain. */
  adapter: string;
  /** The run's learning rate (decides the automatic τ). */
  lr: number;
  /**
   * Seeded uniform [0, 1) source. One number is drawn at creation to seed the pairing; each
   * prune step then pairs with a counter-based stream of (seed, step, module), so decisions
   * do not depend on how the stream was consumed before and a resumed run reproduces them.
   */
  rand: () => number;
}

/** Checkpoint state of the plug-in (plain JSON). The gates live in the adapters. */
export interface BeamLoraState {
  version: 1;
  pairingSeed: number;
  snapshot: PlainSnapshot | null;
  /** The importance criterion's running statistics (null for "gate"). */
  importance: unknown;
}

export class BeamLoraPlugin implements TrainerPlugin {
  readonly name = "beamlora";
  /** Resolved gate temperature (set in init). */
  tau = Number.NaN;
  private pairingSeed: number;
  private modules: BeamModule[] = [];
  private byAdapter = new Map<Adapter, number>();
  private tracker: ImportanceTracker | null = null;
  private snap: BeamSnapshot | null = null;

  constructor(readonly spec: BeamSpec, private readonly opts: BeamLoraOptions) {
    validateBeamSpec(spec);
    this.pairingSeed = Math.floor(opts.rand() * 4294967296) >>> 0;
  }

  /** Completed steps at the current snapshot, or null when there is none. */
  get snapshotStep(): number | null {
    return this.snap?.step ?? null;
  }

  /** The modules under the constraint, in model order. */
  get modulePaths(): string[] {
    return this.modules.map((m) => m.path);
  }

  init(ctx: TrainContext): void {
    for (const [path, l] of ctx.model.linears()) {
      const a = l.adapters.get(this.opts.adapter);
      if (a instanceof LoraAdapter) this.modules.push({ path, adapter: a });
    }
    if (this.modules.length === 0) {
      throw new Error(`Error in BeamLoRA: no LoRA adapter named "${this.opts.adapter}" is attached to the model; inject it before creating the trainer`);
    }
    this.tau = resolveTau(this.spec.tau, this.opts.lr);
    this.modules.forEach(({ adapter }, i) => {
      adapter.enableGate(this.tau);
      this.byAdapter.set(adapter, i);
    });
    this.tracker = createTracker(this.spec.importance, this.modules);
    if (isSnapshotStep(this.spec, ctx.step)) this.takeSnapshot(ctx);
  }

  forwardHooks(_ctx: TrainContext, fwd: ForwardCtx): void {
    const tracker = this.requireTracker();
    tracker.beginStep?.();
    if (!tracker.onForward) return;
    const prev = fwd.onAdapter;
    fwd.onAdapter = (linear, adapter, x, base, delta) => {
      prev?.(linear, adapter, x, base, delta);
      const m = this.byAdapter.get(adapter);
      if (m !== undefined) tracker.onForward!(m, x);
    };
  }

  afterBackward(_ctx: TrainContext, grads: Map<string, tf.Tensor>): void {
    this.requireTracker().afterBackward?.(grads);
  }

  afterStep(ctx: TrainContext): void {
    const step = ctx.step;
    let reported = false;
    if (isPruneStep(this.spec, step, ctx.totalSteps)) reported = this.pruneAndExpand(ctx);
    if (isSnapshotStep(this.spec, step)) this.takeSnapshot(ctx);
    const every = this.spec.importanceEvery;
    if (!reported && every > 0 && step % every === 0) this.emitImportance(ctx, this.requireTracker().scores());
  }

  /** One prune-and-expand at `ctx.step`. Returns false when skipped because p ≥ 1. */
  private pruneAndExpand(ctx: TrainContext): boolean {
    const step = ctx.step;
    const p = topPAt(this.spec.topP, step);
    if (p >= 1) return false;
    const snap = this.snap;
    if (!snap) {
      throw new Error(
        `Error in BeamLoRA at step ${step}: there is no snapshot to re-seed pruned ranks from (snapshots are taken at steps ≡ ${this.spec.snapshotOffset} mod ${this.spec.period}); restore the plug-in state with the checkpoint`,
      );
    }
    const scores = this.requireTracker().scores();
    const caps = this.modules.map(({ adapter }) => capFor(this.spec.capPerModule, adapter.rank));
    const mass = this.modules.reduce((acc, { adapter }) => acc + adapter.rank, 0); // N·r
    const plans = planPrune(scores, p, caps, (m) => pairingRand(this.pairingSeed, step, this.modules[m].path), mass);
    plans.forEach((plan, m) => {
      const { path, adapter } = this.modules[m];
      expandModule(adapter, ctx.optimizer, snap.module(path), plan.pruned, plan.parents);
      this.requireTracker().inherit(m, plan.pruned, plan.parents);
    });
    // Every gate's moments are zeroed in every module at every prune step; the step count stays.
    for (const { path, adapter } of this.modules) ctx.optimizer.zeroMoments(requireGate(adapter.gate, path));
    this.emitImportance(ctx, scores);
    ctx.emit(this.pruneEvent(step, p, plans));
    return true;
  }

  private pruneEvent(step: number, p: number, plans: ModulePlan[]): BeamPruneEvent {
    const modules = plans.map((plan, m) => ({ module: this.modules[m].path, pruned: plan.pruned, parents: plan.parents }));
    return { type: "beam.prune", step, p, modules, totalPruned: plans.reduce((n, plan) => n + plan.pruned.length, 0) };
  }

  private emitImportance(ctx: TrainContext, scores: number[][]): void {
    const e: BeamImportanceEvent = {
      type: "beam.importance",
      step: ctx.step,
      criterion: this.spec.importance,
      modules: scores.map((s, m) => ({ module: this.modules[m].path, scores: s })),
    };
    ctx.emit(e);
  }

  private takeSnapshot(ctx: TrainContext): void {
    const next = BeamSnapshot.take(ctx.step, this.modules, ctx.optimizer);
    this.snap?.dispose();
    this.snap = next;
  }

  private requireTracker(): ImportanceTracker {
    if (!this.tracker) throw new Error("Error in BeamLoRA: the plug-in was used before init (pass it to the Trainer's plugins)");
    return this.tracker;
  }

  saveState(): BeamLoraState {
    return { version: 1, pairingSeed: this.pairingSeed, snapshot: this.snap?.toPlain() ?? null, importance: this.requireTracker().saveState() };
  }

  loadState(state: unknown, _ctx: TrainContext): void {
    const s = state as BeamLoraState;
    if (!s || s.version !== 1 || !Number.isInteger(s.pairingSeed)) {
      throw new Error(`Error in BeamLoRA.loadState: expected {version: 1, pairingSeed, snapshot, importance}, got ${JSON.stringify(state)?.slice(0, 80)}`);
    }
    const snap = s.snapshot === null ? null : BeamSnapshot.fromPlain(s.snapshot, this.modules);
    this.requireTracker().loadState(s.importance);
    this.snap?.dispose();
    this.snap = snap;
    this.pairingSeed = s.pairingSeed >>> 0;
  }

  dispose(): void {
    this.snap?.dispose();
    this.snap = null;
    this.tracker?.dispose();
  }
}

/** Creates the BeamLoRA plug-in for `spec` on the adapter `opts.adapter`. */
export function createBeamLoraPlugin(spec: BeamSpec, opts: BeamLoraOptions): BeamLoraPlugin {
  return new BeamLoraPlugin(spec, opts);
}
