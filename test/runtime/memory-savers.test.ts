// Gradient checkpointing (recompute blocks) and gradient accumulation (micro-batches): the same
// gradients as a plain step, less activation memory, no leaked tensors.
import * as tf from "../../src/runtime/tensor/tf.js";
import { beforeAll, describe, expect, it } from "vitest";
import { LoraAdapter } from "../../src/runtime/adapters/lora.js";
import { Trainer, microBatches, scoredTargets, type TrainerPlugin } from "../../src/runtime/train/trainer.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import type { TrainSpec } from "../../src/dsl/plan.js";
import type { Batch } from "../../src/runtime/data/types.js";
import { randomBatch, seeded, tinyModel, trainSpec, useCpu } from "./helpers.js";

const FAMILIES = ["llama", "gpt2", "bert"] as const;

function withLora(family: (typeof FAMILIES)[number], dropout: number, layers = 2): FamilyModel {
  const model = tinyModel(family, { layers });
  const rand = seeded(9);
  for (const l of model.linears().values()) {
    l.addAdapter(new LoraAdapter({ name: "default", path: l.path, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r: 4, alpha: 8, dropout, rslora: false, init: "gaussian", rand }));
  }
  // B starts at zero; give it values so every gradient path (A too) is non-trivial.
  for (const l of model.linears().values()) {
    for (const [n, v] of l.adapters.get("default")!.trainable()) if (n.includes("lora_B")) v.assign(tf.randomNormal(v.shape, 0, 0.1, "float32", 3));
  }
  return model;
}

/** The raw gradients (before clipping) and the loss of one training step. */
function stepGradients(family: (typeof FAMILIES)[number], over: Partial<TrainSpec>, batch: (m: FamilyModel) => Batch, dropout = 0): { loss: number; grads: Map<string, Float32Array> } {
  const model = withLora(family, dropout);
  const grads = new Map<string, Float32Array>();
  const capture: TrainerPlugin = {
    name: "capture",
    afterBackward(_ctx, g) {
      for (const [n, t] of g) grads.set(n, t.dataSync().slice() as Float32Array);
    },
  };
  const trainer = new Trainer({ model, train: trainSpec({ steps: 1, ...over }), lr: 1e-3, seed: 4, plugins: [capture] });
  const loss = trainer.trainStep(batch(model)).loss;
  trainer.dispose();
  model.dispose();
  return { loss, grads };
}

function maxRelDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let worst = 0;
  for (const [n, x] of a) {
    const y = b.get(n)!;
    let scale = 1e-12;
    for (const v of x) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / scale);
  }
  return worst;
}

beforeAll(useCpu);

describe.each(FAMILIES)("%s", (family) => {
  it("recompute blocks gives the gradients of the plain step (dropout replayed)", () => {
    const batch = (m: FamilyModel) => randomBatch(m.config, 3, 7);
    const plain = stepGradients(family, { batch: 3 }, batch, 0.1);
    const recomputed = stepGradients(family, { batch: 3, recompute: "blocks" }, batch, 0.1);
    expect(recomputed.loss).toBe(plain.loss);
    expect(plain.grads.size).toBeGreaterThan(0);
    expect(maxRelDiff(plain.grads, recomputed.grads)).toBeLessThan(1e-6);
  });

  it("micro-batches sum to the gradients of the whole batch", () => {
    const batch = (m: FamilyModel) => randomBatch(m.config, 4, 7);
    const whole = stepGradients(family, { batch: 4 }, batch);
    for (const micro of [1, 2]) {
      const acc = stepGradients(family, { batch: 4, microBatch: micro }, batch);
      expect(acc.loss).toBeCloseTo(whole.loss, 5);
      expect(maxRelDiff(whole.grads, acc.grads)).toBeLessThan(1e-5);
    }
    const both = stepGradients(family, { batch: 4, microBatch: 2, recompute: "blocks" }, batch);
    expect(maxRelDiff(whole.grads, both.grads)).toBeLessThan(1e-5);
  });

  it("leaks no tensors over steps with recompute and micro-batches", () => {
    const model = withLora(family, 0.1);
    const trainer = new Trainer({ model, train: trainSpec({ steps: 12, batch: 4, microBatch: 2, recompute: "blocks" }), lr: 1e-3, seed: 1 });
    const batch = randomBatch(model.config, 4, 7);
    let at2 = 0;
    for (let i = 1; i <= 12; i++) {
      trainer.trainStep(batch);
      if (i === 2) at2 = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(at2);
    trainer.dispose();
    model.dispose();
  });
});

it("recompute blocks lowers the peak memory of a step", async () => {
  const peak = async (recompute: "off" | "blocks") => {
    const model = withLora("llama", 0, 6);
    const trainer = new Trainer({ model, train: trainSpec({ steps: 2, batch: 4, recompute }), lr: 1e-3, seed: 1 });
    const batch = randomBatch(model.config, 4, 16, 5, 0);
    trainer.trainStep(batch);
    const info = await tf.profile(() => void trainer.trainStep(batch));
    trainer.dispose();
    model.dispose();
    return info.peakBytes - info.newBytes;
  };
  const plain = await peak("off");
  const recomputed = await peak("blocks");
  expect(recomputed).toBeLessThan(plain * 0.8);
});

it("cuts a batch into micro-batches row by row and counts the targets each scores", () => {
  const cfg = tinyModel("llama").config;
  const b = randomBatch(cfg, 5, 6);
  const parts = microBatches(b, 2);
  expect(parts.map((p) => p.size)).toEqual([2, 2, 1]);
  expect(parts.reduce((n, p) => n + p.tokens, 0)).toBe(b.tokens);
  expect(parts.reduce((n, p) => n + scoredTargets(p), 0)).toBe(scoredTargets(b));
  expect(Array.from(parts[1]!.ids)).toEqual(Array.from(b.ids.slice(12, 24)));
  expect(microBatches(b, 5)).toEqual([b]);
});

it("refuses recompute with adapter hooks, naming the block", () => {
  const model = withLora("llama", 0);
  const hook: TrainerPlugin = { name: "hook", forwardHooks: (_c, fwd) => void (fwd.onAdapter = () => {}) };
  const trainer = new Trainer({ model, train: trainSpec({ recompute: "blocks" }), lr: 1e-3, seed: 1, plugins: [hook] });
  expect(() => trainer.trainStep(randomBatch(model.config))).toThrow(/model\.layers\.0: recomputing blocks does not combine with adapter hooks/);
  trainer.dispose();
  model.dispose();
});
