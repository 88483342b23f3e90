import { describe, expect, it } from "vitest";
import type { AdapterSpec } from "../../src/dsl/plan.js";
import { matchesTargetModules } from "../../src/peft/targets.js";
import {
  adapterConfigFromSpec, AdapterFormatError, adapterTensorName, buildAdapterConfig, parseAdapterConfig,
  parseAdapterTensorName, selectorToModules, serializeAdapterConfig, type LoraTensorKind,
} from "../../src/runtime/io/peft-format.js";

const GOLDEN = `{
  "alpha_pattern": {},
  "base_model_name_or_path": "peftlab/tiny-llama",
  "bias": "none",
  "exclude_modules": null,
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layers_pattern": null,
  "layers_to_transform": null,
  "lora_alpha": 16,
  "lora_dropout": 0.05,
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 8,
  "rank_pattern": {
    "model.layers.0.self_attn.v_proj": 2,
    "model.layers.1.self_attn.q_proj": 4
  },
  "revision": null,
  "target_modules": [
    "q_proj",
    "v_proj"
  ],
  "task_type": "CAUSAL_LM",
  "use_dora": false,
  "use_rslora": false
}`;

describe("adapter_config.json", () => {
  const cfg = buildAdapterConfig({
    taskType: "CAUSAL_LM", baseModel: "peftlab/tiny-llama", r: 8, alpha: 16, dropout: 0.05, targetModules: ["v_proj", "q_proj", "v_proj"],
    rankPattern: { "model.layers.1.self_attn.q_proj": 4, "model.layers.0.self_attn.v_proj": 2 },
  });

  it("is written exactly like PEFT's json.dumps(indent=2, sort_keys=True)", () => {
    expect(serializeAdapterConfig(cfg)).toBe(GOLDEN);
  });

  it("escapes non-ASCII like Python's ensure_ascii", () => {
    const c = buildAdapterConfig({ taskType: "SEQ_CLS", baseModel: "équipe/modèle", r: 2, alpha: 2, targetModules: "query" });
    expect(serializeAdapterConfig(c)).toContain('"base_model_name_or_path": "\\u00e9quipe/mod\\u00e8le"');
    expect(parseAdapterConfig(serializeAdapterConfig(c), "a.json").config.base_model_name_or_path).toBe("équipe/modèle");
  });

  it("round trips through parseAdapterConfig without warnings", () => {
    const { config, warnings } = parseAdapterConfig(GOLDEN, "adapter_config.json");
    expect(config).toEqual(cfg);
    expect(warnings).toEqual([]);
  });

  it("reads a config written by a recent PEFT, warning only about unknown keys", () => {
    const peft = {
      alora_invocation_tokens: null, alpha_pattern: {}, arrow_config: null, auto_mapping: null, base_model_name_or_path: "gpt2",
      bias: "none", corda_config: null, ensure_weight_tying: false, eva_config: null, exclude_modules: null, fan_in_fan_out: true,
      inference_mode: true, init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null,
      loftq_config: {}, lora_alpha: 32, lora_bias: false, lora_dropout: 0.1, megatron_config: null, megatron_core: "megatron.core",
      modules_to_save: ["classifier", "score"], peft_type: "LORA", peft_version: "0.17.1", qalora_group_size: 16, r: 16,
      rank_pattern: {}, revision: null, runtime_config: { ephemeral_gpu_offload: false }, target_modules: ["c_attn"],
      target_parameters: null, task_type: "SEQ_CLS", trainable_token_indices: null, use_dora: false, use_qalora: false,
      use_rslora: false, use_beamlora: true,
    };
    const { config, warnings } = parseAdapterConfig(JSON.stringify(peft, null, 2), "a/adapter_config.json");
    expect(warnings).toEqual(['a/adapter_config.json: unknown key "use_beamlora" is not used (an adapter saved again keeps it as written)']);
    expect(config).toMatchObject({ r: 16, lora_alpha: 32, fan_in_fan_out: true, task_type: "SEQ_CLS", peft_version: "0.17.1", target_modules: ["c_attn"] });
  });

  it("fills PEFT defaults for a minimal config", () => {
    const { config } = parseAdapterConfig('{"peft_type": "LORA", "target_modules": "(q|v)_proj"}', "x.json");
    expect(config).toMatchObject({ r: 8, lora_alpha: 8, lora_dropout: 0, target_modules: "(q|v)_proj", rank_pattern: {}, task_type: null });
  });

  it("warns that a PiSSA init needs the modified base", () => {
    const text = serializeAdapterConfig(buildAdapterConfig({ taskType: "CAUSAL_LM", r: 4, alpha: 4, targetModules: ["q_proj"], initLoraWeights: "pissa_niter_4" }));
    expect(parseAdapterConfig(text, "p.json").warnings[0]).toMatch(/init_lora_weights "pissa_niter_4" modifies the base weights/);
  });

  it.each([
    ["not JSON", "{", /x\.json: is not valid JSON/],
    ["an array", "[]", /x\.json: is not a JSON object/],
    ["no peft_type", '{"r": 8}', /key "peft_type" is missing/],
    ["another method", '{"peft_type": "ADALORA"}', /key "peft_type" = "ADALORA" is not supported: only peft_type "LORA"/],
    ["bias all", '{"peft_type": "LORA", "bias": "all"}', /key "bias" = "all" is not supported/],
    ["lora_bias", '{"peft_type": "LORA", "lora_bias": true}', /key "lora_bias" = true is not supported: LoRA bias vectors/],
    ["layer replication", '{"peft_type": "LORA", "layer_replication": [[0, 2]]}', /key "layer_replication" = \[\[0,2\]\] is not supported/],
    ["zero rank", '{"peft_type": "LORA", "r": 0}', /key "r" = 0 must be an integer >= 1/],
    ["numeric targets", '{"peft_type": "LORA", "target_modules": 5}', /key "target_modules" = 5 must be a list of module names or a regex string/],
    ["bad rank_pattern value", '{"peft_type": "LORA", "rank_pattern": {"q_proj": 2.5}}', /key "rank_pattern" = \{"q_proj":2.5\} must be an object of pattern → integer rank >= 1/],
    ["bad rank_pattern regex", '{"peft_type": "LORA", "rank_pattern": {"q_proj(": 2}}', /key "rank_pattern" has pattern "q_proj\(", which is not a valid regular expression/],
    ["seq2seq task", '{"peft_type": "LORA", "task_type": "SEQ_2_SEQ_LM"}', /key "task_type" = "SEQ_2_SEQ_LM" is not supported/],
    ["dropout 1", '{"peft_type": "LORA", "lora_dropout": 1}', /key "lora_dropout" = 1 must be a number in \[0, 1\)/],
  ])("rejects %s naming the file and key", (_label, text, msg) => {
    expect(() => parseAdapterConfig(text, "x.json")).toThrow(AdapterFormatError);
    expect(() => parseAdapterConfig(text, "x.json")).toThrow(msg);
  });

  it("buildAdapterConfig rejects empty targets and bad values", () => {
    expect(() => buildAdapterConfig({ taskType: "CAUSAL_LM", r: 4, alpha: 8, targetModules: [] })).toThrow(/target_modules" must name at least one module/);
    expect(() => buildAdapterConfig({ taskType: "CAUSAL_LM", r: 1.5, alpha: 8, targetModules: ["q"] })).toThrow(/key "r" = 1.5/);
  });
});

describe("plan selectors as PEFT target_modules", () => {
  it("turns a plan selector into modules with the same matches", () => {
    const paths = ["model.layers.0.self_attn.q_proj", "model.layers.0.mlp.up_proj", "model.layers.1.mlp.down_proj", "lm_head", "x.lm_head2"];
    const sel = { regex: ".*\\.1\\.mlp\\..*", names: ["q_proj", "lm_head"] };
    const target = selectorToModules(sel)!;
    const expected = (p: string) => new RegExp(`^(?:${sel.regex})$`).test(p) || sel.names.some((n) => p === n || p.endsWith(`.${n}`));
    for (const p of paths) expect(matchesTargetModules(target, p), p).toBe(expected(p));
    expect(selectorToModules({ regex: null, names: ["a"] })).toEqual(["a"]);
    expect(selectorToModules({ regex: "a.*", names: [] })).toBe("a.*");
    expect(selectorToModules({ regex: null, names: [] })).toBeNull();
  });

  it("adapterConfigFromSpec maps the plan's adapter", () => {
    const spec: AdapterSpec = {
      method: "dora", r: 4, alpha: 8, dropout: 0.1, rslora: true, init: "gaussian", target: { regex: null, names: ["c_attn"] },
      exclude: { regex: null, names: [] }, rankPattern: { "h.0.attn.c_attn": 2 }, alphaPattern: {}, adalora: null,
    };
    expect(adapterConfigFromSpec(spec, { taskType: "CAUSAL_LM", baseModel: "gpt2", fanInFanOut: true })).toMatchObject({
      r: 4, lora_alpha: 8, lora_dropout: 0.1, use_rslora: true, use_dora: true, init_lora_weights: "gaussian",
      target_modules: ["c_attn"], exclude_modules: null, fan_in_fan_out: true, rank_pattern: { "h.0.attn.c_attn": 2 },
    });
  });
});

describe("tensor names", () => {
  const kinds: [LoraTensorKind, string][] = [
    ["lora_A", "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"],
    ["lora_B", "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"],
    ["lora_magnitude_vector", "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector"],
    ["lora_E", "base_model.model.model.layers.0.self_attn.q_proj.lora_E"],
  ];

  it.each(kinds)("%s round trips", (kind, name) => {
    expect(adapterTensorName("model.layers.0.self_attn.q_proj", kind)).toBe(name);
    expect(parseAdapterTensorName(name)).toEqual({ modulePath: "model.layers.0.self_attn.q_proj", kind, adapterName: null });
  });

  it.each([
    ["base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight", "transformer.h.0.attn.c_attn", "lora_A", "default"],
    ["base_model.model.x.lora_B.my_adapter.weight", "x", "lora_B", "my_adapter"],
    ["base_model.model.x.lora_magnitude_vector.default.weight", "x", "lora_magnitude_vector", "default"],
    ["base_model.model.x.lora_magnitude_vector.weight", "x", "lora_magnitude_vector", null],
    ["base_model.model.x.lora_E.default", "x", "lora_E", "default"],
    ["model.layers.0.mlp.up_proj.lora_A.weight", "model.layers.0.mlp.up_proj", "lora_A", null],
  ])("parses %s", (name, modulePath, kind, adapterName) => {
    expect(parseAdapterTensorName(name)).toEqual({ modulePath, kind, adapterName });
  });

  it.each(["base_model.model.score.weight", "base_model.model.x.lora_A.bias", "base_model.model.x.lora_C.weight"])("%s is not a LoRA tensor", (name) => {
    expect(parseAdapterTensorName(name)).toBeNull();
  });
});
