// Injecting adapters into a model by selector, with HF PEFT's matching rules (the one
// implementation lives in src/dsl/modules.ts) and per-module rank / alpha patterns.
import type { AdapterSpec, Selector } from "../dsl/plan.js";
import { selectModules } from "../dsl/modules.js";
import { LoraAdapter } from "./lora.js";
import type { FamilyModel } from "./models/model.js";

/** PEFT's pattern rule: key k applies to path p when p matches `(.*\.)?(k)$`. The longest matching key wins. */
export function patternValue(pattern: Record<string, number>, path: string): number | null {
  let best: string | null = null;
  for (const key of Object.keys(pattern)) {
    if (path === key || path.endsWith(`.${key}`) || safeFullMatch(key, path)) {
      if (best === null || key.length > best.length) best = key;
    }
  }
  return best === null ? null : pattern[best];
}

function safeFullMatch(key: string, path: string): boolean {
  try {
    return new RegExp(`^(.*\\.)?(${key})$`).test(path);
  } catch {
    return false;
  }
}

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
 * Attaches adapter `name` built from `spec` to every selected linear layer and activates it.
 * Returns the module paths it was attached to. A selector that matches nothing is an error.
 */
export function injectAdapter(model: FamilyModel, name: string, spec: AdapterSpec, opts: InjectOptions): string[] {
  const linears = model.linears();
  const paths = [...linears.keys()];
  const chosen = selectModules(paths, spec.target, spec.exclude);
  if (chosen.length === 0) throw new SelectorError(name, spec.target, paths);
  if (spec.method !== "lora") {
    throw new Error(`adapter "${name}": method "${spec.method}" is not available in this version (only "lora")`);
  }
  if (spec.init === "pissa") {
    throw new Error(`adapter "${name}": init "pissa" is not available in this version (use "kaiming" or "gaussian")`);
  }
  for (const path of chosen) {
    const l = linears.get(path)!;
    const r = patternValue(spec.rankPattern, path) ?? spec.r;
    const alpha = patternValue(spec.alphaPattern, path) ?? spec.alpha;
    l.addAdapter(
      new LoraAdapter({
        name,
        path,
        inFeatures: l.inFeatures,
        outFeatures: l.outFeatures,
        r,
        alpha,
        dropout: spec.dropout,
        rslora: spec.rslora,
        init: spec.init,
        rand: opts.rand,
      }),
    );
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
