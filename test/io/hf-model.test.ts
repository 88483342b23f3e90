import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { HfConfigError } from "../../src/runtime/io/hf-config.js";
import { HfWeightsError, loadHfModel, mergeAndUnload, rawAllFinite, saveHfModel } from "../../src/runtime/io/hf-model.js";
import { SafetensorsError, SafetensorsFile, writeSafetensors, type WritableTensor } from "../../src/runtime/io/safetensors.js";
import { useCpu } from "../runtime/helpers.js";
import { tempDir } from "./helpers.js";
import { addLora, hfModel, maxAbsDiff, outputsOf, RAW_CONFIGS } from "./model-fixtures.js";

beforeAll(useCpu);
const dir = tempDir("hf-model");
let n = 0;
const fresh = () => path.join(dir, `m${n++}`);

function readAll(file: string): Record<string, WritableTensor> {
  const f = SafetensorsFile.open(file);
  const out: Record<string, WritableTensor> = {};
  for (const name of f.names()) out[name] = f.read(name);
  f.close();
  return out;
}

/** A saved tiny llama folder whose model.safetensors has been rewritten by `edit`. */
function editedLlama(edit: (t: Record<string, WritableTensor>) => void): string {
  const m = hfModel("llama");
  const d = fresh();
  saveHfModel(m, d);
  m.dispose();
  const file = path.join(d, "model.safetensors");
  const t = readAll(file);
  edit(t);
  writeSafetensors(file, t, { format: "pt" });
  return d;
}

describe("save → load round trip", () => {
  it.each(Object.keys(RAW_CONFIGS))("%s: identical weights and outputs", (name) => {
    const before = tf.memory().numTensors;
    const m = hfModel(name);
    const d = fresh();
    const saved = saveHfModel(m, d, { tokenizerJson: { model: { type: "BPE" } } });
    expect(saved.stockReadable).toBe(true);
    const loaded = loadHfModel(d);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.tokenizerPath).toBe(path.join(d, "tokenizer.json"));
    expect(loaded.config).toEqual(m.config);
    const ours = m.stateDict();
    for (const [k, v] of loaded.model.stateDict()) expect(maxAbsDiff(v.dataSync(), ours.get(k)!.dataSync()), k).toBe(0);
    expect(maxAbsDiff(outputsOf(loaded.model), outputsOf(m))).toBe(0);
    const meta = SafetensorsFile.open(path.join(d, "model.safetensors"));
    expect(meta.metadata).toEqual({ format: "pt" });
    meta.close();
    m.dispose();
    loaded.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("gpt2 stores Conv1D weights [in, out], transposed from ours", () => {
    const m = hfModel("gpt2");
    const d = fresh();
    saveHfModel(m, d);
    const t = readAll(path.join(d, "model.safetensors"))["transformer.h.0.mlp.c_fc.weight"]!;
    const w = m.linears().get("transformer.h.0.mlp.c_fc")!.weight; // [24, 16]
    expect(t.shape).toEqual([16, 24]);
    expect(maxAbsDiff(t.data as Float32Array, tf.tidy(() => tf.transpose(w)).dataSync())).toBe(0);
    expect(Object.keys(readAll(path.join(d, "model.safetensors")))).not.toContain("lm_head.weight"); // tied
    m.dispose();
  });

  it("roberta uses roberta.* and classifier.{dense,out_proj} names", () => {
    const m = hfModel("roberta");
    const d = fresh();
    saveHfModel(m, d);
    const names = Object.keys(readAll(path.join(d, "model.safetensors")));
    expect(names).toEqual(expect.arrayContaining([
      "roberta.embeddings.word_embeddings.weight", "roberta.encoder.layer.1.output.dense.weight",
      "classifier.dense.weight", "classifier.out_proj.weight", "classifier.out_proj.bias",
    ]));
    expect(names.filter((x) => x.startsWith("bert."))).toEqual([]);
    const cfg = JSON.parse(fs.readFileSync(path.join(d, "config.json"), "utf8"));
    expect(cfg).toMatchObject({ model_type: "roberta", architectures: ["RobertaForSequenceClassification"], max_position_embeddings: 18 });
    m.dispose();
  });
});

describe("bad folders give errors naming the file and the tensor or key", () => {
  const file = (d: string) => path.join(d, "model.safetensors");
  it.each([
    ["a missing tensor", (t: Record<string, WritableTensor>) => delete t["model.layers.1.mlp.up_proj.weight"],
      /model\.safetensors: the weights do not fit.*\n.*tensor "model\.layers\.1\.mlp\.up_proj\.weight" \(shape \[24, 16\]\) is missing/],
    ["a wrong shape", (t: Record<string, WritableTensor>) => {
      t["model.norm.weight"] = { dtype: "F32", shape: [15], data: new Float32Array(15) };
    }, /tensor "model\.norm\.weight": expected shape \[16\], got \[15\]/],
    ["a transposed weight", (t: Record<string, WritableTensor>) => {
      const w = t["model.layers.0.mlp.down_proj.weight"]!;
      t["model.layers.0.mlp.down_proj.weight"] = { ...w, shape: [24, 16] };
    }, /expected shape \[16, 24\], got \[24, 16\] \(transposed: Linear weights are stored \[out, in\]\)/],
    ["an integer tensor", (t: Record<string, WritableTensor>) => {
      t["model.norm.weight"] = { dtype: "I32", shape: [16], data: new Int32Array(16) };
    }, /tensor "model\.norm\.weight" has dtype I32/],
  ])("%s", (_what, edit, message) => {
    const d = editedLlama(edit);
    const before = tf.memory().numTensors;
    let err: unknown;
    try {
      loadHfModel(d);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HfWeightsError);
    expect((err as Error).message).toContain(file(d));
    expect((err as Error).message).toMatch(message);
    expect(tf.memory().numTensors).toBe(before); // the half-built model was disposed
  });

  it("a truncated weight file is a SafetensorsError naming the file", () => {
    const d = editedLlama(() => {});
    const bytes = fs.readFileSync(file(d));
    fs.writeFileSync(file(d), bytes.subarray(0, bytes.length - 10));
    expect(() => loadHfModel(d)).toThrow(SafetensorsError);
    expect(() => loadHfModel(d)).toThrow(file(d));
  });

  it("no weight file at all names what was looked for", () => {
    const d = editedLlama(() => {});
    fs.rmSync(file(d));
    expect(() => loadHfModel(d)).toThrow(/neither model\.safetensors nor model\.safetensors\.index\.json exists/);
  });

  it.each([
    ["hidden_act", "gelu", /config\.json: key "hidden_act" = "gelu" is not supported/],
    ["rope_scaling", { rope_type: "yarn", factor: 4 }, /key "rope_scaling" .* only unscaled RoPE/],
    ["model_type", "falcon", /key "model_type" = "falcon" is not supported/],
  ])("an unsupported config (%s) names config.json, the key and its value", (key, value, message) => {
    const d = editedLlama(() => {});
    const cfgFile = path.join(d, "config.json");
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, "utf8")), [key]: value }));
    expect(() => loadHfModel(d)).toThrow(HfConfigError);
    expect(() => loadHfModel(d)).toThrow(message);
    expect(() => loadHfModel(d)).toThrow(cfgFile);
  });

  it.each([
    ["BF16", 0x7f7f, 0x7f80, 0x7fc1], // largest finite, +Infinity, a NaN
    ["F16", 0x7bff, 0x7c00, 0x7e01],
  ] as const)("rawAllFinite reads %s exponents at every position, an odd tail included", (dtype, max, inf, nan) => {
    for (const n of [1, 2, 3, 8, 9, 17]) {
      const bits = new Uint16Array(n).map((_, i) => (i % 2 ? 0x8000 : 0) | (i % 3 ? max : 0x3c00));
      const bytes = () => new Uint8Array(bits.buffer.slice(0));
      expect(rawAllFinite(bytes(), dtype), `${n} finite`).toBe(true);
      for (let i = 0; i < n; i++) {
        for (const bad of [inf, inf | 0x8000, nan]) {
          const keep = bits[i]!;
          bits[i] = bad;
          expect(rawAllFinite(bytes(), dtype), `${n} values, ${bad.toString(16)} at ${i}`).toBe(false);
          bits[i] = keep;
        }
      }
    }
  });

  it("rawAllFinite reads F32 exponents", () => {
    const v = new Float32Array([0, -1, 3.4028234663852886e38, -1e-45, 7]);
    expect(rawAllFinite(new Uint8Array(v.buffer.slice(0)), "F32")).toBe(true);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (let i = 0; i < v.length; i++) {
        const w = Float32Array.from(v);
        w[i] = bad;
        expect(rawAllFinite(new Uint8Array(w.buffer), "F32"), `${bad} at ${i}`).toBe(false);
      }
    }
  });

  // f32 fills tensors; nf4 and bf16 read the file's bytes into the weight store, checked as they pass.
  it.each([
    ["F32", "f32"], ["F32", "nf4"], ["BF16", "bf16"], ["F16", "nf4"], ["BF16", "int8"],
  ] as const)("NaN weights and unused tensors are warnings naming the tensor (%s file, %s base)", (dtype, precision) => {
    const d = editedLlama((t) => {
      for (const v of Object.values(t)) v.dtype = dtype;
      (t["model.layers.0.mlp.gate_proj.weight"]!.data as Float32Array)[5] = NaN;
      (t["model.layers.1.self_attn.o_proj.weight"]!.data as Float32Array)[255] = -Infinity; // the last value: [16, 16]
      t["model.layers.0.self_attn.rotary_emb.inv_freq"] = { dtype: "F32", shape: [2], data: new Float32Array(2) }; // ignored buffer
      t["extra.weight"] = { dtype: "F32", shape: [2], data: new Float32Array(2) };
    });
    const { model, warnings } = loadHfModel(d, { precision });
    expect(warnings).toEqual([
      expect.stringMatching(/tensor "extra\.weight" is not used by the llama causal_lm model/),
      expect.stringMatching(/model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight" has 1 non-finite value \(1 NaN, 0 infinite; first at index 5: NaN\)/),
      expect.stringMatching(/model\.safetensors: tensor "model\.layers\.1\.self_attn\.o_proj\.weight" has 1 non-finite value \(0 NaN, 1 infinite; first at index 255: -Infinity\)/),
    ]);
    expect(model.storedWeights().size).toBe(precision === "f32" ? 0 : 2 * 7 + 2);
    model.dispose();
  });

  it("a missing classifier head is initialised fresh with a warning", () => {
    const m = hfModel("bert");
    const d = fresh();
    saveHfModel(m, d);
    const t = readAll(file(d));
    delete t["classifier.weight"];
    delete t["classifier.bias"];
    writeSafetensors(file(d), t, { format: "pt" });
    const { model, warnings } = loadHfModel(d);
    expect(warnings).toEqual([
      expect.stringContaining('tensor "classifier.weight" (shape [3, 16]) is missing; the classifier.weight head weight is initialised fresh'),
      expect.stringContaining('tensor "classifier.bias" (shape [3]) is missing; the classifier.bias head weight is initialised fresh'),
    ]);
    model.dispose();
    m.dispose();
  });
});

describe("pruned bases", () => {
  const cases: [string, string, (m: ReturnType<typeof hfModel>) => void, boolean, Record<string, unknown>][] = [
    ["gpt2, heads differ per layer", "gpt2", (m) => {
      m.blocks[0]!.pruneHeads([0, 2, 3]);
      m.blocks[1]!.pruneHeads([1]);
    }, true, { pruned_heads: { 0: [3], 1: [1, 2, 3] }, n_head: 4 }],
    ["bert, heads and equal FFN sizes", "bert", (m) => {
      m.blocks[1]!.pruneHeads([0, 1]);
      m.blocks.forEach((b) => b.pruneNeurons([1, 3, 5, 7, 9, 11]));
    }, true, { pruned_heads: { 1: [2, 3] }, intermediate_size: 6 }],
    ["llama, whole kv groups in every layer", "llama", (m) => m.blocks.forEach((b) => b.pruneHeads([2, 3])), true,
      { num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4 }],
    ["llama, FFN sizes differ per layer", "llama", (m) => {
      m.blocks[0]!.pruneNeurons([0, 5, 6, 20]);
      m.blocks[1]!.pruneHeads([0, 1]);
    }, false, {
      intermediate_size: 24, num_attention_heads: 4,
      peftlab_layers: [{ heads: 4, kv_heads: 2, intermediate: 4 }, { heads: 2, kv_heads: 1, intermediate: 24 }],
    }],
  ];
  it.each(cases)("%s: saved, loaded back with identical outputs", (_what, name, prune, stock, keys) => {
    const m = hfModel(name);
    prune(m);
    const want = outputsOf(m);
    const d = fresh();
    const saved = saveHfModel(m, d);
    expect(saved.stockReadable).toBe(stock);
    expect(saved.warnings.length).toBe(stock ? 0 : 1);
    expect(JSON.parse(fs.readFileSync(path.join(d, "config.json"), "utf8"))).toMatchObject(keys);
    const loaded = loadHfModel(d);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.model.blocks.map((b) => [b.heads, b.intermediate])).toEqual(m.blocks.map((b) => [b.heads, b.intermediate]));
    expect(maxAbsDiff(outputsOf(loaded.model), want)).toBe(0);
    m.dispose();
    loaded.model.dispose();
  });

  it("a bad peftlab_layers entry names the key and the layer", () => {
    const m = hfModel("llama");
    m.blocks[0]!.pruneNeurons([0, 1]);
    const d = fresh();
    saveHfModel(m, d);
    m.dispose();
    const cfgFile = path.join(d, "config.json");
    const raw = JSON.parse(fs.readFileSync(cfgFile, "utf8"));
    raw.peftlab_layers[1].heads = 3;
    fs.writeFileSync(cfgFile, JSON.stringify(raw));
    expect(() => loadHfModel(d)).toThrow(/config\.json: key "peftlab_layers" layer 1: heads 3 must be kv_heads 2 × 2/);
  });
});

describe("mergeAndUnload", () => {
  it.each(["llama", "gpt2", "roberta"])("%s: the merged base computes what base + adapter computes; the live model is untouched", (name) => {
    const m = hfModel(name);
    const targets = [...m.linears().keys()].filter((p) => /\.(q_proj|c_attn|c_fc|query|intermediate\.dense|down_proj)$/.test(p));
    const base = outputsOf(m);
    addLora(m, targets);
    const adapted = outputsOf(m);
    expect(maxAbsDiff(adapted, base)).toBeGreaterThan(1e-3);
    const d = fresh();
    const res = mergeAndUnload(m, "default", d);
    expect(res.modules).toEqual(targets);
    expect(maxAbsDiff(outputsOf(m), adapted)).toBe(0);
    expect([...m.linears().values()].every((l) => l.merged.size === 0)).toBe(true);
    const loaded = loadHfModel(d);
    expect(maxAbsDiff(outputsOf(loaded.model), adapted)).toBeLessThan(1e-5);
    loaded.model.dispose();
    mergeAndUnload(m, "default", fresh(), { inPlace: true });
    expect([...m.linears().values()].every((l) => !l.adapters.has("default"))).toBe(true);
    expect(maxAbsDiff(outputsOf(m), adapted)).toBeLessThan(1e-5);
    m.dispose();
  });

  it("saveHfModel refuses a model with a merged adapter", () => {
    const m = hfModel("llama");
    addLora(m, ["model.layers.0.self_attn.q_proj"]);
    m.linears().get("model.layers.0.self_attn.q_proj")!.merge("default");
    expect(() => saveHfModel(m, fresh())).toThrow(/adapter "default" is merged into model\.layers\.0\.self_attn\.q_proj; unmerge it first/);
    m.dispose();
  });
});
