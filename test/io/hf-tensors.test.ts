import { describe, expect, it } from "vitest";
import {
  checkWeights, expectedTensors, exportTensorName, linearModules, normaliseTensorName, parseHfConfig,
} from "../../src/runtime/io/hf-config.js";
import type { FamilyConfig } from "../../src/runtime/models/config.js";

const tiny = {
  llama: parseHfConfig({
    model_type: "llama", vocab_size: 50, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, tie_word_embeddings: false,
  }).config,
  qwen2: parseHfConfig({
    model_type: "qwen2", vocab_size: 50, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 4,
    num_key_value_heads: 2, tie_word_embeddings: true, architectures: ["Qwen2ForSequenceClassification"], num_labels: 3,
  }).config,
  gpt2: parseHfConfig({ model_type: "gpt2", vocab_size: 50, n_embd: 16, n_layer: 2, n_head: 4, n_positions: 32 }).config,
  bert: parseHfConfig({
    model_type: "bert", vocab_size: 50, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2,
    max_position_embeddings: 40,
  }).config,
  roberta: parseHfConfig({
    model_type: "roberta", vocab_size: 50, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2,
    max_position_embeddings: 34, type_vocab_size: 1, pad_token_id: 1,
  }).config,
};

const asMap = (cfg: FamilyConfig, rename: (n: string) => string = (n) => n) =>
  new Map(expectedTensors(cfg).map((t) => [rename(t.name), t.shape] as [string, number[]]));

describe("expectedTensors", () => {
  it.each([
    ["llama", tiny.llama, 2 + 2 * 9 + 1, [
      ["model.embed_tokens.weight", [50, 16]], ["model.layers.1.self_attn.q_proj.weight", [16, 16]],
      ["model.layers.1.self_attn.k_proj.weight", [8, 16]], ["model.layers.0.self_attn.o_proj.weight", [16, 16]],
      ["model.layers.0.mlp.down_proj.weight", [16, 24]], ["model.norm.weight", [16]], ["lm_head.weight", [50, 16]],
    ]],
    ["qwen2 classifier", tiny.qwen2, 2 + 12 + 1, [
      ["model.layers.0.self_attn.q_proj.bias", [16]], ["model.layers.0.self_attn.v_proj.bias", [8]], ["score.weight", [3, 16]],
    ]],
    ["gpt2", tiny.gpt2, 2 + 2 * 12 + 2, [
      ["transformer.wpe.weight", [32, 16]], ["transformer.h.0.attn.c_attn.weight", [16, 48]], ["transformer.h.0.attn.c_attn.bias", [48]],
      ["transformer.h.1.mlp.c_fc.weight", [16, 64]], ["transformer.h.1.mlp.c_proj.weight", [64, 16]], ["transformer.ln_f.bias", [16]],
    ]],
    ["bert", tiny.bert, 5 + 16 + 4, [
      ["bert.embeddings.position_embeddings.weight", [40, 16]], ["bert.embeddings.token_type_embeddings.weight", [2, 16]],
      ["bert.encoder.layer.0.attention.self.key.bias", [16]], ["bert.encoder.layer.0.intermediate.dense.weight", [32, 16]],
      ["bert.encoder.layer.0.output.LayerNorm.weight", [16]], ["bert.pooler.dense.weight", [16, 16]], ["classifier.weight", [2, 16]],
    ]],
    ["roberta", tiny.roberta, 5 + 16 + 4, [["bert.embeddings.position_embeddings.weight", [34, 16]], ["bert.embeddings.token_type_embeddings.weight", [1, 16]]]],
  ] as [string, FamilyConfig, number, [string, number[]][]][])("%s", (_l, cfg, count, samples) => {
    const all = expectedTensors(cfg);
    expect(all).toHaveLength(count);
    expect(new Set(all.map((t) => t.name)).size).toBe(count);
    const byName = new Map(all.map((t) => [t.name, t.shape]));
    for (const [name, shape] of samples) expect(byName.get(name), name).toEqual(shape);
    expect(all.some((t) => t.name === "lm_head.weight")).toBe(cfg.head === "causal_lm" && !cfg.tieEmbeddings);
  });

  it("lists linear modules with Conv1D flags for gpt2", () => {
    const g = linearModules(tiny.gpt2);
    expect(g.map((m) => m.path.replace("transformer.h.0.", ""))).toContain("attn.c_attn");
    expect(g.every((m) => m.conv1d)).toBe(true);
    expect(linearModules(tiny.llama).filter((m) => m.path.startsWith("model.layers.0."))).toHaveLength(7);
    expect(linearModules(tiny.llama).some((m) => m.conv1d)).toBe(false);
    expect(linearModules(tiny.bert).filter((m) => m.role === "head").map((m) => m.path)).toEqual(["bert.pooler.dense", "classifier"]);
  });
});

describe("normaliseTensorName", () => {
  it.each([
    [tiny.gpt2, "h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.weight"],
    [tiny.gpt2, "wte.weight", "transformer.wte.weight"],
    [tiny.gpt2, "h.3.attn.bias", null],
    [tiny.gpt2, "transformer.h.3.attn.masked_bias", null],
    [tiny.gpt2, "lm_head.weight", null],
    [tiny.llama, "layers.0.mlp.up_proj.weight", "model.layers.0.mlp.up_proj.weight"],
    [tiny.llama, "model.layers.0.self_attn.rotary_emb.inv_freq", null],
    [tiny.llama, "lm_head.weight", "lm_head.weight"],
    [tiny.bert, "embeddings.LayerNorm.gamma", "bert.embeddings.LayerNorm.weight"],
    [tiny.bert, "bert.encoder.layer.0.output.LayerNorm.beta", "bert.encoder.layer.0.output.LayerNorm.bias"],
    [tiny.bert, "bert.embeddings.position_ids", null],
    [tiny.bert, "cls.predictions.bias", "cls.predictions.bias"],
    [tiny.roberta, "roberta.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.0.attention.self.query.weight"],
    [tiny.roberta, "classifier.dense.weight", "bert.pooler.dense.weight"],
    [tiny.roberta, "classifier.out_proj.bias", "classifier.bias"],
    [tiny.roberta, "roberta.pooler.dense.weight", null],
  ] as [FamilyConfig, string, string | null][])("%#: %s", (cfg, name, expected) => {
    expect(normaliseTensorName(name, cfg)).toBe(expected);
  });

  it("exportTensorName inverts the roberta mapping", () => {
    for (const t of expectedTensors(tiny.roberta)) {
      const out = exportTensorName(t.name, tiny.roberta);
      expect(out.startsWith("bert.")).toBe(false);
      expect(normaliseTensorName(out, tiny.roberta)).toBe(t.name);
    }
    expect(exportTensorName("classifier.weight", tiny.roberta)).toBe("classifier.out_proj.weight");
    expect(exportTensorName("bert.pooler.dense.bias", tiny.bert)).toBe("bert.pooler.dense.bias");
  });
});

describe("checkWeights", () => {
  it("accepts a complete file", () => {
    for (const cfg of Object.values(tiny)) {
      const res = checkWeights(cfg, asMap(cfg), "m.safetensors");
      expect(res.errors).toEqual([]);
      expect(res.warnings).toEqual([]);
      expect(res.sources.size).toBe(expectedTensors(cfg).length);
    }
  });

  it("maps the HF gpt2 checkpoint layout (no prefix, mask buffers, tied lm_head)", () => {
    const files = asMap(tiny.gpt2, (n) => n.replace(/^transformer\./, ""));
    files.set("h.0.attn.bias", [1, 1, 32, 32]);
    files.set("lm_head.weight", [50, 16]);
    const res = checkWeights(tiny.gpt2, files, "gpt2.safetensors");
    expect(res.errors).toEqual([]);
    expect(res.warnings).toEqual([]);
    expect(res.sources.get("transformer.h.1.ln_2.weight")).toBe("h.1.ln_2.weight");
  });

  it("maps a RoBERTa checkpoint without a classifier: pooler ignored, head fresh", () => {
    const files = asMap(tiny.roberta, (n) => exportTensorName(n, tiny.roberta));
    for (const n of ["classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"]) files.delete(n);
    files.set("roberta.pooler.dense.weight", [16, 16]);
    files.set("lm_head.dense.weight", [16, 16]);
    const res = checkWeights(tiny.roberta, files, "r.safetensors");
    expect(res.errors).toEqual([]);
    expect(res.fresh).toEqual(["bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"]);
    expect(res.warnings).toContain('r.safetensors: tensor "lm_head.dense.weight" is not used by the roberta classifier model');
    expect(res.sources.get("bert.embeddings.word_embeddings.weight")).toBe("roberta.embeddings.word_embeddings.weight");
  });

  it("reports missing tensors, bad shapes, collisions and extras naming file and tensor", () => {
    const files = asMap(tiny.gpt2);
    files.delete("transformer.h.1.ln_1.weight");
    files.set("transformer.h.0.attn.c_attn.weight", [48, 16]);
    files.set("wte.weight", [50, 16]);
    files.set("transformer.h.9.ln_1.weight", [16]);
    const res = checkWeights(tiny.gpt2, files, "x.safetensors");
    expect(res.errors).toEqual([
      'x.safetensors: tensors "transformer.wte.weight" and "wte.weight" both name "transformer.wte.weight"',
      'x.safetensors: tensor "transformer.h.0.attn.c_attn.weight": expected shape [16, 48], got [48, 16] (transposed: GPT-2 Conv1D weights are stored [in, out])',
      'x.safetensors: tensor "transformer.h.1.ln_1.weight" (shape [16]) is missing',
    ]);
    expect(res.warnings).toEqual(['x.safetensors: tensor "transformer.h.9.ln_1.weight" is not used by the gpt2 causal_lm model']);
  });

  it("re-initialises a head of another label count instead of failing", () => {
    const files = asMap(tiny.qwen2);
    files.set("score.weight", [5, 16]);
    const res = checkWeights(tiny.qwen2, files, "q.safetensors");
    expect(res.errors).toEqual([]);
    expect(res.fresh).toEqual(["score.weight"]);
    expect(res.warnings[0]).toMatch(/tensor "score.weight": expected shape \[3, 16\], got \[5, 16\]; the score.weight head weight is initialised fresh/);
  });
});
