// Pretraining a small causal language model (llama or gpt2 family) from random initialisation on
// plain text, with a byte-level BPE tokenizer trained on the same text, and saving it as a Hugging
// Face folder (config.json, model.safetensors, tokenizer.json, README.md).
//
// Every base weight is trained: the model's variables are frozen by design (fine-tuning trains adapters
// only), so they are made trainable for the duration of pretraining and frozen again afterwards. The
// shared Trainer does the steps (AdamW, cosine schedule with warmup, gradient clipping).

import * as path from "node:path";
import type { TrainSpec } from "../../dsl/plan.js";
import { trainBpe, type HfTokenizer } from "../data/tokenizers.js";
import { evaluateLoss } from "../train/evaluate.js";
import { writeFileAtomic } from "../io/atomic.js";
import { saveHfModel, type SavedHfModel } from "../io/hf-model.js";
import { familyConfigFromSpec, type FamilyConfig } from "../models/config.js";
import { createModel } from "../models/index.js";
import type { FamilyModel } from "../models/model.js";
import { randomWindows, tokenStreams, unigramLoss, validationWindows } from "./data.js";
import { Rng, uniformOf } from "../rng.js";
import * as tf from "../tensor/tf.js";
import { Trainer } from "../train/trainer.js";

/** Sizes and training settings of a pretraining run. */
export interface PretrainSpec {
  family: "llama" | "gpt2";
  layers: number;
  hidden: number;
  heads: number;
  /** FFN size; null = 4·hidden (gpt2) or 8/3·hidden rounded up to a multiple of 16 (llama). */
  intermediate: number | null;
  /** Training window and the model's context length. */
  context: number;
  /** Requested BPE vocabulary (specials + 256 bytes + merges); the trained one may be smaller. */
  vocab: number;
  /** Tokenizer spells numbers digit by digit (HF `Digits { individual_digits: true }` pre-tokenizer). */
  splitDigits: boolean;
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  seed: number;
  /** Share of the token stream held out for validation. */
  validationFraction: number;
  /** Validation windows evaluated (each `context` tokens). */
  evalWindows: number;
}

export const PRETRAIN_DEFAULTS: PretrainSpec = {
  family: "llama", layers: 2, hidden: 64, heads: 4, intermediate: null, context: 64, vocab: 512, splitDigits: true,
  steps: 200, batch: 16, lr: 3e-3, warmup: 20, seed: 1, validationFraction: 0.05, evalWindows: 32,
};

const INT_FIELDS = ["layers", "hidden", "heads", "context", "vocab", "steps", "batch", "warmup", "evalWindows"] as const;

/** Throws naming the first bad field of `spec`. */
export function validatePretrainSpec(spec: PretrainSpec): void {
  if (spec.family !== "llama" && spec.family !== "gpt2") throw new Error(`pretrain: family must be llama or gpt2, got ${JSON.stringify(spec.family)}`);
  for (const k of INT_FIELDS) {
    const v = spec[k];
    const min = k === "warmup" ? 0 : 1;
    if (!Number.isSafeInteger(v) || v < min) throw new Error(`pretrain: ${k} must be an integer >= ${min}, got ${v}`);
  }
  if (spec.hidden % spec.heads !== 0) throw new Error(`pretrain: hidden (${spec.hidden}) must be a multiple of heads (${spec.heads})`);
  if (spec.family === "llama" && (spec.hidden / spec.heads) % 2 !== 0) {
    throw new Error(`pretrain: hidden / heads (${spec.hidden / spec.heads}) must be even for rotary positions`);
  }
  if (spec.intermediate !== null && (!Number.isSafeInteger(spec.intermediate) || spec.intermediate < 1)) {
    throw new Error(`pretrain: intermediate must be a positive integer, got ${spec.intermediate}`);
  }
  if (typeof spec.splitDigits !== "boolean") throw new Error(`pretrain: splitDigits must be true or false, got ${JSON.stringify(spec.splitDigits)}`);
  if (!(spec.lr > 0 && spec.lr < 1)) throw new Error(`pretrain: lr must be in (0, 1), got ${spec.lr}`);
  if (!(spec.validationFraction > 0 && spec.validationFraction < 0.5)) {
    throw new Error(`pretrain: validationFraction must be in (0, 0.5), got ${spec.validationFraction}`);
  }
}

export function defaultIntermediate(family: "llama" | "gpt2", hidden: number): number {
  return family === "gpt2" ? 4 * hidden : Math.ceil((8 * hidden) / 3 / 16) * 16;
}

export interface PretrainStep {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  stepMs: number;
}

export interface PretrainResult {
  model: FamilyModel;
  config: FamilyConfig;
  tokenizer: HfTokenizer;
  spec: PretrainSpec;
  /** Training loss of every step. */
  losses: number[];
  /** Validation loss (nats/token) before and after training, and the unigram baseline. */
  validation: { initial: number; final: number; unigram: number };
  tokens: { train: number; validation: number };
  seconds: number;
}

export interface PretrainOptions {
  onStep?: (s: PretrainStep) => void;
  /** Progress messages (tokenizer, data sizes). */
  log?: (line: string) => void;
  /** Characters of text the tokenizer is trained on (default: all). */
  tokenizerChars?: number;
  /**
   * Looks at the model while it trains: `run` is called after every `every` steps (and after the
   * last) with the model in its current state, e.g. to measure a skill with greedy decoding.
   * It must not keep or dispose the model; tensors it creates are freed when it returns.
   */
  probe?: { every: number; run: (model: FamilyModel, tokenizer: HfTokenizer, step: number) => void };
}

function trainSpecOf(s: PretrainSpec): TrainSpec {
  return {
    steps: s.steps, batch: s.batch, microBatch: s.batch, recompute: "off", lrs: [s.lr], schedule: { kind: "cosine", warmupSteps: s.warmup, minLrRatio: 0.1 },
    optimizer: { kind: "adamw", beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 }, clipNorm: 1, seeds: [s.seed],
    evalEvery: 0, checkpointEvery: 0, logEvery: Math.max(1, s.steps), evalExamples: 0, maxLength: 0,
  };
}

/** The first `limit` characters of the texts, cut at document boundaries (the last one truncated). */
function firstChars(texts: string[], limit: number): string[] {
  const out: string[] = [];
  let left = limit;
  for (const t of texts) {
    if (left <= 0) break;
    out.push(t.length <= left ? t : t.slice(0, left));
    left -= t.length;
  }
  return out;
}

/** Trains a tokenizer and a causal LM on `texts`. The caller disposes `result.model`. */
export function pretrain(texts: string[], spec: PretrainSpec, opts: PretrainOptions = {}): PretrainResult {
  validatePretrainSpec(spec);
  if (opts.probe && !(Number.isSafeInteger(opts.probe.every) && opts.probe.every >= 1)) {
    throw new Error(`pretrain: probe.every must be an integer >= 1, got ${opts.probe.every}`);
  }
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const tokenizer = trainBpe(opts.tokenizerChars ? firstChars(texts, opts.tokenizerChars) : texts, spec.vocab, { splitDigits: spec.splitDigits });
  const streams = tokenStreams(texts, tokenizer, spec.validationFraction);
  log(`tokenizer: ${tokenizer.vocabSize} tokens; data: ${streams.train.length} training and ${streams.validation.length} validation tokens`);
  const config = familyConfigFromSpec(
    {
      kind: "builtin", family: spec.family, head: "causal_lm", layers: spec.layers, hidden: spec.hidden, heads: spec.heads, kvHeads: spec.heads,
      intermediate: spec.intermediate ?? defaultIntermediate(spec.family, spec.hidden), context: spec.context, vocab: tokenizer.vocabSize,
      labels: 0, initSeed: spec.seed, precision: "f32",
    },
    tokenizer.vocabSize, 0, { padTokenId: tokenizer.padId },
  );
  const model = createModel(config, uniformOf(new Rng(spec.seed)));
  try {
    const val = validationWindows(streams.validation, spec.context, spec.evalWindows, spec.batch);
    const initial = evaluateLoss(model, val);
    const losses = trainAll(model, spec, streams.train, opts.onStep, opts.probe && { every: opts.probe.every, run: (step) => tf.tidy(() => opts.probe!.run(model, tokenizer, step)) });
    const validation = { initial, final: evaluateLoss(model, val), unigram: unigramLoss(streams.train, streams.validation, tokenizer.vocabSize) };
    const tokens = { train: streams.train.length, validation: streams.validation.length };
    return { model, config, tokenizer, spec, losses, validation, tokens, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Full-parameter training: every state-dict variable trainable for the run, frozen again after. */
function trainAll(
  model: FamilyModel, spec: PretrainSpec, stream: Int32Array, onStep?: (s: PretrainStep) => void,
  probe?: { every: number; run: (step: number) => void },
): number[] {
  const params = [...model.stateDict()];
  const group = (rank: number) => () => new Map<string, tf.Variable>(params.filter(([, v]) => (v.rank === 2) === (rank === 2)));
  const trainer = new Trainer({ model, train: trainSpecOf(spec), lr: spec.lr, seed: spec.seed });
  trainer.addGroup({ name: "base-matrices", variables: group(2), lrFactor: 1, decay: true });
  trainer.addGroup({ name: "base-vectors", variables: group(1), lrFactor: 1, decay: false });
  const rng = new Rng(`pretrain-batches:${spec.seed}`);
  const losses: number[] = [];
  for (const [, v] of params) v.trainable = true;
  try {
    for (let i = 0; i < spec.steps; i++) {
      const s = trainer.trainStep(randomWindows(stream, spec.batch, spec.context, rng));
      losses.push(s.loss);
      onStep?.({ step: s.step, steps: spec.steps, loss: s.loss, lr: s.lr, stepMs: s.stepMs });
      if (probe && ((i + 1) % probe.every === 0 || i + 1 === spec.steps)) probe.run(i + 1);
    }
  } finally {
    for (const [, v] of params) v.trainable = false;
    trainer.dispose();
  }
  return losses;
}

/** A model card for the saved folder; `notes` become a "Training data" section. */
export function pretrainReadme(r: PretrainResult, corpus: string, notes: string[] = []): string {
  const c = r.config;
  const s = r.spec;
  const f = (x: number) => x.toFixed(3);
  return [
    "---",
    "library_name: transformers",
    "tags:",
    "- peftlab",
    `- ${c.family}`,
    "---",
    "",
    `# A small ${c.family} base model pretrained by peftlab`,
    "",
    `A causal language model trained from random initialisation by \`peftlab pretrain\` on ${corpus}.`,
    "It is a small foundation model for fine-tuning experiments on a CPU, not a useful text generator.",
    "",
    `- Architecture: ${c.modelType}, ${c.layers} layers, hidden ${c.hidden}, ${c.heads} heads, FFN ${c.intermediate}, context ${c.maxPositions}`,
    `- Tokenizer: byte-level BPE with ${r.tokenizer.vocabSize} tokens, trained on the same text (tokenizer.json)${s.splitDigits ? ", numbers spelled digit by digit" : ""}`,
    `- Training: ${s.steps} steps × ${s.batch} windows of ${s.context} tokens, AdamW lr ${s.lr} (cosine, ${s.warmup} warmup steps), seed ${s.seed}`,
    `- Data: ${r.tokens.train} training tokens, ${r.tokens.validation} held-out tokens`,
    `- Held-out loss (nats/token): ${f(r.validation.initial)} before training, ${f(r.validation.final)} after; a unigram model gets ${f(r.validation.unigram)}`,
    "",
    ...(notes.length > 0 ? ["## Training data", "", ...notes.map((n) => `- ${n}`), ""] : []),
    "Load it with `transformers.AutoModelForCausalLM.from_pretrained(path)` and `AutoTokenizer.from_pretrained(path)`, or in peftlab as a `hf` model.",
    "",
  ].join("\n");
}

/**
 * tokenizer_config.json: tells transformers' AutoTokenizer to use tokenizer.json as is (no model-specific
 * tokenizer class, which would add its own special tokens) and names the special tokens.
 */
function tokenizerConfig(r: PretrainResult): Record<string, unknown> {
  const content = (id: number) => r.tokenizer.idToToken(id) ?? null;
  return {
    tokenizer_class: "PreTrainedTokenizerFast", bos_token: content(r.tokenizer.bosId), eos_token: content(r.tokenizer.eosId),
    pad_token: content(r.tokenizer.padId), model_max_length: r.config.maxPositions, clean_up_tokenization_spaces: false,
  };
}

/** Saves a pretraining result as a Hugging Face folder with its tokenizer and model card (`notes`: see {@link pretrainReadme}). */
export function savePretrained(r: PretrainResult, dir: string, corpus: string, notes: string[] = [], opts: { dtype?: "F32" | "F16" | "BF16" } = {}): SavedHfModel {
  const saved = saveHfModel(r.model, dir, { tokenizerJson: r.tokenizer.toJSON(), readme: pretrainReadme(r, corpus, notes), dtype: opts.dtype });
  const file = path.join(dir, "tokenizer_config.json");
  writeFileAtomic(file, `${JSON.stringify(tokenizerConfig(r), null, 2)}\n`);
  return { ...saved, files: [...saved.files, file] };
}
