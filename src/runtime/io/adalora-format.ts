// HF PEFT's own AdaLoRA adapter folder (peft_type "ADALORA"): adapter_config.json with the allocator
// settings, total_step and the final rank_pattern (`<module path>.lora_E` → keep flag per init rank),
// and tensors `base_model.model.<path>.lora_A` [r', in], `.lora_E` [r', 1], `.lora_B` [out, r'] (no
// `.weight`: they are nn.Parameters) sliced to the kept ranks, as `get_peft_model_state_dict` +
// `resize_state_dict_by_rank_pattern` write them, plus `modules_to_save` copies
// (`base_model.model.<module path>.<param>`). On load PEFT rebuilds each module at r' with
// ranknum = init_r, so the scale alpha / (init_r + 1e-5) is unchanged. The tensors come from
// adapters/export.ts (`adaloraForm`); adapters/peft-io.ts names them and attaches what is read.
import * as fs from "node:fs";
import * as path from "node:path";
import type { AdaLoraSpec } from "../../dsl/plan.js";
import { writeFileAtomic } from "./atomic.js";
import {
  ADAPTER_CONFIG_FILE, ADAPTER_PREFIX, ADAPTER_WEIGHTS_FILE, AdapterFormatError, type LoraAdapterConfig, type TaskType, sortKeysDeep,
} from "./peft-format.js";
import type { Tensor, WritableTensor } from "./safetensors-dtypes.js";
import { SafetensorsFile } from "./safetensors-file.js";
import { writeSafetensors } from "./safetensors-write.js";

/** adapter_config.json of an AdaLoRA adapter: the LoRA keys PEFT's AdaLoraConfig inherits, plus its own. */
export interface AdaLoraAdapterConfig extends Omit<LoraAdapterConfig, "peft_type" | "target_modules" | "rank_pattern" | "alpha_pattern"> {
  peft_type: "ADALORA";
  target_modules: string[];
  alpha_pattern: Record<string, never>;
  target_r: number;
  init_r: number;
  tinit: number;
  tfinal: number;
  deltaT: number;
  beta1: number;
  beta2: number;
  orth_reg_weight: number;
  total_step: number;
  /** `<module path>.lora_E` → keep flags (length init_r); null when no allocation happened. */
  rank_pattern: Record<string, boolean[]> | null;
}

/** What buildAdaLoraConfig needs besides the plan's allocator settings. */
export interface AdaLoraConfigOptions {
  taskType: TaskType;
  baseModel: string | null;
  fanInFanOut: boolean;
  modulesToSave: string[] | null;
  alpha: number;
  dropout: number;
  targetModules: string[];
  /** The adapter's allocator settings and the run's steps (PEFT's total_step). */
  spec: AdaLoraSpec;
  totalStep: number;
  rankPattern: Record<string, boolean[]> | null;
}

/** One AdaLoRA module as stored: A [r', in], E [r', 1], B [out, r']. */
export interface AdaLoraModuleTensors {
  path: string;
  A: Tensor;
  E: Tensor;
  B: Tensor;
}

/** A read AdaLoRA folder: modules by module path, modules_to_save tensors by name without `base_model.model.`. */
export interface AdaLoraFolder {
  dir: string;
  config: AdaLoraAdapterConfig;
  modules: Map<string, AdaLoraModuleTensors>;
  saved: Map<string, Tensor>;
}

/** The file name of one AdaLoRA tensor of a module. */
export function adaloraTensorName(modulePath: string, kind: "lora_A" | "lora_E" | "lora_B"): string {
  return `${ADAPTER_PREFIX}${modulePath}.${kind}`;
}

/** The config PEFT writes for an AdaLoRA adapter (r is unused by AdaLoRA; PEFT's default 8 avoids its "r is ignored" warning). */
export function buildAdaLoraConfig(o: AdaLoraConfigOptions): AdaLoraAdapterConfig {
  const s = o.spec;
  return {
    peft_type: "ADALORA", task_type: o.taskType, base_model_name_or_path: o.baseModel, revision: null, inference_mode: true,
    r: 8, lora_alpha: o.alpha, lora_dropout: o.dropout, target_modules: [...o.targetModules].sort(),
    exclude_modules: null, bias: "none", fan_in_fan_out: o.fanInFanOut, use_rslora: false, use_dora: false,
    modules_to_save: o.modulesToSave, init_lora_weights: true, layers_to_transform: null, layers_pattern: null, alpha_pattern: {},
    target_r: s.targetR, init_r: s.initR, tinit: s.tinit, tfinal: s.tfinal, deltaT: s.deltaT, beta1: s.beta1, beta2: s.beta2,
    orth_reg_weight: s.orthRegWeight, total_step: o.totalStep, rank_pattern: o.rankPattern,
  };
}

/** Writes an AdaLoRA folder: adapter_model.safetensors ({"format": "pt"}), adapter_config.json, README.md. */
export function writeAdaLoraFolder(dir: string, exp: { config: AdaLoraAdapterConfig; tensors: Record<string, WritableTensor> }): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files = [path.join(dir, ADAPTER_WEIGHTS_FILE), path.join(dir, ADAPTER_CONFIG_FILE), path.join(dir, "README.md")] as const;
  writeSafetensors(files[0], exp.tensors, { format: "pt" });
  writeFileAtomic(files[1], JSON.stringify(sortKeysDeep(exp.config), null, 2));
  const c = exp.config;
  writeFileAtomic(files[2], [
    "---", ...(c.base_model_name_or_path ? [`base_model: ${JSON.stringify(c.base_model_name_or_path)}`] : []), "library_name: peft", "tags:", "- adalora", "- peftlab", "---", "",
    "# AdaLoRA adapter", "", `init_r = ${c.init_r}, target_r = ${c.target_r}, lora_alpha = ${c.lora_alpha}, ${c.target_modules.length} modules, written by peftlab.`, "",
    "Load it with `PeftModel.from_pretrained(base_model, path_to_this_folder)`.", "",
  ].join("\n"));
  return [...files];
}

/** Reads and checks an AdaLoRA folder written by PEFT or by writeAdaLoraFolder. */
export function readAdaLoraFolder(dir: string): AdaLoraFolder {
  const cfgFile = path.join(dir, ADAPTER_CONFIG_FILE);
  const weights = path.join(dir, ADAPTER_WEIGHTS_FILE);
  if (!fs.existsSync(cfgFile)) throw new AdapterFormatError(cfgFile, "does not exist (not a PEFT adapter folder)");
  let config: AdaLoraAdapterConfig;
  try {
    config = JSON.parse(fs.readFileSync(cfgFile, "utf8")) as AdaLoraAdapterConfig;
  } catch (e) {
    throw new AdapterFormatError(cfgFile, `is not valid JSON (${(e as Error).message})`);
  }
  if (config.peft_type !== "ADALORA") throw new AdapterFormatError(cfgFile, `key "peft_type" is ${JSON.stringify(config.peft_type)}; expected "ADALORA"`);
  for (const key of ["init_r", "lora_alpha"] as const) {
    if (!(typeof config[key] === "number" && config[key] > 0)) throw new AdapterFormatError(cfgFile, `key "${key}" must be a number > 0, got ${JSON.stringify(config[key])}`);
  }
  if (!fs.existsSync(weights)) throw new AdapterFormatError(weights, "does not exist");
  const parts = new Map<string, Partial<AdaLoraModuleTensors>>();
  const saved = new Map<string, Tensor>();
  const st = SafetensorsFile.open(weights);
  try {
    for (const name of st.names()) {
      const m = /^base_model\.model\.(.+)\.(lora_A|lora_E|lora_B)(?:\.[^.]+)?$/.exec(name);
      if (!m) {
        saved.set(savedName(name, config.modules_to_save, weights), st.read(name));
        continue;
      }
      const entry = parts.get(m[1]!) ?? { path: m[1]! };
      entry[m[2]!.slice(5) as "A" | "E" | "B"] = st.read(name);
      parts.set(m[1]!, entry);
    }
  } finally {
    st.close();
  }
  const modules = new Map<string, AdaLoraModuleTensors>();
  for (const e of parts.values()) modules.set(e.path!, checkModule(e, config, weights));
  if (modules.size === 0) throw new AdapterFormatError(weights, "has no AdaLoRA tensors (lora_A / lora_E / lora_B)");
  return { dir, config, modules, saved };
}

/** A modules_to_save tensor's name without `base_model.model.` and PEFT's older `.modules_to_save.<adapter>` infix. */
function savedName(name: string, toSave: string[] | null, file: string): string {
  const bare = name.startsWith(ADAPTER_PREFIX) ? name.slice(ADAPTER_PREFIX.length).replace(/\.modules_to_save(?:\.[^.]+)?(?=\.)/, "") : null;
  if (bare === null || !toSave?.some((m) => bare.startsWith(`${m}.`) || bare.includes(`.${m}.`))) {
    throw new AdapterFormatError(file, `tensor "${name}" is neither an AdaLoRA tensor nor a parameter of a modules_to_save module (${JSON.stringify(toSave)})`);
  }
  return bare;
}

function checkModule(e: Partial<AdaLoraModuleTensors>, config: AdaLoraAdapterConfig, file: string): AdaLoraModuleTensors {
  const where = `module "${e.path}"`;
  if (!e.A || !e.E || !e.B) throw new AdapterFormatError(file, `${where} needs lora_A, lora_E and lora_B`);
  const r = e.A.shape[0];
  if (e.A.shape.length !== 2 || e.E.shape.join(",") !== `${r},1` || e.B.shape.length !== 2 || e.B.shape[1] !== r) {
    throw new AdapterFormatError(file, `${where}: expected lora_A [r, in], lora_E [r, 1], lora_B [out, r], got [${e.A.shape}], [${e.E.shape}], [${e.B.shape}]`);
  }
  const flags = config.rank_pattern?.[`${e.path}.lora_E`];
  if (flags && flags.filter(Boolean).length !== r) {
    throw new AdapterFormatError(file, `${where} has rank ${r} but its rank_pattern keeps ${flags.filter(Boolean).length}`);
  }
  return e as AdaLoraModuleTensors;
}
