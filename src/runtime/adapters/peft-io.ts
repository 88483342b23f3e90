// Adapters of a live model ⇄ Hugging Face PEFT adapter folders: the one export path and the one
// import path. adapters/export.ts turns each adapter kind into plain tensors and adapters/import.ts
// attaches read tensors; this file does the rest: HF module names (RoBERTa: `roberta.*`, its head
// `classifier`), the classifier head in `modules_to_save`, target_modules, adapter_config.json,
// consistency checks and the folder itself.
//
// LoRA format (peft_type "LORA", the default): every method folds into plain LoRA so stock PEFT
// computes our forward pass y = W x + scaling · B (A x) (+ DoRA's magnitude). The most common
// (rank, alpha) pair, or the plan's when a module has it, becomes r / lora_alpha; every other module
// gets a `rank_pattern` / `alpha_pattern` entry under its full module path, each checked to match only
// that module under PEFT's `(.*\.)?(key)$` rule, and every module's scaling as PEFT will compute it is
// checked against ours. `target_modules` is the plan's selector when stock PEFT would select exactly
// the adapted modules with it, else the list of adapted module paths.
// AdaLoRA format (peft_type "ADALORA", AdaLoRA adapters only): PEFT's own folder (io/adalora-format.ts).
//
// An adapter imported from a LoRA folder and saved again is written as it was written (peft-source.ts):
// its target_modules / exclude_modules while they still select exactly the adapted modules, its r,
// lora_alpha, rank_pattern and alpha_pattern while they still give every module its rank and scaling,
// keys peftlab does not use as they were, and each tensor in its stored dtype (BF16 / F16 stay so; the
// values came from that dtype, so an untrained adapter gets back the same bytes) unless `dtype` asks.

import * as fs from "node:fs";
import * as path from "node:path";
import type { AdapterSpec } from "../../dsl/plan.js";
import * as tf from "../tensor/tf.js";
import { loraScaling } from "./lora.js";
import type { FamilyModel } from "../models/model.js";
import type { FamilyConfig } from "../models/config.js";
import { type LoraModule, type PissaMode, adaloraForm, loraForm } from "./export.js";
import { type AdaLoraAdapterConfig, adaloraTensorName, buildAdaLoraConfig, readAdaLoraFolder, writeAdaLoraFolder } from "../io/adalora-format.js";
import { attachAdaLora, attachLora } from "./import.js";
import { exportTensorName, normaliseTensorName } from "../io/hf-config.js";
import { matchesTargetModules, patternMatches, resolvePattern, type ModuleList } from "../../peft/targets.js";
import {
  ADAPTER_CONFIG_FILE, ADAPTER_PREFIX, ADAPTER_WEIGHTS_FILE, AdapterFormatError, adapterTensorName, buildAdapterConfig,
  readAdapterFolder, selectorToModules, sortKeysDeep, writeAdapterFolder, type LoraAdapterConfig, type ModuleShape, type TaskType,
} from "../io/peft-format.js";
import type { Tensor, WritableTensor } from "../io/safetensors.js";
import type { Dtype } from "../io/safetensors-dtypes.js";
import { type LoraSource, rememberSource, sourceOf, withWrittenKeys } from "./peft-source.js";

/** A module path as it appears in HF files (RoBERTa: `roberta.*`, `classifier.*`). */
export function hfModulePath(canon: string, cfg: FamilyConfig): string {
  return exportTensorName(`${canon}.weight`, cfg).slice(0, -".weight".length);
}

/** Our canonical module path of an HF module path, or null when the model has no such module. */
export function canonicalModulePath(hf: string, cfg: FamilyConfig): string | null {
  const n = normaliseTensorName(`${hf}.weight`, cfg);
  return n === null ? null : n.slice(0, -".weight".length);
}

/** Every module path of the model as PEFT sees them (linears, their containers, norms, embeddings). */
function allModulePaths(model: FamilyModel): string[] {
  const out = new Set<string>();
  for (const name of model.stateDict().keys()) {
    const parts = exportTensorName(name, model.config).split(".").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join("."));
  }
  return [...out];
}

/** Input and output sizes of every linear module, by HF module path. */
function moduleShapes(model: FamilyModel): Map<string, ModuleShape> {
  return new Map([...model.linears()].map(([canon, l]) => [hfModulePath(canon, model.config), { in: l.inFeatures, out: l.outFeatures }]));
}

/** The plan's selector when stock PEFT selects exactly `adapted` with it, else the adapted paths. */
function targetModules(model: FamilyModel, adapted: string[], spec: AdapterSpec | null): ModuleList {
  const hasExclude = spec !== null && (spec.exclude.regex !== null || spec.exclude.names.length > 0);
  const fromSpec = spec && !hasExclude ? selectorToModules(spec.target) : null;
  if (fromSpec !== null) {
    const picked = allModulePaths(model).filter((p) => matchesTargetModules(fromSpec, p)).sort();
    const want = [...adapted].sort();
    if (picked.length === want.length && picked.every((p, i) => p === want[i])) return fromSpec;
  }
  return [...adapted];
}

/** The HF path of an adapted module; RoBERTa's head dense layer cannot carry an adapter PEFT would load. */
function adaptedPath(model: FamilyModel, canon: string, name: string): string {
  if (model.config.modelType === "roberta" && canon === "bert.pooler.dense") {
    throw new Error(`exportAdapter: adapter "${name}" adapts the RoBERTa head's dense layer (classifier.dense), which PEFT saves whole in modules_to_save; leave it out of the target`);
  }
  return hfModulePath(canon, model.config);
}

/** The parameters PEFT keeps in modules_to_save: the classifier head, and for RoBERTa the head's dense layer. */
function headParams(model: FamilyModel): [string, tf.Variable][] {
  if (!model.classifier) return [];
  const out = model.classifier.params();
  const pooler = model.linears().get("bert.pooler.dense");
  if (model.config.modelType === "roberta" && pooler) {
    out.push(["bert.pooler.dense.weight", pooler.weight]);
    if (pooler.bias) out.push(["bert.pooler.dense.bias", pooler.bias]);
  }
  return out;
}

/** modules_to_save and its tensors: PEFT saves the whole head module (RoBERTa's `classifier` = dense + out_proj). */
function headExport(model: FamilyModel): { modulesToSave: string[] | null; tensors: Record<string, WritableTensor> } {
  const head = model.classifier;
  if (!head) return { modulesToSave: null, tensors: {} };
  const cfg = model.config;
  const tensors: Record<string, WritableTensor> = {};
  for (const [canon, v] of headParams(model)) {
    tensors[ADAPTER_PREFIX + exportTensorName(canon, cfg)] = { dtype: "F32", shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
  }
  return { modulesToSave: [cfg.modelType === "roberta" ? "classifier" : hfModulePath(head.path, cfg)], tensors };
}

export interface ExportOptions {
  /** `base_model_name_or_path` (a hub id or the base folder); left out: the imported folder's value, else null. */
  baseModel?: string | null;
  /** The dtype of every tensor written; left out: each tensor's dtype in the folder the adapter was imported from, else F32. */
  dtype?: "F32" | "F16" | "BF16";
  taskType: TaskType;
  /** "lora" (default): PEFT's LoRA format, every method folded into it; "adalora": PEFT's native AdaLoRA folder. */
  format?: "lora" | "adalora";
  /** PiSSA adapters: "convert" (default) = a LoRA on the original base; "as-is" = on the saved residual base. */
  pissa?: PissaMode;
  /** The run's total steps: PEFT's AdaLoRA `total_step` (AdaLoRA format only). */
  totalStep?: number;
}

/** A LoRA-format adapter in memory: the config, the tensors by file name and the modules (HF paths). */
export interface LoraExport {
  config: LoraAdapterConfig;
  tensors: Record<string, WritableTensor>;
  modules: LoraModule[];
}

/** An AdaLoRA-format adapter in memory; `modules` are HF paths in model order. */
export interface AdaLoraExport {
  config: AdaLoraAdapterConfig;
  tensors: Record<string, WritableTensor>;
  modules: string[];
}

export interface ExportedAdapter {
  config: LoraAdapterConfig | AdaLoraAdapterConfig;
  files: string[];
  /** HF module paths, in model order. */
  modules: string[];
  warnings: string[];
}

/** r / lora_alpha of the config: the plan's pair when a module has it, else the most common pair (first in model order on ties). */
function configRankAlpha(modules: readonly LoraModule[], spec: AdapterSpec | null): { r: number; alpha: number } {
  if (spec && modules.some((m) => m.rank === spec.r && m.alpha === spec.alpha)) return { r: spec.r, alpha: spec.alpha };
  const counts = new Map<string, number>();
  const key = (m: LoraModule) => `${m.rank}/${m.alpha}`;
  for (const m of modules) counts.set(key(m), (counts.get(key(m)) ?? 0) + 1);
  const best = modules.reduce((b, m) => (counts.get(key(m))! > counts.get(key(b))! ? m : b));
  return { r: best.rank, alpha: best.alpha };
}

/** Errors unless `key` matches `path` and no other module (the pattern must be unambiguous). */
function checkUnambiguous(key: string, path: string, paths: string[]): void {
  const hits = paths.filter((p) => patternMatches(key, p));
  if (hits.length !== 1 || hits[0] !== path) {
    throw new Error(`exportAdapter: pattern key "${key}" would match ${hits.map((h) => `"${h}"`).join(", ") || "nothing"} in stock PEFT, not only "${path}"`);
  }
}

/** Why stock PEFT's rank or scaling for `m` from the config differs from ours (beyond float rounding), or null. */
function scalingMismatch(config: Pick<LoraAdapterConfig, "r" | "lora_alpha" | "rank_pattern" | "alpha_pattern" | "use_rslora">, m: LoraModule): string | null {
  const r = resolvePattern(config.rank_pattern, m.path, config.r);
  const alpha = resolvePattern(config.alpha_pattern, m.path, config.lora_alpha);
  const stock = loraScaling(alpha, r, config.use_rslora);
  if (r === m.rank && Math.abs(stock - m.scaling) <= 1e-6 * Math.abs(m.scaling)) return null;
  return `${m.path}: the config gives rank ${r} and scaling ${stock}, the adapter has rank ${m.rank} and scaling ${m.scaling}`;
}

function checkScaling(config: LoraAdapterConfig, m: LoraModule): void {
  const problem = scalingMismatch(config, m);
  if (problem) throw new Error(`exportAdapter: ${problem}`);
}

/** The source's target_modules / exclude_modules when stock PEFT selects exactly `adapted` with them, else null. */
function writtenSelection(model: FamilyModel, adapted: string[], source: LoraSource): { target: ModuleList; exclude: ModuleList | null } | null {
  const { target_modules: target, exclude_modules: exclude } = source.config;
  if (target === null) return null;
  const want = new Set(adapted);
  const picked = allModulePaths(model).filter((p) => matchesTargetModules(target, p) && !(exclude !== null && matchesTargetModules(exclude, p)));
  return picked.length === want.size && picked.every((p) => want.has(p)) ? { target, exclude } : null;
}

/** The source's r, lora_alpha and patterns when they give every module its rank and scaling (patterns in file order = sorted), else null. */
function writtenRanks(source: LoraSource, modules: readonly LoraModule[], rslora: boolean) {
  const c = source.config;
  const ranks = {
    r: c.r, lora_alpha: c.lora_alpha, use_rslora: rslora,
    rank_pattern: sortKeysDeep(c.rank_pattern) as Record<string, number>, alpha_pattern: sortKeysDeep(c.alpha_pattern) as Record<string, number>,
  };
  return modules.every((m) => scalingMismatch(ranks, m) === null) ? ranks : null;
}

/** The dtype tensor `file` is written in: the asked one, else its dtype in the imported folder, else F32. */
function withDtypes(tensors: Record<string, WritableTensor>, asked: Dtype | undefined, source: LoraSource | null): Record<string, WritableTensor> {
  const out: Record<string, WritableTensor> = {};
  for (const [file, t] of Object.entries(tensors)) out[file] = { ...t, dtype: asked ?? source?.dtypes.get(file) ?? t.dtype };
  return out;
}

/**
 * Adapter `name` of `model` in PEFT's LoRA format, in memory (exportAdapter writes it). `spec` (the plan's
 * adapter) gives the preferred r / alpha, dropout, init and the selector; it may be null.
 */
export function exportAsLora(model: FamilyModel, name: string, spec: AdapterSpec | null, opts: ExportOptions): LoraExport {
  const form = loraForm(model, name, opts.pissa);
  const modules = form.modules.map((m) => ({ ...m, path: adaptedPath(model, m.path, name) }));
  const source = sourceOf(model, name);
  const adapted = modules.map((m) => m.path);
  const selection = source ? writtenSelection(model, adapted, source) : null;
  const written = source ? writtenRanks(source, modules, form.rslora) : null;
  const { r, alpha } = written ? { r: written.r, alpha: written.lora_alpha } : configRankAlpha(modules, spec);
  const rankPattern: Record<string, number> = { ...written?.rank_pattern };
  const alphaPattern: Record<string, number> = { ...written?.alpha_pattern };
  const paths = allModulePaths(model);
  for (const m of written ? [] : modules) {
    if (m.rank !== r) rankPattern[m.path] = m.rank;
    if (m.alpha !== alpha) alphaPattern[m.path] = m.alpha;
    if (m.rank !== r || m.alpha !== alpha) checkUnambiguous(m.path, m.path, paths);
  }
  const head = headExport(model);
  const baseModel = opts.baseModel !== undefined ? opts.baseModel : source?.config.base_model_name_or_path ?? null;
  const sameBase = source !== null && baseModel === source.config.base_model_name_or_path;
  const init = form.pissaInit ?? (spec ? (spec.init === "gaussian" ? "gaussian" : true) : source?.config.init_lora_weights ?? true);
  const computed = buildAdapterConfig({
    taskType: opts.taskType, baseModel, revision: sameBase ? source.config.revision : null, r, alpha, dropout: spec?.dropout ?? form.dropout,
    targetModules: selection?.target ?? targetModules(model, adapted, spec), excludeModules: selection?.exclude ?? null,
    fanInFanOut: model.config.family === "gpt2", useRslora: form.rslora, useDora: form.useDora, modulesToSave: head.modulesToSave,
    initLoraWeights: init, rankPattern, alphaPattern,
  });
  for (const m of modules) checkScaling(computed, m);
  const config = source ? withWrittenKeys(computed, source.raw) : computed;
  const tensors: Record<string, WritableTensor> = {};
  for (const m of modules) {
    tensors[adapterTensorName(m.path, "lora_A")] = { dtype: "F32", shape: [m.rank, m.A.length / m.rank], data: m.A };
    tensors[adapterTensorName(m.path, "lora_B")] = { dtype: "F32", shape: [m.B.length / m.rank, m.rank], data: m.B };
    if (m.magnitude) tensors[adapterTensorName(m.path, "lora_magnitude_vector")] = { dtype: "F32", shape: [m.magnitude.length], data: m.magnitude };
  }
  return { config, tensors: withDtypes({ ...tensors, ...head.tensors }, opts.dtype, source), modules };
}

/** AdaLoRA adapter `name` of `model` in PEFT's own AdaLoRA format, in memory. Needs the plan's AdaLoRA settings and total_step. */
export function exportAdaLora(model: FamilyModel, name: string, spec: AdapterSpec | null, opts: ExportOptions): AdaLoraExport {
  if (!spec?.adalora) throw new Error(`exportAdapter: adapter "${name}": PEFT's AdaLoRA format needs the plan's AdaLoRA settings (an adalora adapter spec)`);
  if (opts.totalStep === undefined) throw new Error(`exportAdapter: adapter "${name}": PEFT's AdaLoRA format needs totalStep (the run's steps)`);
  const form = adaloraForm(model, name);
  const head = headExport(model);
  const tensors: Record<string, WritableTensor> = {};
  const rankPattern: Record<string, boolean[]> = {};
  const modules = form.modules.map((m) => {
    const hf = adaptedPath(model, m.path, name);
    tensors[adaloraTensorName(hf, "lora_A")] = m.A;
    tensors[adaloraTensorName(hf, "lora_E")] = m.E;
    tensors[adaloraTensorName(hf, "lora_B")] = m.B;
    rankPattern[`${hf}.lora_E`] = m.keep;
    return hf;
  });
  const config = buildAdaLoraConfig({
    taskType: opts.taskType, baseModel: opts.baseModel ?? null, fanInFanOut: model.config.family === "gpt2", modulesToSave: head.modulesToSave,
    alpha: form.alpha, dropout: form.dropout, targetModules: modules, spec: spec.adalora, totalStep: opts.totalStep,
    rankPattern: form.allocated ? rankPattern : null,
  });
  return { config, tensors: { ...tensors, ...head.tensors }, modules };
}

/**
 * Writes adapter `name` of `model` as a PEFT folder (adapter_config.json, adapter_model.safetensors,
 * README.md) in the LoRA format, or with `format: "adalora"` in PEFT's AdaLoRA format. `spec` (the
 * plan's adapter) gives r, alpha, dropout, init and the selector; without it the most common rank
 * and alpha of the modules are used. Classifier heads go into modules_to_save.
 */
export function exportAdapter(model: FamilyModel, name: string, spec: AdapterSpec | null, dir: string, opts: ExportOptions): ExportedAdapter {
  if (opts.format === "adalora") {
    const exp = exportAdaLora(model, name, spec, opts);
    return { config: exp.config, files: writeAdaLoraFolder(dir, { ...exp, tensors: withDtypes(exp.tensors, opts.dtype, null) }), modules: exp.modules, warnings: [] };
  }
  const exp = exportAsLora(model, name, spec, opts);
  const written = writeAdapterFolder(dir, exp.config, exp.tensors, { modules: moduleShapes(model) });
  return { config: exp.config, files: written.files, modules: exp.modules.map((m) => m.path), warnings: written.warnings };
}

// ---------------------------------------------------------------- import

export interface ImportedAdapter {
  config: LoraAdapterConfig | AdaLoraAdapterConfig;
  /** Our module paths that received the adapter, in model order. */
  modules: string[];
  warnings: string[];
}

/** peft_type of a folder's adapter_config.json, or null when it cannot tell (the reader then reports why). */
function peftTypeOf(dir: string): unknown {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, ADAPTER_CONFIG_FILE), "utf8")) as { peft_type?: unknown }).peft_type ?? null;
  } catch {
    return null;
  }
}

/** Our path of a module named in an adapter file; errors when the model has no such linear. */
function ourPath(model: FamilyModel, hf: string, file: string): string {
  const canon = canonicalModulePath(hf, model.config);
  if (canon === null || !model.linears().has(canon)) throw new AdapterFormatError(file, `module "${hf}" is not a linear module of the model`);
  return canon;
}

/** A read folder, checked, and how to attach it: nothing is changed until `attach` runs. */
interface ReadFolder {
  config: LoraAdapterConfig | AdaLoraAdapterConfig;
  warnings: string[];
  /** modules_to_save tensors by name without `base_model.model.`. */
  saved: Map<string, Tensor>;
  attach: () => string[];
  /** What the folder looked like (LoRA folders), for saving the attached adapter as written. */
  source: Omit<LoraSource, "adapters"> | null;
}

function readLora(model: FamilyModel, dir: string, name: string, file: string): ReadFolder {
  const folder = readAdapterFolder(dir, { modules: moduleShapes(model) });
  const c = folder.config;
  const modules = [...folder.modules.values()].map((m) => ({
    path: ourPath(model, m.path, file), alpha: resolvePattern(c.alpha_pattern, m.path, c.lora_alpha), A: m.loraA, B: m.loraB, magnitude: m.magnitude,
  }));
  const saved = [...folder.savedModules].flatMap(([hf, params]) => Object.entries(params).map(([p, t]): [string, Tensor] => [`${hf}.${p}`, t]));
  // Each tensor's dtype under the name an export writes it as.
  const dtypes = new Map<string, Dtype>();
  for (const m of modules) {
    const hf = hfModulePath(m.path, model.config);
    dtypes.set(adapterTensorName(hf, "lora_A"), m.A.dtype);
    dtypes.set(adapterTensorName(hf, "lora_B"), m.B.dtype);
    if (m.magnitude) dtypes.set(adapterTensorName(hf, "lora_magnitude_vector"), m.magnitude.dtype);
  }
  for (const [bare, t] of saved) {
    const canon = normaliseTensorName(bare, model.config);
    if (canon !== null) dtypes.set(ADAPTER_PREFIX + exportTensorName(canon, model.config), t.dtype);
  }
  return {
    config: c, warnings: folder.warnings, saved: new Map(saved),
    attach: () => attachLora(model, name, modules, { dropout: c.lora_dropout, rslora: c.use_rslora }),
    source: { config: c, raw: folder.raw, dtypes },
  };
}

function readAdaLora(model: FamilyModel, dir: string, name: string, file: string): ReadFolder {
  const folder = readAdaLoraFolder(dir);
  const c = folder.config;
  const modules = [...folder.modules.values()].map((m) => ({ ...m, path: ourPath(model, m.path, file) }));
  return {
    config: c, warnings: [], saved: folder.saved,
    attach: () => attachAdaLora(model, name, modules, { alpha: c.lora_alpha, initR: c.init_r, dropout: c.lora_dropout ?? 0 }),
    source: null,
  };
}

/**
 * Attaches the adapter of a PEFT folder (ours or one written by HF PEFT) to `model` as adapters named
 * `name`: a LoRA folder as LoRA (DoRA with use_dora) with its per-module ranks (rank_pattern), alphas
 * (alpha_pattern) and rsLoRA scaling; an AdaLoRA folder as AdaLoRA. A classifier head in
 * modules_to_save is copied into the model's head. Errors name the file and the module or tensor;
 * everything is checked before the model is changed. Saving the adapter again (exportAdapter) writes a
 * LoRA folder as it was written while the adapter still fits it (see the file comment).
 */
export function importAdapter(model: FamilyModel, dir: string, name: string): ImportedAdapter {
  const file = path.join(dir, ADAPTER_WEIGHTS_FILE);
  const read = peftTypeOf(dir) === "ADALORA" ? readAdaLora(model, dir, name, file) : readLora(model, dir, name, file);
  const heads = headCopies(model, read.saved, file);
  const attached = new Set(read.attach());
  for (const [v, t] of heads) tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, t.shape, "float32")));
  if (read.source) {
    const adapters = new Set([...attached].map((p) => model.linears().get(p)!.adapters.get(name)!));
    rememberSource(model, name, { ...read.source, adapters });
  }
  return { config: read.config, modules: [...model.linears().keys()].filter((p) => attached.has(p)), warnings: read.warnings };
}

/**
 * The variables modules_to_save tensors (by name without `base_model.model.`) go into: the head, and
 * RoBERTa's head dense layer (our bert.pooler.dense). All checked before anything is changed.
 */
function headCopies(model: FamilyModel, saved: Map<string, Tensor>, file: string): [tf.Variable, Tensor][] {
  const cfg = model.config;
  const params = new Map(headParams(model));
  const out: [tf.Variable, Tensor][] = [];
  for (const [bare, t] of saved) {
    const canon = normaliseTensorName(bare, cfg);
    const v = canon === null ? undefined : params.get(canon);
    const tensorName = ADAPTER_PREFIX + bare;
    if (!v) {
      const have = model.classifier ? `the trainable head is ${hfModulePath(model.classifier.path, cfg)}` : "the model has no trainable head";
      throw new AdapterFormatError(file, `tensor "${tensorName}": this modules_to_save parameter cannot be loaded (${have})`);
    }
    if (v.shape.length !== t.shape.length || v.shape.some((d, i) => d !== t.shape[i])) {
      throw new AdapterFormatError(file, `tensor "${tensorName}": shape [${t.shape.join(", ")}] does not fit the model's [${v.shape.join(", ")}] (another number of labels?)`);
    }
    if (!(t.data instanceof Float32Array)) throw new AdapterFormatError(file, `tensor "${tensorName}" has dtype ${t.dtype}; expected a float type`);
    out.push([v, t]);
  }
  return out;
}
