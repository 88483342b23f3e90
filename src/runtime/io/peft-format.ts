// HF PEFT adapter folders: adapter_config.json + adapter_model.safetensors (+ README.md).
//
// Tensor names: `base_model.model.<module path>.lora_A.weight` [r, in], `.lora_B.weight` [out, r],
// `.lora_magnitude_vector` [out] (DoRA, no `.weight`), `.lora_E` (AdaLoRA, read-only naming);
// `modules_to_save` copies as `base_model.model.<module path>.<param>`. Names with an adapter-name infix
// (`.lora_A.default.weight`, older `.modules_to_save.default.weight`) are accepted when reading.

import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "./atomic.js";
import { matchesTargetModules, patternMatches, resolvePattern } from "../../peft/targets.js";
import { AdapterFormatError, parseAdapterConfig, serializeAdapterConfig, validateAdapterConfig, type LoraAdapterConfig } from "./peft-config.js";
import { findNonFinite, type Tensor, type WritableTensor } from "./safetensors-dtypes.js";
import { SafetensorsFile } from "./safetensors-file.js";
import { writeSafetensors } from "./safetensors-write.js";

export * from "./peft-config.js";

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";
export const ADAPTER_PREFIX = "base_model.model.";

export type LoraTensorKind = "lora_A" | "lora_B" | "lora_magnitude_vector" | "lora_E";

/** The file name of one LoRA tensor of a module. */
export function adapterTensorName(modulePath: string, kind: LoraTensorKind): string {
  const suffix = kind === "lora_A" || kind === "lora_B" ? `${kind}.weight` : kind;
  return `${ADAPTER_PREFIX}${modulePath}.${suffix}`;
}

/** The file name of a parameter of a `modules_to_save` module (e.g. a classifier head). */
export function savedModuleTensorName(modulePath: string, param: string): string {
  return `${ADAPTER_PREFIX}${modulePath}.${param}`;
}

export interface ParsedAdapterTensorName {
  modulePath: string;
  kind: LoraTensorKind;
  /** The adapter-name infix when the file has one (e.g. "default"), else null. */
  adapterName: string | null;
}

const LORA_NAME = [
  { kind: "lora_A", re: /^(.+)\.lora_A(?:\.([^.]+))?\.weight$/ },
  { kind: "lora_B", re: /^(.+)\.lora_B(?:\.([^.]+))?\.weight$/ },
  { kind: "lora_magnitude_vector", re: /^(.+)\.lora_magnitude_vector(?:\.(?!weight$)([^.]+))?(?:\.weight)?$/ },
  { kind: "lora_E", re: /^(.+)\.lora_E(?:\.([^.]+))?$/ },
] as const;

/** Inverse of adapterTensorName; also strips adapter-name infixes. Null for names that are not LoRA tensors. */
export function parseAdapterTensorName(name: string): ParsedAdapterTensorName | null {
  const bare = name.startsWith(ADAPTER_PREFIX) ? name.slice(ADAPTER_PREFIX.length) : name;
  for (const { kind, re } of LORA_NAME) {
    const m = re.exec(bare);
    if (m) return { modulePath: m[1]!, kind, adapterName: m[2] ?? null };
  }
  return null;
}

/** Input and output sizes of a model's linear module, for checking adapter shapes. */
export interface ModuleShape {
  in: number;
  out: number;
}

export interface AdapterModule {
  path: string;
  r: number;
  /** [r, in] */
  loraA: Tensor;
  /** [out, r] */
  loraB: Tensor;
  /** DoRA magnitude [out], when use_dora. */
  magnitude: Tensor | null;
}

export interface AdapterFolder {
  dir: string;
  config: LoraAdapterConfig;
  /** adapter_config.json as written (every key, unknown ones included). */
  raw: Record<string, unknown>;
  warnings: string[];
  /** LoRA weights by module path (without `base_model.model.`). */
  modules: Map<string, AdapterModule>;
  /** `modules_to_save` parameters by module path, then parameter name. */
  savedModules: Map<string, Record<string, Tensor>>;
}

interface Sorted<T> {
  modules: Map<string, { path: string; A?: T; B?: T; M?: T }>;
  saved: Map<string, Record<string, T>>;
}

/** Groups tensors by module and checks names, completeness, shapes, ranks and targets. */
function sortAdapterTensors<T extends { dtype: string; shape: number[] }>(
  config: LoraAdapterConfig, tensors: Map<string, T>, file: string, modules: Map<string, ModuleShape> | undefined, warnings: string[],
): Sorted<T> {
  const fail = (detail: string): never => {
    throw new AdapterFormatError(file, detail);
  };
  const out: Sorted<T> = { modules: new Map(), saved: new Map() };
  for (const [name, t] of tensors) {
    if (!["F32", "F16", "BF16"].includes(t.dtype)) fail(`tensor "${name}" has dtype ${t.dtype}; adapter weights must be F32, F16 or BF16`);
    const lora = parseAdapterTensorName(name);
    if (lora) {
      if (lora.kind === "lora_E") fail(`tensor "${name}" is an AdaLoRA lora_E; a LORA adapter stores plain lora_A / lora_B (fold E into A)`);
      const entry = out.modules.get(lora.modulePath) ?? { path: lora.modulePath };
      const slot = lora.kind === "lora_A" ? "A" : lora.kind === "lora_B" ? "B" : "M";
      if (entry[slot]) fail(`module "${lora.modulePath}" has two ${lora.kind} tensors (one is "${name}")`);
      entry[slot] = t;
      out.modules.set(lora.modulePath, entry);
      continue;
    }
    const saved = savedModuleOf(name, config.modules_to_save);
    if (!saved) fail(`tensor "${name}" is neither a LoRA tensor nor a parameter of a modules_to_save module`);
    const params = out.saved.get(saved!.path) ?? {};
    params[saved!.param] = t;
    out.saved.set(saved!.path, params);
  }
  for (const e of out.modules.values()) checkModule(config, e, fail, modules, warnings);
  return out;
}

/**
 * The modules_to_save module a tensor belongs to and its parameter name within it, which may be nested
 * (RoBERTa's `classifier` head saves `classifier.dense.weight` and `classifier.out_proj.weight`).
 */
function savedModuleOf(name: string, toSave: string[] | null): { path: string; param: string } | null {
  if (!toSave || !name.startsWith(ADAPTER_PREFIX)) return null;
  const bare = name.slice(ADAPTER_PREFIX.length).replace(/\.modules_to_save(\.[^.]+)?(?=\.[^.]+$)/, "").replace(/\.modules_to_save\.[^.]+(?=\.)/, "");
  for (let dot = bare.lastIndexOf("."); dot > 0; dot = bare.lastIndexOf(".", dot - 1)) {
    const modulePath = bare.slice(0, dot);
    if (toSave.some((m) => modulePath === m || modulePath.endsWith(`.${m}`))) return { path: modulePath, param: bare.slice(dot + 1) };
  }
  return null;
}

function checkModule<T extends { shape: number[] }>(
  config: LoraAdapterConfig, e: { path: string; A?: T; B?: T; M?: T }, fail: (d: string) => never,
  modules: Map<string, ModuleShape> | undefined, warnings: string[],
): void {
  const where = `module "${e.path}"`;
  if (!e.A || !e.B) fail(`${where} has ${e.A ? "lora_A" : "lora_B"} but no ${e.A ? "lora_B" : "lora_A"}`);
  const [a, b] = [e.A!.shape, e.B!.shape];
  if (a.length !== 2 || b.length !== 2) fail(`${where}: lora_A must be [r, in] and lora_B [out, r], got [${a}] and [${b}]`);
  if (a[0] !== b[1]) fail(`${where}: lora_A [${a}] has rank ${a[0]} but lora_B [${b}] has rank ${b[1]}`);
  const r = resolvePattern(config.rank_pattern, e.path, config.r);
  if (a[0] !== r) fail(`${where}: rank ${a[0]} but the config gives r = ${r}${r !== config.r ? " (from rank_pattern)" : ""}`);
  const shape = modules?.get(e.path);
  if (modules && !shape) fail(`${where} is not a linear module of the model`);
  if (shape && (a[1] !== shape.in || b[0] !== shape.out)) fail(`${where}: lora_A [${a}] / lora_B [${b}] do not fit a linear layer ${shape.in} → ${shape.out}`);
  if (config.use_dora && !e.M) fail(`${where} has no lora_magnitude_vector but use_dora is true`);
  if (!config.use_dora && e.M) fail(`${where} has a lora_magnitude_vector but use_dora is false`);
  if (e.M && (e.M.shape.length !== 1 || e.M.shape[0] !== b[0])) fail(`${where}: lora_magnitude_vector must be [${b[0]}], got [${e.M.shape}]`);
  if (config.target_modules !== null && !matchesTargetModules(config.target_modules, e.path)) {
    fail(`${where} is not matched by target_modules ${JSON.stringify(config.target_modules)}; PEFT would not load its weights`);
  }
  if (config.exclude_modules !== null && matchesTargetModules(config.exclude_modules, e.path)) {
    fail(`${where} is matched by exclude_modules ${JSON.stringify(config.exclude_modules)}; PEFT would not load its weights`);
  }
  for (const key of ["rank_pattern", "alpha_pattern"] as const) {
    const hits = Object.entries(config[key]).filter(([p]) => patternMatches(p, e.path));
    if (new Set(hits.map(([, v]) => v)).size > 1) {
      warnings.push(`${where} is matched by several ${key} keys (${hits.map(([p, v]) => `${p} → ${v}`).join(", ")}); the first in file order wins`);
    }
  }
}

/**
 * Writes an adapter folder PEFT loads with `PeftModel.from_pretrained`: adapter_config.json,
 * adapter_model.safetensors (metadata {"format": "pt"}) and README.md, each atomically. `tensors` are keyed
 * by file name (adapterTensorName / savedModuleTensorName). `modules` (module path → sizes) enables the
 * in/out checks. Returns the written paths and warnings.
 */
export function writeAdapterFolder(
  dir: string, config: LoraAdapterConfig, tensors: Record<string, WritableTensor>, opts: { modules?: Map<string, ModuleShape> } = {},
): { files: string[]; warnings: string[] } {
  const file = path.join(dir, ADAPTER_WEIGHTS_FILE);
  validateAdapterConfig(config, path.join(dir, ADAPTER_CONFIG_FILE));
  // Check ranks in file order (sorted keys), the order PEFT will resolve patterns in, with PEFT's
  // defaults for keys the config leaves out.
  const asSaved = parseAdapterConfig(serializeAdapterConfig(config), path.join(dir, ADAPTER_CONFIG_FILE)).config;
  for (const name of Object.keys(tensors)) {
    const p = parseAdapterTensorName(name);
    if (p?.adapterName || !name.startsWith(ADAPTER_PREFIX)) {
      throw new AdapterFormatError(file, `tensor "${name}": write names as ${ADAPTER_PREFIX}<module>.<lora_A.weight|…> without an adapter name`);
    }
  }
  const warnings: string[] = [];
  const sorted = sortAdapterTensors(asSaved, new Map(Object.entries(tensors)), file, opts.modules, warnings);
  if (sorted.modules.size === 0) throw new AdapterFormatError(file, "no LoRA tensors to write");
  fs.mkdirSync(dir, { recursive: true });
  const files = [file, path.join(dir, ADAPTER_CONFIG_FILE), path.join(dir, "README.md")];
  writeSafetensors(file, tensors, { format: "pt" });
  writeFileAtomic(files[1]!, serializeAdapterConfig(config));
  writeFileAtomic(files[2]!, modelCard(config, sorted.modules.size));
  return { files, warnings };
}

/** Reads and checks an adapter folder; `modules` (module path → sizes) enables the in/out checks. */
export function readAdapterFolder(dir: string, opts: { modules?: Map<string, ModuleShape> } = {}): AdapterFolder {
  const cfgFile = path.join(dir, ADAPTER_CONFIG_FILE);
  const weights = path.join(dir, ADAPTER_WEIGHTS_FILE);
  if (!fs.existsSync(cfgFile)) throw new AdapterFormatError(cfgFile, "does not exist (not a PEFT adapter folder)");
  const { config, raw, warnings } = parseAdapterConfig(fs.readFileSync(cfgFile, "utf8"), cfgFile);
  if (!fs.existsSync(weights)) {
    const pickled = fs.existsSync(path.join(dir, "adapter_model.bin")) ? " (adapter_model.bin is pickled PyTorch and is not read; re-save with safe_serialization=True)" : "";
    throw new AdapterFormatError(weights, `does not exist${pickled}`);
  }
  const st = SafetensorsFile.open(weights);
  const tensors = new Map<string, Tensor>();
  try {
    for (const name of st.names()) tensors.set(name, st.read(name));
  } finally {
    st.close();
  }
  for (const [name, t] of tensors) {
    const bad = findNonFinite(t.data);
    if (bad) warnings.push(`${weights}: tensor "${name}" has ${bad.count} non-finite values (first at ${bad.firstIndex}: ${bad.firstValue})`);
  }
  const sorted = sortAdapterTensors(config, tensors, weights, opts.modules, warnings);
  const modules = new Map<string, AdapterModule>();
  for (const e of sorted.modules.values()) {
    modules.set(e.path, { path: e.path, r: e.A!.shape[0]!, loraA: e.A!, loraB: e.B!, magnitude: e.M ?? null });
  }
  return { dir, config, raw, warnings, modules, savedModules: sorted.saved };
}

/** A short model card in the shape PEFT writes (YAML front matter with library_name: peft). */
export function modelCard(config: LoraAdapterConfig, moduleCount: number): string {
  const base = config.base_model_name_or_path;
  const targets = typeof config.target_modules === "string" ? `regex \`${config.target_modules}\`` : (config.target_modules ?? []).join(", ");
  const method = config.use_dora ? "DoRA" : "LoRA";
  return [
    "---",
    ...(base ? [`base_model: ${JSON.stringify(base)}`] : []),
    "library_name: peft",
    "tags:",
    "- lora",
    "- peftlab",
    "---",
    "",
    `# ${method} adapter`,
    "",
    `A ${method} adapter${base ? ` for \`${base}\`` : ""}, written by peftlab in the Hugging Face PEFT format.`,
    "",
    `- Task: ${config.task_type ?? "unspecified"}`,
    `- Rank r = ${config.r}, lora_alpha = ${config.lora_alpha}${config.use_rslora ? " (rsLoRA scaling alpha/sqrt(r))" : ""}`,
    `- Target modules: ${targets} (${moduleCount} modules)`,
    "",
    "Load it with `PeftModel.from_pretrained(base_model, path_to_this_folder)`.",
    "",
  ].join("\n");
}
