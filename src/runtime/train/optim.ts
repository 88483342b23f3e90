// AdamW (decoupled weight decay, bias correction) whose per-variable moments code can read and
// write — BeamLoRA copies rows of them — plus global gradient-norm clipping and LR schedules.
import * as tf from "../tensor/tf.js";
import { ownVariable } from "../tensor/nn.js";
import { adamwUpdate, globalNorm } from "../tensor/ops/index.js";
import type { TrainSpec } from "../../dsl/plan.js";

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Per-variable settings: a learning-rate factor and whether weight decay applies. */
export interface ParamSettings {
  lrFactor: number;
  decay: boolean;
}

export interface Moments {
  m: tf.Variable;
  v: tf.Variable;
}

/** Serialisable optimiser state (moments as plain arrays, keyed by a stable parameter name). */
export interface AdamWState {
  step: number;
  moments: Record<string, { shape: number[]; m: number[]; v: number[] }>;
}

export class AdamW {
  /** Number of updates applied so far (bias correction uses step + 1). */
  step = 0;
  private readonly moments = new Map<tf.Variable, Moments>();

  constructor(readonly opts: AdamWOptions) {}

  /** The moments of `v`, created at zero on first use. */
  momentsOf(v: tf.Variable): Moments {
    let s = this.moments.get(v);
    if (!s) {
      s = { m: ownVariable(tf.zerosLike(v), false, `${v.name}/adam_m`), v: ownVariable(tf.zerosLike(v), false, `${v.name}/adam_v`) };
      this.moments.set(v, s);
    }
    return s;
  }

  hasMoments(v: tf.Variable): boolean {
    return this.moments.has(v);
  }

  /** Zeroes the moments of `v` (BeamLoRA resets gate moments at every prune step). */
  zeroMoments(v: tf.Variable): void {
    const s = this.moments.get(v);
    if (!s) return;
    tf.tidy(() => {
      s.m.assign(tf.zerosLike(s.m));
      s.v.assign(tf.zerosLike(s.v));
    });
  }

  /** Drops state for variables that no longer exist (after structural pruning replaced them). */
  forget(v: tf.Variable): void {
    const s = this.moments.get(v);
    if (!s) return;
    s.m.dispose();
    s.v.dispose();
    this.moments.delete(v);
  }

  /** Keeps moments only for `live` variables. */
  retainOnly(live: Iterable<tf.Variable>): void {
    const keep = new Set(live);
    for (const v of [...this.moments.keys()]) if (!keep.has(v)) this.forget(v);
  }

  /**
   * One AdamW update: p ← p·(1 − lr·wd) − lr·m̂ / (√v̂ + ε), matching torch.optim.AdamW.
   * `grads` maps each variable to its gradient (already clipped).
   */
  apply(grads: Map<tf.Variable, tf.Tensor>, lr: number, settings: (v: tf.Variable) => ParamSettings): void {
    this.step += 1;
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const bc1 = 1 - Math.pow(beta1, this.step);
    const bc2 = 1 - Math.pow(beta2, this.step);
    for (const [p, g] of grads) {
      const s = this.momentsOf(p);
      const { lrFactor, decay } = settings(p);
      adamwUpdate(p, g, s.m, s.v, { lr: lr * lrFactor, beta1, beta2, eps, weightDecay: decay ? weightDecay : 0, bc1, bc2 });
    }
  }

  /** State keyed by names (`nameOf` gives each variable's stable name, e.g. its parameter path). */
  saveState(nameOf: (v: tf.Variable) => string | null): AdamWState {
    const moments: AdamWState["moments"] = {};
    for (const [p, s] of this.moments) {
      const name = nameOf(p);
      if (name === null) continue;
      moments[name] = { shape: p.shape, m: Array.from(s.m.dataSync()), v: Array.from(s.v.dataSync()) };
    }
    return { step: this.step, moments };
  }

  loadState(state: AdamWState, byName: Map<string, tf.Variable>): void {
    this.step = state.step;
    for (const [name, st] of Object.entries(state.moments)) {
      const p = byName.get(name);
      if (!p) throw new Error(`Error in AdamW.loadState: the checkpoint has moments for "${name}", which this model does not have`);
      if (p.shape.join(",") !== st.shape.join(",")) {
        throw new Error(`Error in AdamW.loadState: "${name}" is [${p.shape}] but the checkpoint's moments are [${st.shape}]`);
      }
      const s = this.momentsOf(p);
      tf.tidy(() => {
        s.m.assign(tf.tensor(st.m, st.shape));
        s.v.assign(tf.tensor(st.v, st.shape));
      });
    }
  }

  dispose(): void {
    for (const v of [...this.moments.keys()]) this.forget(v);
  }
}

/**
 * Clips gradients to a global L2 norm (torch.nn.utils.clip_grad_norm_: coefficient
 * max/(norm + 1e-6), capped at 1). Returns the clipped map and the norm before clipping.
 * Disposes the input gradients it replaces.
 */
export function clipByGlobalNorm(grads: Map<tf.Variable, tf.Tensor>, maxNorm: number): { grads: Map<tf.Variable, tf.Tensor>; norm: number } {
  const sq = tf.tidy(() => globalNorm([...grads.values()]));
  const norm = sq.dataSync()[0];
  sq.dispose();
  if (!(maxNorm > 0) || !Number.isFinite(norm)) return { grads, norm };
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  if (coef >= 1) return { grads, norm };
  const out = new Map<tf.Variable, tf.Tensor>();
  for (const [v, g] of grads) {
    out.set(v, tf.mul(g, coef));
    g.dispose();
  }
  return { grads: out, norm };
}

/**
 * Learning rate at 0-based step `step` of `total`: linear warm-up from 0 over `warmupSteps`, then
 * constant at `base`, or a linear or cosine decay from `base` to `minLrRatio`·`base` at the last
 * step (with `minLrRatio` 0 these are Hugging Face's linear and cosine schedules).
 */
export function learningRateAt(step: number, total: number, base: number, sched: TrainSpec["schedule"]): number {
  const warm = sched.warmupSteps;
  if (step < warm) return (base * step) / Math.max(1, warm);
  if (sched.kind === "constant") return base;
  const progress = Math.min(1, (step - warm) / Math.max(1, total - warm));
  const floor = sched.minLrRatio;
  if (sched.kind === "linear") return base * (floor + (1 - floor) * (1 - progress));
  return base * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
