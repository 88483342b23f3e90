// Frozen bases below float32: a Hugging Face folder loaded in bf16, f16, int8 or nf4 keeps its
// linear weights and embedding table in the weight store (none as float32 tensors), computes what
// the float32 model computes with the dequantised weights, trains LoRA with the same gradients, and
// writes the same adapter files.
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { loadHfModel, mergeAndUnload, saveHfModel } from "../../src/runtime/io/hf-model.js";
import { FrozenWeight, frozenMemory, type Precision } from "../../src/runtime/tensor/frozen/index.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import { Trainer, type TrainerPlugin } from "../../src/runtime/train/trainer.js";
import { saveAdapter } from "../../src/api.js";
import { randomBatch, trainSpec, useCpu } from "../runtime/helpers.js";
import { tempDir } from "./helpers.js";
import { addLora, hfModel, maxAbsDiff, outputsOf } from "./model-fixtures.js";

beforeAll(useCpu);
const dir = tempDir("base-precision");
const PRECISIONS: Precision[] = ["bf16", "f16", "int8", "nf4"];
const CASES = ["llama", "llama tied", "gpt2", "bert"] as const;

/**
 * The f32 model with every matrix `stored` holds replaced by its dequantised values (the reference).
 * Each stored matrix must be exactly what quantising the file's float32 tensor gives.
 */
function dequantisedReference(folder: string, stored: FamilyModel, precision: Precision): FamilyModel {
  const ref = loadHfModel(folder).model;
  const state = ref.stateDict();
  for (const [name, slot] of stored.storedWeights()) {
    const v = state.get(name)!;
    const own = FrozenWeight.fromTensor(v, precision);
    expect(maxAbsDiff(slot.stored!.toFloat32(), own.toFloat32()), name).toBe(0);
    own.dispose();
    tf.tidy(() => v.assign(tf.tensor2d(slot.stored!.toFloat32(), v.shape as [number, number])));
  }
  return ref;
}

function gradientsOf(model: FamilyModel): Map<string, Float32Array> {
  const grads = new Map<string, Float32Array>();
  const capture: TrainerPlugin = { name: "capture", afterBackward: (_c, g) => { for (const [n, t] of g) grads.set(n, Float32Array.from(t.dataSync() as Float32Array)); } };
  const trainer = new Trainer({ model, train: trainSpec({ steps: 1, batch: 3 }), lr: 1e-3, seed: 2, plugins: [capture] });
  trainer.trainStep(randomBatch(model.config, 3, 7));
  trainer.dispose();
  return grads;
}

describe.each(CASES)("%s", (name) => {
  const folder = path.join(dir, name.replace(" ", "-"));
  beforeAll(() => {
    const m = hfModel(name);
    saveHfModel(m, folder);
    m.dispose();
  });

  it.each(PRECISIONS)("%s: the base is in the store, outputs and LoRA gradients equal the dequantised float32 model's", (precision) => {
    const before = frozenMemory().weights;
    const tensorsBefore = tf.memory().numTensors;
    const model = loadHfModel(folder, { precision }).model;
    const linears = [...model.linears().values()];
    expect(linears.every((l) => l.stored !== null && !l.hasDenseWeight)).toBe(true);
    expect(model.storedWeights().size).toBeGreaterThanOrEqual(linears.length);
    expect(frozenMemory().weights).toBeGreaterThan(before);
    const ref = dequantisedReference(folder, model, precision);
    expect(model.foundationParams()).toBe(ref.foundationParams());
    expect(maxAbsDiff(outputsOf(model), outputsOf(ref))).toBeLessThan(1e-4);
    const paths = linears.map((l) => l.path);
    addLora(model, paths);
    addLora(ref, paths);
    const g = gradientsOf(model);
    const r = gradientsOf(ref);
    expect([...g.keys()].sort()).toEqual([...r.keys()].sort());
    for (const [k, v] of g) expect(maxAbsDiff(v, r.get(k)!), k).toBeLessThan(1e-4);
    ref.dispose();
    model.dispose();
    expect(frozenMemory().weights).toBe(before);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});

it("a llama base in nf4 holds no float32 copy of its matrices, and its adapter is written as on float32", () => {
  const folder = path.join(dir, "adapter-llama");
  const m = hfModel("llama");
  saveHfModel(m, folder);
  m.dispose();
  const f32 = loadHfModel(folder).model;
  const bytesF32 = tf.memory().numBytes;
  f32.dispose();
  const base = tf.memory().numBytes;
  const nf4 = loadHfModel(folder, { precision: "nf4" }).model;
  const tensorBytes = tf.memory().numBytes - base;
  expect(tensorBytes).toBeLessThan((bytesF32 - base) / 4); // only norms stay tensors
  const paths = [...nf4.linears().keys()].filter((p) => p.endsWith("q_proj") || p.endsWith("v_proj"));
  addLora(nf4, paths);
  const ref = loadHfModel(folder).model;
  addLora(ref, paths);
  const out = (model: FamilyModel, sub: string) => {
    const d = path.join(dir, sub);
    saveAdapter(model, d);
    return fs.readFileSync(path.join(d, "adapter_model.safetensors"));
  };
  expect(out(nf4, "a-nf4").equals(out(ref, "a-f32"))).toBe(true);
  expect(fs.readFileSync(path.join(dir, "a-nf4", "adapter_config.json"), "utf8")).toBe(fs.readFileSync(path.join(dir, "a-f32", "adapter_config.json"), "utf8"));
  const trainer = new Trainer({ model: nf4, train: trainSpec({ steps: 1 }), lr: 1e-3, seed: 1 });
  const stats = trainer.trainStep(randomBatch(nf4.config, 3, 7));
  const peaks = trainer.memoryPeaks();
  expect(peaks.storeBytes).toBeGreaterThanOrEqual(frozenMemory().nativeBytes + frozenMemory().jsBytes);
  expect(peaks.storeBytes).toBeGreaterThan(0);
  expect(peaks.rssBytes).toBeGreaterThan(peaks.storeBytes);
  expect(stats.rssBytes).toBe(peaks.rssBytes);
  trainer.dispose();
  nf4.dispose();
  ref.dispose();
});

it.each(["llama tied", "gpt2"] as const)("%s in nf4: saving writes the dequantised base, merging writes W + ΔW, both read back as float32", (name) => {
  const folder = path.join(dir, `save-${name.replace(" ", "-")}`);
  const m = hfModel(name);
  saveHfModel(m, folder);
  m.dispose();
  const q = loadHfModel(folder, { precision: "nf4" }).model;
  const saved = path.join(dir, `saved-${name.replace(" ", "-")}`);
  saveHfModel(q, saved);
  const back = loadHfModel(saved).model;
  expect(maxAbsDiff(outputsOf(back), outputsOf(q))).toBeLessThan(1e-4);
  back.dispose();
  addLora(q, [...q.linears().keys()]);
  const merged = path.join(dir, `merged-${name.replace(" ", "-")}`);
  mergeAndUnload(q, "default", merged);
  expect([...q.linears().values()].every((l) => !l.hasDenseWeight)).toBe(true);
  const m2 = loadHfModel(merged).model;
  expect(maxAbsDiff(outputsOf(m2), outputsOf(q))).toBeLessThan(1e-4);
  m2.dispose();
  q.dispose();
});
