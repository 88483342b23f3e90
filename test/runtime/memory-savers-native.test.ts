// Gradient checkpointing on the native backend, over a float32 and an nf4 base (frozenLinear in the
// recomputed forward): the same gradients as a plain step, bit for bit, with dropout replayed.
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { initBackend } from "../../src/runtime/tensor/backend.js";
import { injectAdapter } from "../../src/runtime/adapters/inject.js";
import { Trainer, type TrainerPlugin } from "../../src/runtime/train/trainer.js";
import type { Precision } from "../../src/runtime/tensor/frozen/index.js";
import { randomBatch, seeded, tinyModel, trainSpec } from "./helpers.js";

beforeAll(async () => {
  await initBackend("native");
});

function step(recompute: "off" | "blocks", precision: Precision): { loss: number; grads: Map<string, Float32Array> } {
  const model = tinyModel("llama", { layers: 3, hidden: 32, heads: 4, kvHeads: 2, headDim: 8, intermediate: 48 });
  model.storeBase(precision);
  injectAdapter(model, "default", {
    method: "lora", r: 4, alpha: 8, dropout: 0.1, rslora: false, init: "gaussian", target: { regex: null, names: ["q_proj", "v_proj", "down_proj"] },
    exclude: { regex: null, names: [] }, rankPattern: {}, alphaPattern: {}, adalora: null,
  }, { rand: seeded(5) });
  for (const l of model.linears().values()) {
    for (const [n, v] of l.adapters.get("default")?.trainable() ?? []) if (n.includes("lora_B")) v.assign(tf.randomNormal(v.shape, 0, 0.1, "float32", 3));
  }
  const grads = new Map<string, Float32Array>();
  const capture: TrainerPlugin = { name: "capture", afterBackward: (_c, g) => { for (const [n, t] of g) grads.set(n, Float32Array.from(t.dataSync() as Float32Array)); } };
  const trainer = new Trainer({ model, train: trainSpec({ steps: 1, batch: 3, recompute }), lr: 1e-3, seed: 3, plugins: [capture] });
  const loss = trainer.trainStep(randomBatch(model.config, 3, 9)).loss;
  trainer.dispose();
  model.dispose();
  return { loss, grads };
}

describe.each(["f32", "nf4"] as const)("native backend, %s base", (precision) => {
  it("recompute blocks gives bit-identical gradients", () => {
    const plain = step("off", precision);
    const recomputed = step("blocks", precision);
    expect(recomputed.loss).toBe(plain.loss);
    expect(plain.grads.size).toBe(3 * 3 * 2);
    for (const [n, g] of plain.grads) expect(Array.from(recomputed.grads.get(n)!), n).toEqual(Array.from(g));
  });
});
