// Tiny models and batches shared by runtime tests.
import * as tf from "../../src/runtime/tensor/tf.js";

import type { FamilyConfig } from "../../src/runtime/models/config.js";
import { createModel } from "../../src/runtime/models/index.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import type { Batch } from "../../src/runtime/data/types.js";
import type { TrainSpec } from "../../src/dsl/plan.js";
import { Rng } from "../../src/runtime/rng.js";

export async function useCpu(): Promise<void> {
  await tf.setBackend("cpu");
  await tf.ready();
}

/** A deterministic uniform [0, 1) source. */
export function seeded(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** Training settings for unit tests: constant lr, no evaluation or checkpoints. */
export function trainSpec(over: Partial<TrainSpec> = {}): TrainSpec {
  return {
    steps: 10, batch: 3, microBatch: over.batch ?? 3, recompute: "off", lrs: [1e-2],
    schedule: { kind: "constant", warmupSteps: 0, minLrRatio: 0 },
    optimizer: { kind: "adamw", beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
    clipNorm: 1, seeds: [1], evalEvery: 0, checkpointEvery: 0, logEvery: 1000, evalExamples: 0, maxLength: 0,
    ...over,
  };
}

export function tinyConfig(family: "llama" | "gpt2" | "bert", over: Partial<FamilyConfig> = {}): FamilyConfig {
  const classifier = family === "bert";
  return {
    family,
    modelType: family,
    vocabSize: 23,
    hidden: 16,
    layers: 2,
    heads: 4,
    kvHeads: 4,
    headDim: 4,
    intermediate: 24,
    maxPositions: 16,
    normEps: 1e-5,
    ropeTheta: 10000,
    tieEmbeddings: family === "gpt2",
    attentionBias: false,
    attentionOutBias: false,
    padTokenId: 0,
    mlpBias: false,
    act: family === "llama" ? "silu" : family === "gpt2" ? "gelu_new" : "gelu",
    typeVocab: family === "bert" ? 2 : 0,
    positionOffset: 0,
    head: classifier ? "classifier" : "causal_lm",
    numLabels: classifier ? 3 : 0,
    ...over,
  } as FamilyConfig;
}

export function tinyModel(family: "llama" | "gpt2" | "bert", over: Partial<FamilyConfig> = {}, seed = 1): FamilyModel {
  return createModel(tinyConfig(family, over), seeded(seed));
}

/** A random batch for the model's head kind; the last `pad` positions of row 0 are padding. */
export function randomBatch(cfg: FamilyConfig, size = 3, length = 7, seed = 5, pad = 2): Batch {
  const r = seeded(seed);
  const n = size * length;
  const ids = new Int32Array(n);
  const mask = new Float32Array(n).fill(1);
  for (let i = 0; i < n; i++) ids[i] = Math.floor(r() * cfg.vocabSize);
  for (let j = length - pad; j < length; j++) mask[j] = 0;
  let labels: Int32Array;
  if (cfg.head === "classifier") {
    labels = new Int32Array(size);
    for (let i = 0; i < size; i++) labels[i] = Math.floor(r() * cfg.numLabels);
  } else {
    labels = new Int32Array(n).fill(-100);
    for (let i = 0; i < size; i++) for (let j = 2; j < length; j++) if (mask[i * length + j]) labels[i * length + j] = ids[i * length + j];
  }
  return { kind: cfg.head === "classifier" ? "classification" : "causal", size, length, ids, mask, labels, tokens: mask.reduce((a, b) => a + b, 0) };
}
