import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { linearModules, parseHfConfig } from "../../src/runtime/io/hf-config.js";
import {
  AdapterFormatError, adapterTensorName, buildAdapterConfig, readAdapterFolder, savedModuleTensorName, serializeAdapterConfig,
  writeAdapterFolder, type AdapterConfigOptions, type ModuleShape,
} from "../../src/runtime/io/peft-format.js";
import { SafetensorsFile, writeSafetensors, type WritableTensor } from "../../src/runtime/io/safetensors.js";
import { tempDir } from "./helpers.js";

const root = tempDir("adapter");
let counter = 0;
const freshDir = () => path.join(root, `a${counter++}`);

const llama = parseHfConfig({
  model_type: "llama", vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, architectures: ["LlamaForSequenceClassification"], num_labels: 3,
}).config;
const shapes = new Map<string, ModuleShape>(linearModules(llama).map((m) => [m.path, { in: m.in, out: m.out }]));

const ramp = (n: number, scale: number) => Float32Array.from({ length: n }, (_, i) => (i - n / 2) * scale);
const mat = (rows: number, cols: number, scale = 0.01): WritableTensor => ({ dtype: "F32", shape: [rows, cols], data: ramp(rows * cols, scale) });

/** LoRA tensors for q/v of every layer (rank 2 on layer 1 q_proj via rank_pattern), plus the score head. */
function adapterTensors(opts: { dora?: boolean } = {}): Record<string, WritableTensor> {
  const out: Record<string, WritableTensor> = {};
  for (const l of [0, 1]) {
    for (const m of ["q_proj", "v_proj"]) {
      const p = `model.layers.${l}.self_attn.${m}`;
      const r = p === "model.layers.1.self_attn.q_proj" ? 2 : 4;
      const s = shapes.get(p)!;
      out[adapterTensorName(p, "lora_A")] = mat(r, s.in);
      out[adapterTensorName(p, "lora_B")] = mat(s.out, r);
      if (opts.dora) out[adapterTensorName(p, "lora_magnitude_vector")] = { dtype: "F32", shape: [s.out], data: ramp(s.out, 1) };
    }
  }
  out[savedModuleTensorName("score", "weight")] = mat(3, 16);
  return out;
}

const options = (over: Partial<AdapterConfigOptions> = {}): AdapterConfigOptions => ({
  taskType: "SEQ_CLS", baseModel: "tiny-llama", r: 4, alpha: 8, targetModules: ["q_proj", "v_proj"],
  rankPattern: { "layers.1.self_attn.q_proj": 2 }, modulesToSave: ["score"], ...over,
});

describe("adapter folders", () => {
  it("write → read round trip", () => {
    const dir = freshDir();
    const config = buildAdapterConfig(options());
    const tensors = adapterTensors();
    const { files, warnings } = writeAdapterFolder(dir, config, tensors, { modules: shapes });
    expect(warnings).toEqual([]);
    expect(files.map((f) => path.basename(f))).toEqual(["adapter_model.safetensors", "adapter_config.json", "README.md"]);
    expect(fs.readFileSync(path.join(dir, "adapter_config.json"), "utf8")).toBe(serializeAdapterConfig(config));
    const st = SafetensorsFile.open(path.join(dir, "adapter_model.safetensors"));
    expect(st.metadata).toEqual({ format: "pt" });
    st.close();
    const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8");
    expect(readme).toMatch(/^---\nbase_model: "tiny-llama"\nlibrary_name: peft\n/);
    expect(readme).toContain("Target modules: q_proj, v_proj (4 modules)");

    const back = readAdapterFolder(dir, { modules: shapes });
    expect(back.config).toEqual(config);
    expect(back.warnings).toEqual([]);
    expect([...back.modules.keys()].sort()).toEqual([
      "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj",
    ]);
    const q1 = back.modules.get("model.layers.1.self_attn.q_proj")!;
    expect(q1.r).toBe(2);
    expect(q1.loraA.data).toEqual(tensors[adapterTensorName("model.layers.1.self_attn.q_proj", "lora_A")]!.data);
    expect(q1.loraB.shape).toEqual([16, 2]);
    expect(q1.magnitude).toBeNull();
    expect(back.savedModules.get("score")!.weight!.shape).toEqual([3, 16]);
  });

  it("round trips DoRA magnitudes", () => {
    const dir = freshDir();
    writeAdapterFolder(dir, buildAdapterConfig(options({ useDora: true })), adapterTensors({ dora: true }));
    const v = readAdapterFolder(dir).modules.get("model.layers.0.self_attn.v_proj")!;
    expect(v.magnitude!.shape).toEqual([8]);
  });

  it("reads names with adapter-name infixes and old modules_to_save names", () => {
    const dir = freshDir();
    fs.mkdirSync(dir);
    const tensors = Object.fromEntries(Object.entries(adapterTensors()).map(([n, t]) => [
      n.replace(/\.lora_([AB])\.weight$/, ".lora_$1.default.weight").replace(/score\.weight$/, "score.modules_to_save.default.weight"), t,
    ]));
    writeSafetensors(path.join(dir, "adapter_model.safetensors"), tensors, { format: "pt" });
    fs.writeFileSync(path.join(dir, "adapter_config.json"), serializeAdapterConfig(buildAdapterConfig(options())));
    const back = readAdapterFolder(dir, { modules: shapes });
    expect(back.modules.size).toBe(4);
    expect(Object.keys(back.savedModules.get("score")!)).toEqual(["weight"]);
  });

  it("warns about non-finite values and ambiguous patterns", () => {
    const dir = freshDir();
    const tensors = adapterTensors();
    (tensors[adapterTensorName("model.layers.0.self_attn.v_proj", "lora_B")]!.data as Float32Array)[3] = NaN;
    const config = buildAdapterConfig(options({ alphaPattern: { v_proj: 4, "0.self_attn.v_proj": 2 } }));
    const { warnings } = writeAdapterFolder(dir, config, tensors);
    expect(warnings).toEqual([
      'module "model.layers.0.self_attn.v_proj" is matched by several alpha_pattern keys (0.self_attn.v_proj → 2, v_proj → 4); the first in file order wins',
    ]);
    expect(readAdapterFolder(dir).warnings).toContain(
      `${path.join(dir, "adapter_model.safetensors")}: tensor "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight" has 1 non-finite values (first at 3: NaN)`,
    );
  });

  const q0 = "model.layers.0.self_attn.q_proj";
  const bad: [string, (t: Record<string, WritableTensor>) => void, Partial<AdapterConfigOptions>, RegExp][] = [
    ["a missing lora_B", (t) => delete t[adapterTensorName(q0, "lora_B")], {}, /module "model.layers.0.self_attn.q_proj" has lora_A but no lora_B/],
    ["a rank against rank_pattern", () => {}, { rankPattern: {} }, /module "model.layers.1.self_attn.q_proj": rank 2 but the config gives r = 4/],
    ["mismatched A/B ranks", (t) => { t[adapterTensorName(q0, "lora_B")] = mat(16, 3); }, {}, /lora_A \[4,16\] has rank 4 but lora_B \[16,3\] has rank 3/],
    ["a wrong in size", (t) => { t[adapterTensorName(q0, "lora_A")] = mat(4, 12); }, {}, /lora_A \[4,12\] \/ lora_B \[16,4\] do not fit a linear layer 16 → 16/],
    ["an unknown module", (t) => { t[adapterTensorName("model.layers.0.self_attn.z_proj", "lora_A")] = mat(4, 16); t[adapterTensorName("model.layers.0.self_attn.z_proj", "lora_B")] = mat(16, 4); }, { targetModules: ["q_proj", "v_proj", "z_proj"] }, /z_proj" is not a linear module of the model/],
    ["an untargeted module", () => {}, { targetModules: ["q_proj"] }, /v_proj" is not matched by target_modules \["q_proj"\]; PEFT would not load/],
    ["an excluded module", () => {}, { excludeModules: ["layers.0.self_attn.v_proj"] }, /is matched by exclude_modules/],
    ["an AdaLoRA lora_E", (t) => { t[adapterTensorName(q0, "lora_E")] = mat(4, 1); }, {}, /is an AdaLoRA lora_E/],
    ["a stray tensor", (t) => { t["base_model.model.model.norm.weight"] = { dtype: "F32", shape: [16], data: new Float32Array(16) }; }, {}, /tensor "base_model.model.model.norm.weight" is neither a LoRA tensor nor/],
    ["magnitudes without use_dora", (t) => { t[adapterTensorName(q0, "lora_magnitude_vector")] = { dtype: "F32", shape: [16], data: new Float32Array(16) }; }, {}, /has a lora_magnitude_vector but use_dora is false/],
    ["missing magnitudes with use_dora", () => {}, { useDora: true }, /has no lora_magnitude_vector but use_dora is true/],
    ["integer weights", (t) => { t[adapterTensorName(q0, "lora_A")] = { dtype: "I32", shape: [4, 16], data: new Int32Array(64) }; }, {}, /has dtype I32; adapter weights must be F32, F16 or BF16/],
    ["an adapter-name infix", (t) => { t["base_model.model.x.lora_A.default.weight"] = mat(4, 16); }, {}, /without an adapter name/],
  ];

  it.each(bad)("write rejects %s, naming the file and module", (_label, edit, over, msg) => {
    const dir = freshDir();
    const tensors = adapterTensors();
    edit(tensors);
    let err: unknown;
    try {
      writeAdapterFolder(dir, buildAdapterConfig(options(over)), tensors, { modules: shapes });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AdapterFormatError);
    expect((err as Error).message).toContain(path.join(dir, "adapter_model.safetensors"));
    expect((err as Error).message).toMatch(msg);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it("read applies the same checks to files written elsewhere", () => {
    const dir = freshDir();
    fs.mkdirSync(dir);
    const tensors = adapterTensors();
    delete tensors[adapterTensorName(q0, "lora_A")];
    writeSafetensors(path.join(dir, "adapter_model.safetensors"), tensors);
    fs.writeFileSync(path.join(dir, "adapter_config.json"), serializeAdapterConfig(buildAdapterConfig(options())));
    expect(() => readAdapterFolder(dir)).toThrow(/module "model.layers.0.self_attn.q_proj" has lora_B but no lora_A/);
  });

  it("explains missing files", () => {
    const dir = freshDir();
    fs.mkdirSync(dir);
    expect(() => readAdapterFolder(dir)).toThrow(/adapter_config.json: does not exist \(not a PEFT adapter folder\)/);
    fs.writeFileSync(path.join(dir, "adapter_config.json"), '{"peft_type": "LORA"}');
    fs.writeFileSync(path.join(dir, "adapter_model.bin"), "pickle");
    expect(() => readAdapterFolder(dir)).toThrow(/adapter_model.safetensors: does not exist \(adapter_model.bin is pickled PyTorch/);
  });
});
