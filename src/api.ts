// The model-folder API: what a user with a Hugging Face folder and a PEFT adapter needs, in six calls.
//
//   const model = await loadModel("models/gpt2");          // config.json + model.safetensors
//   const tok = loadTokenizer("models/gpt2");              // tok.encode("hi") → ids with HF's specials
//   loadAdapter(model, "adapters/my-lora");                // a PEFT folder, attached as "default"
//   mergeAndUnload(model);                                 // W ← W + ΔW, the adapter removed
//   saveModel(model, "out/merged");                        // a folder transformers loads
//   model.dispose();
//
// Each is a thin wrapper over the runtime's loaders (src/runtime/io, src/runtime/adapters): no second
// implementation of any rule. Every function disposes the tensors it makes; the model's own tensors
// (weights, adapters) live until `model.dispose()`.

import * as fs from "node:fs";
import * as path from "node:path";
import type { BackendName, BasePrecision, HeadKind } from "./dsl/plan.js";
import { initBackend, resolveBackendRequest } from "./runtime/tensor/backend.js";
import { adapterNames, mergeAndRemove } from "./runtime/adapters/merge.js";
import { exportAdapter, importAdapter, type ImportedAdapter } from "./runtime/adapters/peft-io.js";
import { copyTokenizerFiles, loadHfModel, saveHfModel, sourceFolderOf } from "./runtime/io/hf-model.js";
import type { FamilyModel } from "./runtime/models/model.js";
import * as tf from "./runtime/tensor/tf.js";
import { HfTokenizer } from "./tokenizers/hf-tokenizer.js";

export type { FamilyModel } from "./runtime/models/model.js";
export { adapterNames };

export interface LoadModelOptions {
  /** Head to build: "causal_lm", "classifier" or "auto" (default: the config's `architectures`). */
  head?: HeadKind | "auto";
  /** Classes of a classifier head; "auto" (default) reads the config. */
  labels?: number | "auto";
  /** Seed of tensors the folder does not hold (a fresh classifier head). Default 0. */
  seed?: number;
  /**
   * How the frozen base is held: "f32" (default: tensors), "bf16", "f16", "int8" or "nf4" (in the
   * native weight store). A llama-family f32 base larger than the wasm memory holds goes into the
   * store in float32 on the native backend, and is refused elsewhere.
   */
  precision?: BasePrecision;
  /**
   * Backend to run on (started unless it runs already). Absent: the running backend, or when none
   * runs yet $PEFTLAB_BACKEND, else "auto" (native when its addon is built, else wasm).
   */
  backend?: BackendName;
  /** Called with each warning (unused tensors, non-finite values, a fresh head). Default: console.warn. */
  onWarning?: (message: string) => void;
}

/** Starts a backend unless one is running (tfjs would otherwise pick one on first use). */
async function ensureBackend(requested: BackendName | undefined): Promise<void> {
  if (tf.engine().backendName && requested === undefined) return;
  const name = resolveBackendRequest({ cli: requested ?? null, env: process.env.PEFTLAB_BACKEND ?? null, plan: "auto" });
  if (tf.engine().backendName && name.backend === tf.getBackend()) return;
  await initBackend(name.backend);
}

/**
 * Loads a Hugging Face model folder (config.json, model.safetensors or a sharded index) of a supported
 * family (llama, mistral, qwen2, gpt2, bert, roberta). Errors name the folder, file and key or tensor.
 * The caller owns the model: `model.dispose()` frees it.
 */
export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<FamilyModel> {
  await ensureBackend(opts.backend);
  const loaded = loadHfModel(dir, {
    ...(opts.head !== undefined ? { head: opts.head } : {}),
    ...(opts.labels !== undefined ? { labels: opts.labels } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.precision !== undefined ? { precision: opts.precision } : {}),
  });
  const warn = opts.onWarning ?? ((m: string) => console.warn(`peftlab: ${m}`));
  for (const w of loaded.warnings) warn(w);
  return loaded.model;
}

export interface SavedModel {
  dir: string;
  /** Files written (weights, config, tokenizer files copied from the folder the model came from). */
  files: string[];
  warnings: string[];
}

/**
 * Writes `model` as a Hugging Face folder: config.json (the source folder's keys kept), model.safetensors
 * and, when the model was loaded from a folder, its tokenizer files. Adapters are not part of the
 * weights: merge them first (mergeAndUnload) or save them apart (saveAdapter).
 */
export function saveModel(model: FamilyModel, dir: string): SavedModel {
  for (const l of model.linears().values()) {
    if (l.adapters.size > 0) {
      throw new Error(`saveModel: ${l.path} has adapter "${[...l.adapters.keys()][0]}" attached; save it with saveAdapter, or fold it in with mergeAndUnload first`);
    }
  }
  const saved = saveHfModel(model, dir);
  const source = sourceFolderOf(model);
  const copied = source && path.resolve(source) !== path.resolve(dir) ? copyTokenizerFiles(source, dir) : [];
  return { dir, files: [...saved.files, ...copied], warnings: saved.warnings };
}

/** A Hugging Face tokenizer: `encode` adds the special tokens transformers' `tokenizer(text)` adds. */
export interface PublicTokenizer {
  /** Text → ids with the special tokens Hugging Face adds by default (BOS for Llama, [CLS]/[SEP] for BERT, none for GPT-2). */
  encode(text: string): number[];
  /** Text → ids without any special token. */
  encodeOrdinary(text: string): number[];
  /** Ids → text, special tokens left out. */
  decode(ids: readonly number[]): string;
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
}

/**
 * Reads a tokenizer: a model folder (tokenizer.json and, when present, tokenizer_config.json) or a
 * tokenizer.json file. No tensors.
 */
export function loadTokenizer(dirOrFile: string): PublicTokenizer {
  if (!fs.existsSync(dirOrFile)) throw new Error(`${dirOrFile}: no such folder or file`);
  const t = fs.statSync(dirOrFile).isDirectory() ? HfTokenizer.fromDir(dirOrFile) : HfTokenizer.fromFile(dirOrFile);
  return {
    encode: (text) => t.encodeWithSpecialTokens(text),
    encodeOrdinary: (text) => t.encode(text),
    decode: (ids) => t.decode(ids),
    vocabSize: t.vocabSize, bosId: t.bosId, eosId: t.eosId, padId: t.padId,
  };
}

export type LoadedAdapter = ImportedAdapter & { name: string };

/**
 * Attaches the adapter of a PEFT folder (adapter_config.json + adapter_model.safetensors: LoRA, DoRA,
 * rsLoRA, rank/alpha patterns, AdaLoRA) to `model` under `name` (default "default", PEFT's name).
 * Everything is checked before the model changes; the adapter's tensors belong to the model.
 */
export function loadAdapter(model: FamilyModel, dir: string, name = "default"): LoadedAdapter {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${dir}: not an adapter folder (it does not exist or is not a directory)`);
  for (const l of model.linears().values()) {
    if (l.adapters.has(name)) throw new Error(`loadAdapter: the model already has an adapter named "${name}" (on ${l.path}); pass another name`);
  }
  return { name, ...importAdapter(model, dir, name) };
}

export interface SaveAdapterOptions {
  /** Which adapter (default: the only one attached). */
  name?: string;
  /** base_model_name_or_path (default: the folder the model was loaded from). */
  baseModel?: string | null;
}

function oneAdapter(model: FamilyModel, name: string | undefined, fn: string): string {
  const names = adapterNames(model);
  if (name !== undefined) {
    if (!names.includes(name)) throw new Error(`${fn}: no adapter named "${name}" is attached (attached: ${names.length ? names.join(", ") : "none"})`);
    return name;
  }
  if (names.length !== 1) throw new Error(`${fn}: ${names.length === 0 ? "the model has no adapter" : `the model has ${names.length} adapters (${names.join(", ")}); pass { name }`}`);
  return names[0]!;
}

/** Writes an attached adapter as a PEFT LoRA folder (adapter_config.json, adapter_model.safetensors, README.md). */
export function saveAdapter(model: FamilyModel, dir: string, opts: SaveAdapterOptions = {}): { dir: string; files: string[]; modules: string[] } {
  const name = oneAdapter(model, opts.name, "saveAdapter");
  const baseModel = opts.baseModel !== undefined ? opts.baseModel : sourceFolderOf(model);
  const taskType = model.config.head === "classifier" ? "SEQ_CLS" : "CAUSAL_LM";
  const out = exportAdapter(model, name, null, dir, { baseModel, taskType });
  return { dir, files: out.files, modules: out.modules };
}

/**
 * PEFT's merge_and_unload: folds every attached adapter (or only `name`) into the base weights, one
 * update per module, and removes it. Returns the same model, now without those adapters.
 */
export function mergeAndUnload(model: FamilyModel, name?: string): FamilyModel {
  mergeAndRemove(model, name === undefined ? adapterNames(model) : [oneAdapter(model, name, "mergeAndUnload")]);
  return model;
}
