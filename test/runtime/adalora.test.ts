// AdaLoRA against HF PEFT's RankAllocator: the cubic budget schedule, global masking by kthvalue,
// importance EMAs of |p ⊙ grad| with p after the optimiser step and the clipped gradient, the forced
// final rank_pattern at T − tfinal, the orthogonality regulariser, resuming from a checkpoint, and
// the PEFT AdaLoRA / folded LoRA exports.
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import type { AdaLoraSpec, Plan, RunSpec } from "../../src/dsl/plan.js";
import { AdaLoraAdapter } from "../../src/runtime/adapters/adalora.js";
import { checkAdapterSpec } from "../../src/runtime/adapters/from-spec.js";
import { readCheckpointState, restoreCheckpoint, saveCheckpoint } from "../../src/runtime/train/checkpoint.js";
import { injectAdapter } from "../../src/runtime/adapters/inject.js";
import { exportAdaLora, exportAsLora } from "../../src/runtime/adapters/peft-io.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import {
  type AdaLoraPlugin, ImportanceEma, adaloraPluginsFor, budgetAt, clipCoefficient, createAdaLoraPlugin, maskToBudget, phaseAt, validateAdaLoraSchedule,
} from "../../src/runtime/plugins/adalora/plugin.js";
import { type TrainerPlugin, Trainer } from "../../src/runtime/train/trainer.js";
import { ADALORA, adapterSpec, maxDiff, perturb, tempDir, trainSpec } from "./baselines-util.js";
import { randomBatch, seeded, tinyModel, useCpu } from "./helpers.js";

const SPEC: AdaLoraSpec = { ...ADALORA, initR: 4, targetR: 2, tinit: 2, tfinal: 3, deltaT: 2 };
const T = 12;
const dir = tempDir("adalora");

function adaloraModel(spec = SPEC, names = ["q_proj", "v_proj", "up_proj"]): FamilyModel {
  const model = tinyModel("llama");
  injectAdapter(model, "ada", adapterSpec({ method: "adalora", alpha: 8, adalora: spec, target: { regex: null, names } }), { rand: seeded(3) });
  return model;
}

function adapters(model: FamilyModel): AdaLoraAdapter[] {
  return [...model.linears().values()].map((l) => l.adapters.get("ada")).filter((a): a is AdaLoraAdapter => a instanceof AdaLoraAdapter);
}

/** Scores of a plugin's EMAs computed in plain JS from its saved state (PEFT's _element_score + triplet sum). */
function scoresFromState(p: AdaLoraPlugin, mods: AdaLoraAdapter[]): number[][] {
  const ema = p.saveState().ema;
  const score = (name: string) => ema[name].ipt.map((v, i) => v * ema[name].unc[i]);
  return mods.map((a) => {
    const [r, inF] = a.A.shape;
    const out = a.B.shape[0];
    const sA = score(a.varName("lora_A"));
    const sE = score(a.varName("lora_E"));
    const sB = score(a.varName("lora_B"));
    return Array.from({ length: r }, (_, i) => {
      let rowA = 0;
      for (let j = 0; j < inF; j++) rowA += sA[i * inF + j];
      let colB = 0;
      for (let o = 0; o < out; o++) colB += sB[o * r + i];
      return sE[i] + rowA / inF + colB / out;
    });
  });
}

beforeAll(useCpu);

describe("budget schedule (PEFT budget_schedule)", () => {
  const s = { initBudget: 24, targetBudget: 12, tinit: 2, tfinal: 3, totalStep: 12, deltaT: 2 };
  it.each([
    [1, 24, false, "allocate"],
    [2, 24, false, "allocate"],
    [3, Math.trunc(12 * (6 / 7) ** 3 + 12), false, "allocate"],
    [4, Math.trunc(12 * (5 / 7) ** 3 + 12), true, "allocate"],
    [8, Math.trunc(12 * (1 / 7) ** 3 + 12), true, "allocate"],
    [9, 12, false, "finalize"],
    [10, 12, true, "fixed"],
    [12, 12, true, "fixed"],
  ])("step %i: budget %i, mask %s, phase %s", (step, budget, mask, phase) => {
    expect(budgetAt(s, step)).toEqual({ budget, mask });
    expect(phaseAt(s, step)).toBe(phase);
  });

  it("is the cubic decay from B0 to B_T between tinit and T − tfinal", () => {
    expect([3, 4, 5, 6, 7, 8].map((t) => budgetAt(s, t).budget)).toEqual([19, 16, 14, 12, 12, 12]);
  });

  it("validates tinit < total_step − tfinal with a message naming the values", () => {
    expect(() => validateAdaLoraSchedule("a", { ...SPEC, tinit: 5, tfinal: 5 }, 10)).toThrow(/adapter "a": tinit \(5\) must be below total_step − tfinal \(10 − 5 = 5\)/);
    expect(() => validateAdaLoraSchedule("a", { ...SPEC, tinit: 0, tfinal: 9 }, 10)).toThrow(/needs at least one earlier step/);
    expect(() => validateAdaLoraSchedule("a", { ...SPEC, deltaT: 0 }, 10)).toThrow(/delta_t must be an integer >= 1, got 0/);
    expect(() => validateAdaLoraSchedule("a", SPEC, 10)).not.toThrow();
  });
});

describe("mask_to_budget", () => {
  it("masks the k = B0 − b smallest triplet scores globally", () => {
    const keep = maskToBudget([[0.5, 0.1, 0.9], [0.3, 0.7, 0.2]], 6, 3);
    expect(keep).toEqual([[true, false, true], [false, true, false]]);
  });
  it("masks every score tied at the threshold (PEFT's <=) and keeps all when k <= 0", () => {
    expect(maskToBudget([[1, 0, 0], [0, 2, 3]], 6, 4)).toEqual([[true, false, false], [false, true, true]]);
    expect(maskToBudget([[1, 2]], 2, 2)).toEqual([[true, true]]);
    expect(() => maskToBudget([[NaN, 1]], 2, 1)).toThrow(/NaN/);
  });
});

describe("importance (PEFT update_ipt)", () => {
  it("keeps Ī ← β1 Ī + (1−β1)|p·g| and Ū ← β2 Ū + (1−β2)|I − Ī| and sums E + mean(A row) + mean(B col)", () => {
    const ema = new ImportanceEma(0.8, 0.6);
    const p = tf.tensor([[1, -2], [3, 0.5]]);
    const g1 = tf.tensor([[0.5, 0.5], [-1, 2]]);
    const g2 = tf.tensor([[1, 0], [0.1, -2]]);
    ema.update("w", p, g1);
    ema.update("w", p, g2);
    const [i1, i2] = [[0.5, 1, 3, 1], [1, 0, 0.3, 1]];
    const avg1 = i1.map((v) => 0.2 * v);
    const unc1 = i1.map((v, k) => 0.4 * Math.abs(v - avg1[k]));
    const avg2 = avg1.map((v, k) => 0.8 * v + 0.2 * i2[k]);
    const unc2 = unc1.map((v, k) => 0.6 * v + 0.4 * Math.abs(i2[k] - avg2[k]));
    const plain = ema.toPlain().w;
    expect(maxDiff(plain.ipt, avg2)).toBeLessThan(1e-6);
    expect(maxDiff(plain.unc, unc2)).toBeLessThan(1e-6);
    tf.dispose([p, g1, g2]);
    ema.dispose();
  });
});

/** Records, after every step, the gradients (as the optimiser used them) and the parameters after the step. */
class Spy implements TrainerPlugin {
  readonly name = "spy";
  grads = new Map<string, Float32Array>();
  params = new Map<string, Float32Array>();
  constructor(private readonly clip: number) {}
  afterBackward(_ctx: unknown, grads: Map<string, tf.Tensor>): void {
    let sq = 0;
    for (const g of grads.values()) for (const v of g.dataSync()) sq += v * v;
    const coef = Math.min(1, this.clip / (Math.sqrt(sq) + 1e-6));
    this.grads = new Map([...grads].map(([n, g]) => [n, Float32Array.from(g.dataSync(), (v) => v * coef)]));
  }
  afterStep(ctx: { trainableVariables(): Map<string, tf.Variable> }): void {
    this.params = new Map([...ctx.trainableVariables()].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]));
  }
}

describe("the allocator in the training loop", () => {
  it("follows the schedule exactly, masks by PEFT's rule, freezes importance after T − tfinal and ends at target_r on average", () => {
    const model = adaloraModel();
    const plugin = createAdaLoraPlugin("ada", SPEC);
    const spy = new Spy(0.01); // clipping active: importance uses the clipped gradient
    const trainer = new Trainer({ model, train: trainSpec({ steps: T, clipNorm: 0.01 }), lr: 2e-2, seed: 1, plugins: [spy, plugin] });
    const mods = adapters(model);
    const s = plugin.budgetSchedule;
    expect(s).toMatchObject({ initBudget: 4 * mods.length, targetBudget: 2 * mods.length, totalStep: T });
    const batch = randomBatch(model.config);
    let prevEma: ReturnType<AdaLoraPlugin["saveState"]>["ema"] = {};
    for (let t = 1; t <= T; t++) {
      trainer.trainStep(batch);
      const state = plugin.saveState();
      if (t < 9) {
        // Importance = EMA of |p_after_step ⊙ clipped grad|, for every A, E and B.
        for (const a of mods) {
          for (const kind of ["lora_A", "lora_E", "lora_B"] as const) {
            const n = a.varName(kind);
            const inst = Array.from(spy.params.get(n)!, (p, i) => Math.abs(p * spy.grads.get(n)![i]));
            const old = prevEma[n] ?? { ipt: inst.map(() => 0), unc: inst.map(() => 0) };
            const ipt = inst.map((v, i) => 0.85 * old.ipt[i] + 0.15 * v);
            const unc = inst.map((v, i) => 0.85 * old.unc[i] + 0.15 * Math.abs(v - ipt[i]));
            expect(maxDiff(state.ema[n].ipt, ipt), `${n} at ${t}`).toBeLessThan(1e-6 + 1e-4 * Math.max(...ipt));
            expect(maxDiff(state.ema[n].unc, unc), `${n} at ${t}`).toBeLessThan(1e-6 + 1e-4 * Math.max(...unc));
          }
        }
        prevEma = state.ema;
      } else {
        expect(Object.keys(state.ema)).toEqual([]); // reset at T − tfinal, never updated again
      }
      const last = plugin.history.at(-1);
      const masked = t === 9 || (t > 2 && t < 9 && t % 2 === 0);
      if (masked && t < 9) {
        // The decision at t is PEFT's mask_to_budget on the EMAs after step t.
        expect(plugin.rankPattern).toEqual(Object.fromEntries(mods.map((a, m) => [a.path, maskToBudget(scoresFromState(plugin, mods), s.initBudget, budgetAt(s, t).budget)[m]])));
      }
      // Masked singular values are zero right after each allocation and at every step of the final phase
      // (in between, PEFT lets the optimiser move them: a masked rank can come back).
      if (masked || t >= 9) for (const a of mods) a.E.dataSync().forEach((e, i) => a.keep![i] || expect(e).toBe(0));
      expect(last?.step === t).toBe(masked);
    }
    expect(plugin.history.map((h) => [h.step, h.budget, h.kept, h.final])).toEqual([
      [4, budgetAt(s, 4).budget, budgetAt(s, 4).budget, false],
      [6, budgetAt(s, 6).budget, budgetAt(s, 6).budget, false],
      [8, budgetAt(s, 8).budget, budgetAt(s, 8).budget, false],
      [9, s.targetBudget, s.targetBudget, true],
    ]);
    expect(plugin.finalPattern).toEqual(plugin.rankPattern);
    const ranks = Object.values(plugin.ranks());
    expect(ranks.reduce((a, b) => a + b, 0) / ranks.length).toBe(SPEC.targetR);
    trainer.dispose();
    model.dispose();
  });

  it("adds orth_reg_weight · mean of ‖AAᵀ − I‖_F and ‖BᵀB − I‖_F (not squared), and nothing at weight 0", () => {
    const model = adaloraModel();
    const plugin = createAdaLoraPlugin("ada", SPEC);
    const trainer = new Trainer({ model, train: trainSpec({ steps: T }), lr: 1e-2, seed: 1, plugins: [plugin] });
    const fro = (m: tf.Tensor2D, r: number, transposeFirst: boolean) =>
      tf.tidy(() => {
        const g = transposeFirst ? tf.matMul(m, m, true, false) : tf.matMul(m, m, false, true);
        return Math.sqrt(tf.sum(tf.square(tf.sub(g, tf.eye(r)))).dataSync()[0]);
      });
    const norms = adapters(model).flatMap((a) => [fro(a.A as unknown as tf.Tensor2D, a.rank, false), fro(a.B as unknown as tf.Tensor2D, a.rank, true)]);
    const loss = plugin.extraLoss()!;
    expect(loss.dataSync()[0]).toBeCloseTo((0.5 * norms.reduce((x, y) => x + y, 0)) / norms.length, 5);
    loss.dispose();
    expect(createAdaLoraPlugin("ada", { ...SPEC, orthRegWeight: 0 }).extraLoss()).toBeNull();
    trainer.dispose();
    model.dispose();
  });

  it("computes the trainer's clipping coefficient", () => {
    const grads = new Map([["a", tf.tensor([3, 4])], ["b", tf.tensor([12])]]);
    expect(clipCoefficient(grads, 1)).toBeCloseTo(1 / 13, 6);
    expect(clipCoefficient(grads, 100)).toBe(1);
    expect(clipCoefficient(grads, 0)).toBe(1);
    tf.dispose([...grads.values()]);
  });

  it("resumes from a checkpoint to the same allocation, importance and weights", () => {
    const run = (stopAt: number | null): { E: number[][]; history: unknown; pattern: unknown } => {
      let model = adaloraModel();
      let plugin = createAdaLoraPlugin("ada", SPEC);
      let trainer = new Trainer({ model, train: trainSpec({ steps: T }), lr: 2e-2, seed: 1, plugins: [plugin] });
      const batch = randomBatch(model.config);
      while (trainer.step < T) {
        trainer.trainStep(batch);
        if (trainer.step === stopAt) {
          const ck = path.join(dir, "ck");
          saveCheckpoint(ck, trainer, {});
          trainer.dispose();
          model.dispose();
          model = adaloraModel();
          plugin = createAdaLoraPlugin("ada", SPEC);
          trainer = new Trainer({ model, train: trainSpec({ steps: T }), lr: 2e-2, seed: 1, plugins: [plugin] });
          restoreCheckpoint(ck, trainer, readCheckpointState(ck)!);
        }
      }
      const out = { E: adapters(model).map((a) => Array.from(a.E.dataSync())), history: plugin.history, pattern: plugin.finalPattern };
      trainer.dispose();
      model.dispose();
      return out;
    };
    const straight = run(null);
    expect(run(5)).toEqual(straight);
    expect(run(10)).toEqual(straight);
  });

  it("refuses a run too short for the schedule, and settings AdaLoRA does not use", () => {
    const model = adaloraModel();
    expect(() => new Trainer({ model, train: trainSpec({ steps: 5 }), lr: 1e-2, seed: 1, plugins: [createAdaLoraPlugin("ada", SPEC)] }))
      .toThrow(/tinit \(2\) must be below total_step − tfinal \(5 − 3 = 2\)/);
    expect(() => new Trainer({ model, train: trainSpec({ steps: T }), lr: 1e-2, seed: 1, plugins: [createAdaLoraPlugin("nope", SPEC)] }))
      .toThrow(/no AdaLoRA adapter named "nope"/);
    model.dispose();
    const ada = adapterSpec({ method: "adalora", adalora: SPEC });
    expect(() => checkAdapterSpec("a", { ...ada, rslora: true })).toThrow(/adapter "a": AdaLoRA does not use rslora/);
    expect(() => checkAdapterSpec("a", { ...ada, init: "pissa" })).toThrow(/does not use init "pissa"/);
    expect(() => checkAdapterSpec("a", { ...ada, rankPattern: { q_proj: 2 } })).toThrow(/rank_pattern/);
    expect(() => checkAdapterSpec("a", { ...ada, adalora: { ...SPEC, targetR: 5 } })).toThrow(/target_rank must be an integer in \[1, init_rank = 4\], got 5/);
  });

  it("is attached for every AdaLoRA adapter of a run", () => {
    const plan = { adapters: { a: adapterSpec({ method: "adalora", adalora: SPEC }), b: adapterSpec(), c: adapterSpec({ method: "adalora", adalora: { ...SPEC, targetR: 1 } }) } } as unknown as Plan;
    const plugins = adaloraPluginsFor(plan, { name: "r", adapters: ["a", "b", "c"] } as unknown as RunSpec);
    expect(plugins.map((p) => [p.name, p.spec.targetR])).toEqual([["adalora:a", 2], ["adalora:c", 1]]);
  });
});

describe("AdaLoRA export", () => {
  function allocated(): FamilyModel {
    const model = adaloraModel();
    perturb(adapters(model).flatMap((a) => [...a.trainable().values()]), 0.3, 2);
    adapters(model).forEach((a, i) => a.applyMask([i % 2 === 0, true, i === 0, false]));
    return model;
  }

  it("writes PEFT's AdaLoRA format: sliced lora_A / lora_E / lora_B without .weight and rank_pattern by lora_E name", () => {
    const model = allocated();
    const { config, tensors } = exportAdaLora(model, "ada", adapterSpec({ method: "adalora", alpha: 8, adalora: SPEC }), { taskType: "CAUSAL_LM", totalStep: T });
    expect(config).toMatchObject({ peft_type: "ADALORA", init_r: 4, target_r: 2, tinit: 2, tfinal: 3, deltaT: 2, beta1: 0.85, beta2: 0.85, orth_reg_weight: 0.5, total_step: T, lora_alpha: 8, r: 8 });
    const q0 = "model.layers.0.self_attn.q_proj";
    expect(config.rank_pattern![`${q0}.lora_E`]).toEqual([true, true, true, false]);
    expect(tensors[`base_model.model.${q0}.lora_A`].shape).toEqual([3, 16]);
    expect(tensors[`base_model.model.${q0}.lora_E`].shape).toEqual([3, 1]);
    expect(tensors[`base_model.model.${q0}.lora_B`].shape).toEqual([16, 3]);
    expect(Object.keys(tensors).some((n) => n.endsWith(".weight"))).toBe(false);
    model.dispose();
  });

  it("folds into plain LoRA: A' = (A⊙E)[kept], B' = B[:, kept], alpha = scale·r' per module", () => {
    const model = allocated();
    const exp = exportAsLora(model, "ada", null, { taskType: "CAUSAL_LM" });
    const mods = adapters(model);
    expect(exp.modules.map((m) => m.rank)).toEqual(mods.map((a) => a.keptRank));
    const scale = 8 / (4 + 1e-5);
    for (const m of exp.modules) {
      const r = exp.config.rank_pattern[m.path] ?? exp.config.r;
      const alpha = exp.config.alpha_pattern[m.path] ?? exp.config.lora_alpha;
      expect(r).toBe(m.rank);
      expect(alpha / r).toBeCloseTo(scale, 10);
    }
    expect(exp.config.use_rslora).toBe(false);
    model.dispose();
  });
});
