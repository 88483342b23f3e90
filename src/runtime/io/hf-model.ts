// Hugging Face-format base models: a local folder (config.json, model.safetensors or a sharded
// index, tokenizer.json) into a FamilyModel and back, and merge-and-unload of a LoRA adapter.
//
// Loading builds the model from config.json, shrinks pruned layers (./hf-layers.ts), then fills every
// state-dict variable from the file by canonical name (GPT-2 Conv1D weights are stored [in, out] and
// transposed). Every expected tensor must be present with its shape; missing or mis-shaped head
// tensors (classifier, bert pooler) keep their fresh initialisation with a warning; unused tensors and
// non-finite values are warnings naming the tensor. Saving writes what transformers' from_pretrained reads.

import * as fs from "node:fs";
import * as path from "node:path";
import type { HeadKind } from "../../dsl/plan.js";
import * as tf from "../tensor/tf.js";
import type { FamilyConfig } from "../models/config.js";
import { createModel } from "../models/index.js";
import { type FamilyModel, NO_BASE_WEIGHTS, type StoredSlot } from "../models/model.js";
import { FrozenWeight, frozenOpsNative, type Precision } from "../tensor/frozen/index.js";
import { gaussian, Rng, SKIP_INIT, uniformOf } from "../rng.js";
import { variableMemory } from "./tensor-memory.js";
import { writeFileAtomic } from "./atomic.js";
import { expectedTensors, exportTensorName, HfConfigError, linearModules, loadHfConfig, normaliseTensorName, toHfConfig } from "./hf-config.js";
import { MAX_UNUSED_LISTED } from "./hf-tensors.js";
import { recordWeightsFile } from "./weight-health.js";
import { applyLayerSizes, LAYERS_KEY, PRUNED_HEADS_KEY, prunedLayout, readLayerSizes } from "./hf-layers.js";
import { checkSizesAgainstWeights } from "./hf-size-check.js";
import { findNonFinite, openWeights, SINGLE_FILE, writeSafetensors, type TensorSource, type WritableTensor } from "./safetensors.js";

export const TOKENIZER_FILE = "tokenizer.json";

export interface LoadHfOptions {
  /** Head to build; "auto" (default) reads `architectures`. */
  head?: HeadKind | "auto";
  /** Classifier labels; "auto" (default) reads the config. */
  labels?: number | "auto";
  /** Longest sequence the run will use (checked against sliding windows). */
  context?: number;
  /** Seed of the initialisation of tensors the file does not hold (fresh heads). Default 0. */
  seed?: number;
  /**
   * How the frozen linear weights and the embedding table are held (default f32: tensors). Below
   * f32 they go into the weight store (the native addon's memory, outside the tensor heap) tensor
   * by tensor as they are read: llama-family models never hold a float32 copy of the base, GPT-2
   * and BERT hold it once while loading.
   */
  precision?: Precision;
  /**
   * Bytes of float32 weights the wasm backend may hold (default {@link WASM_F32_LIMIT}, 3.5 GiB);
   * a float32 base over it goes into the weight store (native backend, llama family) or is refused.
   */
  wasmLimitBytes?: number;
}

export interface LoadedHfModel {
  model: FamilyModel;
  config: FamilyConfig;
  /** `<dir>/tokenizer.json` when the folder has one. */
  tokenizerPath: string | null;
  warnings: string[];
}

/** Weight-file problems found while loading: every message names the file and the tensor. */
export class HfWeightsError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    const shown = problems.slice(0, 12);
    super(`${file}: the weights do not fit the model (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${shown.join("\n  ")}${problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : ""}`);
    this.name = "HfWeightsError";
  }
}

/** Canonical names of GPT-2 Conv1D weights, whose files store [in, out]. */
function conv1dWeights(cfg: FamilyConfig): Set<string> {
  return new Set(linearModules(cfg).filter((m) => m.conv1d).map((m) => `${m.path}.weight`));
}

/** Loads a Hugging Face model folder. Everything allocated is disposed when it fails. */
export function loadHfModel(dir: string, opts: LoadHfOptions = {}): LoadedHfModel {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${dir}: not a model folder (it does not exist or is not a directory)`);
  const cfgFile = path.join(dir, "config.json");
  const parsed = loadHfConfig(dir, { head: opts.head ?? "auto", labels: opts.labels ?? "auto", context: opts.context });
  const cfg = parsed.config;
  if (cfg.family === "gpt2" && !cfg.tieEmbeddings) {
    throw new HfConfigError(cfgFile, "tie_word_embeddings", "= false is not supported: peftlab's GPT-2 always ties lm_head to transformer.wte");
  }
  const raw = JSON.parse(fs.readFileSync(cfgFile, "utf8")) as Record<string, unknown>;
  const sizes = readLayerSizes(raw, cfg, cfgFile);
  const warnings = [...parsed.warnings];
  const source = openWeights(dir);
  let model: FamilyModel | null = null;
  try {
    for (const w of source.warnings) warnings.push(w);
    checkSizesAgainstWeights(cfg, source, cfgFile, sizes !== null);
    // The file fills every weight, so nothing is drawn at construction; tensors it lacks (a fresh
    // head) are initialised afterwards.
    const precision = opts.precision ?? "f32";
    const streams = cfg.family === "llama" && !sizes;
    // A float32 base the wasm memory cannot hold goes into the weight store as float32 where the
    // native kernels read it there (llama-family folders, streamed); elsewhere it is refused.
    const f32Store = precision === "f32" && tf.getBackend() === "wasm" && overWasmMemory(dir, source, streams, opts.wasmLimitBytes ?? WASM_F32_LIMIT);
    const lazy = (precision !== "f32" || f32Store) && streams;
    model = createModel(cfg, lazy ? NO_BASE_WEIGHTS : SKIP_INIT);
    if (sizes) applyLayerSizes(model, sizes);
    const plan = matchTensors(model, source);
    for (const w of plan.warnings) warnings.push(w);
    const conv = conv1dWeights(cfg);
    const state = model.stateDict();
    const slots = model.storedWeights();
    const fill = new TensorFiller(source);
    for (const [canon, fileName] of plan.sources) {
      const slot = slots.get(canon);
      const bad = slot ? fill.store(slot, fileName, precision) : fill.assign(state.get(canon)!, fileName, conv.has(canon));
      if (bad) warnings.push(bad);
    }
    initFresh(model, plan, opts.seed ?? 0);
    model.storeBase(precision);
    recordWeightsFile(model, source.path);
    sourceConfigs.set(model, raw);
    sourceDirs.set(model, dir);
    const tok = path.join(dir, TOKENIZER_FILE);
    return { model, config: cfg, tokenizerPath: fs.existsSync(tok) ? tok : null, warnings };
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    source.close();
  }
}

/** What the wasm backend's single memory can hold of float32 weights, leaving room for the rest of a step. */
export const WASM_F32_LIMIT = 3.5 * 2 ** 30;

/**
 * Whether a float32 base is over `limit` bytes. Over it, the base can only be held in the native
 * weight store, read there by the native kernels: true when `streams` (it can be read into the store
 * tensor by tensor) and the native backend runs; otherwise an error that names the way out.
 */
function overWasmMemory(dir: string, source: TensorSource, streams: boolean, limit: number): boolean {
  let elements = 0;
  for (const name of source.names()) elements += source.info(name).shape.reduce((a, b) => a * b, 1);
  if (4 * elements <= limit) return false;
  if (streams && frozenOpsNative()) return true;
  const native = streams ? "; or run it on the native backend (`--backend native`), which keeps a float32 base in the weight store" : "";
  throw new Error(
    `${dir}: its ${(elements / 1e9).toFixed(2)}B weights take ${((4 * elements) / 1e9).toFixed(1)} GB in float32, more than the wasm ` +
      "memory holds (4 GiB); hold the base in the native weight store with a lower precision: " +
      `\`precision bf16\`, \`int8\` or \`nf4\` in the model block (loadModel: { precision })${native}`,
  );
}

interface TensorPlan {
  /** Canonical name → name in the file. */
  sources: Map<string, string>;
  warnings: string[];
}

/** Matches the file's tensors to the model's state dict by canonical name and shape (file layout). */
function matchTensors(model: FamilyModel, source: TensorSource): TensorPlan {
  const cfg = model.config;
  const file = source.path;
  const conv = conv1dWeights(cfg);
  const heads = new Set(expectedTensors(cfg).filter((t) => t.role === "head").map((t) => t.name));
  const errors: string[] = [];
  const warnings: string[] = [];
  const byCanon = new Map<string, string>();
  for (const name of source.names()) {
    const canon = normaliseTensorName(name, cfg);
    if (canon === null) continue;
    const other = byCanon.get(canon);
    if (other !== undefined) errors.push(`tensors "${other}" and "${name}" both name "${canon}"`);
    else byCanon.set(canon, name);
  }
  const sources = new Map<string, string>();
  const text = (s: readonly number[]) => `[${s.join(", ")}]`;
  const expected: [string, readonly number[]][] = [...model.stateDict()].map(([canon, v]) => [canon, v.shape]);
  for (const [canon, s] of model.storedWeights()) expected.push([canon, [s.outFeatures, s.inFeatures]]);
  for (const [canon, shape] of expected) {
    const want = conv.has(canon) ? [...shape].reverse() : shape;
    const fileName = byCanon.get(canon);
    byCanon.delete(canon);
    const info = fileName === undefined ? null : source.info(fileName);
    let problem: string | null = null;
    if (!info) problem = `tensor "${canon}" (shape ${text(want)}) is missing`;
    else if (!["F32", "F16", "BF16", "F64"].includes(info.dtype)) problem = `tensor "${fileName}" has dtype ${info.dtype}; weights must be F32, F16, BF16 or F64`;
    else if (info.shape.length !== want.length || info.shape.some((d, i) => d !== want[i])) {
      problem = `tensor "${fileName}": expected shape ${text(want)}, got ${text(info.shape)}${transposeHint(info.shape, want, cfg)}`;
    }
    if (problem === null) sources.set(canon, fileName!);
    else if (heads.has(canon)) warnings.push(`${file}: ${problem}; the ${canon} head weight is initialised fresh`);
    else errors.push(problem);
  }
  let unused = 0;
  for (const [canon, name] of byCanon) {
    if (unused++ < MAX_UNUSED_LISTED) warnings.push(`${file}: tensor "${name}" is not used by the ${cfg.modelType} ${cfg.head} model${canon !== name ? ` (read as "${canon}")` : ""}`);
  }
  if (unused > MAX_UNUSED_LISTED) warnings.push(`${file}: ${unused - MAX_UNUSED_LISTED} more tensors are not used by the ${cfg.modelType} ${cfg.head} model`);
  if (errors.length > 0) throw new HfWeightsError(file, errors);
  return { sources, warnings };
}

function transposeHint(actual: readonly number[], want: readonly number[], cfg: FamilyConfig): string {
  if (actual.length !== 2 || actual[0] !== want[1] || actual[1] !== want[0]) return "";
  return cfg.family === "gpt2" ? " (transposed: GPT-2 Conv1D weights are stored [in, out])" : " (transposed: Linear weights are stored [out, in])";
}

/**
 * Reads tensors from the file into the model's variables: each straight into the backend memory of
 * its variable when the backend allows (./tensor-memory.ts), GPT-2's Conv1D weights through one
 * reused scratch buffer and a transposing copy; otherwise into a new tensor that is assigned.
 */
class TensorFiller {
  private scratch = new Float32Array(0);
  constructor(private readonly source: TensorSource) {}

  /**
   * Reads tensor `fileName` (one float32 buffer, reused) and puts it into the weight store at
   * `precision`; returns a warning when it holds NaN or Infinity.
   */
  store(slot: StoredSlot, fileName: string, precision: Precision): string | null {
    const shape: [number, number] = [slot.outFeatures, slot.inFeatures];
    const info = this.source.info(fileName);
    let finite = true;
    if (info.dtype === "F32" || info.dtype === "BF16" || info.dtype === "F16") {
      // The file's bytes go to the store as they are (a bf16 file into a bf16 store is a copy), each
      // chunk checked for NaN and Infinity by its exponent bits; only a tensor that has some is read
      // again as float32, to describe them.
      const dtype = info.dtype;
      slot.store(FrozenWeight.fromFile(info.file, info.byteOffset, dtype, shape, precision, { onChunk: (bytes) => void (finite &&= rawAllFinite(bytes, dtype)) }));
      if (finite) return null;
      return nonFiniteWarning(this.source.path, fileName, this.readFloat32(fileName, slot.inFeatures * slot.outFeatures));
    }
    const read = this.readFloat32(fileName, slot.inFeatures * slot.outFeatures, (a, start, end) => void (finite &&= allFinite(a, start, end)));
    slot.store(FrozenWeight.fromFloat32(read, shape, precision));
    return finite ? null : nonFiniteWarning(this.source.path, fileName, read);
  }

  /** Tensor `fileName` (n values) as float32 in the reused scratch buffer. */
  private readFloat32(fileName: string, n: number, onChunk?: (a: Float32Array, start: number, end: number) => void): Float32Array {
    if (this.scratch.length < n) this.scratch = new Float32Array(n);
    const read = this.scratch.subarray(0, n);
    this.source.readFloat32Into(fileName, read, onChunk && ((start, end) => onChunk(read, start, end)));
    return read;
  }

  /** Fills `v` from tensor `fileName`; returns a warning when it holds NaN or Infinity. */
  assign(v: tf.Variable, fileName: string, transpose: boolean): string | null {
    const n = v.size;
    const target = variableMemory(v);
    // The file's values are checked chunk by chunk right after each read, while they are in cache.
    let finite = true;
    const checker = (a: Float32Array) => (start: number, end: number) => void (finite &&= allFinite(a, start, end));
    let read: Float32Array;
    if (target && !transpose) {
      read = target;
      this.source.readFloat32Into(fileName, target, checker(target));
    } else {
      if (this.scratch.length < n) this.scratch = new Float32Array(n);
      read = this.scratch.subarray(0, n);
      this.source.readFloat32Into(fileName, read, checker(read));
      if (!transpose) {
        tf.tidy(() => v.assign(tf.tensor(read, v.shape, "float32")));
      } else if (target) {
        transposeInto(read, v.shape[1]!, v.shape[0]!, target);
      } else {
        const t = new Float32Array(n);
        transposeInto(read, v.shape[1]!, v.shape[0]!, t);
        tf.tidy(() => v.assign(tf.tensor(t, v.shape, "float32")));
      }
    }
    // In the file's layout, as the message names the file's tensor.
    return finite ? null : nonFiniteWarning(this.source.path, fileName, read);
  }
}

function nonFiniteWarning(file: string, fileName: string, values: Float32Array): string {
  const bad = findNonFinite(values)!;
  return `${file}: tensor "${fileName}" has ${bad.count} non-finite value${bad.count === 1 ? "" : "s"} (${bad.nan} NaN, ${bad.inf} infinite; first at index ${bad.firstIndex}: ${bad.firstValue})`;
}

/** Exponent masks of two 16-bit values or one float32 in a 32-bit word, and their lowest bits. */
const EXPONENT = { BF16: [0x7f807f80, 0x00800080], F16: [0x7c007c00, 0x04000400], F32: [0x7f800000, 0x00800000] } as const;

/**
 * True when no value of the little-endian `dtype` bytes is NaN or infinite (exponent bits all ones),
 * read two 16-bit values (or one float32) per 32-bit word: an all-ones exponent plus its lowest bit
 * carries into the bit above it, which the mask never keeps. The word is shifted right by one first
 * (no mask keeps bit 0), so every sum stays a small integer.
 */
export function rawAllFinite(bytes: Uint8Array, dtype: "F32" | "BF16" | "F16"): boolean {
  const mask = EXPONENT[dtype][0] >>> 1;
  const one = EXPONENT[dtype][1] >>> 1;
  const carry = (mask + one) & ~mask; // the bit above each exponent
  const src = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const words = new Int32Array(src.buffer, src.byteOffset, src.byteLength >>> 2);
  let bad = 0;
  let i = 0;
  // Four words per iteration (about twice as fast as one in V8); the sums' spare bits never reach `carry`.
  for (const n = words.length & ~3; i < n; i += 4) {
    bad |= ((((words[i]! >> 1) & mask) + one) | (((words[i + 1]! >> 1) & mask) + one) | (((words[i + 2]! >> 1) & mask) + one) | (((words[i + 3]! >> 1) & mask) + one)) & carry;
  }
  for (; i < words.length; i++) bad |= (((words[i]! >> 1) & mask) + one) & carry;
  if (src.byteLength % 4 === 2) bad |= ((((src[src.byteLength - 2]! | (src[src.byteLength - 1]! << 8)) >> 1) & mask & 0x7fff) + (one & 0x7fff)) & carry;
  return bad === 0;
}

/** True when no element of a[start, end) is NaN or infinite (x·0 is NaN exactly for those; no branches). */
function allFinite(a: Float32Array, start: number, end: number): boolean {
  let s = 0;
  for (let i = start; i < end; i++) s += a[i]! * 0;
  return s === 0;
}

/**
 * `src` [rows, cols] row-major → `dst` [cols, rows], in blocks that stay in cache. The values are
 * moved as 32-bit integers: the same bits, without V8's float32 → float64 → float32 round trip.
 */
export function transposeInto(src: Float32Array, rows: number, cols: number, dst: Float32Array): void {
  const s = new Int32Array(src.buffer, src.byteOffset, src.length);
  const d = new Int32Array(dst.buffer, dst.byteOffset, dst.length);
  const B = 64;
  for (let c0 = 0; c0 < cols; c0 += B) {
    const c1 = Math.min(cols, c0 + B);
    for (let r0 = 0; r0 < rows; r0 += B) {
      const r1 = Math.min(rows, r0 + B);
      for (let c = c0; c < c1; c++) {
        let o = c * rows + r0;
        let i = r0 * cols + c;
        for (let r = r0; r < r1; r++, i += cols) d[o++] = s[i]!;
      }
    }
  }
}

/**
 * Initialises what the file did not fill (a missing or mis-shaped head): weights N(0, 0.02) as the
 * model's own initialisation draws them, seeded by `seed` and the tensor name; biases stay zero.
 */
function initFresh(model: FamilyModel, plan: TensorPlan, seed: number): void {
  for (const [canon, v] of model.stateDict()) {
    if (plan.sources.has(canon) || canon.endsWith(".bias")) continue;
    const rng = new Rng(seed ^ nameHash(canon));
    tf.tidy(() => v.assign(tf.tensor(gaussian(v.size, 0.02, uniformOf(rng)), v.shape, "float32")));
  }
}

function nameHash(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

// ---------------------------------------------------------------- saving

/** The config.json a loaded model came from: its keys peftlab does not compute are written back. */
const sourceConfigs = new WeakMap<FamilyModel, Record<string, unknown>>();
/** The folder a loaded model came from. */
const sourceDirs = new WeakMap<FamilyModel, string>();

/** The folder `model` was loaded from by loadHfModel, or null. */
export function sourceFolderOf(model: FamilyModel): string | null {
  return sourceDirs.get(model) ?? null;
}

/** The tokenizer files of a Hugging Face folder (whichever of them it has). */
export const TOKENIZER_FILES = [
  TOKENIZER_FILE, "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
  "vocab.json", "merges.txt", "vocab.txt", "tokenizer.model", "sentencepiece.bpe.model", "spiece.model",
];

/** Copies the tokenizer files `from` has into `to`; returns the paths written. */
export function copyTokenizerFiles(from: string, to: string): string[] {
  const written: string[] = [];
  for (const name of TOKENIZER_FILES) {
    const src = path.join(from, name);
    if (!fs.existsSync(src)) continue;
    const dst = path.join(to, name);
    writeFileAtomic(dst, fs.readFileSync(src));
    written.push(dst);
  }
  return written;
}

/**
 * The config.json to write: the keys of the file the model was loaded from (bos_token_id,
 * eos_token_id, torch_dtype, transformers_version, anything peftlab does not read), then the keys
 * peftlab computes from the model (sizes, model_type, architectures, labels), which win. The pruning
 * keys are always peftlab's own, so a stale list never survives. torch_dtype is kept as it was: it
 * names the dtype the model is meant to run in.
 */
function configToWrite(model: FamilyModel, computed: Record<string, unknown>): Record<string, unknown> {
  const raw = sourceConfigs.get(model);
  if (!raw) return computed;
  const kept = { ...raw };
  for (const key of [LAYERS_KEY, PRUNED_HEADS_KEY]) delete kept[key];
  const out = { ...kept, ...computed };
  if (raw["torch_dtype"] !== undefined) out["torch_dtype"] = raw["torch_dtype"];
  return out;
}

export interface SaveHfOptions {
  /** A tokenizer.json object to write next to the weights. */
  tokenizerJson?: unknown;
  /** README.md text (a model card). */
  readme?: string;
  /** Save even when an adapter is merged into the weights (they are then part of the base). */
  allowMerged?: boolean;
  /** How the weights are stored (default F32); F16 and BF16 halve the file, rounding each weight. */
  dtype?: "F32" | "F16" | "BF16";
}

export interface SavedHfModel {
  dir: string;
  files: string[];
  /** False when the layers differ in size in a way only peftlab reads (see ./hf-layers.ts). */
  stockReadable: boolean;
  warnings: string[];
}

/** Writes `model` as a Hugging Face folder: config.json, model.safetensors ({"format": "pt"}), extras. */
export function saveHfModel(model: FamilyModel, dir: string, opts: SaveHfOptions = {}): SavedHfModel {
  if (!opts.allowMerged) {
    for (const l of model.linears().values()) {
      if (l.merged.size > 0) {
        throw new Error(`saveHfModel: adapter "${[...l.merged][0]}" is merged into ${l.path}; unmerge it first, or use mergeAndUnload to save a merged base`);
      }
    }
  }
  return writeFolder(model, dir, opts, () => null);
}

/**
 * The HF tensors of the model; `replace(canon)` may supply a tensor (in our layout) to write instead.
 * Replacements are computed first (they allocate); then every other tensor is a view of the backend
 * memory its variable lives in where the backend allows (./tensor-memory.ts), so the writer copies
 * each weight once, from that memory to the file. GPT-2's Conv1D weights are transposed in JS.
 */
function hfTensors(model: FamilyModel, replace: (canon: string) => tf.Tensor | null, dtype: "F32" | "F16" | "BF16" = "F32"): Record<string, WritableTensor> {
  const conv = conv1dWeights(model.config);
  const state = [...model.stateDict()];
  // Matrices held in the weight store are written dequantised to float32 (or `dtype`).
  const slots = [...model.storedWeights()].filter(([, s]) => s.stored !== null);
  const given = new Map<string, Float32Array>();
  for (const [canon] of [...state, ...slots]) {
    const t = replace(canon);
    if (!t) continue;
    given.set(canon, t.dataSync() as Float32Array);
    t.dispose();
  }
  // No tensor is allocated from here on: the views below stay valid until the file is written.
  const out: Record<string, WritableTensor> = {};
  for (const [canon, v] of state) {
    const data = given.get(canon) ?? variableMemory(v) ?? (v.dataSync() as Float32Array);
    const shape = conv.has(canon) ? [...v.shape].reverse() : [...v.shape];
    let stored = data;
    if (conv.has(canon)) {
      stored = new Float32Array(data.length);
      transposeInto(data, v.shape[0]!, v.shape[1]!, stored);
    }
    out[exportTensorName(canon, model.config)] = { dtype, shape, data: stored };
  }
  for (const [canon, s] of slots) {
    const data = given.get(canon) ?? s.stored!.toFloat32();
    if (conv.has(canon)) {
      const t = new Float32Array(data.length);
      transposeInto(data, s.outFeatures, s.inFeatures, t);
      out[exportTensorName(canon, model.config)] = { dtype, shape: [s.inFeatures, s.outFeatures], data: t };
    } else {
      out[exportTensorName(canon, model.config)] = { dtype, shape: [s.outFeatures, s.inFeatures], data };
    }
  }
  return out;
}

function writeFolder(model: FamilyModel, dir: string, opts: SaveHfOptions, replace: (canon: string) => tf.Tensor | null): SavedHfModel {
  const layout = prunedLayout(model);
  const config = configToWrite(model, { ...toHfConfig(layout.config), ...layout.extraKeys });
  const warnings: string[] = [];
  if (!layout.stockReadable) {
    warnings.push(`${dir}: layers differ in size after pruning; config.json lists them in "peftlab_layers", which peftlab reads and stock transformers cannot (it stops with a size mismatch)`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const files = [path.join(dir, SINGLE_FILE), path.join(dir, "config.json")];
  writeSafetensors(files[0]!, hfTensors(model, replace, opts.dtype), { format: "pt" });
  writeFileAtomic(files[1]!, `${JSON.stringify(config, null, 2)}\n`);
  if (opts.tokenizerJson !== undefined) {
    files.push(path.join(dir, TOKENIZER_FILE));
    writeFileAtomic(files[2]!, `${JSON.stringify(opts.tokenizerJson, null, 2)}\n`);
  }
  if (opts.readme !== undefined) {
    files.push(path.join(dir, "README.md"));
    writeFileAtomic(files[files.length - 1]!, opts.readme);
  }
  return { dir, files, stockReadable: layout.stockReadable, warnings };
}

export interface MergeOptions extends Omit<SaveHfOptions, "allowMerged"> {
  /**
   * Also merge into the live model and drop the adapter there (PEFT's merge_and_unload). Default false:
   * the live model is left as it was.
   */
  inPlace?: boolean;
}

/**
 * Writes the base with adapter `adapterName` folded in (W + ΔW for every module it adapts). Other
 * adapters are not included. Returns what saveHfModel returns plus the merged module paths.
 */
export function mergeAndUnload(model: FamilyModel, adapterName: string, dir: string, opts: MergeOptions = {}): SavedHfModel & { modules: string[] } {
  const adapted = [...model.linears().values()].filter((l) => l.adapters.has(adapterName));
  if (adapted.length === 0) throw new Error(`mergeAndUnload: no adapter named "${adapterName}" is attached to the model`);
  for (const l of model.linears().values()) {
    const other = [...l.merged].find((n) => n !== adapterName);
    if (other) throw new Error(`mergeAndUnload: adapter "${other}" is merged into ${l.path}; unmerge it first`);
  }
  const byWeight = new Map(adapted.map((l) => [`${l.path}.weight`, l]));
  const saved = writeFolder(model, dir, opts, (canon) => {
    const l = byWeight.get(canon);
    if (!l || l.merged.has(adapterName)) return null;
    // A stored weight is dequantised for this sum only (no float32 copy stays with the layer).
    return tf.tidy(() => tf.add(l.hasDenseWeight || !l.stored ? l.weight : l.stored.toTensor(), l.adapters.get(adapterName)!.deltaWeight()));
  });
  if (opts.inPlace) {
    for (const l of adapted) {
      l.merge(adapterName);
      l.adapters.get(adapterName)!.dispose();
      l.adapters.delete(adapterName);
      l.merged.delete(adapterName);
      l.active = l.active.filter((n) => n !== adapterName);
    }
  }
  return { ...saved, modules: adapted.map((l) => l.path) };
}
