import * as tf from "../../src/runtime/tensor/tf.js";
import { beforeAll, describe, expect, it } from "vitest";
import type { BeamSpec, TrainSpec } from "../../src/dsl/plan.js";
import type { BeamImportanceEvent, BeamPruneEvent, RunEvent } from "../../src/results/events.js";
import { LoraAdapter } from "../../src/runtime/adapters/lora.js";
import { inferenceCtx } from "../../src/runtime/tensor/nn.js";
import { disposeBatch, toTensors } from "../../src/runtime/train/batch.js";
import { Trainer, type TrainContext, type TrainerPlugin } from "../../src/runtime/train/trainer.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import {
  capFor, createBeamLoraPlugin, globalTopPMask, pairParents, planPrune, resolveTau, topPAt,
} from "../../src/runtime/plugins/beamlora/index.js";
import { hfModulePath, exportAsLora } from "../../src/runtime/adapters/peft-io.js";
import { adapterTensorName } from "../../src/runtime/io/peft-format.js";
import type { WritableTensor } from "../../src/runtime/io/safetensors.js";
import { maxAbsDiff } from "../io/model-fixtures.js";
import { randomBatch, seeded, tinyModel, useCpu, trainSpec as baseTrainSpec } from "./helpers.js";

const R = 4;
const MODULES = 15; // tiny llama: 2 layers × 7 projections + lm_head

function trainSpec(over: Partial<TrainSpec> = {}): TrainSpec {
  return baseTrainSpec({ steps: 40, ...over });
}

function beamSpec(over: Partial<BeamSpec> = {}): BeamSpec {
  return {
    adapter: "default", tau: null, period: 10, snapshotOffset: 5,
    topP: { start: 0.9, end: 1, schedule: "cosine", endStep: 40 },
    capPerModule: "half", importance: "gate", importanceEvery: 0,
    ...over,
  };
}

function addLora(model: FamilyModel): void {
  const rand = seeded(9);
  for (const l of model.linears().values()) {
    l.addAdapter(new LoraAdapter({ name: "default", path: l.path, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r: R, alpha: 2 * R, dropout: 0, rslora: false, init: "kaiming", rand }));
  }
}

function adapters(model: FamilyModel): Map<string, LoraAdapter> {
  const out = new Map<string, LoraAdapter>();
  for (const [path, l] of model.linears()) out.set(path, l.adapters.get("default") as LoraAdapter);
  return out;
}

interface RunOptions {
  beam?: Partial<BeamSpec> | null; // null = plain LoRA, no BeamLoRA plug-in
  steps?: number;
  lr?: number;
  clipNorm?: number;
  pairSeed?: number;
  before?: TrainerPlugin[];
  after?: TrainerPlugin[];
}

function makeRun(o: RunOptions = {}) {
  const model = tinyModel("llama");
  addLora(model);
  const lr = o.lr ?? 1e-2;
  const events: RunEvent[] = [];
  const plugin = o.beam === null ? null : createBeamLoraPlugin(beamSpec(o.beam ?? {}), { adapter: "default", lr, rand: seeded(o.pairSeed ?? 11) });
  const trainer = new Trainer({
    model, lr, seed: 1, emit: (e) => events.push(e),
    train: trainSpec({ steps: o.steps ?? 40, clipNorm: o.clipNorm ?? 1 }),
    plugins: [...(o.before ?? []), ...(plugin ? [plugin] : []), ...(o.after ?? [])],
  });
  /** Trains up to `until` completed steps on per-step random batches; returns the losses. */
  const trainTo = (until: number): number[] => {
    const out: number[] = [];
    while (trainer.step < until) out.push(trainer.trainStep(randomBatch(model.config, 3, 7, 100 + trainer.step)).loss);
    return out;
  };
  const dispose = () => {
    trainer.dispose();
    model.dispose();
  };
  return { model, trainer, plugin, events, trainTo, dispose };
}

const prunes = (events: RunEvent[]) => events.filter((e): e is BeamPruneEvent => e.type === "beam.prune");
const importances = (events: RunEvent[]) => events.filter((e): e is BeamImportanceEvent => e.type === "beam.importance");
const arr = (t: tf.Tensor) => Array.from(t.dataSync());

/** An exported [rows, cols] F32 tensor as a plain matrix; fails on any other dtype or rank. */
function f32(t: WritableTensor): { shape: [number, number]; data: number[] } {
  expect(t.dtype).toBe("F32");
  expect(t.shape.length).toBe(2);
  return { shape: [t.shape[0]!, t.shape[1]!], data: Array.from(t.data as Float32Array) };
}

/** scaling · B [out, r] · A [r, in] in plain JS (float64), row-major [out, in]. */
function plainDelta(B: { shape: [number, number]; data: number[] }, A: { shape: [number, number]; data: number[] }, scaling: number): number[] {
  const [out, r] = B.shape;
  const inF = A.shape[1];
  const d = new Array<number>(out * inF).fill(0);
  for (let o = 0; o < out; o++) for (let k = 0; k < r; k++) for (let i = 0; i < inF; i++) d[o * inF + i] += scaling * B.data[o * r + k] * A.data[k * inF + i];
  return d;
}

beforeAll(useCpu);

describe("schedule and selection (pure)", () => {
  const official = { start: 0.95, end: 1, schedule: "cosine" as const, endStep: 24688 };
  it.each([
    // §1.4 table for the official settings (values rounded there)
    [official, 3000, 0.952], [official, 6000, 0.957], [official, 9000, 0.965], [official, 12000, 0.974],
    [official, 15000, 0.983], [official, 18000, 0.992], [official, 21000, 0.997], [official, 24000, 0.9999],
    [official, 27000, 1], [official, 36000, 1], [official, 0, 0.95], [official, 12344, 0.975],
    [{ ...official, schedule: "linear" as const }, 0, 0.95], [{ ...official, schedule: "linear" as const }, 12344, 0.975],
    [{ ...official, schedule: "linear" as const }, 24688, 1], [{ ...official, schedule: "linear" as const }, 30000, 1],
    [{ ...official, schedule: "constant" as const }, 0, 0.95], [{ ...official, schedule: "constant" as const }, 30000, 0.95],
    [{ ...official, endStep: 0 }, 0, 1],
  ])("p(t) for %j at t = %i is %f", (topP, t, p) => {
    expect(Math.abs(topPAt(topP, t) - p)).toBeLessThan(6e-4);
  });

  it.each([
    [null, 3e-4, 0.05], [null, 1e-4, 0.05], [null, 5e-5, 0.03], [0.1, 5e-5, 0.1],
  ] as const)("tau %s at lr %f resolves to %f", (tau, lr, want) => {
    expect(resolveTau(tau, lr)).toBe(want);
  });

  it.each([
    ["half", 4, 2], ["half", 5, 2], ["half", 1, 0], [3, 4, 2], [1, 8, 1], [0, 8, 0],
  ] as const)("cap %s with r = %i is %i", (cap, r, want) => {
    expect(capFor(cap, r)).toBe(want);
  });

  it.each([
    { name: "uniform gates still lose the global tail (ties: later ranks first)", scores: [[1, 1, 1, 1], [1, 1, 1, 1]], p: 0.8, want: [[], [2, 3]] },
    { name: "peaked module gives up its tail, capped at half", scores: [[3.7, 0.1, 0.1, 0.1], [1, 1, 1, 1]], p: 0.95, want: [[2, 3], [3]] },
    { name: "a cumsum equal to p·mass does not cross", scores: [[2, 1, 1]], p: 0.75, want: [[2]] },
    { name: "the crossing rank is pruned too (then capped)", scores: [[4, 0, 0, 0]], p: 0.9, want: [[2, 3]] },
    { name: "p = 1 prunes nothing", scores: [[3.7, 0.1, 0.1, 0.1]], p: 1, want: [[]] },
  ])("$name", ({ scores, p, want }) => {
    const caps = scores.map((s) => capFor("half", s.length));
    const plans = planPrune(scores, p, caps, () => seeded(3));
    expect(plans.map((x) => x.pruned)).toEqual(want);
    plans.forEach((plan, m) => {
      const top = [...scores[m].keys()].sort((a, b) => scores[m][b] - scores[m][a] || a - b).slice(0, plan.pruned.length);
      expect([...plan.parents].sort()).toEqual(top.sort());
      expect(plan.parents.filter((x) => plan.pruned.includes(x))).toEqual([]);
    });
  });

  it("the uncapped mask follows the cumsum rule exactly", () => {
    expect(globalTopPMask([[4, 0, 0, 0]], 0.9)).toEqual([[true, true, true, true]]);
    // mass 4, threshold 2.8: cumsum 2.5, 3.5 → everything from the second-ranked score on
    expect(globalTopPMask([[0.5, 2.5], [1, 0]], 0.7)).toEqual([[true, false], [true, true]]);
    expect(globalTopPMask([[0.5, 2.5], [1, 0]], 0.7, 5)).toEqual([[true, false], [false, true]]);
  });

  it("pairing is a seeded permutation of the top-k", () => {
    const scores = [5, 4, 3, 2, 0.1, 0.1, 0.1, 0.1];
    const a = pairParents(scores, [4, 5, 6, 7], seeded(1));
    expect(pairParents(scores, [4, 5, 6, 7], seeded(1))).toEqual(a);
    expect([...a].sort()).toEqual([0, 1, 2, 3]);
    const seen = new Set(Array.from({ length: 20 }, (_, s) => pairParents(scores, [4, 5, 6, 7], seeded(s)).join()));
    expect(seen.size).toBeGreaterThan(1);
  });

  it("rejects a spec it cannot run, naming the field", () => {
    expect(() => createBeamLoraPlugin(beamSpec({ snapshotOffset: 10 }), { adapter: "default", lr: 1e-3, rand: seeded(1) })).toThrow(/snapshotOffset must be an integer in \[0, period = 10\), got 10/);
    const model = tinyModel("llama");
    addLora(model);
    const plugin = createBeamLoraPlugin(beamSpec(), { adapter: "nope", lr: 1e-3, rand: seeded(1) });
    expect(() => new Trainer({ model, train: trainSpec(), lr: 1e-3, seed: 1, plugins: [plugin] })).toThrow(/no LoRA adapter named "nope"/);
    model.dispose();
  });
});

describe("BeamLoRA plug-in", () => {
  it("starts as plain LoRA: same outputs, same first step, same curve with the gate frozen at zero", () => {
    const gradsOf = (store: Map<string, number[]>[]): TrainerPlugin => ({
      name: "grad-probe",
      afterBackward: (_c, grads) => {
        const m = new Map<string, number[]>();
        for (const [n, g] of grads) if (!n.includes("lora_gate")) m.set(n, arr(g));
        store.push(m);
      },
    });
    const freezeGate: TrainerPlugin = {
      name: "freeze-gate",
      afterStep: (ctx: TrainContext) => {
        for (const a of adapters(ctx.model).values()) a.gate!.assign(tf.zeros([R]));
      },
    };
    // clipNorm 0: the global clip norm would otherwise include the gate's gradient.
    const plainGrads: Map<string, number[]>[] = [];
    const beamGrads: Map<string, number[]>[] = [];
    const plain = makeRun({ beam: null, clipNorm: 0, steps: 6, after: [gradsOf(plainGrads)] });
    const beam = makeRun({ clipNorm: 0, steps: 6, after: [gradsOf(beamGrads), freezeGate] });
    const out = (m: FamilyModel) => {
      const t = toTensors(randomBatch(m.config));
      const y = tf.tidy(() => m.forward(t.ids, t.mask, inferenceCtx()));
      disposeBatch(t);
      const d = arr(y);
      y.dispose();
      return d;
    };
    for (const a of adapters(beam.model).values()) expect(arr(a.gateWeights())).toEqual([1, 1, 1, 1]);
    expect(out(beam.model)).toEqual(out(plain.model));
    expect(beam.trainTo(1)).toEqual(plain.trainTo(1));
    expect(beamGrads[0].size).toBe(2 * MODULES);
    expect(beamGrads[0]).toEqual(plainGrads[0]);
    expect(beam.trainTo(6)).toEqual(plain.trainTo(6));
    plain.dispose();
    beam.dispose();
  });

  it("re-seeds pruned slots with the parents' snapshot rows and moments, averages gates, zeroes gate moments", () => {
    type State = Map<string, { A: number[]; B: number[]; g: number[]; mA: number[]; vA: number[]; mB: number[]; vB: number[]; mG: number[]; vG: number[] }>;
    const capture = (ctx: TrainContext): State => {
      const s: State = new Map();
      for (const [path, a] of adapters(ctx.model)) {
        const o = ctx.optimizer;
        s.set(path, {
          A: arr(a.A), B: arr(a.B), g: arr(a.gate!), mA: arr(o.momentsOf(a.A).m), vA: arr(o.momentsOf(a.A).v),
          mB: arr(o.momentsOf(a.B).m), vB: arr(o.momentsOf(a.B).v), mG: arr(o.momentsOf(a.gate!).m), vG: arr(o.momentsOf(a.gate!).v),
        });
      }
      return s;
    };
    const at: Record<string, State> = {};
    const optSteps: number[] = [];
    const probe = (tag: string): TrainerPlugin => ({
      name: `probe-${tag}`,
      afterStep: (ctx) => {
        if (ctx.step === 5 || ctx.step === 10) at[`${tag}${ctx.step}`] = capture(ctx);
        if (ctx.step === 10) optSteps.push(ctx.optimizer.step);
      },
    });
    const run = makeRun({ before: [probe("before")], after: [probe("after")] });
    run.trainTo(10);
    const [ev] = prunes(run.events);
    expect(ev.step).toBe(10);
    expect(ev.totalPruned).toBeGreaterThan(0);
    expect(optSteps).toEqual([10, 10]);
    const snap = at.after5;
    const pre = at.before10;
    const post = at.after10;
    for (const { module, pruned, parents } of ev.modules) {
      const a = adapters(run.model).get(module)!;
      const [out, inF] = [a.B.shape[0], a.A.shape[1]];
      const row = (x: number[], i: number) => x.slice(i * inF, (i + 1) * inF);
      const col = (x: number[], j: number) => Array.from({ length: out }, (_, o) => x[o * R + j]);
      // The snapshot really is older than the parents' current values (so a copy of the current row would fail).
      parents.forEach((p) => expect(row(snap.get(module)!.A, p)).not.toEqual(row(pre.get(module)!.A, p)));
      for (let i = 0; i < R; i++) {
        const j = pruned.indexOf(i);
        const src = j >= 0 ? snap.get(module)! : pre.get(module)!;
        const from = j >= 0 ? parents[j] : i;
        for (const k of ["A", "mA", "vA"] as const) expect(row(post.get(module)![k], i), `${module} ${k} row ${i}`).toEqual(row(src[k], from));
        for (const k of ["B", "mB", "vB"] as const) expect(col(post.get(module)![k], i), `${module} ${k} col ${i}`).toEqual(col(src[k], from));
      }
      const g = [...pre.get(module)!.g];
      pruned.forEach((m, j) => (g[m] = g[parents[j]] = Math.fround((g[m] + g[parents[j]]) / 2)));
      expect(post.get(module)!.g).toEqual(g);
      expect(post.get(module)!.mG).toEqual([0, 0, 0, 0]);
      expect(post.get(module)!.vG).toEqual([0, 0, 0, 0]);
      expect(pre.get(module)!.vG.some((v) => v > 0)).toBe(true);
      expect([a.A.shape[0], a.B.shape[1], a.gate!.shape[0]]).toEqual([R, R, R]);
    }
    run.dispose();
  });

  it("end to end: prunes and re-seeds every period, keeps every module's rank, reports importances", () => {
    const ranks: number[] = [];
    const check: TrainerPlugin = {
      name: "rank-check",
      afterStep: (ctx) => {
        for (const a of adapters(ctx.model).values()) ranks.push(a.A.shape[0], a.B.shape[1], a.gate!.shape[0]);
      },
    };
    const run = makeRun({ beam: { importanceEvery: 5 }, after: [check] });
    const losses = run.trainTo(40);
    expect(ranks.length).toBe(40 * MODULES * 3);
    expect(new Set(ranks)).toEqual(new Set([R]));
    const ps = prunes(run.events);
    expect(ps.map((e) => e.step)).toEqual([10, 20, 30]); // none in the last window (40 − 40 < 10)
    for (const e of ps) {
      expect(e.totalPruned).toBeGreaterThan(0);
      expect(e.p).toBeCloseTo(topPAt(beamSpec().topP, e.step), 12);
      expect(e.modules.map((m) => m.module)).toEqual([...run.model.linears().keys()]);
      for (const m of e.modules) {
        expect(m.pruned.length).toBeLessThanOrEqual(R / 2);
        expect(m.parents.length).toBe(m.pruned.length);
      }
    }
    const imp = importances(run.events);
    expect(imp.map((e) => e.step)).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
    for (const e of imp) for (const m of e.modules) expect(m.scores.reduce((a, b) => a + b, 0)).toBeCloseTo(R, 4);
    // The gates really moved: importance is no longer uniform.
    expect(Math.max(...imp[imp.length - 1].modules.flatMap((m) => m.scores))).toBeGreaterThan(1.05);
    expect(losses.every(Number.isFinite)).toBe(true);
    run.dispose();
  });

  it("the same seed gives the same pruning decisions and loss curve", () => {
    const go = () => {
      const run = makeRun();
      const losses = run.trainTo(40);
      const decisions = prunes(run.events);
      run.dispose();
      return { losses, decisions };
    };
    const a = go();
    expect(a.decisions.length).toBe(3);
    expect(go()).toEqual(a);
  });

  it("resuming from saved state reproduces the decisions and the losses", () => {
    const full = makeRun();
    const fullLosses = full.trainTo(40);
    const fullPrunes = prunes(full.events);
    full.dispose();

    const first = makeRun();
    first.trainTo(25);
    const names = new Map([...first.trainer.trainableVariables()].map(([n, v]) => [v, n]));
    const saved = JSON.parse(JSON.stringify({
      plugin: first.plugin!.saveState(),
      vars: Object.fromEntries([...first.trainer.trainableVariables()].map(([n, v]) => [n, arr(v)])),
      optim: first.trainer.optimizer.saveState((v) => names.get(v) ?? null),
    }));
    first.dispose();

    const second = makeRun({ pairSeed: 12345 }); // a different stream: the saved seed must win
    const byName = second.trainer.trainableVariables();
    for (const [n, v] of byName) v.assign(tf.tensor(saved.vars[n], v.shape));
    second.trainer.optimizer.loadState(saved.optim, byName);
    second.plugin!.loadState(saved.plugin, second.trainer);
    second.trainer.step = 25;
    expect(second.trainTo(40)).toEqual(fullLosses.slice(25));
    expect(prunes(second.events)).toEqual(fullPrunes.filter((e) => e.step > 25));
    second.dispose();
  });

  it("keeps the tensor count flat across prune steps, and frees its state on dispose, for every criterion", () => {
    const leaks: number[] = [];
    for (const importance of ["gate", "first_order", "activation"] as const) {
      const start = tf.memory().numTensors;
      const run = makeRun({ beam: { importance, importanceEvery: 10 } });
      run.trainTo(12);
      const at12 = tf.memory().numTensors;
      run.trainTo(32);
      expect(tf.memory().numTensors, importance).toBe(at12);
      const ps = prunes(run.events);
      expect(ps.map((e) => e.step)).toEqual([10, 20, 30]);
      expect(ps.every((e) => e.totalPruned > 0)).toBe(true);
      const imp = importances(run.events);
      expect(imp.map((e) => e.criterion)).toEqual([importance, importance, importance]);
      for (const m of imp[2].modules) expect(m.scores.reduce((a, b) => a + b, 0)).toBeCloseTo(R, 4);
      run.dispose();
      leaks.push(tf.memory().numTensors - start);
    }
    // Model, adapters, optimiser state and the criteria's own state (EMAs, recorded activations)
    // are all released: nothing is left behind.
    expect(leaks).toEqual([0, 0, 0]);
  });

  it("exports through the PEFT path with the gate folded into A: stock PEFT rebuilds ΔW and the merged weight", () => {
    const run = makeRun();
    run.trainTo(15);
    expect(prunes(run.events).map((e) => e.step)).toEqual([10]);
    const cfg = run.model.config;
    const exp = exportAsLora(run.model, "default", null, { taskType: "CAUSAL_LM" });
    const config = exp.config;
    expect(exp.modules.map((m) => m.path)).toEqual([...run.model.linears().keys()].map((p) => hfModulePath(p, cfg)));
    let nonUniform = false;
    for (const [path, a] of adapters(run.model)) {
      const hf = hfModulePath(path, cfg);
      const A = f32(exp.tensors[adapterTensorName(hf, "lora_A")]!);
      const B = f32(exp.tensors[adapterTensorName(hf, "lora_B")]!);
      expect(A.shape).toEqual(a.A.shape);
      expect(B.shape).toEqual(a.B.shape);
      // lora_A = diag(s)·A, row i of A scaled by the gate weight s_i.
      const s = a.gateWeights();
      const gate = arr(s);
      s.dispose();
      nonUniform ||= gate.some((v) => Math.abs(v - 1) > 1e-3);
      const inF = A.shape[1];
      const folded = arr(a.A).map((v, i) => v * gate[Math.floor(i / inF)]);
      expect(maxAbsDiff(A.data, folded)).toBeLessThanOrEqual(1e-6 * Math.max(1, ...folded.map(Math.abs)));
      // Stock PEFT: r and alpha from the config (rank_pattern / alpha_pattern by full module path), scaling alpha / r.
      const r = config.rank_pattern[hf] ?? config.r;
      const scaling = (config.alpha_pattern[hf] ?? config.lora_alpha) / (config.use_rslora ? Math.sqrt(r) : r);
      expect(r).toBe(A.shape[0]);
      expect(scaling).toBeCloseTo(a.scaling, 12);
      const delta = plainDelta(B, A, scaling);
      const ref = a.deltaWeight();
      const want = arr(ref);
      ref.dispose();
      expect(maxAbsDiff(delta, want)).toBeLessThanOrEqual(1e-6 * Math.max(1, ...want.map(Math.abs)));
      // W + (alpha / r)·B·A from the exported file equals the model's own merged weight.
      const l = run.model.linears().get(path)!;
      const rebuilt = arr(l.weight).map((w, i) => w + delta[i]);
      l.merge("default");
      const merged = arr(l.weight);
      expect(maxAbsDiff(rebuilt, merged)).toBeLessThanOrEqual(1e-6 * Math.max(1, ...merged.map(Math.abs)));
    }
    expect(nonUniform).toBe(true);
    run.dispose();
  });
});
