// An adapter folder that is only loaded and saved comes back as it was written: the same JSON values
// in adapter_config.json (target_modules as a regex or a list, rank_pattern / alpha_pattern keys,
// keys peftlab does not use) and the same tensor bytes in the same dtypes (BF16 / F16 stay so).
// Once the adapter changes, the values that no longer describe it are recomputed.
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { exportAdapter, importAdapter } from "../../src/runtime/adapters/peft-io.js";
import { loraAdapters } from "../../src/runtime/adapters/inject.js";
import { writeSafetensors, type WritableTensor } from "../../src/runtime/io/safetensors.js";
import type { Dtype } from "../../src/runtime/io/safetensors-dtypes.js";
import { seeded, useCpu } from "../runtime/helpers.js";
import { tempDir } from "./helpers.js";
import { addLora, hfModel, maxAbsDiff, outputsOf } from "./model-fixtures.js";

beforeAll(useCpu);
const root = tempDir("adapter-round-trip");
let n = 0;
const fresh = () => path.join(root, `d${n++}`);

/** Random tensors in `dtype` (the writer rounds the values to it). */
function matrices(seed: number, dtype: Dtype): (shape: number[]) => WritableTensor {
  const rand = seeded(seed);
  return (shape) => ({ dtype, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() - 0.5) });
}

function writeFolder(config: Record<string, unknown>, tensors: Record<string, WritableTensor>): string {
  const d = fresh();
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, "adapter_config.json"), JSON.stringify(config, null, 2));
  writeSafetensors(path.join(d, "adapter_model.safetensors"), tensors, { format: "pt" });
  return d;
}

/** Each tensor's dtype, shape and raw data bytes, read straight from the file. */
function rawTensors(dir: string): Record<string, { dtype: string; shape: number[]; bytes: string }> {
  const buf = fs.readFileSync(path.join(dir, "adapter_model.safetensors"));
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out: Record<string, { dtype: string; shape: number[]; bytes: string }> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    out[name] = { dtype: e.dtype, shape: e.shape, bytes: buf.subarray(8 + len + e.data_offsets[0], 8 + len + e.data_offsets[1]).toString("hex") };
  }
  return out;
}

const readConfig = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "adapter_config.json"), "utf8")) as Record<string, unknown>;

const q = (l: number) => `base_model.model.model.layers.${l}.self_attn.q_proj`;
const v = (l: number) => `base_model.model.model.layers.${l}.self_attn.v_proj`;

/** A PEFT-written Llama adapter: BF16 tensors, a regex target, rank and alpha patterns, newer PEFT keys. */
function llamaFolder(over: Record<string, unknown> = {}): { dir: string; config: Record<string, unknown> } {
  const t = matrices(1, "BF16");
  const tensors: Record<string, WritableTensor> = {};
  for (const l of [0, 1]) {
    const rq = l === 1 ? 2 : 4;
    tensors[`${q(l)}.lora_A.weight`] = t([rq, 16]);
    tensors[`${q(l)}.lora_B.weight`] = t([16, rq]);
    tensors[`${v(l)}.lora_A.weight`] = t([4, 16]);
    tensors[`${v(l)}.lora_B.weight`] = t([8, 4]);
  }
  const config = {
    alora_invocation_tokens: null, alpha_pattern: { "v_proj": 6 }, arrow_config: null, auto_mapping: null,
    base_model_name_or_path: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", bias: "none", corda_config: null, ensure_weight_tying: false,
    eva_config: null, exclude_modules: null, fan_in_fan_out: false, inference_mode: true, init_lora_weights: "gaussian",
    layer_replication: null, layers_pattern: null, layers_to_transform: null, loftq_config: {}, lora_alpha: 16, lora_bias: false,
    lora_dropout: 0.05, megatron_config: null, megatron_core: "megatron.core", modules_to_save: null, peft_type: "LORA",
    peft_version: "0.17.1", qalora_group_size: 16, r: 4, rank_pattern: { "layers\\.1\\.self_attn\\.q_proj": 2 }, revision: "main",
    runtime_config: { ephemeral_gpu_offload: false }, target_modules: "model\\.layers\\.\\d+\\.self_attn\\.(q_proj|v_proj)",
    target_parameters: null, task_type: "CAUSAL_LM", trainable_token_indices: null, use_dora: false, use_qalora: false, use_rslora: false,
    a_key_from_a_newer_peft: { nested: [1, "two"] }, ...over,
  };
  return { dir: writeFolder(config, tensors), config };
}

describe("an adapter only loaded and saved is written as it was", () => {
  it("Llama, BF16, regex target_modules, rank_pattern / alpha_pattern, unknown keys: equal JSON, identical bytes", () => {
    const { dir, config } = llamaFolder();
    const m = hfModel("llama");
    const before = outputsOf(m);
    const imported = importAdapter(m, dir, "peft");
    expect(imported.warnings).toEqual([expect.stringContaining('unknown key "a_key_from_a_newer_peft" is not used')]);
    expect(maxAbsDiff(outputsOf(m), before)).toBeGreaterThan(1e-3);
    const out = fresh();
    exportAdapter(m, "peft", null, out, { taskType: "CAUSAL_LM" });
    expect(readConfig(out)).toEqual(config);
    expect(rawTensors(out)).toEqual(rawTensors(dir));
    expect(Object.values(rawTensors(out)).map((t) => t.dtype)).toEqual(new Array(8).fill("BF16"));
    m.dispose();
  });

  it("a list target in file order, F16 tensors, a classifier head in modules_to_save, keys left out stay out", () => {
    const t = matrices(2, "F16");
    const p = (l: number, mod: string) => `base_model.model.model.layers.${l}.self_attn.${mod}`;
    const tensors: Record<string, WritableTensor> = {
      [`${p(0, "v_proj")}.lora_A.weight`]: t([2, 16]), [`${p(0, "v_proj")}.lora_B.weight`]: t([8, 2]),
      [`${p(1, "v_proj")}.lora_A.weight`]: t([2, 16]), [`${p(1, "v_proj")}.lora_B.weight`]: t([8, 2]),
      [`${p(0, "o_proj")}.lora_A.weight`]: t([2, 16]), [`${p(0, "o_proj")}.lora_B.weight`]: t([16, 2]),
      [`${p(1, "o_proj")}.lora_A.weight`]: t([2, 16]), [`${p(1, "o_proj")}.lora_B.weight`]: t([16, 2]),
      "base_model.model.score.weight": t([3, 16]),
    };
    // A minimal hand-written config: PEFT's defaults fill what it leaves out.
    const config = { peft_type: "LORA", task_type: "SEQ_CLS", r: 2, lora_alpha: 4, target_modules: ["v_proj", "o_proj"], modules_to_save: ["score"], use_dora: false };
    const dir = writeFolder(config, tensors);
    const m = hfModel("qwen2 classifier");
    importAdapter(m, dir, "cls");
    const out = fresh();
    exportAdapter(m, "cls", null, out, { taskType: "SEQ_CLS" });
    expect(readConfig(out)).toEqual(config);
    expect(rawTensors(out)).toEqual(rawTensors(dir));
    m.dispose();
  });

  it("after training, values are written in the stored dtype (or the one asked) and the written selector stays", () => {
    const { dir, config } = llamaFolder();
    const m = hfModel("llama");
    importAdapter(m, dir, "peft");
    const b = loraAdapters(m, "peft").get("model.layers.0.self_attn.q_proj")!.B;
    tf.tidy(() => b.assign(tf.add(b, tf.fill(b.shape, 0.125))));
    const changed = fresh();
    exportAdapter(m, "peft", null, changed, { taskType: "CAUSAL_LM" });
    expect(readConfig(changed)).toEqual(config);
    const [was, now] = [rawTensors(dir), rawTensors(changed)];
    const name = `${q(0)}.lora_B.weight`;
    expect(now[name]!.dtype).toBe("BF16");
    expect(now[name]!.bytes).not.toBe(was[name]!.bytes);
    expect(now[`${v(1)}.lora_A.weight`]).toEqual(was[`${v(1)}.lora_A.weight`]);

    const asF32 = fresh();
    exportAdapter(m, "peft", null, asF32, { taskType: "CAUSAL_LM", dtype: "F32" });
    const f32 = rawTensors(asF32);
    expect(new Set(Object.values(f32).map((x) => x.dtype))).toEqual(new Set(["F32"]));
    // BF16 → F32 is exact: the upper two bytes of each float are the BF16 bits.
    const bf = Buffer.from(was[`${v(1)}.lora_A.weight`]!.bytes, "hex");
    const f = Buffer.from(f32[`${v(1)}.lora_A.weight`]!.bytes, "hex");
    for (let i = 0; i < bf.length / 2; i++) expect([f[4 * i], f[4 * i + 1], f[4 * i + 2], f[4 * i + 3]]).toEqual([0, 0, bf[2 * i], bf[2 * i + 1]]);
    m.dispose();
  });

  it("values that no longer describe the adapter are recomputed; other keys pass through", () => {
    const { dir } = llamaFolder();
    const m = hfModel("llama");
    importAdapter(m, dir, "peft");
    // Dropping one module: the regex would now select a module without an adapter.
    const a = m.linears().get("model.layers.1.self_attn.v_proj")!;
    a.removeAdapter("peft");
    const out = fresh();
    exportAdapter(m, "peft", null, out, { taskType: "CAUSAL_LM", baseModel: "elsewhere/base" });
    const c = readConfig(out);
    expect(c.target_modules).toEqual(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj"]);
    expect(c.base_model_name_or_path).toBe("elsewhere/base");
    expect(c.revision).toBeNull(); // the written revision was the old base's
    // The written ranks and alphas still give each module its rank and scaling; the unknown keys pass through.
    expect(c).toMatchObject({ r: 4, lora_alpha: 16, rank_pattern: { "layers\\.1\\.self_attn\\.q_proj": 2 }, alpha_pattern: { v_proj: 6 } });
    expect(c.a_key_from_a_newer_peft).toEqual({ nested: [1, "two"] });
    expect(new Set(Object.values(rawTensors(out)).map((x) => x.dtype))).toEqual(new Set(["BF16"]));
    m.dispose();
  });

  it("an adapter built anew under an imported name does not inherit the folder", () => {
    const { dir } = llamaFolder();
    const m = hfModel("llama");
    importAdapter(m, dir, "peft");
    for (const l of m.linears().values()) if (l.adapters.has("peft")) l.removeAdapter("peft");
    addLora(m, ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"], { name: "peft", r: 4, alpha: 8 });
    const out = fresh();
    exportAdapter(m, "peft", null, out, { taskType: "CAUSAL_LM" });
    const c = readConfig(out);
    expect(c).toMatchObject({ r: 4, lora_alpha: 8, rank_pattern: {}, alpha_pattern: {}, init_lora_weights: true, base_model_name_or_path: null });
    expect(c.runtime_config).toBeUndefined();
    expect(new Set(Object.values(rawTensors(out)).map((x) => x.dtype))).toEqual(new Set(["F32"]));
    m.dispose();
  });
});
