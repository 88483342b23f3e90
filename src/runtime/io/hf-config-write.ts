// FamilyConfig → a config.json that transformers loads as the same model.
// parseHfConfig(toHfConfig(cfg)).config deep-equals cfg for every config this accepts.

import { validateFamilyConfig, type FamilyConfig } from "../models/config.js";

type Json = Record<string, unknown>;

/** The HF model_type a config is written as; errors when no supported type computes the same thing. */
export function hfModelType(cfg: FamilyConfig): string {
  const fail = (why: string): never => {
    throw new Error(`toHfConfig (${cfg.family}): ${why}`);
  };
  if (cfg.family === "gpt2") {
    if (!cfg.attentionBias || !cfg.attentionOutBias || !cfg.mlpBias) fail("GPT-2 always has attention and MLP biases");
    if (cfg.kvHeads !== cfg.heads) fail(`GPT-2 has no grouped-query attention (kvHeads ${cfg.kvHeads} != heads ${cfg.heads})`);
    if (cfg.act === "silu") fail("GPT-2 uses gelu or gelu_new, not silu");
    return "gpt2";
  }
  if (cfg.family === "bert") {
    if (!cfg.attentionBias || !cfg.attentionOutBias || !cfg.mlpBias) fail("BERT always has attention and MLP biases");
    if (cfg.act === "silu") fail("BERT uses gelu or gelu_new, not silu");
    if (cfg.positionOffset === 0) {
      if (cfg.modelType === "roberta") fail("RoBERTa needs positionOffset = pad_token_id + 1 >= 1");
      return "bert";
    }
    if (cfg.padTokenId !== null && cfg.padTokenId !== cfg.positionOffset - 1) {
      fail(`RoBERTa's pad token id must be positionOffset - 1 = ${cfg.positionOffset - 1}, got ${cfg.padTokenId}`);
    }
    return "roberta";
  }
  if (cfg.act !== "silu") fail(`the llama family uses silu, got ${cfg.act}`);
  const qwenBias = cfg.attentionBias && !cfg.attentionOutBias && !cfg.mlpBias;
  const noBias = !cfg.attentionBias && !cfg.attentionOutBias && !cfg.mlpBias;
  if (cfg.modelType === "qwen2" && qwenBias) return "qwen2";
  if (cfg.modelType === "mistral" && noBias) return "mistral";
  if (cfg.attentionBias === cfg.attentionOutBias) return "llama";
  if (qwenBias) return "qwen2";
  const layout = `q/k/v bias ${cfg.attentionBias}, o_proj bias ${cfg.attentionOutBias}, MLP bias ${cfg.mlpBias}`;
  return fail(`no HF model type has this bias layout (${layout}); llama has equal q/k/v and o_proj biases, qwen2 has q/k/v bias only`);
}

const ARCH: Record<string, [causal: string, classifier: string]> = {
  gpt2: ["GPT2LMHeadModel", "GPT2ForSequenceClassification"],
  llama: ["LlamaForCausalLM", "LlamaForSequenceClassification"],
  mistral: ["MistralForCausalLM", "MistralForSequenceClassification"],
  qwen2: ["Qwen2ForCausalLM", "Qwen2ForSequenceClassification"],
  bert: ["", "BertForSequenceClassification"], // encoders only have a classifier head
  roberta: ["", "RobertaForSequenceClassification"],
};

/** A config.json object for `cfg` (model_type, architectures, sizes, torch_dtype float32, labels). */
export function toHfConfig(cfg: FamilyConfig): Json {
  validateFamilyConfig(cfg, "toHfConfig");
  const type = hfModelType(cfg);
  const arch = ARCH[type]![cfg.head === "classifier" ? 1 : 0];
  const body = type === "gpt2" ? gpt2Keys(cfg) : cfg.family === "bert" ? bertKeys(cfg, type) : llamaKeys(cfg, type);
  const out: Json = { architectures: [arch], model_type: type, ...body, torch_dtype: "float32" };
  if (cfg.padTokenId !== null) out.pad_token_id = cfg.padTokenId;
  if (cfg.head === "classifier") Object.assign(out, labelKeys(cfg));
  return out;
}

function gpt2Keys(cfg: FamilyConfig): Json {
  return {
    vocab_size: cfg.vocabSize, n_embd: cfg.hidden, n_layer: cfg.layers, n_head: cfg.heads,
    n_positions: cfg.maxPositions, n_ctx: cfg.maxPositions, n_inner: cfg.intermediate === 4 * cfg.hidden ? null : cfg.intermediate,
    activation_function: cfg.act, layer_norm_epsilon: cfg.normEps, tie_word_embeddings: cfg.tieEmbeddings,
    resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, scale_attn_weights: true, initializer_range: 0.02,
  };
}

function llamaKeys(cfg: FamilyConfig, type: string): Json {
  const out: Json = {
    vocab_size: cfg.vocabSize, hidden_size: cfg.hidden, intermediate_size: cfg.intermediate,
    num_hidden_layers: cfg.layers, num_attention_heads: cfg.heads, num_key_value_heads: cfg.kvHeads,
    max_position_embeddings: cfg.maxPositions, rms_norm_eps: cfg.normEps, rope_theta: cfg.ropeTheta,
    rope_scaling: null, hidden_act: "silu", tie_word_embeddings: cfg.tieEmbeddings, attention_dropout: 0,
    initializer_range: 0.02,
  };
  if (cfg.headDim * cfg.heads !== cfg.hidden) out.head_dim = cfg.headDim;
  if (type === "llama") Object.assign(out, { attention_bias: cfg.attentionBias, mlp_bias: cfg.mlpBias });
  if (type === "mistral") out.sliding_window = null;
  if (type === "qwen2") Object.assign(out, { use_sliding_window: false, sliding_window: null });
  return out;
}

function bertKeys(cfg: FamilyConfig, type: string): Json {
  const out: Json = {
    vocab_size: cfg.vocabSize, hidden_size: cfg.hidden, num_hidden_layers: cfg.layers,
    num_attention_heads: cfg.heads, intermediate_size: cfg.intermediate, hidden_act: cfg.act,
    max_position_embeddings: cfg.maxPositions + cfg.positionOffset, type_vocab_size: cfg.typeVocab,
    layer_norm_eps: cfg.normEps, position_embedding_type: "absolute", hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0, initializer_range: 0.02,
  };
  if (type === "roberta") Object.assign(out, { pad_token_id: cfg.positionOffset - 1, bos_token_id: 0, eos_token_id: 2 });
  return out;
}

function labelKeys(cfg: FamilyConfig): Json {
  const names = cfg.labelNames ?? Array.from({ length: cfg.numLabels }, (_, i) => `LABEL_${i}`);
  if (new Set(names).size !== names.length) throw new Error(`toHfConfig: label names must be distinct, got ${JSON.stringify(names)}`);
  return {
    id2label: Object.fromEntries(names.map((n, i) => [String(i), n])),
    label2id: Object.fromEntries(names.map((n, i) => [n, i])),
  };
}
