// adapter_config.json of HF PEFT LoRA adapters: building the conservative key set we write, and
// parsing files written by PEFT (unknown keys are warnings; keys whose values would change the
// computation in ways we do not implement are errors). Which modules a config targets follows the
// one matcher of src/peft/targets.ts.
//
// Written like PEFT's `json.dumps(config, indent=2, sort_keys=True)`: keys sorted at every depth,
// two-space indent, non-ASCII escaped, no trailing newline. Numbers use JS formatting (16, not 16.0),
// which PEFT reads the same.

import type { AdapterSpec, Selector } from "../../dsl/plan.js";
import { regexError, type ModuleList } from "../../peft/targets.js";

export type TaskType = "CAUSAL_LM" | "SEQ_CLS";

/** The keys of a LoRA adapter_config.json (snake_case, as in the file). */
export interface LoraAdapterConfig {
  peft_type: "LORA";
  task_type: TaskType | null;
  base_model_name_or_path: string | null;
  revision: string | null;
  inference_mode: boolean;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  /** A list (exact name or `.suffix` match) or a regex string (full match); null = PEFT's per-model default. */
  target_modules: ModuleList | null;
  exclude_modules: ModuleList | null;
  bias: "none";
  /** True for GPT-2 Conv1D layers, whose weights are stored [in, out]. */
  fan_in_fan_out: boolean;
  use_rslora: boolean;
  use_dora: boolean;
  modules_to_save: string[] | null;
  init_lora_weights: boolean | string;
  layers_to_transform: number[] | number | null;
  layers_pattern: ModuleList | null;
  /** Module-name pattern → rank / alpha, matched as `(.*\.)?(key)$`, first key in file order wins. */
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  peft_version?: string;
}

/** A bad adapter_config.json or adapter folder, naming the file and the key or tensor. */
export class AdapterFormatError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = "AdapterFormatError";
  }
}

export interface AdapterConfigOptions {
  taskType: TaskType;
  baseModel?: string | null;
  revision?: string | null;
  r: number;
  alpha: number;
  dropout?: number;
  targetModules: ModuleList;
  excludeModules?: ModuleList | null;
  fanInFanOut?: boolean;
  useRslora?: boolean;
  useDora?: boolean;
  modulesToSave?: string[] | null;
  initLoraWeights?: boolean | string;
  layersToTransform?: number[] | number | null;
  layersPattern?: ModuleList | null;
  rankPattern?: Record<string, number>;
  alphaPattern?: Record<string, number>;
  peftVersion?: string;
}

/** The config we write: a conservative key set (the LoRA keys whose values our adapters define), validated. Lists of names are sorted (PEFT keeps them as sets). */
export function buildAdapterConfig(o: AdapterConfigOptions): LoraAdapterConfig {
  const list = (v: ModuleList | null | undefined) => (Array.isArray(v) ? [...new Set(v)].sort() : v ?? null);
  const cfg: LoraAdapterConfig = {
    peft_type: "LORA", task_type: o.taskType, base_model_name_or_path: o.baseModel ?? null, revision: o.revision ?? null,
    inference_mode: true, r: o.r, lora_alpha: o.alpha, lora_dropout: o.dropout ?? 0,
    target_modules: list(o.targetModules), exclude_modules: list(o.excludeModules), bias: "none",
    fan_in_fan_out: o.fanInFanOut ?? false, use_rslora: o.useRslora ?? false, use_dora: o.useDora ?? false,
    modules_to_save: o.modulesToSave ? [...o.modulesToSave] : null, init_lora_weights: o.initLoraWeights ?? true,
    layers_to_transform: o.layersToTransform ?? null, layers_pattern: o.layersPattern ?? null,
    // Sorted now, as in the file, so that first-match resolution is the same before and after a save.
    rank_pattern: sortKeysDeep(o.rankPattern ?? {}) as Record<string, number>,
    alpha_pattern: sortKeysDeep(o.alphaPattern ?? {}) as Record<string, number>,
  };
  if (o.peftVersion !== undefined) cfg.peft_version = o.peftVersion;
  if (cfg.target_modules === null || (Array.isArray(cfg.target_modules) && cfg.target_modules.length === 0)) {
    throw new AdapterFormatError("adapter_config.json", 'key "target_modules" must name at least one module');
  }
  validateAdapterConfig(cfg, "adapter_config.json");
  return cfg;
}

/** A plan selector as PEFT target/exclude modules: the name list, or one full-match regex when a regex is involved. */
export function selectorToModules(sel: Selector): ModuleList | null {
  if (sel.regex === null) return sel.names.length > 0 ? [...sel.names] : null;
  if (sel.names.length === 0) return sel.regex;
  const names = sel.names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  return `(?:${sel.regex})|(?:.*\\.)?(?:${names})`;
}

/** The adapter_config of a plan adapter. AdaLoRA is exported as plain LoRA, its final ranks in `rankPattern`. */
export function adapterConfigFromSpec(
  spec: AdapterSpec,
  o: Pick<AdapterConfigOptions, "taskType" | "baseModel" | "fanInFanOut" | "modulesToSave" | "rankPattern" | "initLoraWeights">,
): LoraAdapterConfig {
  const init = spec.init === "kaiming" ? true : spec.init;
  return buildAdapterConfig({
    taskType: o.taskType, baseModel: o.baseModel ?? null, r: spec.r, alpha: spec.alpha, dropout: spec.dropout,
    targetModules: selectorToModules(spec.target) ?? [], excludeModules: selectorToModules(spec.exclude),
    fanInFanOut: o.fanInFanOut ?? false, useRslora: spec.rslora, useDora: spec.method === "dora",
    modulesToSave: o.modulesToSave ?? null, initLoraWeights: o.initLoraWeights ?? init,
    rankPattern: o.rankPattern ?? spec.rankPattern, alphaPattern: spec.alphaPattern,
  });
}

/** Recursively sorts object keys (arrays keep their order). */
export function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sortKeysDeep(o[k])]));
}

/** The adapter_config.json text, as PEFT writes it. */
export function serializeAdapterConfig(cfg: LoraAdapterConfig): string {
  return JSON.stringify(sortKeysDeep(cfg), null, 2).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

type Check = (v: unknown) => string | null;
const isInt = (v: unknown, min: number) => typeof v === "number" && Number.isSafeInteger(v) && v >= min;
const isModuleList = (v: unknown) => typeof v === "string" || (Array.isArray(v) && v.every((s) => typeof s === "string"));
const nullOr = (check: Check): Check => (v) => (v === null ? null : check(v));
const must = (ok: (v: unknown) => boolean, what: string): Check => (v) => (ok(v) ? null : `must be ${what}`);
const unsupported = (ok: (v: unknown) => boolean, why: string): Check => (v) => (ok(v) ? null : `is not supported: ${why}`);
const isBool = (v: unknown) => typeof v === "boolean";
const isStr = (v: unknown) => typeof v === "string";
const absent = (v: unknown) => v === null || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && Object.keys(v).length === 0);

/** Every key we read, with its check. Keys of PEFT's LoraConfig not listed here produce a warning. */
const KEY_CHECKS: Record<string, Check> = {
  peft_type: unsupported((v) => v === "LORA", 'only peft_type "LORA" is read (other methods are exported as LoRA)'),
  task_type: nullOr(unsupported((v) => v === "CAUSAL_LM" || v === "SEQ_CLS", "only CAUSAL_LM and SEQ_CLS heads exist")),
  base_model_name_or_path: nullOr(must(isStr, "a string")),
  revision: nullOr(must(isStr, "a string")),
  inference_mode: must(isBool, "true or false"),
  r: must((v) => isInt(v, 1), "an integer >= 1"),
  lora_alpha: must((v) => typeof v === "number" && Number.isFinite(v) && v > 0, "a number > 0"),
  lora_dropout: must((v) => typeof v === "number" && v >= 0 && v < 1, "a number in [0, 1)"),
  target_modules: nullOr(must(isModuleList, "a list of module names or a regex string")),
  exclude_modules: nullOr(must(isModuleList, "a list of module names or a regex string")),
  bias: unsupported((v) => v === "none", 'only bias "none" is implemented (trained base biases would be dropped)'),
  fan_in_fan_out: must(isBool, "true or false"),
  use_rslora: must(isBool, "true or false"),
  use_dora: must(isBool, "true or false"),
  modules_to_save: nullOr(must((v) => Array.isArray(v) && v.every(isStr), "a list of module names")),
  init_lora_weights: must((v) => isBool(v) || isStr(v), "true, false or an init name"),
  layers_to_transform: nullOr(must((v) => isInt(v, 0) || (Array.isArray(v) && v.every((x) => isInt(x, 0))), "a layer index or a list of them")),
  layers_pattern: nullOr(must(isModuleList, "a name or a list of names")),
  rank_pattern: nullOr(must((v) => isPattern(v, true), "an object of pattern → integer rank >= 1")),
  alpha_pattern: nullOr(must((v) => isPattern(v, false), "an object of pattern → number > 0")),
  peft_version: must(isStr, "a string"),
  auto_mapping: () => null,
  runtime_config: () => null,
  megatron_core: () => null,
  qalora_group_size: () => null,
  ensure_weight_tying: () => null,
  megatron_config: unsupported(absent, "Megatron parallel layers are not implemented"),
  lora_bias: unsupported(absent, "LoRA bias vectors (lora_B.bias) are not implemented"),
  layer_replication: unsupported(absent, "layer replication is not implemented"),
  trainable_token_indices: unsupported(absent, "trainable tokens are not implemented"),
  target_parameters: unsupported(absent, "LoRA on nn.Parameter targets is not implemented"),
  use_qalora: unsupported(absent, "QA-LoRA is not implemented"),
  alora_invocation_tokens: unsupported(absent, "activated LoRA (aLoRA) is not implemented"),
  arrow_config: unsupported(absent, "Arrow routing is not implemented"),
  loftq_config: () => null,
  eva_config: () => null,
  corda_config: () => null,
};

function isPattern(v: unknown, integer: boolean): boolean {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  return Object.values(v).every((x) => (integer ? isInt(x, 1) : typeof x === "number" && Number.isFinite(x) && x > 0));
}

/** Inits that change the base weights: the adapter only fits the modified base. */
const BASE_CHANGING_INITS = /^(pissa|olora|corda|eva|loftq)/i;

/** Checks every known key of `cfg`; throws AdapterFormatError naming `file`, the key and its value. */
export function validateAdapterConfig(cfg: object, file: string): void {
  for (const [key, value] of Object.entries(cfg)) {
    const check = KEY_CHECKS[key];
    const problem = check ? check(value) : null;
    if (problem) throw new AdapterFormatError(file, `key "${key}" = ${JSON.stringify(value)} ${problem}`);
  }
  for (const key of ["target_modules", "exclude_modules"] as const) {
    const v = (cfg as Record<string, unknown>)[key];
    const reason = typeof v === "string" ? regexError(v) : null;
    if (reason) throw new AdapterFormatError(file, `key "${key}" = ${JSON.stringify(v)} is not a valid regular expression (${reason})`);
  }
  for (const key of ["rank_pattern", "alpha_pattern"] as const) {
    for (const p of Object.keys((cfg as Record<string, Record<string, number>>)[key] ?? {})) {
      try {
        new RegExp(p);
      } catch {
        throw new AdapterFormatError(file, `key "${key}" has pattern ${JSON.stringify(p)}, which is not a valid regular expression`);
      }
    }
  }
}

/** PEFT's LoraConfig defaults of the keys we model: what an absent key means. */
export const LORA_CONFIG_DEFAULTS: Readonly<Omit<LoraAdapterConfig, "peft_type">> = {
  task_type: null, base_model_name_or_path: null, revision: null, inference_mode: true, r: 8, lora_alpha: 8, lora_dropout: 0,
  target_modules: null, exclude_modules: null, bias: "none", fan_in_fan_out: false, use_rslora: false, use_dora: false,
  modules_to_save: null, init_lora_weights: true, layers_to_transform: null, layers_pattern: null, rank_pattern: {}, alpha_pattern: {},
};

/**
 * Parses adapter_config.json text. PEFT's defaults fill absent keys; unknown keys become warnings. `raw`
 * is the file's object as written (every key, unknown ones included), for writing the adapter back.
 */
export function parseAdapterConfig(text: string, file: string): { config: LoraAdapterConfig; raw: Record<string, unknown>; warnings: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new AdapterFormatError(file, `is not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new AdapterFormatError(file, "is not a JSON object");
  const obj = raw as Record<string, unknown>;
  if (obj.peft_type === undefined) throw new AdapterFormatError(file, 'key "peft_type" is missing (the one key PEFT requires)');
  validateAdapterConfig(obj, file);
  const warnings = Object.keys(obj).filter((k) => !(k in KEY_CHECKS)).map((k) => `${file}: unknown key "${k}" is not used (an adapter saved again keeps it as written)`);
  const init = obj.init_lora_weights;
  if (typeof init === "string" && BASE_CHANGING_INITS.test(init)) {
    warnings.push(`${file}: init_lora_weights "${init}" modifies the base weights; this adapter only fits that modified base model`);
  }
  const config = { ...LORA_CONFIG_DEFAULTS } as LoraAdapterConfig;
  for (const key of [...Object.keys(LORA_CONFIG_DEFAULTS), "peft_type", "peft_version"]) {
    if (obj[key] !== undefined && !(obj[key] === null && key.endsWith("_pattern"))) (config as unknown as Record<string, unknown>)[key] = obj[key];
  }
  return { config, raw: obj, warnings };
}
