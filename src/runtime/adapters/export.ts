// The one place where each adapter kind of a live model becomes the plain tensors HF PEFT stores.
// Naming, heads, adapter_config.json, checks and folder writing are peft-io.ts's business.
//
// LoRA form (peft_type "LORA"), per module: A [rank, in], B [out, rank], our scaling, the lora_alpha
// stock PEFT needs at that rank to compute the same scaling, and the DoRA magnitude [out] or null:
// - LoRA: A with the BeamLoRA gate folded in (diag(s) · A), B. After Light-PEFT rank pruning our scaling
//   stays alpha / r₀ (rsLoRA alpha / √r₀), so PEFT's alpha at rank r' is alpha · r' / r₀ (alpha · √(r'/r₀));
// - PiSSA, "convert": a rank r' + r₀ LoRA on the ORIGINAL base ([A; A₀], [B, −B₀]); "as-is": the factors
//   themselves (the base must then be the saved residual);
// - DoRA: its LoRA part as above plus `lora_magnitude_vector` (DoRA depends only on W + ΔW, which the
//   PiSSA conversion preserves);
// - AdaLoRA: folded, A' = (A ⊙ E) restricted to the kept ranks, B' = B[:, kept], alpha = scale · r';
//   modules with no kept rank are left out.
// AdaLoRA form (peft_type "ADALORA"), per module: A, E, B sliced to the kept ranks and the keep flags.
import * as tf from "../tensor/tf.js";
import type { WritableTensor } from "../io/safetensors-dtypes.js";
import { LoraAdapter } from "./lora.js";
import type { Adapter, Linear } from "../tensor/nn.js";
import type { FamilyModel } from "../models/model.js";
import { AdaLoraAdapter } from "./adalora.js";
import { DoraAdapter } from "./dora.js";
import { type PlainLora, PissaLoraAdapter, pissaConverted } from "./pissa.js";

/** How PiSSA adapters are written: relative to the original base ("convert") or to the residual ("as-is"). */
export type PissaMode = "convert" | "as-is";

/** One module in PEFT's LoRA form. `path` is our module path. */
export interface LoraModule extends PlainLora {
  path: string;
  /** Our scaling for this module (what stock PEFT must reproduce). */
  scaling: number;
  /** The lora_alpha that makes PEFT's scaling at `rank` equal `scaling`. */
  alpha: number;
  /** DoRA magnitude [out], or null. */
  magnitude: Float32Array | null;
}

/** Adapter `name` in PEFT's LoRA form: its modules in model order and the settings they share. */
export interface LoraForm {
  modules: LoraModule[];
  rslora: boolean;
  useDora: boolean;
  dropout: number;
  /**
   * PiSSA factors written as they are (the base must be the residual): PEFT's init_lora_weights for
   * them, "pissa" or "pissa_niter_N" for the randomized SVD. Null: no PiSSA factors written as is.
   */
  pissaInit: string | null;
}

/** One AdaLoRA module in PEFT's own form: A [r', in], E [r', 1], B [out, r'] and the keep flag of each init rank. */
export interface AdaLoraModule {
  path: string;
  A: WritableTensor;
  E: WritableTensor;
  B: WritableTensor;
  keep: boolean[];
}

/** Adapter `name` in PEFT's AdaLoRA form. `allocated` is false before the allocator's first decision. */
export interface AdaLoraForm {
  modules: AdaLoraModule[];
  alpha: number;
  dropout: number;
  allocated: boolean;
}

/** The adapters named `name`, in model order; errors when there is none or one is merged. */
function adaptersNamed(model: FamilyModel, name: string, where: string): Adapter[] {
  const out: Adapter[] = [];
  for (const l of model.linears().values()) {
    const a = l.adapters.get(name);
    if (!a) continue;
    if (l.merged.has(name)) throw new Error(`Error in ${where}: adapter "${name}" is merged into ${l.path}; unmerge it before exporting`);
    out.push(a);
  }
  if (out.length === 0) throw new Error(`Error in ${where}: no adapter named "${name}" is attached to the model`);
  return out;
}

/** The LoRA part of an adapter (DoRA's inner LoRA), or null for kinds without one. */
function loraPart(a: Adapter): LoraAdapter | null {
  if (a instanceof DoraAdapter) return a.lora;
  return a instanceof LoraAdapter ? a : null;
}

/** PEFT's `init_lora_weights` for a PiSSA adapter: "pissa" (exact SVD) or "pissa_niter_N". */
function pissaInitName(a: PissaLoraAdapter): string {
  return a.niter === null ? "pissa" : `pissa_niter_${a.niter}`;
}

/** Adapter `name` of `model` in PEFT's LoRA form (see the file comment for each kind). */
export function loraForm(model: FamilyModel, name: string, pissa: PissaMode = "convert"): LoraForm {
  const adapters = adaptersNamed(model, name, "loraForm");
  const modules = adapters.map((a) => loraModule(a, pissa)).filter((m): m is LoraModule => m !== null);
  if (modules.length === 0) throw new Error(`Error in loraForm: every module of adapter "${name}" has rank 0 (AdaLoRA masked all of them)`);
  const loras = adapters.map(loraPart).filter((l): l is LoraAdapter => l !== null);
  const rslora = loras.some((l) => l.rslora);
  if (loras.some((l) => l.rslora !== rslora) || (rslora && loras.length < adapters.length)) {
    throw new Error(`Error in loraForm: adapter "${name}" mixes rsLoRA and plain scaling across modules; PEFT has one use_rslora per adapter`);
  }
  const first = adapters[0]!;
  const pissaLora = pissa === "as-is" ? loras.find((l): l is PissaLoraAdapter => l instanceof PissaLoraAdapter) : undefined;
  return {
    modules,
    rslora,
    useDora: adapters.some((a) => a instanceof DoraAdapter),
    dropout: first instanceof AdaLoraAdapter ? first.dropout : loraPart(first)?.dropout ?? 0,
    pissaInit: pissaLora ? pissaInitName(pissaLora) : null,
  };
}

function loraModule(a: Adapter, pissa: PissaMode): LoraModule | null {
  if (a instanceof AdaLoraAdapter) return foldAdaLora(a);
  const lora = loraPart(a);
  if (!lora) throw new Error(`Error in loraForm: ${a.name} is a "${a.kind}" adapter, which has no LoRA form`);
  const A = lora.foldedA();
  const B = lora.B as unknown as tf.Tensor2D;
  const plain: PlainLora = lora instanceof PissaLoraAdapter && pissa === "convert"
    ? pissaConverted(lora, A, B)
    : { rank: A.shape[0], A: Float32Array.from(A.dataSync()), B: Float32Array.from(B.dataSync()) };
  A.dispose();
  const magnitude = a instanceof DoraAdapter ? Float32Array.from(a.magnitude.dataSync()) : null;
  return { ...plain, path: lora.path, scaling: lora.scaling, alpha: alphaAtRank(lora, plain.rank), magnitude };
}

/**
 * The lora_alpha stock PEFT needs at `rank` to reproduce the adapter's scaling alpha / r₀ (rsLoRA
 * alpha / √r₀): alpha · rank / r₀ (alpha · √(rank / r₀)); exactly alpha at rank r₀.
 */
export function alphaAtRank(lora: Pick<LoraAdapter, "alpha" | "rOriginal" | "rslora">, rank: number): number {
  if (rank === lora.rOriginal) return lora.alpha;
  return lora.rslora ? lora.alpha * Math.sqrt(rank / lora.rOriginal) : (lora.alpha * rank) / lora.rOriginal;
}

/** The ranks the allocator keeps (all before its first decision). */
function keptIndices(a: AdaLoraAdapter): number[] {
  return (a.keep ?? new Array<boolean>(a.rank).fill(true)).flatMap((k, i) => (k ? [i] : []));
}

/** AdaLoRA as plain LoRA: the kept ranks of A ⊙ E and B, scaling alpha / (init_r + 1e-5). Null when nothing is kept. */
export function foldAdaLora(a: AdaLoraAdapter): LoraModule | null {
  const keep = keptIndices(a);
  if (keep.length === 0) return null;
  const [A, B] = tf.tidy(() => {
    const idx = tf.tensor1d(keep, "int32");
    return [tf.gather(tf.mul(a.A, a.E), idx, 0), tf.gather(a.B, idx, 1)];
  });
  const out: LoraModule = {
    path: a.path, rank: keep.length, A: Float32Array.from(A.dataSync()), B: Float32Array.from(B.dataSync()),
    scaling: a.scale, alpha: a.scale * keep.length, magnitude: null,
  };
  tf.dispose([A, B]);
  return out;
}

/** Adapter `name` of `model` in PEFT's AdaLoRA form (every module must be AdaLoRA). */
export function adaloraForm(model: FamilyModel, name: string): AdaLoraForm {
  const adapters = adaptersNamed(model, name, "adaloraForm");
  const bad = adapters.find((a) => !(a instanceof AdaLoraAdapter));
  if (bad) throw new Error(`Error in adaloraForm: adapter "${name}" is a "${bad.kind}" adapter on some modules; only AdaLoRA has PEFT's AdaLoRA form`);
  const ada = adapters as AdaLoraAdapter[];
  const allocated = ada.every((a) => a.keep !== null);
  const modules = ada.map((a): AdaLoraModule => {
    const keep = keptIndices(a);
    const parts = tf.tidy(() => {
      const idx = tf.tensor1d(keep, "int32");
      return [tf.gather(a.A, idx, 0), tf.gather(a.E, idx, 0), tf.gather(a.B, idx, 1)];
    });
    const [A, E, B] = parts.map((t): WritableTensor => ({ dtype: "F32", shape: [...t.shape], data: Float32Array.from(t.dataSync()) }));
    tf.dispose(parts);
    return { path: a.path, A: A!, E: E!, B: B!, keep: a.keep ? [...a.keep] : new Array<boolean>(a.rank).fill(true) };
  });
  return { modules, alpha: ada[0]!.alpha, dropout: ada[0]!.dropout, allocated };
}

/** The PiSSA adapters of a Linear (DoRA's inner LoRA included). */
function pissaAdapters(l: Linear): PissaLoraAdapter[] {
  return [...l.adapters.values()].map(loraPart).filter((p): p is PissaLoraAdapter => p instanceof PissaLoraAdapter);
}

/**
 * Runs `fn` while every Linear with PiSSA adapters holds its original weight W_res + Σ s·B₀·A₀ (what a
 * "convert" export is relative to), and puts the residual back afterwards: for saving the base a
 * converted adapter goes with.
 */
export function withOriginalBase<T>(model: FamilyModel, fn: () => T): T {
  const residuals: [Linear, tf.Tensor][] = [];
  try {
    for (const l of model.linears().values()) {
      const pissa = pissaAdapters(l);
      if (pissa.length === 0) continue;
      const original = tf.tidy(() => pissa.reduce<tf.Tensor>((w, p) => {
        const b0 = tf.tensor2d(p.B0, [l.outFeatures, p.r0]);
        const a0 = tf.tensor2d(p.A0, [p.r0, l.inFeatures]);
        return tf.add(w, tf.mul(tf.matMul(b0, a0), p.scaling));
      }, l.weight));
      residuals.push([l, tf.clone(l.weight)]);
      l.weight.assign(original);
      original.dispose();
    }
    return fn();
  } finally {
    for (const [l, w] of residuals) {
      l.weight.assign(w);
      w.dispose();
    }
  }
}
