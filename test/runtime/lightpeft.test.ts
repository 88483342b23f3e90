import * as path from "node:path";
import * as tf from "../../src/runtime/tensor/tf.js";
import { beforeAll, describe, expect, it } from "vitest";
import type { PruneSpec, TrainSpec } from "../../src/dsl/plan.js";
import { disposeBatch, taskLoss, toTensors } from "../../src/runtime/train/batch.js";
import type { LightPruneEvent, MaskEvent, RunEvent } from "../../src/results/events.js";
import { LoraAdapter } from "../../src/runtime/adapters/lora.js";
import type { ForwardCtx } from "../../src/runtime/tensor/nn.js";
import { inferenceCtx } from "../../src/runtime/tensor/nn.js";
import type { FamilyConfig } from "../../src/runtime/models/config.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import {
  applyLightPeftDecisions, averagedSteps, checkPruneSpec, createLightPeftPlugin, decideHeads, decideLightPeft, decideModules, decideRanks,
  keepByQuantile, type LightPeftDecisions, loraAdaptersNamed, maskVariables, quantile,
} from "../../src/runtime/plugins/lightpeft/index.js";
import { Trainer } from "../../src/runtime/train/trainer.js";
import { exportAdapter, hfModulePath, importAdapter } from "../../src/runtime/adapters/peft-io.js";
import type { LoraAdapterConfig } from "../../src/runtime/io/peft-format.js";
import { tempDir } from "../io/helpers.js";
import { randomBatch, seeded, tinyModel, useCpu, trainSpec as baseTrainSpec } from "./helpers.js";

const FAMILIES = ["llama", "gpt2", "bert"] as const;
type Family = (typeof FAMILIES)[number];

function trainSpec(over: Partial<TrainSpec> = {}): TrainSpec {
  return baseTrainSpec({ steps: 14, clipNorm: 0, ...over });
}

function pruneSpec(over: Partial<PruneSpec> = {}): PruneSpec {
  return {
    estimateSteps: 6,
    heads: { ratio: 1 / 3, scope: "layer" },
    neurons: { ratio: 1 / 3, scope: "global" },
    l1: 1e-3, maskLrFactor: 10, moduleRatio: 0.5, rankRatio: 0.5, rankScope: "global",
    ...over,
  };
}

/** LoRA "lp" on every linear, with a non-zero B so adapter slicing matters from the start. */
function addLora(model: FamilyModel, r = 4, seed = 9, rslora = false): void {
  const rand = seeded(seed);
  for (const l of model.linears().values()) {
    const a = new LoraAdapter({ name: "lp", path: l.path, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r, alpha: 2 * r, dropout: 0, rslora, init: "kaiming", rand });
    const b = new Float32Array(a.B.size).map(() => (rand() - 0.5) * 0.2);
    a.B.assign(tf.tensor2d(b, a.B.shape as [number, number]));
    l.addAdapter(a);
  }
}

function loraModel(family: Family, over: Partial<FamilyConfig> = {}, rslora = false): FamilyModel {
  const m = tinyModel(family, over);
  addLora(m, 4, 9, rslora);
  return m;
}

function outputs(model: FamilyModel): Float32Array {
  const t = toTensors(randomBatch(model.config, 3, 7, 11));
  const out = tf.tidy(() => model.forward(t.ids, t.mask, inferenceCtx()));
  const data = out.dataSync().slice() as Float32Array;
  out.dispose();
  disposeBatch(t);
  return data;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const exportDir = tempDir("lightpeft-export");
let exportCount = 0;

/** Stock PEFT's rank and alpha for module `hf` (keys are full module paths) and the scaling it computes from them. */
function stockModule(c: LoraAdapterConfig, hf: string): { r: number; alpha: number; scaling: number } {
  const r = c.rank_pattern[hf] ?? c.r;
  const alpha = c.alpha_pattern[hf] ?? c.lora_alpha;
  return { r, alpha, scaling: alpha / (c.use_rslora ? Math.sqrt(r) : r) };
}

/**
 * Exports adapter "lp" of a pruned model as a PEFT folder and checks what stock PEFT reads from it:
 * target_modules are the surviving modules (none of `removed`), and each one's rank_pattern /
 * alpha_pattern entry gives its rank r' and alpha'/r' equal to our scaling. Then swaps "lp" for the
 * imported folder: the outputs must not change. Returns the config.
 */
function exportChecked(model: FamilyModel, removed: readonly string[]): LoraAdapterConfig {
  const cfg = model.config;
  const hf = (p: string) => hfModulePath(p, cfg);
  const survivors = [...loraAdaptersNamed(model, "lp")].map(([p, a]) => ({ path: p, rank: a.rank, scaling: a.scaling }));
  const dir = path.join(exportDir, `d${exportCount++}`);
  const c = exportAdapter(model, "lp", null, dir, { taskType: cfg.head === "classifier" ? "SEQ_CLS" : "CAUSAL_LM" }).config;
  if (c.peft_type !== "LORA") throw new Error(`expected a LORA config, got ${c.peft_type}`);
  expect([...(c.target_modules as string[])].sort()).toEqual(survivors.map((m) => hf(m.path)).sort()); // a list: order is not meaningful
  for (const key of [...Object.keys(c.rank_pattern), ...Object.keys(c.alpha_pattern)]) expect(c.target_modules).toContain(key);
  for (const m of survivors) {
    const stock = stockModule(c, hf(m.path));
    expect(stock.r, m.path).toBe(m.rank);
    expect(stock.scaling, m.path).toBeCloseTo(m.scaling, 12);
  }
  expect(removed.length).toBeGreaterThan(0);
  for (const p of removed) expect(c.target_modules).not.toContain(hf(p));
  const before = outputs(model);
  for (const l of model.linears().values()) l.removeAdapter("lp");
  expect(importAdapter(model, dir, "lp").modules).toEqual(survivors.map((m) => m.path));
  expect(maxDiff(outputs(model), before)).toBeLessThan(1e-5);
  return c;
}

const allIdx = (n: number) => Array.from({ length: n }, (_, i) => i);
const without = (n: number, drop: number) => allIdx(n).filter((i) => i !== drop);

beforeAll(useCpu);

describe("quantile rules", () => {
  it.each([
    [[1, 2, 3, 4], 1 / 3, 2],
    [[1, 2, 3, 4], 0.5, 2.5],
    [[3, 1, 2], 0.75, 2.5],
    [[0.5, 0.5, 0.5, 1], 1 / 3, 0.5],
    [[1, 2, 3, 4, 5, 6], 0.75, 4.75],
    [[-1, 0.2, 0.9, 1.1], 1 / 3, 0.2],
  ])("quantile(%j, %d) = %d, as numpy", (v, q, want) => {
    expect(quantile(v, q)).toBe(want);
  });

  it.each<{ name: string; scores: number[][]; ratio: number; scope: "layer" | "global"; keepOne: boolean; want: number[][] }>([
    { name: "per layer, ties at the threshold are pruned", scores: [[0.5, 0.5, 0.5, 1], [4, 3, 2, 1]], ratio: 1 / 3, scope: "layer", keepOne: true, want: [[3], [0, 1]] },
    { name: "signed values: negative masks go first", scores: [[-1, 0.2, 0.9, 1.1]], ratio: 1 / 3, scope: "layer", keepOne: true, want: [[2, 3]] },
    { name: "global threshold across layers", scores: [[1, 2], [3, 4]], ratio: 0.5, scope: "global", keepOne: true, want: [[1], [0, 1]] },
    { name: "global without the guard empties a group", scores: [[1, 2], [3, 4]], ratio: 0.5, scope: "global", keepOne: false, want: [[], [0, 1]] },
    { name: "ratio 0 prunes nothing", scores: [[3, 1, 2]], ratio: 0, scope: "layer", keepOne: false, want: [[0, 1, 2]] },
    { name: "guard keeps the best (first on ties)", scores: [[0.1, 0.7, 0.7]], ratio: 1, scope: "layer", keepOne: true, want: [[1]] },
  ])("$name", ({ scores, ratio, scope, keepOne, want }) => {
    expect(keepByQuantile(scores, ratio, scope, { keepOne })).toEqual(want);
  });

  it("decides grouped-query heads by whole groups (mean mask per group)", () => {
    // 4 query heads, 2 kv groups: group scores layer0 [0.55, 0.95], layer1 [1.0, -0.5].
    expect(decideHeads([[0.1, 1.0, 0.9, 1.0], [1.0, 1.0, -1, 0]], 1 / 3, "layer", 2)).toEqual([[2, 3], [0, 1]]);
    expect(decideHeads([[0.1, 1.0, 0.9, 1.0]], 1 / 3, "layer", 1)).toEqual([[1, 3]]); // threshold 0.9: ties are pruned
    expect(() => decideHeads([[1, 1, 1]], 0.5, "layer", 2)).toThrow("layer 0 has 3 head masks, not a multiple of the group size 2");
  });

  it.each<{ name: string; scores: Record<string, number>; ratio: number; removed: string[] }>([
    { name: "3 of 4 removed at 0.75 (≤ threshold)", scores: { a: 0.4, b: 0.1, c: 0.3, d: 0.2 }, ratio: 0.75, removed: ["b", "c", "d"] },
    { name: "ties with the threshold are removed", scores: { a: 0, b: 0, c: 0.5 }, ratio: 0.5, removed: ["a", "b"] },
    { name: "ratio 0 removes nothing", scores: { a: 0, b: 0 }, ratio: 0, removed: [] },
  ])("modules: $name", ({ scores, ratio, removed }) => {
    expect(decideModules(scores, ratio)).toEqual(removed);
  });

  it.each<{ name: string; scope: "layer" | "global"; surviving: string[]; kept: Record<string, number[]>; emptied: string[] }>([
    { name: "global over surviving modules only; an emptied module is reported", scope: "global", surviving: ["a", "b"], kept: { b: [0, 1] }, emptied: ["a"] },
    { name: "global, the threshold depends on which modules survived", scope: "global", surviving: ["b", "c"], kept: { b: [0, 1] }, emptied: ["c"] },
    { name: "per module", scope: "layer", surviving: ["a", "b", "c"], kept: { a: [1], b: [1], c: [1] }, emptied: [] },
  ])("ranks: $name", ({ scope, surviving, kept, emptied }) => {
    const scores = { a: [0.1, 0.2], b: [5, 6], c: [3, 4] };
    expect(decideRanks(scores, surviving, 0.5, scope, () => 2)).toEqual({ kept, emptied });
  });
});

describe.each(FAMILIES)("%s: masks and slicing", (family) => {
  it("masks at 1 change nothing; a mask at 0 equals removing that head or neuron", () => {
    const plain = loraModel(family);
    const masked = loraModel(family);
    const removed = loraModel(family);
    const want = outputs(plain);
    const [h0] = masked.setMasks("heads", true);
    const [n0] = masked.setMasks("neurons", true);
    expect(maxDiff(want, outputs(masked))).toBe(0);
    const zeroAt = (v: tf.Variable, i: number) => {
      const m = new Float32Array(v.size).fill(1);
      m[i] = 0;
      v.assign(tf.tensor1d(m));
    };
    zeroAt(h0, 1);
    zeroAt(n0, 5);
    const heads = removed.config.heads;
    const inter = removed.config.intermediate;
    applyLightPeftDecisions(removed, {
      adapter: "lp", modulesRemoved: [], ranks: {},
      heads: removed.blocks.map((_, l) => (l === 0 ? without(heads, 1) : allIdx(heads))),
      neurons: removed.blocks.map((_, l) => (l === 0 ? without(inter, 5) : allIdx(inter))),
    });
    expect(removed.blocks[0].heads).toBe(heads - 1);
    expect(removed.blocks[0].intermediate).toBe(inter - 1);
    expect(maxDiff(outputs(masked), outputs(removed))).toBeLessThan(1e-5);
    [plain, masked, removed].forEach((m) => m.dispose());
  });

  it("after the decision, the sliced model equals the unpruned one with those masks at 0 / 1", () => {
    const spec = pruneSpec({ estimateSteps: 4, heads: { ratio: 0.5, scope: "global" }, moduleRatio: 0, rankRatio: 0 });
    const pruned = loraModel(family);
    const masked = loraModel(family);
    const p1 = createLightPeftPlugin(spec, { adapter: "lp" });
    const p2 = createLightPeftPlugin({ ...spec, estimateSteps: 100 }, { adapter: "lp" });
    const t1 = new Trainer({ model: pruned, train: trainSpec({ steps: 100 }), lr: 1e-2, seed: 1, plugins: [p1] });
    const t2 = new Trainer({ model: masked, train: trainSpec({ steps: 100 }), lr: 1e-2, seed: 1, plugins: [p2] });
    const batch = randomBatch(pruned.config);
    for (let i = 0; i < 4; i++) {
      t1.trainStep(batch);
      t2.trainStep(batch);
    }
    const d = p1.decisions!;
    expect(p1.phase).toBe("pruned");
    expect(p2.phase).toBe("estimate");
    expect(pruned.blocks.reduce((s, b) => s + b.heads, 0)).toBeLessThan(masked.config.heads * masked.blocks.length);
    masked.blocks.forEach((blk, l) => {
      const set = (v: tf.Variable, keep: number[]) => {
        const m = new Float32Array(v.size);
        keep.forEach((i) => (m[i] = 1));
        v.assign(tf.tensor1d(m));
      };
      set(blk.headMask!, d.heads[l]);
      set(blk.neuronMask!, d.neurons[l]);
    });
    expect(maxDiff(outputs(masked), outputs(pruned))).toBeLessThan(1e-4);
    [t1, t2].forEach((t) => t.dispose());
    [pruned, masked].forEach((m) => m.dispose());
  });
});

it("grouped-query llama: decides whole kv groups; slicing equals masking those heads to 0", () => {
  const masked = loraModel("llama", { kvHeads: 2 });
  const pruned = loraModel("llama", { kvHeads: 2 });
  const values = [[0.9, 0.8, 1.2, 1.1], [0.3, 1.5, 0.7, 0.6]]; // group means: [0.85, 1.15], [0.9, 0.65]
  const est = { headMasks: values, neuronMasks: pruned.blocks.map((b) => allIdx(b.intermediate).map((i) => Math.cos(i))), moduleScores: {}, rankScores: {} };
  const d = decideLightPeft(pruned, "lp", pruneSpec(), est);
  expect(d.heads).toEqual([[2, 3], [0, 1]]);
  applyLightPeftDecisions(pruned, d);
  const k = pruned.linears().get("model.layers.0.self_attn.k_proj")!;
  expect(k.weight.shape).toEqual([4, 16]); // one kv head of size 4 left
  expect((k.adapters.get("lp") as LoraAdapter).B.shape).toEqual([4, 4]);
  const heads = masked.setMasks("heads", true);
  const neurons = masked.setMasks("neurons", true);
  const oneHot = (n: number, keep: number[]) => tf.tensor1d(allIdx(n).map((i) => (keep.includes(i) ? 1 : 0)));
  masked.blocks.forEach((b, l) => {
    heads[l].assign(oneHot(b.heads, d.heads[l]));
    neurons[l].assign(oneHot(b.intermediate, d.neurons[l]));
  });
  expect(maxDiff(outputs(masked), outputs(pruned))).toBeLessThan(1e-5);
  [masked, pruned].forEach((m) => m.dispose());
});

it("removing a module or ranks equals zeroing its B (columns); scaling stays alpha / r_original", () => {
  const pruned = loraModel("llama");
  const zeroed = loraModel("llama");
  const q = "model.layers.0.self_attn.q_proj";
  const down = "model.layers.1.mlp.down_proj";
  const heads = pruned.config.heads;
  const inter = pruned.config.intermediate;
  applyLightPeftDecisions(pruned, {
    adapter: "lp", modulesRemoved: [q], ranks: { [down]: [1, 3] },
    heads: pruned.blocks.map(() => allIdx(heads)), neurons: pruned.blocks.map(() => allIdx(inter)),
  });
  const lin = zeroed.linears();
  (lin.get(q)!.adapters.get("lp") as LoraAdapter).B.assign(tf.zeros([heads * 4, 4]));
  const b = lin.get(down)!.adapters.get("lp") as LoraAdapter;
  tf.tidy(() => b.B.assign(tf.mul(b.B, tf.tensor1d([0, 1, 0, 1]))));
  expect(maxDiff(outputs(pruned), outputs(zeroed))).toBeLessThan(1e-6);
  const kept = pruned.linears().get(down)!.adapters.get("lp") as LoraAdapter;
  expect([kept.rank, kept.scaling, pruned.linears().get(q)!.adapters.has("lp")]).toEqual([2, 2, false]);
  [pruned, zeroed].forEach((m) => m.dispose());
});

it("records module and rank importance as computed by hand for one step", () => {
  const model = loraModel("llama");
  const plugin = createLightPeftPlugin(pruneSpec({ estimateSteps: 1, moduleRatio: 0, rankRatio: 0, heads: { ratio: 0, scope: "layer" }, neurons: { ratio: 0, scope: "global" } }), { adapter: "lp" });
  const trainer = new Trainer({ model, train: trainSpec({ steps: 2 }), lr: 1e-2, seed: 1, plugins: [plugin] });
  const batch = randomBatch(model.config, 3, 7, 5, 2);
  const bt = toTensors(batch);
  // Inputs of every adapted linear, and the task-loss gradients of A and B, before the step.
  const inputs = new Map<string, Float32Array>();
  const fwd: ForwardCtx = { training: true, nextSeed: () => 0, onAdapter: (l, _a, x) => void inputs.set(l.path, x.dataSync().slice() as Float32Array) };
  const adapters = [...model.linears()].map(([p, l]) => [p, l, l.adapters.get("lp") as LoraAdapter] as const);
  const vars = adapters.flatMap(([, , a]) => [a.A, a.B]);
  const { value, grads } = tf.variableGrads(() => taskLoss(model.forward(bt.ids, bt.mask, fwd), bt), vars);
  const expectedModule = new Map<string, number>();
  const expectedRank = new Map<string, number[]>();
  for (const [path, l, a] of adapters) {
    const x = inputs.get(path)!;
    const [out, inF] = l.weight.shape;
    const r = a.rank;
    const w = l.weight.dataSync();
    const bias = l.bias?.dataSync();
    const A = a.A.dataSync();
    const B = a.B.dataSync();
    let sum = 0;
    let real = 0;
    for (let n = 0; n < x.length / inF; n++) {
      if (batch.mask[n] === 0) continue;
      const ax = allIdx(r).map((i) => allIdx(inF).reduce((s, j) => s + A[i * inF + j] * x[n * inF + j], 0));
      let nb = 0;
      let nd = 0;
      for (let o = 0; o < out; o++) {
        const base = allIdx(inF).reduce((s, j) => s + w[o * inF + j] * x[n * inF + j], bias ? bias[o] : 0);
        const delta = a.scaling * allIdx(r).reduce((s, i) => s + B[o * r + i] * ax[i], 0);
        nb += base * base;
        nd += delta * delta;
      }
      sum += Math.sqrt(nd) / Math.sqrt(nb);
      real += 1;
    }
    expectedModule.set(path, sum / real);
    const gA = grads[a.A.name].dataSync();
    const gB = grads[a.B.name].dataSync();
    expectedRank.set(path, allIdx(r).map((i) => {
      const ma = allIdx(inF).reduce((s, j) => s + A[i * inF + j] * gA[i * inF + j], 0) / inF;
      const mb = allIdx(out).reduce((s, k) => s + B[k * r + i] * gB[k * r + i], 0) / out;
      return Math.abs(ma) + Math.abs(mb);
    }));
  }
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  disposeBatch(bt);
  trainer.trainStep(batch);
  const imp = plugin.importance();
  expect(Object.keys(imp.modules).sort()).toEqual([...expectedModule.keys()].sort());
  for (const [path, want] of expectedModule) expect(Math.abs(imp.modules[path] - want) / want, path).toBeLessThan(1e-4);
  for (const [path, want] of expectedRank) {
    const got = imp.ranks[path];
    const scale = Math.max(...want);
    want.forEach((v, i) => expect(Math.abs(got[i] - v) / scale, `${path} rank ${i}`).toBeLessThan(1e-4));
  }
  trainer.dispose();
  model.dispose();
});

it("trains the masks with their own learning-rate factor and the L1 term λ Σ|m|", () => {
  const maskValues = (factor: number) => {
    const model = loraModel("gpt2");
    const plugin = createLightPeftPlugin(pruneSpec({ maskLrFactor: factor, l1: 0.5 }), { adapter: "lp" });
    const trainer = new Trainer({ model, train: trainSpec(), lr: 1e-2, seed: 1, plugins: [plugin] });
    const l1 = tf.tidy(() => plugin.extraLoss!(trainer)!.dataSync()[0]);
    expect(l1).toBeCloseTo(0.5 * model.blocks.length * (4 + 24), 4); // all masks start at 1
    trainer.trainStep(randomBatch(model.config));
    const values = [...maskVariables(model).values()].flatMap((v) => Array.from(v.dataSync()));
    trainer.dispose();
    model.dispose();
    return values;
  };
  expect(new Set(maskValues(0))).toEqual(new Set([1]));
  expect(maskValues(10).every((v) => v < 1)).toBe(true); // the L1 gradient pushes every mask down
});

it("averages the second half of the window", () => {
  expect([1, 6, 7, 800].map(averagedSteps)).toEqual([{ first: 1, last: 1 }, { first: 4, last: 6 }, { first: 4, last: 7 }, { first: 401, last: 800 }]);
});

describe.each(FAMILIES)("%s: estimate 6 steps, prune, train on", (family) => {
  it("ends with a smaller model, emits mask and prune events, keeps the tensor count flat", () => {
    const model = loraModel(family);
    const cfg = model.config;
    const events: RunEvent[] = [];
    const plugin = createLightPeftPlugin(pruneSpec(), { adapter: "lp", maskEvery: 2 });
    const trainer = new Trainer({ model, train: trainSpec(), lr: 1e-2, seed: 1, plugins: [plugin], emit: (e) => events.push(e) });
    expect(maskVariables(model).size).toBe(2 * cfg.layers);
    const foundation = model.foundationParams();
    const q0 = model.blocks[0].linears()[0].weight.shape[0];
    const batch = randomBatch(cfg);
    const counts: number[] = [];
    for (let i = 1; i <= 14; i++) {
      expect(Number.isFinite(trainer.trainStep(batch).loss)).toBe(true);
      counts.push(tf.memory().numTensors);
    }
    // Flat within the window (steps 1..5) and in the steady state after pruning (steps 8..14), and lower after.
    expect(new Set(counts.slice(0, 5)).size).toBe(1);
    expect(new Set(counts.slice(7)).size).toBe(1);
    expect(counts[13]).toBeLessThan(counts[0]);

    expect(events.filter((e): e is MaskEvent => e.type === "lightpeft.masks").map((e) => e.step)).toEqual([2, 4, 6]);
    const prunes = events.filter((e): e is LightPruneEvent => e.type === "lightpeft.prune");
    expect(prunes.map((e) => e.step)).toEqual([6]);
    const ev = prunes[0];
    expect(ev.before.foundation).toBe(foundation);
    expect(ev.after.foundation).toBe(model.foundationParams());
    expect(ev.after.foundation).toBeLessThan(ev.before.foundation);
    expect(ev.after.trainable).toBeLessThan(ev.before.trainable);
    expect(ev.modulesRemoved.length).toBeGreaterThan(0);

    expect(trainer.optimizer.step).toBe(14 - 6); // a fresh optimiser from the decision on
    const d = plugin.decisions!;
    model.blocks.forEach((blk, l) => {
      expect(blk.heads).toBe(d.heads[l].length);
      expect(blk.intermediate).toBe(d.neurons[l].length);
      expect(blk.heads).toBeGreaterThan(0);
      expect(blk.headMask).toBeNull();
      expect(blk.neuronMask).toBeNull();
    });
    expect(model.blocks.reduce((s, b) => s + b.intermediate, 0)).toBeLessThan(cfg.intermediate * cfg.layers);
    expect(model.blocks.some((b) => b.linears()[0].weight.shape[0] < q0)).toBe(true);
    const survivors = loraAdaptersNamed(model, "lp");
    expect([...survivors.keys()].sort()).toEqual(Object.keys(d.ranks).sort());
    expect([...survivors.values()].some((a) => a.rank < a.rOriginal)).toBe(true);
    for (const [p, a] of survivors) expect(a.rank).toBe(d.ranks[p].length);
    exportChecked(model, d.modulesRemoved);
    trainer.dispose();
    model.dispose();
  });
});

describe("checkpoints", () => {
  function run(steps: number): { model: FamilyModel; trainer: Trainer; state: unknown } {
    const model = loraModel("bert");
    const plugin = createLightPeftPlugin(pruneSpec(), { adapter: "lp" });
    const trainer = new Trainer({ model, train: trainSpec(), lr: 1e-2, seed: 1, plugins: [plugin] });
    const batch = randomBatch(model.config);
    for (let i = 0; i < steps; i++) trainer.trainStep(batch);
    return { model, trainer, state: JSON.parse(JSON.stringify(plugin.saveState())) };
  }

  it("re-applies the pruned structure to a fresh model; with the weights copied, outputs agree", () => {
    const a = run(8);
    const model = loraModel("bert");
    const plugin = createLightPeftPlugin(pruneSpec(), { adapter: "lp" });
    const trainer = new Trainer({ model, train: trainSpec(), lr: 1e-2, seed: 1, plugins: [plugin] });
    plugin.loadState(a.state, trainer);
    expect(plugin.phase).toBe("pruned");
    expect(maskVariables(model).size).toBe(0);
    expect(model.blocks.map((b) => [b.heads, b.intermediate])).toEqual(a.model.blocks.map((b) => [b.heads, b.intermediate]));
    const src = a.trainer.trainableVariables();
    const dst = trainer.trainableVariables();
    expect([...dst.keys()].sort()).toEqual([...src.keys()].sort());
    for (const [n, v] of dst) v.assign(src.get(n)!);
    expect(maxDiff(outputs(a.model), outputs(model))).toBeLessThan(1e-5);
    trainer.trainStep(randomBatch(model.config));
    [a.trainer, trainer].forEach((t) => t.dispose());
    [a.model, model].forEach((m) => m.dispose());
  });

  it("restores the importance records and masks in the middle of the window", () => {
    const a = run(5);
    const model = loraModel("bert");
    const plugin = createLightPeftPlugin(pruneSpec(), { adapter: "lp" });
    const trainer = new Trainer({ model, train: trainSpec(), lr: 1e-2, seed: 1, plugins: [plugin] });
    plugin.loadState(a.state, trainer);
    expect(plugin.phase).toBe("estimate");
    expect(JSON.parse(JSON.stringify(plugin.saveState()))).toEqual(a.state);
    expect(Object.keys(plugin.importance().modules).length).toBe(model.linears().size);
    expect(() => plugin.loadState({ ...(a.state as object), estimateSteps: 9 }, trainer)).toThrow("estimated over 9 steps, this run over 6");
    [a.trainer, trainer].forEach((t) => t.dispose());
    [a.model, model].forEach((m) => m.dispose());
  });
});

describe("export to stock PEFT after rank pruning", () => {
  // r' of r₀ = 4 (alpha 8): 3, 4 (unpruned) and 1 ranks; alpha' = 8·r'/4, rsLoRA 8·√(r'/4).
  const kept: Record<string, number[]> = {
    "transformer.h.0.attn.c_attn": [0, 2, 3], "transformer.h.0.attn.c_proj": [0, 1, 2, 3], "transformer.h.1.mlp.c_fc": [1],
  };
  it.each([
    { rslora: false, alphas: [6, 8, 2] },
    { rslora: true, alphas: [8 * Math.sqrt(3 / 4), 8, 4] },
  ])("rsLoRA $rslora: rank_pattern / alpha_pattern give alpha' $alphas, removed modules are left out, import reproduces outputs", ({ rslora, alphas }) => {
    const model = loraModel("gpt2", {}, rslora);
    const d: LightPeftDecisions = {
      adapter: "lp", heads: model.blocks.map(() => allIdx(4)), neurons: model.blocks.map(() => allIdx(24)),
      modulesRemoved: [...model.linears().keys()].filter((p) => !(p in kept)), ranks: kept,
    };
    applyLightPeftDecisions(model, d);
    const c = exportChecked(model, d.modulesRemoved);
    expect(c.use_rslora).toBe(rslora);
    Object.entries(kept).forEach(([p, keep], i) => {
      const stock = stockModule(c, p);
      expect(stock.r, p).toBe(keep.length);
      expect(stock.alpha, p).toBeCloseTo(alphas[i], 12);
      expect(stock.scaling, p).toBeCloseTo(rslora ? 8 / Math.sqrt(4) : 8 / 4, 12);
    });
    model.dispose();
  });
});

describe("errors", () => {
  it.each<[string, Partial<PruneSpec>, string]>([
    ["a ratio above 1", { heads: { ratio: 1.5, scope: "layer" } }, "heads.ratio must be in [0, 1], got 1.5"],
    ["an empty window", { estimateSteps: 0 }, "estimateSteps must be an integer >= 1, got 0"],
    ["a negative λ", { l1: -1 }, "l1 must be a finite number >= 0, got -1"],
  ])("rejects %s", (_name, over, msg) => {
    expect(() => checkPruneSpec(pruneSpec(over))).toThrow(msg);
  });

  it("names a missing adapter and a window longer than the run", () => {
    const model = loraModel("gpt2");
    const mk = (spec: PruneSpec, adapter: string) => new Trainer({ model, train: trainSpec(), lr: 1e-2, seed: 1, plugins: [createLightPeftPlugin(spec, { adapter })] });
    expect(() => mk(pruneSpec(), "nope")).toThrow('the model has no LoRA adapter named "nope"');
    expect(() => mk(pruneSpec({ estimateSteps: 20 }), "lp")).toThrow("estimation window (20 steps) is longer than the run (14 steps)");
    model.dispose();
  });

  it("applyLightPeftDecisions names bad indices", () => {
    const model = loraModel("bert");
    const d: LightPeftDecisions = { adapter: "lp", heads: [[0, 0], [0]], neurons: [[0], [0]], modulesRemoved: [], ranks: {} };
    expect(() => applyLightPeftDecisions(model, d)).toThrow("heads of layer 0): kept indices must be ascending integers in [0, 4), got [0, 0]");
    model.dispose();
  });
});
