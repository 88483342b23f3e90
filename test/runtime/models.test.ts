import * as tf from "../../src/runtime/tensor/tf.js";
import { beforeAll, describe, expect, it } from "vitest";
import { LoraAdapter } from "../../src/runtime/adapters/lora.js";
import { inferenceCtx } from "../../src/runtime/tensor/nn.js";
import { toTensors, disposeBatch } from "../../src/runtime/train/batch.js";
import { NonFiniteLossError, Trainer } from "../../src/runtime/train/trainer.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import type { TrainSpec } from "../../src/dsl/plan.js";
import { randomBatch, seeded, tinyModel, useCpu, trainSpec as baseTrainSpec } from "./helpers.js";

const FAMILIES = ["llama", "gpt2", "bert"] as const;

function trainSpec(over: Partial<TrainSpec> = {}): TrainSpec {
  return baseTrainSpec({ steps: 100, ...over });
}

function outputs(model: FamilyModel, seed = 5): Float32Array {
  const b = randomBatch(model.config, 3, 7, seed);
  const t = toTensors(b);
  const out = tf.tidy(() => model.forward(t.ids, t.mask, inferenceCtx()));
  const data = out.dataSync() as Float32Array;
  out.dispose();
  disposeBatch(t);
  return data;
}

function addLora(model: FamilyModel, name = "default", r = 4): void {
  const rand = seeded(9);
  for (const l of model.linears().values()) {
    l.addAdapter(new LoraAdapter({ name, path: l.path, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r, alpha: 2 * r, dropout: 0, rslora: false, init: "kaiming", rand }));
  }
}

function snapshot(model: FamilyModel): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const [n, v] of model.stateDict()) if (!v.trainable) m.set(n, v.dataSync().slice() as Float32Array);
  return m;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

beforeAll(useCpu);

describe.each(FAMILIES)("%s", (family) => {
  it("produces logits of the head's shape and ignores padding content", () => {
    const model = tinyModel(family);
    const b = randomBatch(model.config, 3, 7);
    const t = toTensors(b);
    const out = tf.tidy(() => model.forward(t.ids, t.mask, inferenceCtx()));
    expect(out.shape).toEqual(family === "bert" ? [3, 3] : [3, 7, 23]);
    // Changing the ids under padding must not change the outputs of real tokens.
    const b2 = { ...b, ids: b.ids.slice() };
    b2.ids[5] = (b2.ids[5] + 1) % 23;
    b2.ids[6] = (b2.ids[6] + 2) % 23;
    const t2 = toTensors(b2);
    const out2 = tf.tidy(() => model.forward(t2.ids, t2.mask, inferenceCtx()));
    const o1 = out.dataSync();
    const o2 = out2.dataSync();
    const realPrefix = family === "bert" ? o1.length : 5 * 23; // row 0 positions 0..4
    expect(maxDiff(o1.slice(0, realPrefix) as Float32Array, o2.slice(0, realPrefix) as Float32Array)).toBeLessThan(1e-5);
    [out, out2].forEach((x) => x.dispose());
    disposeBatch(t);
    disposeBatch(t2);
    model.dispose();
  });

  it("a fresh LoRA adapter changes no output", () => {
    const model = tinyModel(family);
    const before = outputs(model);
    addLora(model);
    expect(maxDiff(before, outputs(model))).toBe(0);
    model.dispose();
  });

  it("training changes adapters only, leaves the base bit-identical, and lowers the loss", () => {
    const model = tinyModel(family);
    addLora(model);
    const base = snapshot(model);
    const trainer = new Trainer({ model, train: trainSpec({ steps: 30 }), lr: 1e-2, seed: 1 });
    const batch = randomBatch(model.config);
    const losses = Array.from({ length: 30 }, () => trainer.trainStep(batch).loss);
    expect(losses[29]).toBeLessThan(losses[0]);
    for (const [n, data] of snapshot(model)) expect(maxDiff(data, base.get(n)!), n).toBe(0);
    trainer.dispose();
    model.dispose();
  });

  it("merge then unmerge restores the base; merged and unmerged outputs agree", () => {
    const model = tinyModel(family);
    addLora(model);
    const trainer = new Trainer({ model, train: trainSpec({ steps: 5 }), lr: 5e-2, seed: 1 });
    const batch = randomBatch(model.config);
    for (let i = 0; i < 5; i++) trainer.trainStep(batch);
    const base = snapshot(model);
    const unmerged = outputs(model);
    for (const l of model.linears().values()) l.merge("default");
    expect(maxDiff(unmerged, outputs(model))).toBeLessThan(1e-4);
    for (const l of model.linears().values()) l.unmerge("default");
    for (const [n, data] of snapshot(model)) expect(maxDiff(data, base.get(n)!), n).toBeLessThan(1e-5);
    trainer.dispose();
    model.dispose();
  });

  it("keeps the tensor count flat: the same after step 10 as after step 100", () => {
    const model = tinyModel(family);
    addLora(model);
    const trainer = new Trainer({ model, train: trainSpec(), lr: 1e-3, seed: 1 });
    const batch = randomBatch(model.config);
    let at10 = 0;
    for (let i = 1; i <= 100; i++) {
      trainer.trainStep(batch);
      if (i === 10) at10 = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(at10);
    trainer.dispose();
    model.dispose();
  });

  it("is deterministic: the same seed gives a bit-identical loss curve (with dropout)", () => {
    const curve = () => {
      const model = tinyModel(family);
      const rand = seeded(3);
      for (const l of model.linears().values()) {
        l.addAdapter(new LoraAdapter({ name: "d", path: l.path, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r: 2, alpha: 4, dropout: 0.1, rslora: false, init: "kaiming", rand }));
      }
      const trainer = new Trainer({ model, train: trainSpec({ steps: 8 }), lr: 1e-2, seed: 4 });
      const batch = randomBatch(model.config);
      const out = Array.from({ length: 8 }, () => trainer.trainStep(batch).loss);
      trainer.dispose();
      model.dispose();
      return out;
    };
    expect(curve()).toEqual(curve());
  });

  it("physically pruning heads and neurons equals masking them to zero", () => {
    const model = tinyModel(family);
    addLora(model);
    // Give the adapters non-zero B so the slicing of adapters is exercised too.
    for (const l of model.linears().values()) {
      const a = l.adapters.get("default") as LoraAdapter;
      a.B.assign(tf.randomNormal(a.B.shape, 0, 0.1, "float32", 3));
    }
    const keepHeads = [[0, 2], [1, 2, 3]];
    const keepNeurons = [[0, 1, 5, 7, 9, 20], [2, 3, 4, 10, 11, 12, 13, 23]];
    const heads = model.setMasks("heads", true);
    const neurons = model.setMasks("neurons", true);
    model.blocks.forEach((blk, i) => {
      const hm = new Float32Array(blk.heads);
      keepHeads[i].forEach((h) => (hm[h] = 1));
      heads[i].assign(tf.tensor1d(hm));
      const nm = new Float32Array(blk.intermediate);
      keepNeurons[i].forEach((n) => (nm[n] = 1));
      neurons[i].assign(tf.tensor1d(nm));
    });
    const masked = outputs(model);
    model.blocks.forEach((blk, i) => {
      blk.pruneHeads(keepHeads[i]);
      blk.pruneNeurons(keepNeurons[i]);
    });
    expect(model.blocks.map((b) => b.heads)).toEqual([2, 3]);
    expect(maxDiff(masked, outputs(model))).toBeLessThan(1e-4);
    model.dispose();
  });

  it("stops on a non-finite loss, naming the step and the last finite loss, and keeps the state", () => {
    const model = tinyModel(family);
    addLora(model);
    const trainer = new Trainer({ model, train: trainSpec({ steps: 5 }), lr: 1e-2, seed: 1 });
    const batch = randomBatch(model.config);
    trainer.trainStep(batch);
    const a = [...trainer.trainableVariables().values()][0];
    const before = a.dataSync().slice();
    // Poison the frozen base so the next forward is NaN.
    const w = [...model.linears().values()][0].weight;
    const saved = w.dataSync().slice();
    w.assign(tf.fill(w.shape, NaN));
    let err: unknown;
    try {
      trainer.trainStep(batch);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteLossError);
    // The poisoned base is named: a broken weight, not a learning-rate problem.
    expect(String((err as Error).message)).toMatch(/step 2: the loss is NaN because the weights contain NaN or Infinity \(tensor "[^"]+": \d+ NaN, 0 infinite\)/);
    expect((err as NonFiniteLossError).lastFinite).not.toBeNull();
    expect(Array.from(a.dataSync())).toEqual(Array.from(before));
    w.assign(tf.tensor(saved, w.shape));
    trainer.dispose();
    model.dispose();
  });
});

it("names the module path and both shapes on a shape mistake", () => {
  const model = tinyModel("llama");
  const l = model.linears().get("model.layers.0.self_attn.q_proj")!;
  expect(() => tf.tidy(() => l.apply(tf.zeros([2, 5]), inferenceCtx()))).toThrow(
    "Error in model.layers.0.self_attn.q_proj: x must be [..., 16], got [2, 5]",
  );
  model.dispose();
});

it("uses HF module paths", () => {
  const paths = (f: "llama" | "gpt2" | "bert") => {
    const m = tinyModel(f);
    const p = [...m.linears().keys()];
    m.dispose();
    return p;
  };
  expect(paths("llama").slice(0, 7)).toEqual([
    "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj", "model.layers.0.self_attn.v_proj",
    "model.layers.0.self_attn.o_proj", "model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj", "model.layers.0.mlp.down_proj",
  ]);
  expect(paths("gpt2").slice(0, 4)).toEqual(["transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_fc", "transformer.h.0.mlp.c_proj"]);
  expect(paths("bert")).toContain("bert.encoder.layer.1.attention.self.query");
  expect(paths("bert")).toContain("bert.pooler.dense");
});

it.each(FAMILIES)("%s: building, training and disposing a model leaves no tensor behind", (family) => {
  const before = tf.memory().numTensors;
  const model = tinyModel(family);
  addLora(model);
  const trainer = new Trainer({ model, train: trainSpec({ steps: 3 }), lr: 1e-2, seed: 1 });
  const batch = randomBatch(model.config);
  for (let i = 0; i < 3; i++) trainer.trainStep(batch);
  model.blocks[0].pruneHeads([0, 1]);
  trainer.dispose();
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

it("trains a grouped-query llama (kv heads < heads) and prunes whole kv groups", () => {
  const model = tinyModel("llama", { kvHeads: 2 });
  addLora(model);
  const trainer = new Trainer({ model, train: trainSpec({ steps: 5 }), lr: 1e-2, seed: 1 });
  const batch = randomBatch(model.config);
  const losses = Array.from({ length: 5 }, () => trainer.trainStep(batch).loss);
  expect(losses[4]).toBeLessThan(losses[0]);
  expect(() => model.blocks[0].pruneHeads([0])).toThrow(/whole groups of 2/);
  const before = outputs(model);
  const hm = model.setMasks("heads", true);
  hm[0].assign(tf.tensor1d([0, 0, 1, 1]));
  const masked = outputs(model);
  expect(maxDiff(before, masked)).toBeGreaterThan(0);
  model.blocks[0].pruneHeads([2, 3]);
  expect(maxDiff(masked, outputs(model))).toBeLessThan(1e-4);
  trainer.dispose();
  model.dispose();
});
