import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { BuiltinModelSpec } from "../../src/dsl/plan.js";
import {
  familyConfigFromSpec, HfConfigError, loadHfConfig, parseHfConfig, toHfConfig, type HfConfigOptions,
} from "../../src/runtime/io/hf-config.js";
import type { FamilyConfig } from "../../src/runtime/models/config.js";
import { tempDir } from "./helpers.js";

// Trimmed copies of real config.json files (sizes as published, irrelevant keys dropped).
const GPT2 = {
  architectures: ["GPT2LMHeadModel"], model_type: "gpt2", activation_function: "gelu_new", n_ctx: 1024, n_embd: 768,
  n_head: 12, n_layer: 12, n_positions: 1024, layer_norm_epsilon: 1e-5, vocab_size: 50257, resid_pdrop: 0.1,
};
const LLAMA = {
  architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_act: "silu", hidden_size: 2048, intermediate_size: 5632,
  max_position_embeddings: 2048, num_attention_heads: 32, num_hidden_layers: 22, num_key_value_heads: 4,
  rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 10000.0, tie_word_embeddings: false, vocab_size: 32000,
  attention_bias: false, bos_token_id: 1, eos_token_id: 2,
};
const MISTRAL = {
  architectures: ["MistralForCausalLM"], model_type: "mistral", hidden_act: "silu", hidden_size: 4096, intermediate_size: 14336,
  max_position_embeddings: 32768, num_attention_heads: 32, num_hidden_layers: 32, num_key_value_heads: 8,
  rms_norm_eps: 1e-5, rope_theta: 10000.0, sliding_window: 4096, tie_word_embeddings: false, vocab_size: 32000,
};
const QWEN2 = {
  architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", hidden_act: "silu", hidden_size: 896, intermediate_size: 4864,
  max_position_embeddings: 32768, max_window_layers: 24, num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2,
  rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, use_sliding_window: false,
  vocab_size: 151936,
};
const BERT = {
  architectures: ["BertForMaskedLM"], model_type: "bert", attention_probs_dropout_prob: 0.1, hidden_act: "gelu", hidden_size: 768,
  intermediate_size: 3072, layer_norm_eps: 1e-12, max_position_embeddings: 512, num_attention_heads: 12, num_hidden_layers: 12,
  pad_token_id: 0, position_embedding_type: "absolute", type_vocab_size: 2, vocab_size: 30522,
};
const ROBERTA = {
  architectures: ["RobertaForSequenceClassification"], model_type: "roberta", bos_token_id: 0, eos_token_id: 2, hidden_act: "gelu",
  hidden_size: 768, intermediate_size: 3072, layer_norm_eps: 1e-5, max_position_embeddings: 514, num_attention_heads: 12,
  num_hidden_layers: 12, pad_token_id: 1, type_vocab_size: 1, vocab_size: 50265,
  id2label: { "0": "negative", "1": "positive" }, label2id: { negative: 0, positive: 1 },
};

const base = {
  padTokenId: null, positionOffset: 0, typeVocab: 0, ropeTheta: 0, numLabels: 0, head: "causal_lm",
} as const;

const families: [string, object, HfConfigOptions, FamilyConfig][] = [
  ["gpt2", GPT2, {}, {
    ...base, family: "gpt2", modelType: "gpt2", vocabSize: 50257, hidden: 768, layers: 12, heads: 12, kvHeads: 12, headDim: 64,
    intermediate: 3072, maxPositions: 1024, normEps: 1e-5, tieEmbeddings: true, attentionBias: true, attentionOutBias: true,
    mlpBias: true, act: "gelu_new",
  }],
  ["llama (TinyLlama, GQA)", LLAMA, {}, {
    ...base, family: "llama", modelType: "llama", vocabSize: 32000, hidden: 2048, layers: 22, heads: 32, kvHeads: 4, headDim: 64,
    intermediate: 5632, maxPositions: 2048, normEps: 1e-5, ropeTheta: 10000, tieEmbeddings: false, attentionBias: false,
    attentionOutBias: false, mlpBias: false, act: "silu",
  }],
  ["mistral capped at its window", MISTRAL, {}, {
    ...base, family: "llama", modelType: "mistral", vocabSize: 32000, hidden: 4096, layers: 32, heads: 32, kvHeads: 8, headDim: 128,
    intermediate: 14336, maxPositions: 4096, normEps: 1e-5, ropeTheta: 10000, tieEmbeddings: false, attentionBias: false,
    attentionOutBias: false, mlpBias: false, act: "silu",
  }],
  ["qwen2 (q/k/v bias only)", QWEN2, {}, {
    ...base, family: "llama", modelType: "qwen2", vocabSize: 151936, hidden: 896, layers: 24, heads: 14, kvHeads: 2, headDim: 64,
    intermediate: 4864, maxPositions: 32768, normEps: 1e-6, ropeTheta: 1e6, tieEmbeddings: true, attentionBias: true,
    attentionOutBias: false, mlpBias: false, act: "silu",
  }],
  ["bert base with a fresh 3-label head", BERT, { labels: 3 }, {
    ...base, family: "bert", modelType: "bert", vocabSize: 30522, hidden: 768, layers: 12, heads: 12, kvHeads: 12, headDim: 64,
    intermediate: 3072, maxPositions: 512, normEps: 1e-12, tieEmbeddings: false, attentionBias: true, attentionOutBias: true,
    mlpBias: true, act: "gelu", typeVocab: 2, head: "classifier", numLabels: 3, padTokenId: 0,
  }],
  ["roberta classifier", ROBERTA, {}, {
    ...base, family: "bert", modelType: "roberta", vocabSize: 50265, hidden: 768, layers: 12, heads: 12, kvHeads: 12, headDim: 64,
    intermediate: 3072, maxPositions: 512, normEps: 1e-5, tieEmbeddings: false, attentionBias: true, attentionOutBias: true,
    mlpBias: true, act: "gelu", typeVocab: 1, positionOffset: 2, head: "classifier", numLabels: 2,
    labelNames: ["negative", "positive"], padTokenId: 1,
  }],
];

describe("parseHfConfig", () => {
  it.each(families)("%s", (_label, json, opts, expected) => {
    expect(parseHfConfig(json, opts).config).toEqual(expected);
  });

  it.each(families)("%s survives toHfConfig → parseHfConfig", (_label, json, opts) => {
    const cfg = parseHfConfig(json, opts).config;
    expect(parseHfConfig(toHfConfig(cfg)).config).toEqual(cfg);
  });

  it("warns when sliding_window caps the context, and errors when the run needs more", () => {
    expect(parseHfConfig(MISTRAL).warnings[0]).toMatch(/sliding_window 4096 < max_position_embeddings 32768: sequences are limited to 4096/);
    expect(parseHfConfig({ ...MISTRAL, sliding_window: null }).config.maxPositions).toBe(32768);
    expect(parseHfConfig(MISTRAL, { context: 4096 }).config.maxPositions).toBe(4096);
    expect(() => parseHfConfig(MISTRAL, { context: 8192, file: "m/config.json" })).toThrow(
      'm/config.json: key "sliding_window" = 4096: sliding-window attention is not implemented and would change results for the requested context of 8192 tokens; use a context of at most 4096',
    );
    expect(parseHfConfig({ ...QWEN2, use_sliding_window: true, sliding_window: 4096 }).config.maxPositions).toBe(4096);
  });

  it("reads the head from architectures unless asked", () => {
    expect(parseHfConfig({ ...LLAMA, architectures: ["LlamaForSequenceClassification"], num_labels: 5 }).config).toMatchObject({ head: "classifier", numLabels: 5 });
    expect(parseHfConfig(GPT2, { head: "classifier", labels: 4 }).config).toMatchObject({ head: "classifier", numLabels: 4 });
    expect(parseHfConfig({ ...GPT2, architectures: undefined }).config.head).toBe("causal_lm");
    expect(parseHfConfig(GPT2, { head: "classifier" }).config.numLabels).toBe(2);
  });

  it("warns when the run's labels differ from the config's", () => {
    const { config, warnings } = parseHfConfig(ROBERTA, { labels: 5, file: "r.json" });
    expect(config.numLabels).toBe(5);
    expect(config.labelNames).toBeUndefined();
    expect(warnings).toEqual(["r.json: the config has 2 labels, the run uses 5; the classifier head is initialised fresh"]);
  });

  it("accepts n_inner, head_dim, rope_parameters and attention_bias variants", () => {
    expect(parseHfConfig({ ...GPT2, n_inner: 1000 }).config.intermediate).toBe(1000);
    expect(parseHfConfig({ ...LLAMA, head_dim: 128 }).config.headDim).toBe(128);
    expect(parseHfConfig({ ...LLAMA, rope_theta: undefined, rope_parameters: { rope_type: "default", rope_theta: 5e5 } }).config.ropeTheta).toBe(5e5);
    expect(parseHfConfig({ ...LLAMA, attention_bias: true, mlp_bias: true }).config).toMatchObject({ attentionBias: true, attentionOutBias: true, mlpBias: true });
    expect(parseHfConfig({ ...GPT2, activation_function: "gelu_pytorch_tanh" }).config.act).toBe("gelu_new");
  });

  const bad: [string, object, string][] = [
    ["unknown model_type", { ...LLAMA, model_type: "falcon" }, 'key "model_type" = "falcon" is not supported (supported: gpt2, llama, mistral, qwen2, bert, roberta)'],
    ["llama gelu", { ...LLAMA, hidden_act: "gelu" }, 'key "hidden_act" = "gelu" is not supported: the llama family uses SiLU (silu)'],
    ["rope scaling", { ...LLAMA, rope_scaling: { type: "linear", factor: 2 } }, 'key "rope_scaling" = {"type":"linear","factor":2} is not supported: only unscaled RoPE'],
    ["llama3 rope", { ...LLAMA, rope_scaling: { rope_type: "llama3", factor: 8 } }, 'key "rope_scaling" = {"rope_type":"llama3","factor":8} is not supported'],
    ["missing size", { ...LLAMA, hidden_size: undefined }, 'key "hidden_size" is missing (a required size)'],
    ["string size", { ...GPT2, n_layer: "12" }, 'key "n_layer" = "12" must be an integer >= 1'],
    ["gpt2 relu", { ...GPT2, activation_function: "relu" }, 'key "activation_function" = "relu" is not supported'],
    ["gpt2 layer-idx scaling", { ...GPT2, scale_attn_by_inverse_layer_idx: true }, 'key "scale_attn_by_inverse_layer_idx" = true is not supported: per-layer attention scaling'],
    ["bert relative positions", { ...BERT, position_embedding_type: "relative_key" }, 'key "position_embedding_type" = "relative_key" is not supported: only absolute'],
    ["bert as a causal LM", BERT, 'key "model_type" = "bert" is an encoder: only a classifier head is supported'],
    ["multi-label", { ...ROBERTA, problem_type: "multi_label_classification" }, 'key "problem_type" = "multi_label_classification" is not supported'],
    ["bad id2label", { ...ROBERTA, id2label: { "0": "a", "5": "b" } }, 'key "id2label" = {"0":"a","5":"b"} must map "0".."1" to label names'],
    ["heads not dividing kv heads", { ...LLAMA, num_key_value_heads: 5 }, "heads (32) must be a multiple of kvHeads (5)"],
    ["not an object", [1, 2] as unknown as object, "is not a JSON object"],
  ];

  it.each(bad)("rejects %s naming the key and value", (label, json, msg) => {
    const opts: HfConfigOptions = { file: "some/config.json", head: label === "bert as a causal LM" ? "causal_lm" : "auto" };
    let err: unknown;
    try {
      parseHfConfig(json, opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HfConfigError);
    expect((err as Error).message.startsWith("some/config.json: ")).toBe(true);
    expect((err as Error).message).toContain(msg);
  });

  it("loads config.json from a folder", () => {
    const dir = tempDir("cfg");
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(QWEN2));
    expect(loadHfConfig(dir).config.modelType).toBe("qwen2");
    fs.writeFileSync(path.join(dir, "config.json"), "{");
    expect(() => loadHfConfig(dir)).toThrow(new RegExp(`${path.join(dir, "config.json")}: cannot be read as JSON`));
  });
});

describe("toHfConfig", () => {
  it("writes the architectures and keys transformers expects", () => {
    const cfg = parseHfConfig(LLAMA, { head: "classifier", labels: 3 }).config;
    const out = toHfConfig(cfg);
    expect(out).toMatchObject({
      architectures: ["LlamaForSequenceClassification"], model_type: "llama", num_key_value_heads: 4, torch_dtype: "float32",
      id2label: { "0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2" }, label2id: { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 },
    });
    expect(toHfConfig(parseHfConfig(GPT2).config)).toMatchObject({ architectures: ["GPT2LMHeadModel"], n_inner: null, n_positions: 1024 });
    expect(toHfConfig(parseHfConfig(BERT).config)).toMatchObject({ architectures: ["BertForSequenceClassification"], max_position_embeddings: 512 });
    expect(toHfConfig(parseHfConfig(ROBERTA).config)).toMatchObject({ model_type: "roberta", max_position_embeddings: 514, pad_token_id: 1 });
  });

  it("rejects configs no supported model type computes", () => {
    const gpt2 = parseHfConfig(GPT2).config;
    expect(() => toHfConfig({ ...gpt2, kvHeads: 4 })).toThrow(/GPT-2 has no grouped-query attention/);
    const llama = parseHfConfig(LLAMA).config;
    expect(() => toHfConfig({ ...llama, attentionOutBias: true })).toThrow(/no HF model type has this bias layout \(q\/k\/v bias false, o_proj bias true, MLP bias false\)/);
    expect(() => toHfConfig({ ...llama, attentionBias: true, mlpBias: true })).toThrow(/q\/k\/v bias true, o_proj bias false, MLP bias true/);
    expect(toHfConfig({ ...llama, modelType: "llama", attentionBias: true }).model_type).toBe("qwen2");
  });
});

describe("familyConfigFromSpec", () => {
  const spec = (over: Partial<BuiltinModelSpec>): BuiltinModelSpec => ({
    kind: "builtin", family: "llama", head: "causal_lm", layers: 2, hidden: 64, heads: 4, kvHeads: 2, intermediate: 176,
    context: 128, vocab: "auto", labels: "auto", initSeed: 1, precision: "f32", ...over,
  });

  it.each([
    ["llama", spec({}), { family: "llama", kvHeads: 2, headDim: 16, act: "silu", attentionBias: false, tieEmbeddings: false, ropeTheta: 10000 }],
    ["gpt2", spec({ family: "gpt2", kvHeads: 4, intermediate: 256 }), { family: "gpt2", kvHeads: 4, act: "gelu_new", attentionBias: true, tieEmbeddings: true }],
    ["bert", spec({ family: "bert", head: "classifier", intermediate: 256 }), { family: "bert", numLabels: 3, typeVocab: 2, act: "gelu", normEps: 1e-12 }],
  ])("%s", (_label, s, expected) => {
    const cfg = familyConfigFromSpec(s, 100, 3);
    expect(cfg).toMatchObject({ vocabSize: 100, hidden: 64, layers: 2, maxPositions: 128, ...expected });
    expect(parseHfConfig(toHfConfig(cfg)).config).toEqual(cfg);
  });

  it("rejects inconsistent specs", () => {
    expect(() => familyConfigFromSpec(spec({ family: "bert" }), 100, 2)).toThrow(/bert family supports only a classifier head/);
    expect(() => familyConfigFromSpec(spec({ heads: 5 }), 100, 0)).toThrow(/headDim must be an integer/);
    expect(() => familyConfigFromSpec(spec({ kvHeads: 3 }), 100, 0)).toThrow(/multiple of kvHeads \(3\)/);
    expect(() => familyConfigFromSpec(spec({ head: "classifier" }), 100, 0)).toThrow(/numLabels >= 1/);
  });
});
