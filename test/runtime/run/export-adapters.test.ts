// The run command's adapter export (exportJobAdapters) end to end: export a trained-looking job, load the
// base it names (the pruned base after Light-PEFT, else the original), import the adapter, and get the
// trained model's outputs back; plus the folder layout and the config keys stock loaders read.
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { AdapterSpec, Plan, PruneSpec, RunSpec } from "../../../src/dsl/plan.js";
import { exportJobAdapters } from "../../../src/runtime/run/export-adapters.js";
import { AdaLoraAdapter } from "../../../src/runtime/adapters/adalora.js";
import { injectAdapter, loraAdapters } from "../../../src/runtime/adapters/inject.js";
import { importAdapter } from "../../../src/runtime/adapters/peft-io.js";
import { loadHfModel, saveHfModel } from "../../../src/runtime/io/hf-model.js";
import type { JobSpec } from "../../../src/runtime/run/job.js";
import type { FamilyModel } from "../../../src/runtime/models/model.js";
import { applyLightPeftDecisions, type LightPeftDecisions } from "../../../src/runtime/plugins/lightpeft/index.js";
import { hfModel, maxAbsDiff, outputsOf } from "../../io/model-fixtures.js";
import { ADALORA, adapterSpec, perturb, tempDir, trainSpec } from "../baselines-util.js";
import { seeded, useCpu } from "../helpers.js";

const PRUNE: PruneSpec = {
  estimateSteps: 2, heads: { ratio: 0.5, scope: "layer" }, neurons: { ratio: 0.3, scope: "global" }, l1: 0, maskLrFactor: 1,
  moduleRatio: 0.2, rankRatio: 0.5, rankScope: "global",
};

/** Light-PEFT decisions for the tiny llama (4 heads in 2 key/value groups, 24 neurons, 2 layers). */
const LLAMA_PRUNED: Omit<LightPeftDecisions, "adapter"> = {
  heads: [[2, 3], [0, 1, 2, 3]],
  neurons: [[0, 1, 3, 4, 6, 8, 9, 10, 13, 15, 17, 19, 20, 22, 23], Array.from({ length: 24 }, (_, i) => i)],
  modulesRemoved: ["model.layers.1.self_attn.o_proj"],
  ranks: { "model.layers.0.self_attn.q_proj": [0, 2], "model.layers.1.mlp.down_proj": [3] },
};

interface Case {
  label: string;
  model: string;
  spec: AdapterSpec;
  prune?: Omit<LightPeftDecisions, "adapter">;
  /** Runs after every adapter variable got noise: what training does beyond that (gates, AdaLoRA masks, the head). */
  train?: (model: FamilyModel) => void;
  /** Keys the exported adapter_config.json must have. */
  config: Record<string, unknown>;
}

const names = (...n: string[]) => ({ regex: null, names: n });

const CASES: Case[] = [
  {
    label: "BeamLoRA-gated LoRA (gpt2)", model: "gpt2", spec: adapterSpec({ target: names("c_attn", "c_fc") }),
    train: (m) => loraAdapters(m, "a").forEach((a, p) => {
      a.enableGate(0.5);
      perturb([a.gate!], 1, p.length);
    }),
    config: { fan_in_fan_out: true, target_modules: ["c_attn", "c_fc"], rank_pattern: {}, base_model_name_or_path: "BASE" },
  },
  {
    label: "Light-PEFT-pruned base (llama, rsLoRA)", model: "llama", prune: LLAMA_PRUNED,
    spec: adapterSpec({ rslora: true, target: names("q_proj", "v_proj", "o_proj", "up_proj", "down_proj") }),
    config: {
      base_model_name_or_path: "../pruned-base", use_rslora: true,
      rank_pattern: { "model.layers.0.self_attn.q_proj": 2, "model.layers.1.mlp.down_proj": 1 },
      alpha_pattern: { "model.layers.0.self_attn.q_proj": (8 / 2) * Math.sqrt(2), "model.layers.1.mlp.down_proj": (8 / 2) * Math.sqrt(1) }, // scaling · √r'
    },
  },
  {
    label: "Light-PEFT-pruned base with PiSSA (llama)", model: "llama", prune: LLAMA_PRUNED,
    spec: adapterSpec({ init: "pissa", target: names("q_proj", "o_proj", "down_proj") }),
    config: { base_model_name_or_path: "../pruned-base", init_lora_weights: true, r: 8, lora_alpha: 16, rank_pattern: { "model.layers.0.self_attn.q_proj": 6, "model.layers.1.mlp.down_proj": 5 } },
  },
  {
    label: "DoRA (llama)", model: "llama", spec: adapterSpec({ method: "dora", target: names("q_proj", "v_proj", "gate_proj") }),
    config: { use_dora: true, target_modules: ["gate_proj", "q_proj", "v_proj"] },
  },
  {
    label: "classifier head (roberta)", model: "roberta", spec: adapterSpec({ target: names("query", "value") }),
    train: (m) => perturb([m.classifier!.weight, m.linears().get("bert.pooler.dense")!.weight], 0.3, 5),
    config: { task_type: "SEQ_CLS", modules_to_save: ["classifier"], target_modules: ["query", "value"] },
  },
  {
    label: "AdaLoRA with a classifier head (qwen2)", model: "qwen2 classifier",
    spec: adapterSpec({ method: "adalora", r: 4, alpha: 8, adalora: ADALORA, target: names("q_proj", "v_proj") }),
    train: (m) => {
      perturb([m.classifier!.weight], 0.3, 6);
      [...m.linears().values()].forEach((l, i) => (l.adapters.get("a") as AdaLoraAdapter | undefined)?.applyMask([true, i % 2 === 0, false, true]));
    },
    config: { task_type: "SEQ_CLS", modules_to_save: ["score"], peft_type: "LORA" },
  },
];

function jobFor(c: Case, baseDir: string): JobSpec {
  const run: RunSpec = { name: "r", model: "base", adapters: ["a"], beam: null, prune: c.prune ? "light" : null, data: "d", train: trainSpec({ steps: 12 }) };
  const plan: Plan = {
    version: 1, source: { path: "exp.peft", sha256: "" }, backend: "cpu",
    models: { base: { kind: "hf", path: baseDir, head: "auto", labels: "auto" } }, data: {}, adapters: { a: c.spec }, beams: {},
    prunes: c.prune ? { light: PRUNE } : {}, runs: [run], comparisons: [],
  };
  return { plan, run, seed: 1, lr: 1e-3 };
}

/** The trained model of a case; its original base is saved to `baseDir` first (the run's base model). */
function trainedModel(c: Case, baseDir: string): FamilyModel {
  const model = hfModel(c.model);
  saveHfModel(model, baseDir);
  injectAdapter(model, "a", c.spec, { rand: seeded(3) });
  perturb([...model.linears().values()].flatMap((l) => [...(l.adapters.get("a")?.trainable().values() ?? [])]), 0.2, 9);
  c.train?.(model);
  if (c.prune) applyLightPeftDecisions(model, { adapter: "a", ...c.prune });
  return model;
}

/** Loads the base an adapter folder names (relative to the folder) and imports the adapter; returns its outputs and the base's alone. */
function reloaded(folder: string): { adapted: Float32Array; base: Float32Array } {
  const config = JSON.parse(fs.readFileSync(path.join(folder, "adapter_config.json"), "utf8")) as { base_model_name_or_path: string };
  const model = loadHfModel(path.resolve(folder, config.base_model_name_or_path)).model;
  const base = outputsOf(model);
  importAdapter(model, folder, "a");
  const adapted = outputsOf(model);
  model.dispose();
  return { adapted, base };
}

beforeAll(useCpu);
const root = tempDir("cli-export");

describe("exportJobAdapters → load the named base → importAdapter", () => {
  it.each(CASES)("$label: reproduces the trained model's outputs", (c) => {
    const dir = path.join(root, c.label.replace(/\W+/g, "-"));
    const baseDir = path.join(dir, "original-base");
    const model = trainedModel(c, baseDir);
    const want = outputsOf(model);
    const jobDir = path.join(dir, "job");
    const job = jobFor(c, baseDir);
    const written = exportJobAdapters(job.plan, job, model, path.join(jobDir, "adapter"));
    expect(maxAbsDiff(outputsOf(model), want), "the live model is left as it was").toBe(0);

    const adalora = c.spec.method === "adalora";
    expect(written).toEqual([path.join(jobDir, "adapter"), ...(adalora ? [path.join(jobDir, "adapter-adalora")] : [])]);
    expect(fs.readdirSync(jobDir).sort()).toEqual(["adapter", ...(adalora ? ["adapter-adalora"] : []), ...(c.prune ? ["pruned-base"] : [])]);
    const config = JSON.parse(fs.readFileSync(path.join(jobDir, "adapter", "adapter_config.json"), "utf8"));
    expect(config).toMatchObject(JSON.parse(JSON.stringify(c.config).replace('"BASE"', JSON.stringify(baseDir))));

    for (const folder of written) {
      const got = reloaded(folder);
      expect(maxAbsDiff(got.adapted, want), folder).toBeLessThan(1e-5);
      expect(maxAbsDiff(got.base, want), `${folder}: the adapter matters`).toBeGreaterThan(1e-3);
    }
    if (adalora) {
      const native = JSON.parse(fs.readFileSync(path.join(jobDir, "adapter-adalora", "adapter_config.json"), "utf8"));
      expect(native).toMatchObject({ peft_type: "ADALORA", total_step: 12, init_r: ADALORA.initR, modules_to_save: ["score"] });
    }
    model.dispose();
  });

  it("names the pruned base relative to each adapter's folder when a run has several adapters", () => {
    const dir = path.join(root, "two-adapters");
    const c = CASES[1]!;
    const model = trainedModel(c, path.join(dir, "original-base"));
    injectAdapter(model, "b", adapterSpec({ target: names("k_proj") }), { rand: seeded(4) });
    perturb([...loraAdapters(model, "b").values()].map((a) => a.B), 0.2, 4);
    const job = jobFor(c, path.join(dir, "original-base"));
    const two: JobSpec = { ...job, run: { ...job.run, adapters: ["a", "b"] }, plan: { ...job.plan, adapters: { a: c.spec, b: adapterSpec({ target: names("k_proj") }) } } };
    fs.writeFileSync(path.join(dir, "original-base", "tokenizer.json"), '{"model": {"type": "BPE"}}');
    const written = exportJobAdapters(two.plan, two, model, path.join(dir, "job", "adapter"), { baseDir: "/elsewhere" });
    expect(fs.readFileSync(path.join(dir, "job", "pruned-base", "tokenizer.json"), "utf8"), "the original tokenizer goes with the pruned base").toBe('{"model": {"type": "BPE"}}');
    expect(fs.existsSync(path.join(dir, "job", "pruned-base", "merges.txt"))).toBe(false);
    expect(written).toEqual([path.join(dir, "job", "adapter", "a"), path.join(dir, "job", "adapter", "b")]);
    for (const folder of written) {
      expect(JSON.parse(fs.readFileSync(path.join(folder, "adapter_config.json"), "utf8")).base_model_name_or_path).toBe("../../pruned-base");
    }
    const loaded = loadHfModel(path.join(dir, "job", "pruned-base")).model;
    written.forEach((folder, i) => importAdapter(loaded, folder, ["a", "b"][i]!));
    expect(maxAbsDiff(outputsOf(loaded), outputsOf(model))).toBeLessThan(1e-5);
    const card = fs.readFileSync(path.join(dir, "job", "pruned-base", "README.md"), "utf8");
    expect(card).toContain("after Light-PEFT's early pruning");
    expect(card).toContain("The tokenizer files (tokenizer.json) are the original model's");
    loaded.dispose();
    model.dispose();
  });
});
