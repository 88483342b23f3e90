// Attaching a PEFT LoRA-format adapter (as read by io/peft-format.ts `readAdapterFolder`) to a live
// model: LoRA modules become LoraAdapters and, with use_dora, DoraAdapters with the stored magnitude.
// Ranks come from the tensors (checked against rank_pattern by the reader), alphas from alpha_pattern.
import * as tf from "../tf.js";
import { type AdapterFolder, resolvePattern } from "../io/peft-format.js";
import type { Tensor } from "../io/safetensors-dtypes.js";
import { LoraAdapter } from "../lora.js";
import type { Linear } from "../nn.js";
import type { FamilyModel } from "../models/model.js";
import { DoraAdapter } from "./dora.js";

/** Attaches every module of `folder` as adapter `name` (activated). Returns the module paths. */
export function attachAdapterFolder(model: FamilyModel, name: string, folder: AdapterFolder): string[] {
  const linears = model.linears();
  const cfg = folder.config;
  for (const m of folder.modules.values()) {
    const l = linears.get(m.path);
    if (!l) throw new Error(`Error in attachAdapterFolder (${folder.dir}): module "${m.path}" is not a linear layer of the model`);
    if (l.adapters.has(name)) throw new Error(`Error in attachAdapterFolder: ${m.path} already has an adapter named "${name}"`);
    checkShape(m.loraA, [m.r, l.inFeatures], `${m.path}.lora_A`);
    checkShape(m.loraB, [l.outFeatures, m.r], `${m.path}.lora_B`);
  }
  const paths: string[] = [];
  for (const m of folder.modules.values()) {
    const l = linears.get(m.path)!;
    const lora = new LoraAdapter({
      name, path: m.path, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r: m.r,
      alpha: resolvePattern(cfg.alpha_pattern, m.path, cfg.lora_alpha), dropout: cfg.lora_dropout, rslora: cfg.use_rslora,
      init: "kaiming", rand: () => 0.5,
    });
    assignFrom(lora.A, m.loraA);
    assignFrom(lora.B, m.loraB);
    l.addAdapter(m.magnitude ? doraWith(l, lora, m.magnitude) : lora);
    paths.push(m.path);
  }
  return paths;
}

function doraWith(l: Linear, lora: LoraAdapter, magnitude: Tensor): DoraAdapter {
  checkShape(magnitude, [l.outFeatures], `${l.path}.lora_magnitude_vector`);
  const d = new DoraAdapter(l, lora);
  assignFrom(d.magnitude, magnitude);
  return d;
}

function checkShape(t: Tensor, shape: number[], what: string): void {
  if (t.shape.join(",") !== shape.join(",")) throw new Error(`Error in attachAdapterFolder: ${what} must be [${shape.join(", ")}], got [${t.shape.join(", ")}]`);
}

/** Copies file data (floats decode to Float32Array) into a variable of the same shape. */
export function assignFrom(v: tf.Variable, t: Tensor): void {
  if (!(t.data instanceof Float32Array)) throw new Error(`Error in assignFrom: tensor for ${v.name.split("#")[0]} has dtype ${t.dtype}; expected a float type`);
  tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, t.shape)));
}
