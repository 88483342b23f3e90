// QLoRA's promise: an adapter trained on a 4-bit base is an ordinary PEFT adapter of the original
// base. Train LoRA on an nf4-loaded llama folder, export it, put it on the ORIGINAL float32 base,
// and check with test/python/lora_merge_check.py (an independent reading with numpy / torch) that
// W + scaling · B @ A of the original weights is what the adapted modules compute.
import { describe, expect, it } from "vitest";
import type { AdapterSpec } from "../../src/dsl/plan.js";
import { exportAdapter, importAdapter } from "../../src/runtime/adapters/peft-io.js";
import { injectAdapter, loraAdapters } from "../../src/runtime/adapters/inject.js";
import { loadHfModel, mergeAndUnload, saveHfModel } from "../../src/runtime/io/hf-model.js";
import { Trainer } from "../../src/runtime/train/trainer.js";
import { randomBatch, seeded, trainSpec, useCpu } from "../runtime/helpers.js";
import { tempDir } from "./helpers.js";
import { canCrossCheck, pythonCrossCheck } from "./lora-crosscheck.js";
import { hfModel, maxAbsDiff } from "./model-fixtures.js";
import * as path from "node:path";

const dir = tempDir("python-nf4");
const SPEC: AdapterSpec = {
  method: "lora", r: 4, alpha: 8, dropout: 0, rslora: false, init: "kaiming",
  target: { regex: null, names: ["q_proj", "v_proj", "down_proj"] }, exclude: { regex: null, names: [] },
  rankPattern: {}, alphaPattern: {}, adalora: null,
};

describe.skipIf(!canCrossCheck)("an adapter trained on an nf4 base", () => {
  it("is W + scaling · B @ A on the original float32 base (python)", async () => {
    await useCpu();
    const baseDir = path.join(dir, "base");
    const m = hfModel("llama");
    saveHfModel(m, baseDir);
    m.dispose();
    const q = loadHfModel(baseDir, { precision: "nf4" }).model;
    injectAdapter(q, "default", SPEC, { rand: seeded(5) });
    const trainer = new Trainer({ model: q, train: trainSpec({ steps: 4 }), lr: 5e-2, seed: 1 });
    const batch = randomBatch(q.config, 3, 7);
    for (let i = 0; i < 4; i++) trainer.trainStep(batch);
    trainer.dispose();
    const trainedB = [...loraAdapters(q, "default").values()].map((a) => Float32Array.from(a.B.dataSync() as Float32Array));
    expect(trainedB.every((b) => b.some((v) => v !== 0))).toBe(true);
    const adapterDir = path.join(dir, "adapter");
    exportAdapter(q, "default", SPEC, adapterDir, { baseModel: baseDir, taskType: "CAUSAL_LM" });
    q.dispose();

    const original = loadHfModel(baseDir).model;
    importAdapter(original, adapterDir, "default");
    const loadedB = [...loraAdapters(original, "default").values()].map((a) => a.B.dataSync());
    loadedB.forEach((b, i) => expect(maxAbsDiff(b, trainedB[i]!)).toBe(0));
    const mergedDir = path.join(dir, "merged");
    mergeAndUnload(original, "default", mergedDir);
    expect(pythonCrossCheck(original, "default", baseDir, adapterDir, mergedDir).length).toBe(2 * 3);
    original.dispose();
  });
});
