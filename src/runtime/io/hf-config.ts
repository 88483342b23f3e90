// Hugging Face config.json ⇄ FamilyConfig.
//
// parseHfConfig accepts model_type gpt2 → gpt2; llama, mistral, qwen2 → llama; bert, roberta → bert.
// Anything that would make our model compute something different from the HF model (another
// activation, rope scaling, sliding windows longer sequences would hit, relative positions, ...)
// is an HfConfigError naming the file, the key and its value. The core sizes must be present;
// optional keys take the transformers defaults.

import * as fs from "node:fs";
import * as path from "node:path";
import type { HeadKind } from "../../dsl/plan.js";
import { validateFamilyConfig, type Activation, type FamilyConfig } from "../models/config.js";

export { familyConfigFromSpec } from "../models/config.js";
export { toHfConfig } from "./hf-config-write.js";
export {
  checkWeights, expectedTensors, exportTensorName, linearModules, normaliseTensorName,
  type ExpectedTensor, type LinearModule, type WeightCheck,
} from "./hf-tensors.js";

/** A config.json we cannot run, naming the key and its value. */
export class HfConfigError extends Error {
  constructor(readonly file: string, readonly key: string | null, detail: string) {
    super(`${file}: ${key !== null ? `key "${key}" ` : ""}${detail}`);
    this.name = "HfConfigError";
  }
}

export interface HfConfigOptions {
  /** Shown in errors (default "config.json"). */
  file?: string;
  /** Head to build; "auto" (default) reads `architectures`. */
  head?: HeadKind | "auto";
  /** Number of labels of a classifier; "auto" (default) reads id2label / num_labels (HF default 2). */
  labels?: number | "auto";
  /** Longest sequence the run will use, checked against sliding windows. */
  context?: number;
}

export interface ParsedHfConfig {
  config: FamilyConfig;
  warnings: string[];
}

export const SUPPORTED_MODEL_TYPES = ["gpt2", "llama", "mistral", "qwen2", "bert", "roberta"] as const;

/** Reads `<dir>/config.json` (or the file itself) and parses it. */
export function loadHfConfig(fileOrDir: string, opts: Omit<HfConfigOptions, "file"> = {}): ParsedHfConfig {
  const file = fs.existsSync(fileOrDir) && fs.statSync(fileOrDir).isDirectory() ? path.join(fileOrDir, "config.json") : fileOrDir;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new HfConfigError(file, null, `cannot be read as JSON: ${(e as Error).message}`);
  }
  return parseHfConfig(json, { ...opts, file });
}

/** Typed access to config keys; every bad value is an error naming the key. */
class Keys {
  constructor(readonly file: string, readonly raw: Record<string, unknown>) {}

  fail(key: string | null, detail: string): never {
    throw new HfConfigError(this.file, key, detail);
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  show(key: string): string {
    return `= ${JSON.stringify(this.raw[key])}`;
  }

  int(key: string, fallback?: number, min = 1): number {
    if (!this.has(key)) return fallback ?? this.fail(key, "is missing (a required size)");
    const v = this.raw[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) this.fail(key, `${this.show(key)} must be an integer >= ${min}`);
    return v as number;
  }

  num(key: string, fallback: number): number {
    if (!this.has(key)) return fallback;
    const v = this.raw[key];
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(key, `${this.show(key)} must be a number`);
    return v as number;
  }

  bool(key: string, fallback: boolean): boolean {
    if (!this.has(key)) return fallback;
    const v = this.raw[key];
    if (typeof v !== "boolean") this.fail(key, `${this.show(key)} must be true or false`);
    return v as boolean;
  }

  str(key: string, fallback: string): string {
    if (!this.has(key)) return fallback;
    const v = this.raw[key];
    if (typeof v !== "string") this.fail(key, `${this.show(key)} must be a string`);
    return v as string;
  }

  /** Errors when `key` is set to something other than the allowed values. */
  only(key: string, allowed: unknown[], why: string): void {
    if (this.has(key) && !allowed.includes(this.raw[key])) this.fail(key, `${this.show(key)} is not supported: ${why}`);
  }
}

/** Parses an HF config.json object into a FamilyConfig. */
export function parseHfConfig(json: unknown, opts: HfConfigOptions = {}): ParsedHfConfig {
  const file = opts.file ?? "config.json";
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new HfConfigError(file, null, "is not a JSON object");
  const k = new Keys(file, json as Record<string, unknown>);
  const modelType = k.str("model_type", "");
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    k.fail("model_type", `${k.show("model_type")} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(", ")})`);
  }
  const warnings: string[] = [];
  const body = modelType === "gpt2" ? gpt2Body(k) : modelType === "bert" || modelType === "roberta" ? bertBody(k, modelType) : llamaBody(k, modelType, opts, warnings);
  const head = resolveHead(k, body.family!, opts.head ?? "auto");
  const padTokenId = modelType === "roberta" ? body.positionOffset! - 1 : padOf(k);
  const cfg = { ...body, modelType, head, ...labelsOf(k, head, opts.labels ?? "auto", warnings), padTokenId } as FamilyConfig;
  try {
    validateFamilyConfig(cfg, file);
  } catch (e) {
    throw new HfConfigError(file, null, (e as Error).message.slice(file.length + 2));
  }
  return { config: cfg, warnings };
}

type Body = Partial<FamilyConfig>;

function gpt2Body(k: Keys): Body {
  const hidden = k.int("n_embd");
  const heads = k.int("n_head");
  const actRaw = k.str("activation_function", "gelu_new");
  const act: Activation | null = actRaw === "gelu_new" || actRaw === "gelu_pytorch_tanh" ? "gelu_new" : actRaw === "gelu" ? "gelu" : null;
  if (!act) k.fail("activation_function", `${k.show("activation_function")} is not supported (gelu_new, gelu_pytorch_tanh, gelu)`);
  k.only("scale_attn_weights", [true], "attention scores are always scaled by 1/sqrt(head_dim)");
  k.only("scale_attn_by_inverse_layer_idx", [false], "per-layer attention scaling is not implemented");
  k.only("add_cross_attention", [false], "cross-attention is not implemented");
  return {
    family: "gpt2", vocabSize: k.int("vocab_size"), hidden, layers: k.int("n_layer"), heads, kvHeads: heads,
    headDim: hidden / heads, intermediate: k.has("n_inner") ? k.int("n_inner") : 4 * hidden,
    maxPositions: k.int("n_positions", 1024), normEps: k.num("layer_norm_epsilon", 1e-5), ropeTheta: 0,
    tieEmbeddings: k.bool("tie_word_embeddings", true), attentionBias: true, attentionOutBias: true, mlpBias: true,
    act: act!, typeVocab: 0, positionOffset: 0,
  };
}

/** transformers' defaults for optional keys that differ between the llama-like model types. */
const LLAMA_DEFAULTS: Record<string, { maxPositions: number; kvHeads: number | null }> = {
  llama: { maxPositions: 2048, kvHeads: null },
  mistral: { maxPositions: 4096 * 32, kvHeads: 8 },
  qwen2: { maxPositions: 32768, kvHeads: 32 },
};

function llamaBody(k: Keys, modelType: string, opts: HfConfigOptions, warnings: string[]): Body {
  const hidden = k.int("hidden_size");
  const heads = k.int("num_attention_heads");
  k.only("hidden_act", ["silu"], "the llama family uses SiLU (silu)");
  checkRope(k);
  const qwen = modelType === "qwen2";
  const llama = modelType === "llama";
  const d = LLAMA_DEFAULTS[modelType]!;
  const maxPositions = slidingWindowCap(k, modelType, k.int("max_position_embeddings", d.maxPositions), opts, warnings);
  const ropeParams = k.raw.rope_parameters as Record<string, unknown> | undefined;
  const ropeTheta = typeof ropeParams?.rope_theta === "number" ? ropeParams.rope_theta : k.num("rope_theta", 10000);
  return {
    family: "llama", vocabSize: k.int("vocab_size"), hidden, layers: k.int("num_hidden_layers"), heads,
    kvHeads: k.int("num_key_value_heads", d.kvHeads ?? heads), headDim: k.has("head_dim") ? k.int("head_dim") : hidden / heads,
    intermediate: k.int("intermediate_size"), maxPositions, normEps: k.num("rms_norm_eps", 1e-6), ropeTheta,
    tieEmbeddings: k.bool("tie_word_embeddings", false),
    attentionBias: qwen || (llama && k.bool("attention_bias", false)),
    attentionOutBias: llama && k.bool("attention_bias", false),
    mlpBias: llama && k.bool("mlp_bias", false), act: "silu", typeVocab: 0, positionOffset: 0,
  };
}

/** Only plain RoPE: `rope_scaling` null / default, `rope_parameters.rope_type` default. */
function checkRope(k: Keys): void {
  for (const key of ["rope_scaling", "rope_parameters"]) {
    if (!k.has(key)) continue;
    const v = k.raw[key] as Record<string, unknown>;
    const type = typeof v === "object" ? (v.rope_type ?? v.type ?? "default") : "?";
    if (type !== "default") k.fail(key, `${k.show(key)} is not supported: only unscaled RoPE (rope_type "default") is implemented`);
  }
}

/**
 * Sliding-window attention changes results only for sequences longer than the window, so the usable
 * context is capped at the window (with a warning); a requested context beyond it is an error.
 */
function slidingWindowCap(k: Keys, modelType: string, maxPositions: number, opts: HfConfigOptions, warnings: string[]): number {
  const applies = modelType === "mistral" || (modelType === "qwen2" && k.bool("use_sliding_window", false));
  if (!applies || !k.has("sliding_window")) return maxPositions;
  const w = k.int("sliding_window");
  if (w >= maxPositions) return maxPositions;
  if (opts.context !== undefined && opts.context > w) {
    k.fail("sliding_window", `${k.show("sliding_window")}: sliding-window attention is not implemented and would change results for the requested context of ${opts.context} tokens; use a context of at most ${w}`);
  }
  warnings.push(`${k.file}: sliding_window ${w} < max_position_embeddings ${maxPositions}: sequences are limited to ${w} tokens, where full attention gives the same results`);
  return w;
}

function bertBody(k: Keys, modelType: string): Body {
  const hidden = k.int("hidden_size");
  const heads = k.int("num_attention_heads");
  const actRaw = k.str("hidden_act", "gelu");
  if (actRaw !== "gelu" && actRaw !== "gelu_new") k.fail("hidden_act", `${k.show("hidden_act")} is not supported (gelu, gelu_new)`);
  k.only("position_embedding_type", ["absolute"], "only absolute position embeddings are implemented");
  k.only("is_decoder", [false], "the bert family is used as an encoder only");
  k.only("add_cross_attention", [false], "cross-attention is not implemented");
  const roberta = modelType === "roberta";
  const positionOffset = roberta ? k.int("pad_token_id", 1, 0) + 1 : 0;
  const table = k.int("max_position_embeddings", 512);
  if (table <= positionOffset) k.fail("max_position_embeddings", `${k.show("max_position_embeddings")} leaves no positions after the offset ${positionOffset}`);
  return {
    family: "bert", vocabSize: k.int("vocab_size"), hidden, layers: k.int("num_hidden_layers"), heads, kvHeads: heads,
    headDim: hidden / heads, intermediate: k.int("intermediate_size"), maxPositions: table - positionOffset,
    normEps: k.num("layer_norm_eps", 1e-12), ropeTheta: 0, tieEmbeddings: false, attentionBias: true,
    attentionOutBias: true, mlpBias: true, act: actRaw as Activation, typeVocab: k.int("type_vocab_size", 2, 0), positionOffset,
  };
}

function resolveHead(k: Keys, family: string, wanted: HeadKind | "auto"): HeadKind {
  if (family === "bert") {
    if (wanted === "causal_lm") k.fail("model_type", `${k.show("model_type")} is an encoder: only a classifier head is supported`);
    return "classifier";
  }
  if (wanted !== "auto") return wanted;
  const arch = Array.isArray(k.raw.architectures) ? k.raw.architectures : [];
  return arch.some((a) => typeof a === "string" && a.endsWith("ForSequenceClassification")) ? "classifier" : "causal_lm";
}

function labelsOf(k: Keys, head: HeadKind, wanted: number | "auto", warnings: string[]): Pick<FamilyConfig, "numLabels" | "labelNames"> {
  if (head !== "classifier") return { numLabels: 0 };
  k.only("problem_type", ["single_label_classification"], "only single-label classification (softmax over labels) is implemented");
  const names = labelNames(k);
  const inConfig = names ? names.length : k.int("num_labels", 2);
  if (wanted === "auto" || wanted === inConfig) {
    const named = names && !names.every((n, i) => n === `LABEL_${i}`);
    return named ? { numLabels: inConfig, labelNames: names } : { numLabels: inConfig };
  }
  warnings.push(`${k.file}: the config has ${inConfig} labels, the run uses ${wanted}; the classifier head is initialised fresh`);
  return { numLabels: wanted };
}

/** id2label as a list by index, or null when absent. Keys must be 0..n-1. */
function labelNames(k: Keys): string[] | null {
  if (!k.has("id2label")) return null;
  const raw = k.raw.id2label;
  if (typeof raw !== "object" || Array.isArray(raw)) k.fail("id2label", `${k.show("id2label")} must be an object`);
  const entries = Object.entries(raw as Record<string, unknown>);
  const out: string[] = new Array(entries.length);
  for (const [key, v] of entries) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || typeof v !== "string") {
      k.fail("id2label", `${k.show("id2label")} must map "0".."${entries.length - 1}" to label names`);
    }
    out[i] = v as string;
  }
  return out;
}

function padOf(k: Keys): number | null {
  return k.has("pad_token_id") ? k.int("pad_token_id", 0, 0) : null;
}
