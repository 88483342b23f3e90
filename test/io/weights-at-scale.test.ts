// Weight files a reviewer could throw at the loader: a 30+ MB header of 400,000 entries, a header
// naming one tensor twice, and base weights holding NaN (a broken file, not a learning rate).
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadHfModel, saveHfModel } from "../../src/runtime/io/hf-model.js";
import { SafetensorsError, SafetensorsFile, writeSafetensors, type WritableTensor } from "../../src/runtime/io/safetensors.js";
import { repeatedTopLevelKey } from "../../src/runtime/io/safetensors-header.js";
import { nonFiniteWeights, weightsFileOf } from "../../src/runtime/io/weight-health.js";
import { NonFiniteLossError, Trainer } from "../../src/runtime/train/trainer.js";
import { randomBatch, trainSpec, useCpu } from "../runtime/helpers.js";
import { rawSafetensors, tempDir } from "./helpers.js";
import { addLora, hfModel } from "./model-fixtures.js";

beforeAll(useCpu);
const dir = tempDir("weights-at-scale");

describe("safetensors headers at scale", () => {
  it("opens a header of 400,000 entries (over 30 MB) without recursion", () => {
    const n = 400_000;
    const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
    for (let i = 0; i < n; i++) header[`model.layers.${i}.block.attention.projection.weight`] = { dtype: "F32", shape: [1], data_offsets: [4 * i, 4 * i + 4] };
    const file = path.join(dir, "wide.safetensors");
    fs.writeFileSync(file, rawSafetensors(header, new Uint8Array(4 * n)));
    expect(fs.statSync(file).size).toBeGreaterThan(32_000_000);
    const f = SafetensorsFile.open(file);
    expect(f.names()).toHaveLength(n);
    expect(f.info(`model.layers.${n - 1}.block.attention.projection.weight`).shape).toEqual([1]);
    f.close();
  });

  it("loads an HF folder whose file holds 400,000 unused tensors, with a bounded list of warnings", () => {
    const m = hfModel("llama");
    const d = path.join(dir, "many-unused");
    saveHfModel(m, d);
    m.dispose();
    const file = path.join(d, "model.safetensors");
    const src = SafetensorsFile.open(file);
    const tensors: Record<string, WritableTensor> = {};
    for (const name of src.names()) tensors[name] = src.read(name);
    src.close();
    for (let i = 0; i < 400_000; i++) tensors[`extra.${i}.weight`] = { dtype: "F32", shape: [1], data: new Float32Array([i]) };
    writeSafetensors(file, tensors, { format: "pt" });
    const { model, warnings } = loadHfModel(d);
    expect(warnings).toHaveLength(21);
    expect(warnings[20]).toMatch(/model\.safetensors: 399980 more tensors are not used by the llama causal_lm model$/);
    model.dispose();
  }, 60_000);

  it("rejects a header that names one tensor twice", () => {
    const entry = (begin: number) => `{"dtype":"F32","shape":[1],"data_offsets":[${begin},${begin + 4}]}`;
    const json = Buffer.from(`{"a":${entry(0)},"b":${entry(4)},"a":${entry(8)}}`);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const file = path.join(dir, "twice.safetensors");
    fs.writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(12)]));
    let error: unknown;
    try {
      SafetensorsFile.open(file).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SafetensorsError);
    expect((error as SafetensorsError).rule).toBe("DuplicateTensorName");
    expect((error as SafetensorsError).tensor).toBe("a");
    expect((error as Error).message).toBe(`${file}: tensor "a": the header names this tensor more than once (one entry would hide the other) [DuplicateTensorName]`);
  });

  it.each([
    ['{"a":{"dtype":"F32"},"b":{"dtype":"F32"}}', null],
    ['{"a":{"x":{"a":1}},"b":[{"a":2},"a"]}', null],
    ['{"a\\u0062":1,"ab":2}', "ab"],
    ['{"q\\"uote":1,"q\\"uote":2}', 'q"uote'],
    ['{"__metadata__":{"k":"v"},"__metadata__":{}}', "__metadata__"],
    ['{ "x" : 1 , "y" : { "x" : 2 } , "x" : 3 }', "x"],
  ])("repeatedTopLevelKey(%s) = %j", (json, expected) => {
    expect(repeatedTopLevelKey(json)).toBe(expected);
  });
});

describe("NaN in base weights", () => {
  it("a NaN loss from NaN base weights names the file and tensor, not the learning rate", () => {
    const m = hfModel("llama");
    const d = path.join(dir, "nan-weights");
    saveHfModel(m, d);
    m.dispose();
    const file = path.join(d, "model.safetensors");
    const src = SafetensorsFile.open(file);
    const tensors: Record<string, WritableTensor> = {};
    for (const name of src.names()) tensors[name] = src.read(name);
    src.close();
    (tensors["model.layers.0.self_attn.q_proj.weight"]!.data as Float32Array).fill(NaN, 0, 3);
    writeSafetensors(file, tensors, { format: "pt" });
    const { model } = loadHfModel(d);
    expect(weightsFileOf(model)).toBe(file);
    expect(nonFiniteWeights(model)).toBe(`file ${file}, tensor "model.layers.0.self_attn.q_proj.weight": 3 NaN, 0 infinite`);
    addLora(model, ["model.layers.0.self_attn.v_proj"]);
    const trainer = new Trainer({ model, train: trainSpec({ steps: 2 }), lr: 1e-3, seed: 1 });
    let error: unknown;
    try {
      trainer.trainStep(randomBatch(model.config));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NonFiniteLossError);
    const message = (error as Error).message;
    expect(message).toContain(`the weights contain NaN or Infinity (file ${file}, tensor "model.layers.0.self_attn.q_proj.weight": 3 NaN, 0 infinite)`);
    expect(message).not.toMatch(/lower the learning rate/);
    trainer.dispose?.();
    model.dispose();
  });

  it("finite base weights leave the learning-rate advice in place", () => {
    const m = hfModel("llama");
    expect(nonFiniteWeights(m)).toBeNull();
    expect(new NonFiniteLossError(3, NaN, 2.5, null).message).toMatch(/lower the learning rate or enable gradient clipping/);
    m.dispose();
  });
});
