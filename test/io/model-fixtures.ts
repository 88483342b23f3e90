// Tiny Hugging Face-style models for the weight-folder tests: raw config.json objects per family,
// models built from them with every weight randomised (so a lost or transposed tensor shows), and
// the model's outputs on a fixed batch.
import * as tf from "../../src/runtime/tensor/tf.js";
import { disposeBatch, toTensors } from "../../src/runtime/train/batch.js";
import { parseHfConfig } from "../../src/runtime/io/hf-config.js";
import { LoraAdapter } from "../../src/runtime/adapters/lora.js";
import type { FamilyConfig } from "../../src/runtime/models/config.js";
import { createModel } from "../../src/runtime/models/index.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import { inferenceCtx } from "../../src/runtime/tensor/nn.js";
import { randomBatch, seeded } from "../runtime/helpers.js";

const sizes = { vocab_size: 37, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4 };

/** config.json objects of tiny models, one per case. */
export const RAW_CONFIGS: Record<string, Record<string, unknown>> = {
  llama: { model_type: "llama", ...sizes, num_key_value_heads: 2, max_position_embeddings: 16, tie_word_embeddings: false },
  "llama tied": { model_type: "llama", ...sizes, max_position_embeddings: 16, tie_word_embeddings: true },
  "qwen2 classifier": {
    model_type: "qwen2", ...sizes, num_key_value_heads: 2, max_position_embeddings: 16, tie_word_embeddings: true,
    architectures: ["Qwen2ForSequenceClassification"], id2label: { 0: "neg", 1: "pos", 2: "mixed" }, pad_token_id: 0,
  },
  gpt2: { model_type: "gpt2", vocab_size: 37, n_embd: 16, n_layer: 2, n_head: 4, n_positions: 16, n_inner: 24 },
  bert: { model_type: "bert", ...sizes, max_position_embeddings: 16, num_labels: 3 },
  roberta: { model_type: "roberta", ...sizes, max_position_embeddings: 18, pad_token_id: 1, type_vocab_size: 1, num_labels: 2 },
};

export function hfConfig(name: string, over: Record<string, unknown> = {}): FamilyConfig {
  return parseHfConfig({ ...RAW_CONFIGS[name], ...over }).config;
}

/** Replaces every base weight (norms included) by N(0, 0.3) values, deterministically. */
export function randomise(model: FamilyModel, seed = 3): void {
  let i = 0;
  for (const v of model.stateDict().values()) {
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.3, "float32", seed * 1000 + i++)));
  }
}

export function hfModel(name: string, seed = 3, over: Record<string, unknown> = {}): FamilyModel {
  const m = createModel(hfConfig(name, over), seeded(seed));
  randomise(m, seed);
  return m;
}

/** Logits of the model on a fixed padded batch. */
export function outputsOf(model: FamilyModel, seed = 5): Float32Array {
  const t = toTensors(randomBatch(model.config, 3, 7, seed));
  const out = tf.tidy(() => model.forward(t.ids, t.mask, inferenceCtx()));
  const data = Float32Array.from(out.dataSync() as Float32Array);
  out.dispose();
  disposeBatch(t);
  return data;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Attaches LoRA `name` to the given module paths with random non-zero B (so it changes outputs). */
export function addLora(model: FamilyModel, paths: string[], o: { name?: string; r?: number; alpha?: number; rslora?: boolean; seed?: number } = {}): void {
  const rand = seeded(o.seed ?? 11);
  const linears = model.linears();
  paths.forEach((p, i) => {
    const l = linears.get(p);
    if (!l) throw new Error(`addLora: no module ${p}`);
    const r = o.r ?? 4;
    const a = new LoraAdapter({
      name: o.name ?? "default", path: p, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r, alpha: o.alpha ?? 2 * r,
      dropout: 0, rslora: o.rslora ?? false, init: "kaiming", rand,
    });
    tf.tidy(() => a.B.assign(tf.randomNormal(a.B.shape, 0, 0.2, "float32", (o.seed ?? 11) * 100 + i)));
    l.addAdapter(a);
  });
}
