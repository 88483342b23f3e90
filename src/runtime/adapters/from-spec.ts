// Builds the adapter a plan asks for on one Linear: LoRA (Kaiming / Gaussian / PiSSA init, rsLoRA
// scaling), DoRA (the same LoRA part plus a magnitude vector) or AdaLoRA (SVD form, rank allocation
// by plugins/adalora/). injectAdapter (inject.ts) selects the modules and calls this.
import type { AdapterSpec } from "../../dsl/plan.js";
import { resolvePattern } from "../../peft/targets.js";
import { LoraAdapter } from "./lora.js";
import type { Adapter, Linear } from "../tensor/nn.js";
import { AdaLoraAdapter } from "./adalora.js";
import { DoraAdapter } from "./dora.js";
import { PissaLoraAdapter } from "./pissa.js";

/** Settings a method cannot honour are errors naming the adapter and the setting (not silently ignored). */
export function checkAdapterSpec(name: string, spec: AdapterSpec): void {
  const where = `adapter "${name}"`;
  if (spec.method === "adalora") {
    const ada = spec.adalora;
    if (!ada) throw new Error(`${where}: method "adalora" needs its allocator settings (spec.adalora is null)`);
    if (!(Number.isInteger(ada.initR) && ada.initR >= 1)) throw new Error(`${where}: init_rank must be an integer >= 1, got ${ada.initR}`);
    if (!(Number.isInteger(ada.targetR) && ada.targetR >= 1 && ada.targetR <= ada.initR)) {
      throw new Error(`${where}: target_rank must be an integer in [1, init_rank = ${ada.initR}], got ${ada.targetR}`);
    }
    const unused: [boolean, string][] = [
      [spec.init !== "kaiming", `init "${spec.init}" (AdaLoRA starts from E = 0 and A, B ~ N(0, 0.02))`],
      [spec.rslora, "rslora (AdaLoRA scales by alpha / init_rank)"],
      [Object.keys(spec.rankPattern).length > 0, "rank_pattern (every module starts at init_rank; the allocator decides the ranks)"],
      [Object.keys(spec.alphaPattern).length > 0, "alpha_pattern (PEFT's AdaLoRA uses one lora_alpha)"],
    ];
    for (const [bad, what] of unused) if (bad) throw new Error(`${where}: AdaLoRA does not use ${what}`);
    return;
  }
  if (spec.method !== "lora" && spec.method !== "dora") {
    throw new Error(`${where}: unknown method "${String(spec.method)}" (expected lora, dora or adalora)`);
  }
}

/** Creates (does not attach) the adapter `name` for `linear`. PiSSA replaces the Linear's weight by its residual. */
export function buildAdapter(linear: Linear, name: string, spec: AdapterSpec, rand: () => number): Adapter {
  const path = linear.path;
  if (spec.method === "adalora") {
    const initR = spec.adalora!.initR;
    return new AdaLoraAdapter({
      name, path, inFeatures: linear.inFeatures, outFeatures: linear.outFeatures,
      r: initR, ranknum: initR, alpha: spec.alpha, dropout: spec.dropout, rand,
    });
  }
  const r = resolvePattern(spec.rankPattern, path, spec.r);
  const alpha = resolvePattern(spec.alphaPattern, path, spec.alpha);
  const common = { name, r, alpha, dropout: spec.dropout, rslora: spec.rslora };
  const lora = spec.init === "pissa"
    ? PissaLoraAdapter.create(linear, spec.pissaNiter === undefined ? common : { ...common, fast: { niter: spec.pissaNiter, rand } })
    : new LoraAdapter({ ...common, path, inFeatures: linear.inFeatures, outFeatures: linear.outFeatures, init: spec.init, rand });
  return spec.method === "dora" ? new DoraAdapter(linear, lora) : lora;
}
