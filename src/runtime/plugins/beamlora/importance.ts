// Rank importance for BeamLoRA (the paper's criteria, as its official code computes them). Every criterion returns, per module, one
// score per rank normalised to sum to r, like the gate weights s = r·softmax(g/τ), so that the
// global top-p threshold p·N·r means the same thing for all three:
//
// - "gate" (the official default): s itself.
// - "first_order": AdaLoRA's sensitivity × uncertainty. Per element I = |w ⊙ ∇w|,
//   Ī ← β1·Ī + (1−β1)·I, Ū ← β2·Ū + (1−β2)·|I − Ī| with β1 = β2 = 0.85 (AdaLoRA's and the
//   official `update_ipt` defaults); rank score = mean over the A row + mean over the B column
//   of Ī·Ū; then, as the official `get_first_order_imp` does, softmax(score / mean(score)) — times r.
//   The gradients are the raw ones from `afterBackward`, before clipping.
// - "activation": an EMA (β = 0.85, zero-initialised like AdaLoRA's) of the per-rank RMS over the
//   batch's token rows of A·x (pre-dropout input, padding rows included), then r·softmax(ema / 1)
//   (the official `activation_temperature` default is 1). [interpretation] The official forward
//   hook was not in the stored sources; "‖A x‖ per rank" is taken as the RMS over tokens so that it
//   does not grow with the batch size.
import * as tf from "../../tensor/tf.js";
import type { BeamImportance } from "../../../dsl/plan.js";
import type { LoraAdapter } from "../../adapters/lora.js";
import { type PlainTensor, fromPlain, toPlain } from "./plain.js";

export const FIRST_ORDER_BETA1 = 0.85;
export const FIRST_ORDER_BETA2 = 0.85;
export const ACTIVATION_BETA = 0.85;
export const ACTIVATION_TEMPERATURE = 1;

/** One adapted module, in model order. */
export interface BeamModule {
  path: string;
  adapter: LoraAdapter;
}

/** A source of per-rank importances; see the file comment for what each criterion measures. */
export interface ImportanceTracker {
  readonly criterion: BeamImportance;
  /** Inside the gradient tape, for every forward of a tracked module. */
  onForward?(module: number, x: tf.Tensor2D): void;
  /** Start of a step's forward pass: drops anything left by a failed step. */
  beginStep?(): void;
  /** After the backward pass, with the gradients by variable name. */
  afterBackward?(grads: Map<string, tf.Tensor>): void;
  /** Scores per module (each sums to r). */
  scores(): number[][];
  /** Pruned slots take over their parent's statistics (as they take its weights). */
  inherit(module: number, pruned: number[], parents: number[]): void;
  saveState(): unknown;
  loadState(state: unknown): void;
  dispose(): void;
}

/** r·softmax(x / temperature), computed stably in float64. */
export function scaledSoftmax(x: readonly number[], temperature: number): number[] {
  const z = x.map((v) => v / temperature);
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => (v / sum) * x.length);
}

/** The official first-order normalisation: r·softmax(x / mean(x)); all ones when the mean is not positive. */
export function meanTemperedSoftmax(x: readonly number[]): number[] {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  return mean > 0 && Number.isFinite(mean) ? scaledSoftmax(x, mean) : x.map(() => 1);
}

/** A tracker for `criterion` over `modules`. */
export function createTracker(criterion: BeamImportance, modules: BeamModule[]): ImportanceTracker {
  if (criterion === "gate") return new GateImportance(modules);
  if (criterion === "first_order") return new FirstOrderImportance(modules);
  return new ActivationImportance(modules);
}

/** Index vector of length r: i for kept ranks, parents[j] (+ offset) at pruned[j]. */
export function sourceIndex(r: number, pruned: number[], parents: number[], offset = 0): number[] {
  const idx = Array.from({ length: r }, (_, i) => i);
  pruned.forEach((m, j) => (idx[m] = parents[j] + offset));
  return idx;
}

class GateImportance implements ImportanceTracker {
  readonly criterion = "gate" as const;
  constructor(private readonly modules: BeamModule[]) {}
  scores(): number[][] {
    return this.modules.map(({ adapter }) => {
      const s = adapter.gateWeights();
      const out = Array.from(s.dataSync());
      s.dispose();
      return out;
    });
  }
  inherit(): void {}
  saveState(): unknown {
    return null;
  }
  loadState(): void {}
  dispose(): void {}
}

interface Ema {
  avg: tf.Tensor;
  unc: tf.Tensor;
}

class FirstOrderImportance implements ImportanceTracker {
  readonly criterion = "first_order" as const;
  /** Per module: EMAs for A ([r, in]) and B ([out, r]); null until the first gradient. */
  private ema: ({ A: Ema; B: Ema } | null)[];
  constructor(private readonly modules: BeamModule[]) {
    this.ema = modules.map(() => null);
  }

  afterBackward(grads: Map<string, tf.Tensor>): void {
    this.modules.forEach(({ adapter }, m) => {
      const gA = gradOf(grads, adapter, adapter.A);
      const gB = gradOf(grads, adapter, adapter.B);
      if (!gA || !gB) return;
      const prev = this.ema[m];
      this.ema[m] = { A: updateEma(adapter.A, gA, prev?.A), B: updateEma(adapter.B, gB, prev?.B) };
      if (prev) [prev.A, prev.B].forEach(disposeEma);
    });
  }

  scores(): number[][] {
    return this.modules.map(({ adapter }, m) => {
      const e = this.ema[m];
      if (!e) return new Array<number>(adapter.rank).fill(1);
      const t = tf.tidy(() => tf.add(tf.mean(tf.mul(e.A.avg, e.A.unc), 1), tf.mean(tf.mul(e.B.avg, e.B.unc), 0)));
      const raw = Array.from(t.dataSync());
      t.dispose();
      return meanTemperedSoftmax(raw);
    });
  }

  inherit(module: number, pruned: number[], parents: number[]): void {
    const e = this.ema[module];
    if (!e || pruned.length === 0) return;
    const idx = sourceIndex(e.A.avg.shape[0], pruned, parents);
    const take = (t: tf.Tensor, axis: number) => tf.tidy(() => tf.gather(t, tf.tensor1d(idx, "int32"), axis));
    const next = { A: { avg: take(e.A.avg, 0), unc: take(e.A.unc, 0) }, B: { avg: take(e.B.avg, 1), unc: take(e.B.unc, 1) } };
    [e.A, e.B].forEach(disposeEma);
    this.ema[module] = next;
  }

  saveState(): unknown {
    const out: Record<string, { A: { avg: PlainTensor; unc: PlainTensor }; B: { avg: PlainTensor; unc: PlainTensor } }> = {};
    this.modules.forEach(({ path }, m) => {
      const e = this.ema[m];
      if (e) out[path] = { A: { avg: toPlain(e.A.avg), unc: toPlain(e.A.unc) }, B: { avg: toPlain(e.B.avg), unc: toPlain(e.B.unc) } };
    });
    return out;
  }

  loadState(state: unknown): void {
    const s = (state ?? {}) as Record<string, { A: { avg: PlainTensor; unc: PlainTensor }; B: { avg: PlainTensor; unc: PlainTensor } }>;
    this.dispose();
    this.modules.forEach(({ path, adapter }, m) => {
      const e = s[path];
      if (!e) return;
      const where = `first-order importance of ${path}`;
      this.ema[m] = {
        A: { avg: fromPlain(e.A.avg, adapter.A.shape, where), unc: fromPlain(e.A.unc, adapter.A.shape, where) },
        B: { avg: fromPlain(e.B.avg, adapter.B.shape, where), unc: fromPlain(e.B.unc, adapter.B.shape, where) },
      };
    });
  }

  dispose(): void {
    this.ema.forEach((e) => e && [e.A, e.B].forEach(disposeEma));
    this.ema = this.modules.map(() => null);
  }
}

function gradOf(grads: Map<string, tf.Tensor>, adapter: LoraAdapter, v: tf.Variable): tf.Tensor | undefined {
  for (const [name, w] of adapter.trainable()) if (w === v) return grads.get(name);
  return undefined;
}

function updateEma(w: tf.Tensor, g: tf.Tensor, prev: Ema | undefined): Ema {
  return tf.tidy(() => {
    const ipt = tf.abs(tf.mul(w, g));
    const avg = prev ? tf.add(tf.mul(prev.avg, FIRST_ORDER_BETA1), tf.mul(ipt, 1 - FIRST_ORDER_BETA1)) : tf.mul(ipt, 1 - FIRST_ORDER_BETA1);
    const dev = tf.mul(tf.abs(tf.sub(ipt, avg)), 1 - FIRST_ORDER_BETA2);
    const unc = prev ? tf.add(tf.mul(prev.unc, FIRST_ORDER_BETA2), dev) : dev;
    return { avg, unc };
  });
}

function disposeEma(e: Ema): void {
  e.avg.dispose();
  e.unc.dispose();
}

class ActivationImportance implements ImportanceTracker {
  readonly criterion = "activation" as const;
  /** EMA of the per-rank RMS of A·x, per module (plain numbers: no tensors live between steps). */
  private ema: number[][];
  /** Kept [r] tensors recorded inside the tape this step, per module. */
  private pending: tf.Tensor1D[][];
  constructor(private readonly modules: BeamModule[]) {
    this.ema = modules.map(({ adapter }) => new Array<number>(adapter.rank).fill(0));
    this.pending = modules.map(() => []);
  }

  beginStep(): void {
    this.pending.forEach((list) => list.forEach((t) => t.dispose()));
    this.pending = this.modules.map(() => []);
  }

  onForward(module: number, x: tf.Tensor2D): void {
    const A = this.modules[module].adapter.A;
    // Runs inside the gradient tape's tidy: keep the small [r] result until afterBackward reads it.
    const rms = tf.tidy(() => tf.sqrt(tf.mean(tf.square(tf.matMul(x, A, false, true)), 0)) as tf.Tensor1D);
    this.pending[module].push(tf.keep(rms));
  }

  afterBackward(): void {
    this.pending.forEach((list, m) => {
      if (list.length === 0) return;
      const obs = new Array<number>(this.ema[m].length).fill(0);
      for (const t of list) t.dataSync().forEach((v, i) => (obs[i] += v / list.length));
      this.ema[m] = this.ema[m].map((e, i) => ACTIVATION_BETA * e + (1 - ACTIVATION_BETA) * obs[i]);
    });
    this.beginStep();
  }

  scores(): number[][] {
    return this.ema.map((e) => scaledSoftmax(e, ACTIVATION_TEMPERATURE));
  }

  inherit(module: number, pruned: number[], parents: number[]): void {
    const e = this.ema[module];
    this.ema[module] = sourceIndex(e.length, pruned, parents).map((i) => e[i]);
  }

  saveState(): unknown {
    return Object.fromEntries(this.modules.map(({ path }, m) => [path, [...this.ema[m]]]));
  }

  loadState(state: unknown): void {
    const s = (state ?? {}) as Record<string, number[]>;
    this.modules.forEach(({ path, adapter }, m) => {
      const e = s[path];
      if (e === undefined) return;
      if (!Array.isArray(e) || e.length !== adapter.rank) {
        throw new Error(`Error in BeamLoRA.loadState: activation importance of ${path} must have ${adapter.rank} numbers, got ${JSON.stringify(e)?.slice(0, 60)}`);
      }
      this.ema[m] = [...e];
    });
  }

  dispose(): void {
    this.beginStep();
  }
}
