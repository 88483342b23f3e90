// A float32 base larger than the wasm memory may hold: on the native backend a llama-family folder
// is read tensor by tensor into the weight store in float32 (the limit is lowered here so a tiny
// folder is "too large"), and computes and trains exactly as the same base held in tensors; where
// the store cannot serve it (pure wasm, GPT-2 and BERT, which are converted after loading) it is
// refused with a message that names the way out.
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { initBackend } from "../../src/runtime/tensor/backend.js";
import { loadHfModel, saveHfModel } from "../../src/runtime/io/hf-model.js";
import { frozenMemory } from "../../src/runtime/tensor/frozen/index.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import { Trainer, type TrainerPlugin } from "../../src/runtime/train/trainer.js";
import { randomBatch, trainSpec } from "../runtime/helpers.js";
import { tempDir } from "./helpers.js";
import { addLora, hfModel, outputsOf } from "./model-fixtures.js";

const dir = tempDir("f32-store");
const folder = (name: string) => path.join(dir, name.replace(" ", "-"));
const LOW = 1000; // bytes: every test folder is over it

beforeAll(async () => {
  for (const name of ["llama", "llama tied", "gpt2"]) {
    const m = hfModel(name);
    saveHfModel(m, folder(name));
    m.dispose();
  }
  await initBackend("native");
});
afterAll(async () => {
  await initBackend("native");
});

function gradientsOf(model: FamilyModel): { loss: number; grads: Map<string, Float32Array> } {
  const grads = new Map<string, Float32Array>();
  const capture: TrainerPlugin = { name: "capture", afterBackward: (_c, g) => { for (const [n, t] of g) grads.set(n, Float32Array.from(t.dataSync() as Float32Array)); } };
  const trainer = new Trainer({ model, train: trainSpec({ steps: 1, batch: 3 }), lr: 1e-3, seed: 2, plugins: [capture] });
  const loss = trainer.trainStep(randomBatch(model.config, 3, 7)).loss;
  trainer.dispose();
  return { loss, grads };
}

describe.each(["llama", "llama tied"])("%s over the limit on the native backend", (name) => {
  it("its matrices go into the store in float32; outputs and LoRA gradients equal the base held in tensors", () => {
    const before = frozenMemory();
    const tensorsBefore = tf.memory().numTensors;
    const { model } = loadHfModel(folder(name), { wasmLimitBytes: LOW });
    const slots = [...model.storedWeights().values()];
    expect(slots.length).toBe(2 * 7 + (name === "llama" ? 2 : 1)); // 7 linears per layer, the token table, an untied lm_head
    expect(slots.every((s) => s.stored?.precision === "f32" && s.stored.native)).toBe(true);
    expect(frozenMemory().nativeBytes - before.nativeBytes).toBe(4 * slots.reduce((n, s) => n + s.inFeatures * s.outFeatures, 0));
    const ref = loadHfModel(folder(name)).model; // under the default limit: tensors
    expect(ref.storedWeights().size).toBe(0);
    expect(model.foundationParams()).toBe(ref.foundationParams());
    expect(Array.from(outputsOf(model))).toEqual(Array.from(outputsOf(ref)));
    const paths = [...model.linears().keys()];
    addLora(model, paths);
    addLora(ref, paths);
    const g = gradientsOf(model);
    const r = gradientsOf(ref);
    expect(g.loss).toBe(r.loss);
    expect(g.grads.size).toBe(2 * paths.length);
    for (const [k, v] of r.grads) expect(Array.from(g.grads.get(k)!), k).toEqual(Array.from(v));
    model.dispose();
    ref.dispose();
    expect(frozenMemory().nativeBytes).toBe(before.nativeBytes);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});

describe("refused where the store cannot hold it", () => {
  it("GPT-2 (converted after loading) on the native backend", () => {
    expect(() => loadHfModel(folder("gpt2"), { wasmLimitBytes: LOW })).toThrow(/GB in float32, more than the wasm memory holds \(4 GiB\).*`precision bf16`, `int8` or `nf4` in the model block \(loadModel: \{ precision \}\)$/);
  });

  it("llama on pure wasm names the native backend too", async () => {
    await initBackend("wasm");
    expect(() => loadHfModel(folder("llama"), { wasmLimitBytes: LOW })).toThrow(/`precision bf16`, `int8` or `nf4`.*; or run it on the native backend \(`--backend native`\), which keeps a float32 base in the weight store/);
    // Under the limit nothing changes.
    const { model } = loadHfModel(folder("llama"));
    expect(model.storedWeights().size).toBe(0);
    model.dispose();
    await initBackend("native");
  });
});
