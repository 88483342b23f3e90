// Behaviour every baseline method shares, table-driven over methods × model families: a fresh
// adapter reproduces the base model, training touches only the method's own parameters (the base
// stays bit-identical; PiSSA's residual is fixed after init), the tensor count stays flat, and an
// export → import round trip (onto the ORIGINAL base) reproduces the outputs.
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import type { AdapterSpec } from "../../src/dsl/plan.js";
import { AdaLoraAdapter } from "../../src/runtime/adapters/adalora.js";
import { injectAdapter } from "../../src/runtime/adapters/inject.js";
import { exportAdapter, importAdapter } from "../../src/runtime/adapters/peft-io.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import { createAdaLoraPlugin } from "../../src/runtime/plugins/adalora/plugin.js";
import { Trainer, type TrainerPlugin } from "../../src/runtime/train/trainer.js";
import { ADALORA, FAMILIES, adapterSpec, frozenSnapshot, maxDiff, outputs, perturb, tempDir, trainSpec } from "./baselines-util.js";
import { randomBatch, seeded, tinyModel, useCpu } from "./helpers.js";

interface MethodCase {
  label: string;
  spec: AdapterSpec;
  /** Tensor kinds the adapter trains in every module. */
  kinds: string[];
  /** A fresh adapter reproduces the base bit for bit (PiSSA only to float rounding). */
  exact: boolean;
  /** Export formats to round-trip. */
  formats: ("lora" | "adalora")[];
}

const CASES: MethodCase[] = [
  { label: "lora", spec: adapterSpec(), kinds: ["lora_A", "lora_B"], exact: true, formats: ["lora"] },
  { label: "rslora", spec: adapterSpec({ rslora: true }), kinds: ["lora_A", "lora_B"], exact: true, formats: ["lora"] },
  { label: "dora", spec: adapterSpec({ method: "dora" }), kinds: ["lora_A", "lora_B", "lora_magnitude_vector"], exact: true, formats: ["lora"] },
  { label: "pissa", spec: adapterSpec({ init: "pissa" }), kinds: ["lora_A", "lora_B"], exact: false, formats: ["lora"] },
  { label: "dora+pissa+rslora", spec: adapterSpec({ method: "dora", init: "pissa", rslora: true }), kinds: ["lora_A", "lora_B", "lora_magnitude_vector"], exact: false, formats: ["lora"] },
  { label: "adalora", spec: adapterSpec({ method: "adalora", adalora: ADALORA }), kinds: ["lora_A", "lora_E", "lora_B"], exact: true, formats: ["lora", "adalora"] },
];

const NAME = "x";
const dir = tempDir("baselines");

function inject(model: FamilyModel, c: MethodCase): TrainerPlugin[] {
  injectAdapter(model, NAME, c.spec, { rand: seeded(7) });
  return c.spec.method === "adalora" ? [createAdaLoraPlugin(NAME, c.spec.adalora!)] : [];
}

function adapterVars(model: FamilyModel): tf.Variable[] {
  return [...model.linears().values()].flatMap((l) => [...(l.adapters.get(NAME)?.trainable().values() ?? [])]);
}

function adalorasOf(model: FamilyModel): AdaLoraAdapter[] {
  return [...model.linears().values()].map((l) => l.adapters.get(NAME)).filter((a): a is AdaLoraAdapter => a instanceof AdaLoraAdapter);
}

/** Singular values of order one and an allocation-like mask on every AdaLoRA module: varied kept ranks, one module emptied. */
function allocateAdaLora(model: FamilyModel): void {
  [...model.linears().values()].forEach((l, i) => {
    const a = l.adapters.get(NAME);
    if (!(a instanceof AdaLoraAdapter)) return;
    tf.tidy(() => a.E.assign(tf.randomNormal(a.E.shape, 0, 1, "float32", 100 + i)));
    a.applyMask(Array.from({ length: a.rank }, (_, j) => i !== 1 && (i + j) % 3 !== 0));
  });
}

beforeAll(useCpu);

describe.each(FAMILIES)("%s", (family) => {
  describe.each(CASES)("$label", (c) => {
    it("starts from the base model's outputs", () => {
      const model = tinyModel(family);
      const before = outputs(model);
      inject(model, c);
      const diff = maxDiff(before, outputs(model));
      if (c.exact) expect(diff).toBe(0);
      else expect(diff).toBeLessThan(1e-5);
      model.dispose();
    });

    it("trains only its own parameters, lowers the loss and keeps the tensor count flat", () => {
      const start = tf.memory().numTensors;
      const model = tinyModel(family);
      const plugins = inject(model, c);
      const base = frozenSnapshot(model);
      const initial = adapterVars(model).map((v) => v.dataSync().slice());
      const trainer = new Trainer({ model, train: trainSpec({ steps: 10 }), lr: 1e-2, seed: 1, plugins });
      const expected = [...model.linears().keys()].flatMap((p) => c.kinds.map((k) => `${p}.${k}.${NAME}`));
      if (model.classifier) expected.push(...model.classifier.params().map(([n]) => n));
      expect(new Set(trainer.trainableVariables().keys())).toEqual(new Set(expected));
      const batch = randomBatch(model.config);
      const losses: number[] = [];
      const counts: number[] = [];
      for (let i = 1; i <= 10; i++) {
        losses.push(trainer.trainStep(batch).loss);
        counts.push(tf.memory().numTensors);
      }
      // Flat from step 2 on (AdaLoRA frees its importance EMAs after the final allocation at step 7).
      expect(counts[5]).toBe(counts[1]);
      expect(counts[9]).toBeLessThanOrEqual(counts[1]);
      expect(losses[9]).toBeLessThan(losses[0]);
      for (const [n, data] of frozenSnapshot(model)) expect(maxDiff(data, base.get(n)!), n).toBe(0);
      const fullyMasked = new Set(adalorasOf(model).filter((a) => a.keptRank === 0).map((a) => a.E));
      adapterVars(model).forEach((v, i) => {
        if (fullyMasked.has(v)) expect(Array.from(v.dataSync()).every((e) => e === 0), v.name).toBe(true);
        else expect(maxDiff(v.dataSync(), initial[i]), v.name).toBeGreaterThan(0);
      });
      trainer.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(start);
    });

    it.each(c.formats)("exports as %s and re-imports onto the original base with identical outputs", (format) => {
      const model = tinyModel(family);
      inject(model, c);
      perturb(adapterVars(model), 0.05, 11);
      allocateAdaLora(model);
      const want = outputs(model);
      const taskType = family === "bert" ? "SEQ_CLS" : "CAUSAL_LM";
      const folder = path.join(dir, `${family}-${c.label}-${format}`);
      const fresh = tinyModel(family);
      const exported = exportAdapter(model, NAME, c.spec, folder, { baseModel: null, taskType, format, totalStep: 10 });
      expect(exported.config.peft_type).toBe(format === "lora" ? "LORA" : "ADALORA");
      importAdapter(fresh, folder, NAME);
      const got = outputs(fresh);
      expect(maxDiff(want, got)).toBeLessThan(2e-5);
      const plain = tinyModel(family);
      expect(maxDiff(want, outputs(plain))).toBeGreaterThan(1e-3); // the adapter does matter
      plain.dispose();
      model.dispose();
      fresh.dispose();
    });
  });
});
