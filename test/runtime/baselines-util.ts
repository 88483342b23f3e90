// Shared pieces of the baseline-method tests (LoRA variants, DoRA, PiSSA, AdaLoRA).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import type { AdaLoraSpec, AdapterSpec, TrainSpec } from "../../src/dsl/plan.js";
import { disposeBatch, toTensors } from "../../src/runtime/train/batch.js";
import { inferenceCtx } from "../../src/runtime/tensor/nn.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import { randomBatch, trainSpec as baseTrainSpec } from "./helpers.js";

export const FAMILIES = ["llama", "gpt2", "bert"] as const;

export function trainSpec(over: Partial<TrainSpec> = {}): TrainSpec {
  return baseTrainSpec({ steps: 10, ...over });
}

export const ADALORA: AdaLoraSpec = { initR: 4, targetR: 2, tinit: 2, tfinal: 3, deltaT: 2, beta1: 0.85, beta2: 0.85, orthRegWeight: 0.5 };

/** An adapter spec on every linear layer (regex ".*"), r = 4, alpha = 8, no dropout. */
export function adapterSpec(over: Partial<AdapterSpec> = {}): AdapterSpec {
  return {
    method: "lora", r: 4, alpha: 8, dropout: 0, rslora: false, init: "kaiming",
    target: { regex: ".*", names: [] }, exclude: { regex: null, names: [] },
    rankPattern: {}, alphaPattern: {}, adalora: null,
    ...over,
  };
}

/** The model's outputs on a fixed random batch, as a plain array. */
export function outputs(model: FamilyModel, seed = 5): Float32Array {
  const t = toTensors(randomBatch(model.config, 3, 7, seed));
  const out = tf.tidy(() => model.forward(t.ids, t.mask, inferenceCtx()));
  const data = out.dataSync().slice() as Float32Array;
  out.dispose();
  disposeBatch(t);
  return data;
}

/** Copies of every frozen (non-trainable) base tensor. */
export function frozenSnapshot(model: FamilyModel): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const [n, v] of model.stateDict()) if (!v.trainable) m.set(n, v.dataSync().slice() as Float32Array);
  return m;
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxDiff: lengths ${a.length} and ${b.length} differ`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Adds N(0, std) noise to every variable (seeded), so adapters are far from their init. */
export function perturb(vars: Iterable<tf.Variable>, std: number, seed: number): void {
  let s = seed;
  for (const v of vars) tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, std, "float32", s++))));
}

/** A fresh temporary folder removed after the test file. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `peftlab-${prefix}-`));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
