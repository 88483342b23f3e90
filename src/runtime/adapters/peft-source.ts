// What an imported PEFT LoRA folder looked like, so that saving the adapter again writes it as it was
// written: its adapter_config.json object (keys peftlab does not use included), the dtype of each
// tensor, and the adapter objects the import attached. A source applies only while every adapter of
// that name is one of those objects; an adapter built anew under the same name has none.
//
// peft-io.ts decides which written values still describe the adapter (target_modules selecting the
// same modules, rank_pattern / alpha_pattern giving the same ranks and scalings); `withWrittenKeys`
// then lays the computed config over the written object, changing only the keys whose values differ.
import type { Adapter } from "../tensor/nn.js";
import type { FamilyModel } from "../models/model.js";
import type { Dtype } from "../io/safetensors-dtypes.js";
import { LORA_CONFIG_DEFAULTS, type LoraAdapterConfig } from "../io/peft-config.js";

export interface LoraSource {
  /** adapter_config.json as parsed (PEFT's defaults filled in). */
  config: LoraAdapterConfig;
  /** adapter_config.json as written. */
  raw: Readonly<Record<string, unknown>>;
  /** The dtype of each tensor, by the name it is written under (no adapter-name infix). */
  dtypes: ReadonlyMap<string, Dtype>;
  /** The adapter objects the import attached. */
  adapters: ReadonlySet<Adapter>;
}

const sources = new WeakMap<FamilyModel, Map<string, LoraSource>>();

/** Records where adapter `name` of `model` came from (replacing an earlier record). */
export function rememberSource(model: FamilyModel, name: string, source: LoraSource): void {
  const byName = sources.get(model) ?? new Map<string, LoraSource>();
  byName.set(name, source);
  sources.set(model, byName);
}

/**
 * The folder adapter `name` was imported from, while every adapter of that name is one the import
 * attached (some may have been removed since); else null.
 */
export function sourceOf(model: FamilyModel, name: string): LoraSource | null {
  const source = sources.get(model)?.get(name);
  if (!source) return null;
  for (const l of model.linears().values()) {
    const a = l.adapters.get(name);
    if (a && !source.adapters.has(a)) return null;
  }
  return source;
}

const SET_KEYS = new Set(["target_modules", "exclude_modules", "modules_to_save", "layers_pattern"]);
const PATTERN_KEYS = new Set(["rank_pattern", "alpha_pattern"]);

/** Whether two JSON values of config key `key` mean the same to PEFT (name lists as sets, a null pattern as {}). */
function sameValue(key: string, a: unknown, b: unknown): boolean {
  if (PATTERN_KEYS.has(key)) return deepEqual(a ?? {}, b ?? {});
  if (SET_KEYS.has(key) && Array.isArray(a) && Array.isArray(b)) {
    const sa = new Set(a);
    return sa.size === new Set(b).size && b.every((x) => sa.has(x));
  }
  return deepEqual(a, b);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => deepEqual(x, (b as unknown[])[i]));
  const ka = Object.keys(a);
  const ob = b as Record<string, unknown>;
  return ka.length === Object.keys(ob).length && ka.every((k) => k in ob && deepEqual((a as Record<string, unknown>)[k], ob[k]));
}

/**
 * `computed` laid over the written object `raw`: a key keeps its written value when the computed one
 * means the same, stays absent when the file left it out and the computed value is PEFT's default, and
 * takes the computed value otherwise. Keys peftlab does not model pass through unchanged.
 */
export function withWrittenKeys(computed: LoraAdapterConfig, raw: Readonly<Record<string, unknown>>): LoraAdapterConfig {
  const out: Record<string, unknown> = { ...raw };
  const defaults = LORA_CONFIG_DEFAULTS as Readonly<Record<string, unknown>>;
  for (const [key, value] of Object.entries(computed)) {
    if (key in raw ? sameValue(key, raw[key], value) : key in defaults && sameValue(key, defaults[key], value)) continue;
    out[key] = value;
  }
  return out as unknown as LoraAdapterConfig;
}
