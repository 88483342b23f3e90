// LoRA adapters of a live model ⇄ Hugging Face PEFT adapter folders.
//
// Export folds every method-specific state into plain LoRA, so stock PEFT computes exactly our
// forward pass  y = W x + scaling · B (A x):
//   - BeamLoRA gates go into A (A' = diag(s) · A, `LoraAdapter.foldedA`);
//   - our scaling stays alpha / r_original after Light-PEFT rank pruning, while PEFT computes
//     alpha' / r' from the config: modules whose rank r' differs from the config's r get a
//     `rank_pattern` entry, and modules whose required alpha' = scaling · r' (rsLoRA: scaling · √r')
//     differs from lora_alpha get an `alpha_pattern` entry. Pattern keys are full module paths, each
//     checked to match exactly one module of the model under PEFT's `(.*\.)?(key)$` rule.
// `target_modules` is the plan's selector when stock PEFT would select exactly the adapted modules
// with it, else the list of adapted module paths.

import * as path from "node:path";
import type { AdapterSpec } from "../../dsl/plan.js";
import * as tf from "../tf.js";
import type { Linear } from "../nn.js";
import { LoraAdapter, loraScaling } from "../lora.js";
import type { FamilyModel } from "../models/model.js";
import type { FamilyConfig } from "../models/config.js";
import { exportTensorName, normaliseTensorName } from "./hf-config.js";
import {
  ADAPTER_CONFIG_FILE, ADAPTER_PREFIX, ADAPTER_WEIGHTS_FILE, AdapterFormatError, adapterTensorName, buildAdapterConfig, matchesTargetModules, patternMatches, readAdapterFolder,
  resolvePattern, savedModuleTensorName, selectorToModules, writeAdapterFolder,
  type LoraAdapterConfig, type ModuleList, type ModuleShape, type TaskType,
} from "./peft-format.js";
import type { Tensor, WritableTensor } from "./safetensors.js";

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
  const cfg = model.config;
  for (const name of model.stateDict().keys()) {
    const parts = exportTensorName(name, cfg).split(".").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join("."));
  }
  return [...out];
}

function stockSelects(target: ModuleList, paths: string[]): string[] {
  return paths.filter((p) => matchesTargetModules(target, p));
}

/** The plan's selector when stock PEFT selects exactly `adapted` with it, else the adapted paths. */
function targetModules(model: FamilyModel, adapted: string[], spec: AdapterSpec | null): ModuleList {
  const hasExclude = spec !== null && (spec.exclude.regex !== null || spec.exclude.names.length > 0);
  const fromSpec = spec && !hasExclude ? selectorToModules(spec.target) : null;
  if (fromSpec !== null) {
    const picked = stockSelects(fromSpec, allModulePaths(model)).sort();
    const want = [...adapted].sort();
    if (picked.length === want.length && picked.every((p, i) => p === want[i])) return fromSpec;
  }
  return [...adapted];
}

/** The lora_alpha stock PEFT needs at rank r' to reproduce our scaling (exact when r' = r_original). */
export function equivalentAlpha(a: LoraAdapter): number {
  const r = a.rank;
  if (r === a.rOriginal) return a.alpha;
  return a.rslora ? a.scaling * Math.sqrt(r) : a.scaling * r;
}

function mostCommon(xs: number[]): number {
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
}

/** Errors unless `key` matches `path` and no other module (the pattern must be unambiguous). */
function checkUnambiguous(key: string, path: string, paths: string[]): void {
  const hits = paths.filter((p) => patternMatches(key, p));
  if (hits.length !== 1 || hits[0] !== path) {
    throw new Error(`exportAdapter: pattern key "${key}" would match ${hits.map((h) => `"${h}"`).join(", ") || "nothing"} in stock PEFT, not only "${path}"`);
  }
}

export interface ExportOptions {
  /** `base_model_name_or_path` (a hub id or the base folder). */
  baseModel: string | null;
  taskType: TaskType;
}

export interface ExportedAdapter {
  config: LoraAdapterConfig;
  files: string[];
  /** HF module paths, in model order. */
  modules: string[];
  warnings: string[];
}

interface Collected {
  tensors: Record<string, WritableTensor>;
  modules: string[];
  shapes: Map<string, ModuleShape>;
  adapters: Map<string, LoraAdapter>;
}

function plain(t: tf.Tensor): WritableTensor {
  return { dtype: "F32", shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
}

/** LoRA tensors (gate folded into A) of every module carrying adapter `name`. */
function collect(model: FamilyModel, name: string): Collected {
  const cfg = model.config;
  const out: Collected = { tensors: {}, modules: [], shapes: new Map(), adapters: new Map() };
  for (const [canon, l] of model.linears()) {
    const shape = { in: l.inFeatures, out: l.outFeatures };
    const hf = hfModulePath(canon, cfg);
    out.shapes.set(hf, shape);
    const a = l.adapters.get(name);
    if (!a) continue;
    if (!(a instanceof LoraAdapter)) throw new Error(`exportAdapter: adapter "${name}" on ${canon} is a ${a.kind} adapter; only LoRA exports to PEFT`);
    if (cfg.modelType === "roberta" && canon === "bert.pooler.dense") {
      throw new Error(`exportAdapter: adapter "${name}" adapts the RoBERTa head's dense layer (classifier.dense), which PEFT saves whole in modules_to_save; leave it out of the target`);
    }
    const A = a.foldedA();
    out.tensors[adapterTensorName(hf, "lora_A")] = plain(A);
    A.dispose();
    out.tensors[adapterTensorName(hf, "lora_B")] = plain(a.B);
    out.modules.push(hf);
    out.adapters.set(hf, a);
  }
  if (out.modules.length === 0) throw new Error(`exportAdapter: no LoRA adapter named "${name}" is attached to the model`);
  return out;
}

/**
 * Writes adapter `name` of `model` as a PEFT folder (adapter_config.json, adapter_model.safetensors,
 * README.md). `spec` (the plan's adapter) gives r, alpha, dropout and the selector; without it the most
 * common rank and alpha of the modules are used. Classifier heads go into modules_to_save.
 */
export function exportAdapter(model: FamilyModel, name: string, spec: AdapterSpec | null, dir: string, opts: ExportOptions): ExportedAdapter {
  const cfg = model.config;
  const c = collect(model, name);
  const adapters = [...c.adapters.values()];
  const rslora = adapters[0]!.rslora;
  if (adapters.some((a) => a.rslora !== rslora)) throw new Error(`exportAdapter: adapter "${name}" mixes rsLoRA and plain scaling across modules`);
  const r = spec?.r ?? mostCommon(adapters.map((a) => a.rank));
  const alpha = spec?.alpha ?? mostCommon(adapters.map(equivalentAlpha));
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  const paths = allModulePaths(model);
  for (const [hf, a] of c.adapters) {
    const alphaNeeded = equivalentAlpha(a);
    if (a.rank !== r) rankPattern[hf] = a.rank;
    if (alphaNeeded !== alpha) alphaPattern[hf] = alphaNeeded;
    if (a.rank !== r || alphaNeeded !== alpha) checkUnambiguous(hf, hf, paths);
  }
  const head = model.classifier;
  // PEFT saves the whole head module; RoBERTa's is `classifier` = dense (our pooler) + out_proj.
  const modulesToSave = head ? [cfg.modelType === "roberta" ? "classifier" : hfModulePath(head.path, cfg)] : null;
  for (const [canon, v] of headParams(model)) c.tensors[ADAPTER_PREFIX + exportTensorName(canon, cfg)] = plain(v);
  const config = buildAdapterConfig({
    taskType: opts.taskType, baseModel: opts.baseModel, r, alpha, dropout: spec?.dropout ?? adapters[0]!.dropout,
    targetModules: targetModules(model, c.modules, spec), fanInFanOut: cfg.family === "gpt2", useRslora: rslora,
    modulesToSave, initLoraWeights: spec?.init === "gaussian" ? "gaussian" : true, rankPattern, alphaPattern,
  });
  for (const [hf, a] of c.adapters) checkScaling(config, hf, a);
  const written = writeAdapterFolder(dir, config, c.tensors, { modules: c.shapes });
  return { config, files: written.files, modules: c.modules, warnings: written.warnings };
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

/** Stock PEFT's scaling for `hf` from the config must equal ours (to float rounding). */
function checkScaling(config: LoraAdapterConfig, hf: string, a: LoraAdapter): void {
  const r = resolvePattern(config.rank_pattern, hf, config.r);
  const alpha = resolvePattern(config.alpha_pattern, hf, config.lora_alpha);
  const stock = loraScaling(alpha, r, config.use_rslora);
  if (r !== a.rank || Math.abs(stock - a.scaling) > 1e-6 * Math.abs(a.scaling)) {
    throw new Error(`exportAdapter: ${hf}: the config gives rank ${r} and scaling ${stock}, the adapter has rank ${a.rank} and scaling ${a.scaling}`);
  }
}

// ---------------------------------------------------------------- import

export interface ImportedAdapter {
  config: LoraAdapterConfig;
  /** Our module paths that received the adapter, in model order. */
  modules: string[];
  warnings: string[];
}

/**
 * Attaches the adapter of a PEFT folder (ours or one written by HF PEFT) to `model` as LoRA adapters
 * named `name`, with the folder's weights, per-module ranks (rank_pattern), alphas (alpha_pattern) and
 * rsLoRA scaling. A classifier head in modules_to_save is copied into the model's head. Errors name the
 * file and the module or tensor; everything is checked before the model is changed.
 */
export function importAdapter(model: FamilyModel, dir: string, name: string): ImportedAdapter {
  const cfg = model.config;
  const linears = model.linears();
  const shapes = new Map<string, ModuleShape>();
  for (const [canon, l] of linears) shapes.set(hfModulePath(canon, cfg), { in: l.inFeatures, out: l.outFeatures });
  const folder = readAdapterFolder(dir, { modules: shapes });
  const c = folder.config;
  if (c.use_dora) throw new AdapterFormatError(path.join(dir, ADAPTER_CONFIG_FILE), 'key "use_dora" = true is not supported: DoRA adapters cannot be imported');
  const headCopies = savedModuleCopies(model, folder.savedModules, path.join(dir, ADAPTER_WEIGHTS_FILE));
  for (const [hf] of folder.modules) {
    const l = linears.get(canonicalModulePath(hf, cfg)!)!;
    if (l.adapters.has(name)) throw new Error(`importAdapter: ${l.path} already has an adapter named "${name}"`);
  }
  const attached: Linear[] = [];
  for (const [hf, m] of folder.modules) {
    const l = linears.get(canonicalModulePath(hf, cfg)!)!;
    const a = new LoraAdapter({
      name, path: l.path, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r: m.r,
      alpha: resolvePattern(c.alpha_pattern, hf, c.lora_alpha), dropout: c.lora_dropout, rslora: c.use_rslora,
      init: "kaiming", rand: () => 0.5,
    });
    tf.tidy(() => {
      a.A.assign(tf.tensor(m.loraA.data as Float32Array, m.loraA.shape, "float32"));
      a.B.assign(tf.tensor(m.loraB.data as Float32Array, m.loraB.shape, "float32"));
    });
    l.addAdapter(a);
    attached.push(l);
  }
  for (const [v, t] of headCopies) tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, t.shape, "float32")));
  const order = [...linears.keys()];
  const modules = attached.map((l) => l.path).sort((p, q) => order.indexOf(p) - order.indexOf(q));
  return { config: c, modules, warnings: folder.warnings };
}

/**
 * The variables modules_to_save tensors go into (the head; RoBERTa's head dense layer is our
 * bert.pooler.dense), all checked before anything is changed.
 */
function savedModuleCopies(model: FamilyModel, saved: Map<string, Record<string, Tensor>>, file: string): [tf.Variable, Tensor][] {
  const cfg = model.config;
  const params = new Map(headParams(model));
  const out: [tf.Variable, Tensor][] = [];
  for (const [hf, tensors] of saved) {
    for (const [p, t] of Object.entries(tensors)) {
      const canon = normaliseTensorName(`${hf}.${p}`, cfg);
      const v = canon === null ? undefined : params.get(canon);
      const tensorName = savedModuleTensorName(hf, p);
      if (!v) {
        const have = model.classifier ? `the trainable head is ${hfModulePath(model.classifier.path, cfg)}` : "the model has no trainable head";
        throw new AdapterFormatError(file, `tensor "${tensorName}": modules_to_save module "${hf}" cannot be loaded (${have})`);
      }
      if (v.shape.length !== t.shape.length || v.shape.some((d, i) => d !== t.shape[i])) {
        throw new AdapterFormatError(file, `tensor "${tensorName}": shape [${t.shape.join(", ")}] does not fit the model's [${v.shape.join(", ")}] (another number of labels?)`);
      }
      out.push([v, t]);
    }
  }
  return out;
}
