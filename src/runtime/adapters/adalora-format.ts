// HF PEFT's own AdaLoRA adapter folder (peft_type "ADALORA"): adapter_config.json with the allocator
// settings, total_step and the final rank_pattern (`<module path>.lora_E` → keep flag per init rank),
// and tensors `base_model.model.<path>.lora_A` [r', in], `.lora_E` [r', 1], `.lora_B` [out, r'] (no
// `.weight`: they are nn.Parameters) sliced to the kept ranks, as `get_peft_model_state_dict` +
// `resize_state_dict_by_rank_pattern` write them. On load PEFT rebuilds each module at r' with
// ranknum = init_r, so the scale alpha / (init_r + 1e-5) is unchanged.
import * as fs from "node:fs";
import * as path from "node:path";
import type { AdaLoraSpec } from "../../dsl/plan.js";
import * as tf from "../tf.js";
import { writeFileAtomic } from "../io/atomic.js";
import { ADAPTER_CONFIG_FILE, ADAPTER_PREFIX, ADAPTER_WEIGHTS_FILE, AdapterFormatError, type TaskType, sortKeysDeep } from "../io/peft-format.js";
import type { Tensor, WritableTensor } from "../io/safetensors-dtypes.js";
import { SafetensorsFile } from "../io/safetensors-file.js";
import { writeSafetensors } from "../io/safetensors-write.js";
import type { FamilyModel } from "../models/model.js";
import { AdaLoraAdapter } from "./adalora.js";
import { assignFrom } from "./import.js";

/** adapter_config.json of an AdaLoRA adapter (the LoRA keys PEFT's AdaLoraConfig inherits, plus its own). */
export interface AdaLoraAdapterConfig {
  peft_type: "ADALORA";
  task_type: TaskType | null;
  base_model_name_or_path: string | null;
  revision: string | null;
  inference_mode: boolean;
  /** Unused by AdaLoRA; PEFT's default 8 avoids its "r is ignored" warning. */
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[];
  exclude_modules: null;
  bias: "none";
  fan_in_fan_out: boolean;
  use_rslora: false;
  use_dora: false;
  modules_to_save: string[] | null;
  init_lora_weights: true;
  layers_to_transform: null;
  layers_pattern: null;
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

export interface AdaLoraExportOptions {
  taskType: TaskType;
  baseModel?: string | null;
  fanInFanOut?: boolean;
  modulesToSave?: string[] | null;
  /** The adapter's allocator settings and the run's steps (PEFT's total_step). */
  spec: AdaLoraSpec;
  totalStep: number;
}

/** One AdaLoRA module as stored: A [r', in], E [r', 1], B [out, r']. */
export interface AdaLoraModuleTensors {
  path: string;
  A: Tensor;
  E: Tensor;
  B: Tensor;
}

const tensorName = (modulePath: string, kind: "lora_A" | "lora_E" | "lora_B") => `${ADAPTER_PREFIX}${modulePath}.${kind}`;

/** The config and tensors of adapter `name` in PEFT's AdaLoRA format. */
export function exportAdaLora(model: FamilyModel, name: string, o: AdaLoraExportOptions): { config: AdaLoraAdapterConfig; tensors: Record<string, WritableTensor> } {
  const adapters = [...model.linears().values()].map((l) => l.adapters.get(name)).filter((a): a is AdaLoraAdapter => a instanceof AdaLoraAdapter);
  if (adapters.length === 0) throw new Error(`Error in exportAdaLora: no AdaLoRA adapter named "${name}" is attached to the model`);
  const allocated = adapters.every((a) => a.keep !== null);
  const tensors: Record<string, WritableTensor> = {};
  const rankPattern: Record<string, boolean[]> = {};
  for (const a of adapters) {
    const flags = allocated ? a.keep! : new Array<boolean>(a.rank).fill(true);
    const keep = flags.flatMap((k, i) => (k ? [i] : []));
    rankPattern[`${a.path}.lora_E`] = [...flags];
    const [A, E, B] = tf.tidy(() => {
      const idx = tf.tensor1d(keep, "int32");
      return [tf.gather(a.A, idx, 0), tf.gather(a.E, idx, 0), tf.gather(a.B, idx, 1)];
    });
    for (const [kind, t] of [["lora_A", A], ["lora_E", E], ["lora_B", B]] as const) {
      tensors[tensorName(a.path, kind)] = { dtype: "F32", shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
      t.dispose();
    }
  }
  const s = o.spec;
  const config: AdaLoraAdapterConfig = {
    peft_type: "ADALORA", task_type: o.taskType, base_model_name_or_path: o.baseModel ?? null, revision: null, inference_mode: true,
    r: 8, lora_alpha: adapters[0].alpha, lora_dropout: adapters[0].dropout, target_modules: adapters.map((a) => a.path).sort(),
    exclude_modules: null, bias: "none", fan_in_fan_out: o.fanInFanOut ?? false, use_rslora: false, use_dora: false,
    modules_to_save: o.modulesToSave ?? null, init_lora_weights: true, layers_to_transform: null, layers_pattern: null, alpha_pattern: {},
    target_r: s.targetR, init_r: s.initR, tinit: s.tinit, tfinal: s.tfinal, deltaT: s.deltaT, beta1: s.beta1, beta2: s.beta2,
    orth_reg_weight: s.orthRegWeight, total_step: o.totalStep, rank_pattern: allocated ? rankPattern : null,
  };
  return { config, tensors };
}

/** Writes an AdaLoRA folder: adapter_model.safetensors ({"format": "pt"}), adapter_config.json, README.md. */
export function writeAdaLoraFolder(dir: string, exp: { config: AdaLoraAdapterConfig; tensors: Record<string, WritableTensor> }): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files = [path.join(dir, ADAPTER_WEIGHTS_FILE), path.join(dir, ADAPTER_CONFIG_FILE), path.join(dir, "README.md")];
  writeSafetensors(files[0], exp.tensors, { format: "pt" });
  writeFileAtomic(files[1], JSON.stringify(sortKeysDeep(exp.config), null, 2));
  const c = exp.config;
  writeFileAtomic(files[2], [
    "---", ...(c.base_model_name_or_path ? [`base_model: ${JSON.stringify(c.base_model_name_or_path)}`] : []), "library_name: peft", "tags:", "- adalora", "- peftlab", "---", "",
    "# AdaLoRA adapter", "", `init_r = ${c.init_r}, target_r = ${c.target_r}, lora_alpha = ${c.lora_alpha}, ${c.target_modules.length} modules, written by peftlab.`, "",
    "Load it with `PeftModel.from_pretrained(base_model, path_to_this_folder)`.", "",
  ].join("\n"));
  return files;
}

/** Reads and checks an AdaLoRA folder written by PEFT or by writeAdaLoraFolder. */
export function readAdaLoraFolder(dir: string): { config: AdaLoraAdapterConfig; modules: Map<string, AdaLoraModuleTensors> } {
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
  const st = SafetensorsFile.open(weights);
  try {
    for (const name of st.names()) {
      const m = /^base_model\.model\.(.+)\.(lora_A|lora_E|lora_B)(?:\.[^.]+)?$/.exec(name);
      if (!m) continue; // modules_to_save copies are the caller's business
      const entry = parts.get(m[1]) ?? { path: m[1] };
      entry[m[2].slice(5) as "A" | "E" | "B"] = st.read(name);
      parts.set(m[1], entry);
    }
  } finally {
    st.close();
  }
  const modules = new Map<string, AdaLoraModuleTensors>();
  for (const e of parts.values()) modules.set(e.path!, checkModule(e, config, weights));
  if (modules.size === 0) throw new AdapterFormatError(weights, "has no AdaLoRA tensors (lora_A / lora_E / lora_B)");
  return { config, modules };
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

/** Attaches a read AdaLoRA folder as adapter `name` (rank r' per module, ranknum = init_r). Modules of rank 0 are skipped. */
export function attachAdaLoraFolder(model: FamilyModel, name: string, folder: ReturnType<typeof readAdaLoraFolder>): string[] {
  const linears = model.linears();
  const paths: string[] = [];
  for (const m of folder.modules.values()) {
    const l = linears.get(m.path);
    if (!l) throw new Error(`Error in attachAdaLoraFolder: module "${m.path}" is not a linear layer of the model`);
    if (m.A.shape[1] !== l.inFeatures || m.B.shape[0] !== l.outFeatures) {
      throw new Error(`Error in attachAdaLoraFolder: ${m.path} lora_A [${m.A.shape}] / lora_B [${m.B.shape}] do not fit a linear layer ${l.inFeatures} → ${l.outFeatures}`);
    }
    const r = m.A.shape[0];
    if (r === 0) continue;
    const a = new AdaLoraAdapter({
      name, path: m.path, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r, ranknum: folder.config.init_r,
      alpha: folder.config.lora_alpha, dropout: folder.config.lora_dropout ?? 0, rand: () => 0.5,
    });
    assignFrom(a.A, m.A);
    assignFrom(a.E, m.E);
    assignFrom(a.B, m.B);
    l.addAdapter(a);
    paths.push(m.path);
  }
  return paths;
}
