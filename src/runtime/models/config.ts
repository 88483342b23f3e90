// The resolved configuration of one model of our three families. Plain data, no tensors.
//
// Built from a plan spec (`familyConfigFromSpec`) or from a Hugging Face config.json
// (`parseHfConfig` in src/runtime/io/hf-config.ts), and written back as config.json by `toHfConfig`.

import type { BuiltinModelSpec, HeadKind, ModelFamily } from "../../dsl/plan.js";

export type Activation = "silu" | "gelu" | "gelu_new";

/**
 * One model, fully resolved. Every field is set; fields that do not apply to a family hold a neutral value
 * (documented per field) so the model code never has to guess a default.
 */
export interface FamilyConfig {
  family: ModelFamily;
  /** The original HF `model_type` ("gpt2", "llama", "mistral", "qwen2", "bert", "roberta"), or the family name. */
  modelType: string;
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  /** Key/value heads (grouped-query attention); equals `heads` for gpt2 and bert. */
  kvHeads: number;
  /** Size of one attention head; q_proj has `heads * headDim` outputs. Usually hidden / heads. */
  headDim: number;
  intermediate: number;
  /** Longest sequence the model accepts. Position tables have `maxPositions + positionOffset` rows. */
  maxPositions: number;
  /** LayerNorm / RMSNorm epsilon. */
  normEps: number;
  /** RoPE base (llama family); 0 for families without rotary embeddings. */
  ropeTheta: number;
  /** The LM head reuses the token embedding (causal LMs). */
  tieEmbeddings: boolean;
  /** Bias on the q/k/v projections (gpt2, bert, qwen2, llama with attention_bias). */
  attentionBias: boolean;
  /** Bias on the attention output projection (gpt2, bert, llama with attention_bias; not qwen2). */
  attentionOutBias: boolean;
  /** Bias on the MLP projections (gpt2, bert, llama with mlp_bias). */
  mlpBias: boolean;
  act: Activation;
  /** Token-type (segment) vocabulary of bert; 0 for other families. */
  typeVocab: number;
  /** First position id (RoBERTa: padding_idx + 1 = 2); 0 otherwise. */
  positionOffset: number;
  head: HeadKind;
  /** Classifier outputs; 0 for causal LMs. */
  numLabels: number;
  /** Label names by index, when the config or the data names them. */
  labelNames?: string[];
  /** Padding token id (causal classifiers pick the last non-pad token); null when unknown. */
  padTokenId: number | null;
}

/** Default epsilons and bases of each family when a spec does not give them. */
export const FAMILY_DEFAULTS: Record<ModelFamily, { normEps: number; ropeTheta: number; act: Activation }> = {
  llama: { normEps: 1e-5, ropeTheta: 10000, act: "silu" },
  gpt2: { normEps: 1e-5, ropeTheta: 0, act: "gelu_new" },
  bert: { normEps: 1e-12, ropeTheta: 0, act: "gelu" },
};

/**
 * The config of a randomly initialised builtin model.
 * `vocab` and `labels` are the resolved values of the spec's "auto" fields (labels is ignored for causal LMs).
 */
export function familyConfigFromSpec(
  spec: BuiltinModelSpec,
  vocab: number,
  labels: number,
  opts: { labelNames?: string[]; padTokenId?: number | null } = {},
): FamilyConfig {
  const where = `model spec (family ${spec.family})`;
  if (spec.family === "bert" && spec.head !== "classifier") {
    throw new Error(`${where}: the bert family supports only a classifier head, got "${spec.head}"`);
  }
  const classifier = spec.head === "classifier";
  const d = FAMILY_DEFAULTS[spec.family];
  const cfg: FamilyConfig = {
    family: spec.family,
    modelType: spec.family,
    vocabSize: vocab,
    hidden: spec.hidden,
    layers: spec.layers,
    heads: spec.heads,
    kvHeads: spec.family === "llama" ? spec.kvHeads : spec.heads,
    headDim: spec.heads > 0 ? spec.hidden / spec.heads : 0,
    intermediate: spec.intermediate,
    maxPositions: spec.context,
    normEps: d.normEps,
    ropeTheta: d.ropeTheta,
    tieEmbeddings: spec.family === "gpt2",
    attentionBias: spec.family !== "llama",
    attentionOutBias: spec.family !== "llama",
    mlpBias: spec.family !== "llama",
    act: d.act,
    typeVocab: spec.family === "bert" ? 2 : 0,
    positionOffset: 0,
    head: spec.head,
    numLabels: classifier ? labels : 0,
    padTokenId: opts.padTokenId ?? null,
  };
  if (classifier && opts.labelNames) cfg.labelNames = [...opts.labelNames];
  validateFamilyConfig(cfg, where);
  return cfg;
}

/** Throws an error naming `where` and the first inconsistent field (sizes, head split, labels). */
export function validateFamilyConfig(cfg: FamilyConfig, where: string): void {
  const ints: [keyof FamilyConfig, number][] = [
    ["vocabSize", 1], ["hidden", 1], ["layers", 1], ["heads", 1], ["kvHeads", 1], ["headDim", 1],
    ["intermediate", 1], ["maxPositions", 1], ["typeVocab", 0], ["positionOffset", 0], ["numLabels", 0],
  ];
  for (const [key, min] of ints) {
    const v = cfg[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
      throw new Error(`${where}: ${key} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
  }
  if (cfg.heads % cfg.kvHeads !== 0) {
    throw new Error(`${where}: heads (${cfg.heads}) must be a multiple of kvHeads (${cfg.kvHeads})`);
  }
  if (cfg.family !== "llama" && cfg.heads * cfg.headDim !== cfg.hidden) {
    throw new Error(`${where}: hidden (${cfg.hidden}) must equal heads (${cfg.heads}) × headDim (${cfg.headDim}) for ${cfg.family}`);
  }
  if (cfg.family === "llama" && cfg.headDim % 2 !== 0) {
    throw new Error(`${where}: headDim must be even for rotary embeddings, got ${cfg.headDim}`);
  }
  if (!(cfg.normEps > 0)) throw new Error(`${where}: normEps must be > 0, got ${cfg.normEps}`);
  if (cfg.family === "bert" && cfg.head !== "classifier") {
    throw new Error(`${where}: the bert family supports only a classifier head, got "${cfg.head}"`);
  }
  if (cfg.head === "classifier" && cfg.numLabels < 1) {
    throw new Error(`${where}: a classifier needs numLabels >= 1, got ${cfg.numLabels}`);
  }
  if (cfg.labelNames && cfg.labelNames.length !== cfg.numLabels) {
    throw new Error(`${where}: ${cfg.labelNames.length} label names for ${cfg.numLabels} labels`);
  }
}
