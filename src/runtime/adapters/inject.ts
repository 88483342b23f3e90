// Injecting adapters into a model by selector, with HF PEFT's matching rules (the one
// implementation lives in src/dsl/modules.ts) and per-module rank / alpha patterns (PEFT's
// `(.*\.)?(key)$` rule, in src/runtime/io/peft-config.ts).
import type { AdapterSpec, Selector } from "../../dsl/plan.js";
import { selectModules } from "../../dsl/modules.js";
import { buildAdapter, checkAdapterSpec } from "./from-spec.js";
import { LoraAdapter } from "./lora.js";
import type { FamilyModel } from "../models/model.js";

export class SelectorError extends Error {
  constructor(readonly adapter: string, readonly selector: Selector, readonly available: string[]) {
    const what = selector.regex !== null ? `regex "${selector.regex}"` : `names ${selector.names.map((n) => `"${n}"`).join(", ")}`;
    const sample = available.slice(0, 8).join(", ");
    super(`adapter "${adapter}": target ${what} matches no module of the model (modules look like: ${sample}${available.length > 8 ? ", …" : ""})`);
    this.name = "SelectorError";
  }
}

export interface InjectOptions {
  /** Uniform [0, 1) source for initialisation. */
  rand: () => number;
}

/**
 * Attaches adapter `name` built from `spec` to every selected linear layer and activates it:
 * LoRA (kaiming / gaussian / PiSSA init, rsLoRA), DoRA or AdaLoRA (see from-spec.ts). PiSSA
 * replaces each selected Linear's weight by its residual. AdaLoRA also needs its trainer plug-in
 * (plugins/adalora/plugin.ts, `adaloraPluginsFor`).
 * Returns the module paths it was attached to. A selector that matches nothing is an error.
 */
export function injectAdapter(model: FamilyModel, name: string, spec: AdapterSpec, opts: InjectOptions): string[] {
  const linears = model.linears();
  const paths = [...linears.keys()];
  const chosen = selectModules(paths, spec.target, spec.exclude);
  if (chosen.length === 0) throw new SelectorError(name, spec.target, paths);
  checkAdapterSpec(name, spec);
  for (const path of chosen) {
    const l = linears.get(path)!;
    l.addAdapter(buildAdapter(l, name, spec, opts.rand));
  }
  return chosen;
}

/** All LoRA adapters named `name`, by module path. */
export function loraAdapters(model: FamilyModel, name: string): Map<string, LoraAdapter> {
  const out = new Map<string, LoraAdapter>();
  for (const [path, l] of model.linears()) {
    const a = l.adapters.get(name);
    if (a instanceof LoraAdapter) out.set(path, a);
  }
  return out;
}
