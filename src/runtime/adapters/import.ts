// Attaching adapter weights read from a PEFT folder to a live model, one function per adapter kind:
// LoRA-format modules become LoraAdapters, or DoraAdapters when they carry a magnitude; AdaLoRA-format
// modules become AdaLoraAdapters at their stored rank with ranknum = init_r. Module paths are ours and
// per-module values are resolved by the caller (peft-io.ts reads the folder and maps the names).
// Each function checks every module before it changes the model.
import * as tf from "../tensor/tf.js";
import type { Tensor } from "../io/safetensors-dtypes.js";
import { LoraAdapter } from "./lora.js";
import type { Adapter, Linear } from "../tensor/nn.js";
import type { FamilyModel } from "../models/model.js";
import { AdaLoraAdapter } from "./adalora.js";
import type { AdaLoraModuleTensors } from "../io/adalora-format.js";
import { DoraAdapter } from "./dora.js";

/** One LoRA-format module to attach: A [r, in], B [out, r], its lora_alpha, and the DoRA magnitude [out] or null. */
export interface LoraWeights {
  path: string;
  alpha: number;
  A: Tensor;
  B: Tensor;
  magnitude: Tensor | null;
}

/** Settings shared by every module of a LoRA-format adapter. */
export interface LoraSettings {
  dropout: number;
  rslora: boolean;
}

/** Settings shared by every module of an AdaLoRA adapter. */
export interface AdaLoraSettings {
  alpha: number;
  initR: number;
  dropout: number;
}

/** Attaches LoRA-format `modules` as adapter `name` (activated). Returns the module paths. */
export function attachLora(model: FamilyModel, name: string, modules: readonly LoraWeights[], s: LoraSettings): string[] {
  return attachEach(model, name, modules, "attachLora", (m, l) => {
    const r = m.A.shape[0] ?? 0;
    return [[m.A, [r, l.inFeatures], "lora_A"], [m.B, [l.outFeatures, r], "lora_B"], ...(m.magnitude ? [[m.magnitude, [l.outFeatures], "lora_magnitude_vector"] as const] : [])];
  }, (m, l) => {
    const lora = new LoraAdapter({
      name, path: l.path, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r: m.A.shape[0]!, alpha: m.alpha,
      dropout: s.dropout, rslora: s.rslora, init: "kaiming", rand: () => 0.5,
    });
    assignFrom(lora.A, m.A);
    assignFrom(lora.B, m.B);
    if (!m.magnitude) return lora;
    const dora = new DoraAdapter(l, lora);
    assignFrom(dora.magnitude, m.magnitude);
    return dora;
  });
}

/** Attaches AdaLoRA-format `modules` as adapter `name` (rank r' per module, ranknum = init_r); modules of rank 0 are skipped. */
export function attachAdaLora(model: FamilyModel, name: string, modules: readonly AdaLoraModuleTensors[], s: AdaLoraSettings): string[] {
  const kept = modules.filter((m) => (m.A.shape[0] ?? 0) > 0);
  return attachEach(model, name, kept, "attachAdaLora", (m, l) => {
    const r = m.A.shape[0]!;
    return [[m.A, [r, l.inFeatures], "lora_A"], [m.E, [r, 1], "lora_E"], [m.B, [l.outFeatures, r], "lora_B"]];
  }, (m, l) => {
    const a = new AdaLoraAdapter({
      name, path: l.path, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r: m.A.shape[0]!, ranknum: s.initR,
      alpha: s.alpha, dropout: s.dropout, rand: () => 0.5,
    });
    assignFrom(a.A, m.A);
    assignFrom(a.E, m.E);
    assignFrom(a.B, m.B);
    return a;
  });
}

type Expected = readonly (readonly [Tensor, readonly number[], string])[];

/** Checks every module (a linear of the model, no adapter `name` yet, tensor shapes), then builds and attaches each. */
function attachEach<M extends { path: string }>(
  model: FamilyModel, name: string, modules: readonly M[], where: string,
  shapes: (m: M, l: Linear) => Expected, build: (m: M, l: Linear) => Adapter,
): string[] {
  const linears = model.linears();
  const targets = modules.map((m): [M, Linear] => {
    const l = linears.get(m.path);
    if (!l) throw new Error(`Error in ${where}: module "${m.path}" is not a linear layer of the model`);
    if (l.adapters.has(name)) throw new Error(`Error in ${where}: ${m.path} already has an adapter named "${name}"`);
    for (const [t, shape, kind] of shapes(m, l)) {
      if (t.shape.join(",") !== shape.join(",")) throw new Error(`Error in ${where}: ${m.path}.${kind} must be [${shape.join(", ")}], got [${t.shape.join(", ")}]`);
      if (!(t.data instanceof Float32Array)) throw new Error(`Error in ${where}: ${m.path}.${kind} has dtype ${t.dtype}; expected a float type`);
    }
    return [m, l];
  });
  for (const [m, l] of targets) l.addAdapter(build(m, l));
  return targets.map(([m]) => m.path);
}

/** Copies file data (floats decode to Float32Array) into a variable of the same shape. */
export function assignFrom(v: tf.Variable, t: Tensor): void {
  if (!(t.data instanceof Float32Array)) throw new Error(`Error in assignFrom: tensor for ${v.name.split("#")[0]} has dtype ${t.dtype}; expected a float type`);
  tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, t.shape)));
}
