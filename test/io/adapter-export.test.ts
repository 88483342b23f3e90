import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import type { AdapterSpec } from "../../src/dsl/plan.js";
import { exportAdapter, importAdapter } from "../../src/runtime/adapters/peft-io.js";
import { loadHfModel, mergeAndUnload, saveHfModel } from "../../src/runtime/io/hf-model.js";
import { SafetensorsFile, writeSafetensors, type WritableTensor } from "../../src/runtime/io/safetensors.js";
import { AdaLoraAdapter } from "../../src/runtime/adapters/adalora.js";
import { injectAdapter, loraAdapters } from "../../src/runtime/adapters/inject.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import { seeded, useCpu } from "../runtime/helpers.js";
import { tempDir } from "./helpers.js";
import { canCrossCheck, pythonCrossCheck } from "./lora-crosscheck.js";
import { hfModel, maxAbsDiff, outputsOf } from "./model-fixtures.js";

beforeAll(useCpu);
const dir = tempDir("adapter-export");
let n = 0;
const fresh = () => path.join(dir, `d${n++}`);

function spec(over: Partial<AdapterSpec> = {}): AdapterSpec {
  return {
    method: "lora", r: 4, alpha: 8, dropout: 0, rslora: false, init: "kaiming",
    target: { regex: null, names: ["q_proj", "v_proj"] }, exclude: { regex: null, names: [] },
    rankPattern: {}, alphaPattern: {}, adalora: null, ...over,
  };
}

/** Injects adapter "default" from `s` and gives every B random values (a trained-looking adapter). */
function adapt(model: FamilyModel, s: AdapterSpec, seed = 7): void {
  injectAdapter(model, "default", s, { rand: seeded(seed) });
  let i = 0;
  for (const a of loraAdapters(model, "default").values()) {
    tf.tidy(() => a.B.assign(tf.randomNormal(a.B.shape, 0, 0.3, "float32", seed * 100 + i++)));
  }
}

/** Saves the base, exports the adapter, loads both back into a new model; returns it and the folders. */
function roundTrip(model: FamilyModel, s: AdapterSpec | null, taskType: "CAUSAL_LM" | "SEQ_CLS" = "CAUSAL_LM") {
  const baseDir = fresh();
  const adapterDir = fresh();
  saveHfModel(model, baseDir);
  const exported = exportAdapter(model, "default", s, adapterDir, { baseModel: baseDir, taskType });
  const loaded = loadHfModel(baseDir).model;
  const imported = importAdapter(loaded, adapterDir, "default");
  return { baseDir, adapterDir, exported, loaded, imported };
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
}

/** A folder as another tool would write it: the config object and the tensors, in a fresh folder. */
function handWritten(config: Record<string, unknown>, tensors: Record<string, WritableTensor>): string {
  const d = fresh();
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, "adapter_config.json"), JSON.stringify(config));
  writeSafetensors(path.join(d, "adapter_model.safetensors"), tensors, { format: "pt" });
  return d;
}

/** Random [rows, cols] F32 matrices from a seeded source. */
function matrices(seed: number): (rows: number, cols: number) => WritableTensor {
  const rand = seeded(seed);
  return (rows, cols) => ({ dtype: "F32", shape: [rows, cols], data: Float32Array.from({ length: rows * cols }, () => rand() - 0.5) });
}

describe("export → import gives identical outputs", () => {
  it("plain LoRA: the plan's selector becomes target_modules", () => {
    const m = hfModel("llama");
    adapt(m, spec());
    const { exported, loaded, imported } = roundTrip(m, spec());
    expect(exported.config.target_modules).toEqual(["q_proj", "v_proj"]);
    expect(exported.config.rank_pattern).toEqual({});
    expect(imported.modules).toEqual(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"]);
    expect(maxAbsDiff(outputsOf(loaded), outputsOf(m))).toBe(0);
    m.dispose();
    loaded.dispose();
  });

  it("with an exclude, or without a plan spec, target_modules lists exactly the adapted modules", () => {
    const m = hfModel("llama");
    const s = spec({ exclude: { regex: null, names: ["model.layers.1.self_attn.v_proj"] } });
    adapt(m, s);
    const adapted = ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj"];
    const { exported, loaded } = roundTrip(m, s);
    expect(exported.config).toMatchObject({ target_modules: adapted, exclude_modules: null, r: 4, lora_alpha: 8 });
    expect(maxAbsDiff(outputsOf(loaded), outputsOf(m))).toBe(0);
    const bare = exportAdapter(m, "default", null, fresh(), { baseModel: null, taskType: "CAUSAL_LM" });
    expect(bare.config).toMatchObject({ target_modules: adapted, r: 4, lora_alpha: 8, rank_pattern: {}, alpha_pattern: {} });
    m.dispose();
    loaded.dispose();
  });

  it("BeamLoRA: the gate is folded into A", () => {
    const m = hfModel("gpt2");
    const s = spec({ target: { regex: null, names: ["c_attn", "c_fc"] } });
    adapt(m, s);
    for (const a of loraAdapters(m, "default").values()) {
      a.enableGate(0.5);
      tf.tidy(() => a.gate!.assign(tf.randomNormal([a.rank], 0, 1, "float32", 3)));
    }
    const { exported, loaded } = roundTrip(m, s);
    expect(exported.config.fan_in_fan_out).toBe(true);
    expect([...loraAdapters(loaded, "default").values()].every((a) => a.gate === null)).toBe(true);
    expect(maxAbsDiff(outputsOf(loaded), outputsOf(m))).toBeLessThan(1e-5);
    m.dispose();
    loaded.dispose();
  });

  it.each([false, true])("Light-PEFT: pruned ranks and modules become rank_pattern / alpha_pattern (rsLoRA %s)", (rslora) => {
    const m = hfModel("llama");
    const s = spec({ rslora, target: { regex: null, names: ["q_proj", "v_proj", "down_proj"] } });
    adapt(m, s);
    const ad = loraAdapters(m, "default");
    ad.get("model.layers.0.self_attn.q_proj")!.keepRanks([0, 2]);
    ad.get("model.layers.1.mlp.down_proj")!.keepRanks([3]);
    m.linears().get("model.layers.1.self_attn.v_proj")!.removeAdapter("default"); // module pruning
    const { exported, loaded } = roundTrip(m, s);
    const c = exported.config;
    expect(c.target_modules).toEqual([
      "model.layers.0.mlp.down_proj", "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
      "model.layers.1.mlp.down_proj", "model.layers.1.self_attn.q_proj",
    ]);
    expect(c.rank_pattern).toEqual({ "model.layers.0.self_attn.q_proj": 2, "model.layers.1.mlp.down_proj": 1 });
    const alpha = (r: number) => (rslora ? (8 / 2) * Math.sqrt(r) : (8 / 4) * r); // scaling · r' (√r')
    expect(c.alpha_pattern).toEqual({ "model.layers.0.self_attn.q_proj": alpha(2), "model.layers.1.mlp.down_proj": alpha(1) });
    for (const [p, a] of loraAdapters(loaded, "default")) expect(a.scaling, p).toBeCloseTo(ad.get(p)!.scaling, 12);
    expect(maxAbsDiff(outputsOf(loaded), outputsOf(m))).toBeLessThan(1e-6);
    m.dispose();
    loaded.dispose();
  });

  it.each([["qwen2 classifier", "score"], ["bert", "classifier"], ["roberta", "classifier"]])(
    "%s: the trained head travels in modules_to_save",
    (name, head) => {
      const m = hfModel(name);
      const s = spec({ target: { regex: ".*\\.(q_proj|query)", names: [] } });
      adapt(m, s);
      const { exported, loaded } = roundTrip(m, s, "SEQ_CLS");
      tf.tidy(() => m.classifier!.weight.assign(tf.add(m.classifier!.weight, 1))); // train the head after saving the base
      exportAdapter(m, "default", s, path.dirname(exported.files[0]!), { baseModel: null, taskType: "SEQ_CLS" });
      loaded.linears().forEach((l) => l.removeAdapter("default"));
      importAdapter(loaded, path.dirname(exported.files[0]!), "default");
      expect(exported.config.modules_to_save).toEqual([head]);
      expect(exported.config.target_modules).toBe(".*\\.(q_proj|query)");
      expect(maxAbsDiff(outputsOf(loaded), outputsOf(m))).toBe(0);
      m.dispose();
      loaded.dispose();
    },
  );

  it("a pruned base: saved, and the adapter sliced with it imports onto the loaded base", () => {
    const m = hfModel("llama");
    const s = spec({ target: { regex: null, names: ["q_proj", "o_proj", "up_proj", "down_proj"] } });
    adapt(m, s);
    m.blocks[0]!.pruneHeads([0, 1]);
    m.blocks[1]!.pruneNeurons([1, 2, 3, 8, 13]);
    const { loaded, imported } = roundTrip(m, s);
    expect(imported.modules.length).toBe(8);
    expect(maxAbsDiff(outputsOf(loaded), outputsOf(m))).toBe(0);
    m.dispose();
    loaded.dispose();
  });
});

describe("golden: names, shapes and config keys", () => {
  it("a tiny llama with LoRA r=4 on q_proj and v_proj", () => {
    const m = hfModel("llama");
    adapt(m, spec({ dropout: 0.05 }));
    const d = fresh();
    exportAdapter(m, "default", spec({ dropout: 0.05 }), d, { baseModel: "peftlab/tiny-llama", taskType: "CAUSAL_LM" });
    expect(fs.readdirSync(d).sort()).toEqual(["README.md", "adapter_config.json", "adapter_model.safetensors"]);
    expect(readJson(path.join(d, "adapter_config.json"))).toEqual({
      alpha_pattern: {}, base_model_name_or_path: "peftlab/tiny-llama", bias: "none", exclude_modules: null, fan_in_fan_out: false,
      inference_mode: true, init_lora_weights: true, layers_pattern: null, layers_to_transform: null, lora_alpha: 8, lora_dropout: 0.05,
      modules_to_save: null, peft_type: "LORA", r: 4, rank_pattern: {}, revision: null, target_modules: ["q_proj", "v_proj"],
      task_type: "CAUSAL_LM", use_dora: false, use_rslora: false,
    });
    const f = SafetensorsFile.open(path.join(d, "adapter_model.safetensors"));
    expect(f.metadata).toEqual({ format: "pt" });
    expect(Object.fromEntries(f.names().map((x) => [x, f.info(x).shape]))).toEqual({
      "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": [4, 16],
      "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": [16, 4],
      "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight": [4, 16],
      "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight": [8, 4],
      "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight": [4, 16],
      "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight": [16, 4],
      "base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight": [4, 16],
      "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight": [8, 4],
    });
    f.close();
    m.dispose();
  });
});

describe("import of folders written by HF PEFT", () => {
  it("reads suffix rank/alpha patterns, rsLoRA, `.default.` infixes and unknown keys", () => {
    const m = hfModel("llama");
    const mat = matrices(5);
    const tensors = {
      "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight": mat(8, 16),
      "base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight": mat(16, 8),
      "base_model.model.model.layers.1.self_attn.v_proj.lora_A.default.weight": mat(2, 16),
      "base_model.model.model.layers.1.self_attn.v_proj.lora_B.default.weight": mat(8, 2),
    };
    const d = handWritten({
      alpha_pattern: { "layers.1.self_attn.v_proj": 3 }, auto_mapping: null, base_model_name_or_path: "meta-llama/x", bias: "none",
      eva_config: null, exclude_modules: null, fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, layer_replication: null,
      layers_pattern: null, layers_to_transform: null, loftq_config: {}, lora_alpha: 16, lora_bias: false, lora_dropout: 0.1,
      megatron_config: null, megatron_core: "megatron.core", modules_to_save: null, peft_type: "LORA", peft_version: "0.15.2", r: 8,
      rank_pattern: { v_proj: 2 }, revision: null, target_modules: ["v_proj", "q_proj"], task_type: "CAUSAL_LM", trainable_token_indices: null,
      use_dora: false, use_rslora: true, some_future_key: 1,
    }, tensors);
    const before = outputsOf(m);
    const res = importAdapter(m, d, "peft");
    expect(res.warnings).toEqual([expect.stringContaining('unknown key "some_future_key" is not used')]);
    const ad = loraAdapters(m, "peft");
    expect([...ad.keys()]).toEqual(["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.v_proj"]);
    expect(ad.get("model.layers.0.self_attn.q_proj")!.scaling).toBeCloseTo(16 / Math.sqrt(8), 12);
    expect(ad.get("model.layers.1.self_attn.v_proj")!.scaling).toBeCloseTo(3 / Math.sqrt(2), 12);
    expect(ad.get("model.layers.1.self_attn.v_proj")!.dropout).toBe(0.1);
    const q = ad.get("model.layers.0.self_attn.q_proj")!;
    const want = tf.tidy(() => tf.mul(tf.matMul(tf.tensor(tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight"].data, [16, 8]),
      tf.tensor(tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight"].data, [8, 16])), 16 / Math.sqrt(8)));
    const got = q.deltaWeight();
    expect(maxAbsDiff(got.dataSync(), want.dataSync())).toBeLessThan(1e-6);
    [want, got].forEach((t) => t.dispose());
    expect(maxAbsDiff(outputsOf(m), before)).toBeGreaterThan(1e-3);
    m.dispose();
  });
});

describe("import of AdaLoRA folders (peft_type ADALORA)", () => {
  it("reads PEFT's names (`.default` infixes, no `.weight`), per-module kept ranks and a modules_to_save head", () => {
    const m = hfModel("bert");
    const q0 = "bert.encoder.layer.0.attention.self.query";
    const v1 = "bert.encoder.layer.1.attention.self.value";
    const mat = matrices(8);
    const tensors: Record<string, WritableTensor> = {
      [`base_model.model.${q0}.lora_A.default`]: mat(2, 16), [`base_model.model.${q0}.lora_E.default`]: mat(2, 1), [`base_model.model.${q0}.lora_B.default`]: mat(16, 2),
      [`base_model.model.${v1}.lora_A.default`]: mat(1, 16), [`base_model.model.${v1}.lora_E.default`]: mat(1, 1), [`base_model.model.${v1}.lora_B.default`]: mat(16, 1),
      "base_model.model.classifier.modules_to_save.default.weight": mat(3, 16),
      "base_model.model.classifier.modules_to_save.default.bias": { dtype: "F32", shape: [3], data: Float32Array.from([0.5, -1, 2]) },
    };
    const d = handWritten({
      peft_type: "ADALORA", task_type: "SEQ_CLS", init_r: 4, target_r: 2, lora_alpha: 6, lora_dropout: 0.1, r: 8,
      target_modules: ["query", "value"], modules_to_save: ["classifier"], total_step: 10,
      rank_pattern: { [`${q0}.lora_E`]: [true, false, true, false], [`${v1}.lora_E`]: [false, false, false, true] },
    }, tensors);
    const before = outputsOf(m);
    const res = importAdapter(m, d, "ada");
    expect(res.config.peft_type).toBe("ADALORA");
    expect(res.modules).toEqual([q0, v1]);
    const a = m.linears().get(q0)!.adapters.get("ada") as AdaLoraAdapter;
    expect(a).toBeInstanceOf(AdaLoraAdapter);
    expect([a.rank, a.ranknum, a.dropout]).toEqual([2, 4, 0.1]);
    expect(a.scale).toBeCloseTo(6 / (4 + 1e-5), 12);
    const t = (n: string, shape: number[]) => tf.tensor(tensors[n]!.data, shape);
    const want = tf.tidy(() => tf.mul(tf.matMul(t(`base_model.model.${q0}.lora_B.default`, [16, 2]),
      tf.mul(t(`base_model.model.${q0}.lora_A.default`, [2, 16]), t(`base_model.model.${q0}.lora_E.default`, [2, 1]))), 6 / (4 + 1e-5)));
    const got = a.deltaWeight();
    expect(maxAbsDiff(got.dataSync(), want.dataSync())).toBeLessThan(1e-6);
    tf.dispose([want, got]);
    expect(Array.from(m.classifier!.bias!.dataSync())).toEqual([0.5, -1, 2]);
    expect(maxAbsDiff(m.classifier!.weight.dataSync(), tensors["base_model.model.classifier.modules_to_save.default.weight"]!.data)).toBe(0);
    expect(maxAbsDiff(outputsOf(m), before)).toBeGreaterThan(1e-3);
    m.dispose();
  });
});

describe("import errors name the file and the module or tensor", () => {
  const exported = (name: string, s: AdapterSpec, over: Record<string, unknown> = {}) => {
    const m = hfModel(name, 3, over);
    adapt(m, s);
    const d = fresh();
    exportAdapter(m, "default", s, d, { baseModel: null, taskType: m.classifier ? "SEQ_CLS" : "CAUSAL_LM" });
    m.dispose();
    return d;
  };
  it.each([
    ["another hidden size", () => exported("llama", spec(), { hidden_size: 32, num_attention_heads: 8 }), "llama",
      /adapter_model\.safetensors: module "model\.layers\.0\.self_attn\.q_proj": lora_A \[4,32\] \/ lora_B \[32,4\] do not fit a linear layer 16 → 16/],
    ["a module the model lacks", () => exported("llama", spec(), { num_hidden_layers: 3 }), "llama",
      /module "model\.layers\.2\.self_attn\.q_proj" is not a linear module of the model/],
    ["another number of labels", () => exported("bert", spec({ target: { regex: null, names: ["query"] } }), { num_labels: 5 }), "bert",
      /tensor "base_model\.model\.classifier\.(weight|bias)": shape \[5(, 16)?\] does not fit the model.s \[3(, 16)?\]/],
  ])("%s", (_what, make, target, message) => {
    const d = make();
    const m = hfModel(target);
    const before = tf.memory().numTensors;
    expect(() => importAdapter(m, d, "default")).toThrow(message);
    expect(() => importAdapter(m, d, "default")).toThrow(d);
    expect([...m.linears().values()].some((l) => l.adapters.size > 0)).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});

// ---------------------------------------------------------------- python cross-check

describe.skipIf(!canCrossCheck)("python cross-check: W + scaling · B @ A", () => {
  it.each([
    ["gpt2 with BeamLoRA gates and pruned ranks", "gpt2", spec({ target: { regex: null, names: ["c_attn", "c_proj"] } })],
    ["llama rsLoRA with pruned ranks", "llama", spec({ rslora: true, target: { regex: null, names: ["k_proj", "o_proj", "gate_proj"] } })],
  ])("%s", (_what, name, s) => {
    const m = hfModel(name);
    adapt(m, s);
    [...loraAdapters(m, "default").values()].forEach((a, i) => {
      if (name === "gpt2") {
        a.enableGate(0.7);
        tf.tidy(() => a.gate!.assign(tf.randomNormal([a.rank], 0, 1, "float32", i)));
      }
      if (i % 2 === 1) a.keepRanks([0, 3]);
    });
    const baseDir = fresh();
    const adapterDir = fresh();
    const mergedDir = fresh();
    saveHfModel(m, baseDir);
    exportAdapter(m, "default", s, adapterDir, { baseModel: baseDir, taskType: "CAUSAL_LM" });
    mergeAndUnload(m, "default", mergedDir);
    const checked = pythonCrossCheck(m, "default", baseDir, adapterDir, mergedDir);
    expect(checked.length).toBe(loraAdapters(m, "default").size);
    m.dispose();
  });
});
