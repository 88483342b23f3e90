// Export of any adapter of a live model as a stock HF PEFT LoRA adapter (peft_type "LORA"):
// - LoRA: A (BeamLoRA gate folded in) and B; rsLoRA kept as use_rslora;
// - PiSSA: converted to a rank r + r₀ LoRA on the ORIGINAL base ([A; A₀], [B, −B₀]), or as-is with
//   init_lora_weights "pissa" (then the residual base must be saved too);
// - DoRA: A, B and `lora_magnitude_vector`, use_dora true (with the PiSSA conversion when PiSSA-initialised:
//   DoRA depends only on W + ΔW, which the conversion preserves);
// - AdaLoRA: folded, A' = (A ⊙ E) restricted to the kept ranks, B' = B[:, kept]; modules with no kept
//   rank are left out of target_modules.
// Every module's rank and an alpha that makes PEFT's scaling (alpha/r or alpha/√r) equal ours go in
// r / lora_alpha, or in rank_pattern / alpha_pattern (keys are full module paths) where they differ.
import * as tf from "../tf.js";
import {
  type AdapterConfigOptions, type LoraAdapterConfig, adapterTensorName, buildAdapterConfig,
} from "../io/peft-format.js";
import type { WritableTensor } from "../io/safetensors-dtypes.js";
import { LoraAdapter } from "../lora.js";
import type { Adapter } from "../nn.js";
import type { FamilyModel } from "../models/model.js";
import { AdaLoraAdapter } from "./adalora.js";
import { DoraAdapter } from "./dora.js";
import { type PlainLora, PissaLoraAdapter, pissaConverted } from "./pissa.js";

/** Settings passed through to adapter_config.json, plus how to write PiSSA adapters. */
export interface ExportOptions extends Pick<AdapterConfigOptions, "taskType" | "baseModel" | "fanInFanOut" | "modulesToSave"> {
  /** "convert" (default): a LoRA on the original base; "as-is": the PiSSA factors (the base must be the saved residual). */
  pissa?: "convert" | "as-is";
}

/** One module as written. */
export interface ExportedModule extends PlainLora {
  path: string;
  /** Our scaling for this module (what PEFT must reproduce). */
  scaling: number;
  /** DoRA magnitude [out], or null. */
  magnitude: Float32Array | null;
}

/** An adapter ready for `writeAdapterFolder`: the config and the tensors by file name. */
export interface LoraFormatExport {
  config: LoraAdapterConfig;
  tensors: Record<string, WritableTensor>;
  modules: ExportedModule[];
}

/** Exports adapter `name` of `model` in PEFT's LoRA format (see the file comment for each method). */
export function exportAsLora(model: FamilyModel, name: string, o: ExportOptions): LoraFormatExport {
  const adapters: Adapter[] = [];
  for (const l of model.linears().values()) {
    const a = l.adapters.get(name);
    if (a) adapters.push(a);
    if (a && l.merged.has(name)) throw new Error(`Error in exportAsLora: adapter "${name}" is merged into ${l.path}; unmerge it before exporting`);
  }
  if (adapters.length === 0) throw new Error(`Error in exportAsLora: no adapter named "${name}" is attached to the model`);
  const mode = o.pissa ?? "convert";
  const modules = adapters.map((a) => exportModule(a, mode)).filter((m): m is ExportedModule => m !== null);
  if (modules.length === 0) throw new Error(`Error in exportAsLora: every module of adapter "${name}" has rank 0 (AdaLoRA masked all of them)`);
  const rslora = adapters.some((a) => rsloraOf(a));
  const dropout = dropoutOf(adapters[0]);
  const pissaAsIs = mode === "as-is" && adapters.some((a) => pissaPart(a) !== null);
  const config = loraConfigFor(modules, {
    ...o, dropout, useRslora: rslora, useDora: adapters.some((a) => a instanceof DoraAdapter),
    initLoraWeights: pissaAsIs ? "pissa" : true,
  });
  return { config, tensors: loraTensors(modules), modules };
}

function exportModule(a: Adapter, mode: "convert" | "as-is"): ExportedModule | null {
  if (a instanceof AdaLoraAdapter) return foldAdaLora(a);
  const lora = a instanceof DoraAdapter ? a.lora : a instanceof LoraAdapter ? a : null;
  if (!lora) throw new Error(`Error in exportAsLora: ${a.name} is a "${a.kind}" adapter, which has no LoRA form`);
  const A = lora.foldedA();
  const B = lora.B as unknown as tf.Tensor2D;
  const plain: PlainLora = lora instanceof PissaLoraAdapter && mode === "convert"
    ? pissaConverted(lora, A, B)
    : { rank: A.shape[0], A: Float32Array.from(A.dataSync()), B: Float32Array.from(B.dataSync()) };
  A.dispose();
  const magnitude = a instanceof DoraAdapter ? Float32Array.from(a.magnitude.dataSync()) : null;
  return { ...plain, path: lora.path, scaling: lora.scaling, magnitude };
}

/** AdaLoRA as plain LoRA: the kept ranks of A ⊙ E and B, scaling alpha / (init_r + 1e-5). Null when nothing is kept. */
export function foldAdaLora(a: AdaLoraAdapter): ExportedModule | null {
  const keep = (a.keep ?? new Array<boolean>(a.rank).fill(true)).flatMap((k, i) => (k ? [i] : []));
  if (keep.length === 0) return null;
  const [A, B] = tf.tidy(() => {
    const idx = tf.tensor1d(keep, "int32");
    return [tf.gather(tf.mul(a.A, a.E), idx, 0), tf.gather(a.B, idx, 1)];
  });
  const out: ExportedModule = {
    path: a.path, rank: keep.length, A: Float32Array.from(A.dataSync()), B: Float32Array.from(B.dataSync()), scaling: a.scale, magnitude: null,
  };
  A.dispose();
  B.dispose();
  return out;
}

function pissaPart(a: Adapter): PissaLoraAdapter | null {
  const lora = a instanceof DoraAdapter ? a.lora : a;
  return lora instanceof PissaLoraAdapter ? lora : null;
}

function rsloraOf(a: Adapter): boolean {
  if (a instanceof DoraAdapter) return a.lora.rslora;
  return a instanceof LoraAdapter ? a.rslora : false;
}

function dropoutOf(a: Adapter): number {
  if (a instanceof DoraAdapter) return a.lora.dropout;
  if (a instanceof LoraAdapter || a instanceof AdaLoraAdapter) return a.dropout;
  return 0;
}

/** The alpha PEFT needs at `rank` to compute `scaling` (alpha/r, or alpha/√r with rsLoRA), without float noise. */
export function alphaFor(rank: number, scaling: number, rslora: boolean): number {
  const alpha = rslora ? scaling * Math.sqrt(rank) : scaling * rank;
  return Number(alpha.toPrecision(15));
}

/**
 * adapter_config.json for `modules`: the most common (rank, alpha) pair becomes r / lora_alpha and
 * the others go to rank_pattern / alpha_pattern under their full module paths.
 */
export function loraConfigFor(
  modules: readonly Pick<ExportedModule, "path" | "rank" | "scaling">[],
  o: Omit<AdapterConfigOptions, "r" | "alpha" | "targetModules" | "rankPattern" | "alphaPattern">,
): LoraAdapterConfig {
  const rslora = o.useRslora ?? false;
  const pairs = modules.map((m) => ({ path: m.path, r: m.rank, alpha: alphaFor(m.rank, m.scaling, rslora) }));
  const counts = new Map<string, number>();
  for (const p of pairs) counts.set(`${p.r}/${p.alpha}`, (counts.get(`${p.r}/${p.alpha}`) ?? 0) + 1);
  let best = pairs[0];
  for (const p of pairs) if (counts.get(`${p.r}/${p.alpha}`)! > counts.get(`${best.r}/${best.alpha}`)!) best = p;
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const p of pairs) {
    if (p.r !== best.r) rankPattern[p.path] = p.r;
    if (p.alpha !== best.alpha) alphaPattern[p.path] = p.alpha;
  }
  return buildAdapterConfig({ ...o, r: best.r, alpha: best.alpha, targetModules: pairs.map((p) => p.path), rankPattern, alphaPattern });
}

/** The safetensors entries of `modules` (lora_A.weight, lora_B.weight, lora_magnitude_vector). */
export function loraTensors(modules: readonly ExportedModule[]): Record<string, WritableTensor> {
  const out: Record<string, WritableTensor> = {};
  for (const m of modules) {
    const inF = m.A.length / m.rank;
    const outF = m.B.length / m.rank;
    out[adapterTensorName(m.path, "lora_A")] = { dtype: "F32", shape: [m.rank, inF], data: m.A };
    out[adapterTensorName(m.path, "lora_B")] = { dtype: "F32", shape: [outF, m.rank], data: m.B };
    if (m.magnitude) out[adapterTensorName(m.path, "lora_magnitude_vector")] = { dtype: "F32", shape: [m.magnitude.length], data: m.magnitude };
  }
  return out;
}
