// Module paths of the built-in model families and HF PEFT target matching. The runtime imports
// these too, so the checker and the injector agree on what a selector matches.

import type { BuiltinModelSpec, Selector } from "./plan.js";

/** Linear-layer paths (Hugging Face names) of one transformer block, per family. */
const BLOCK_MODULES: Record<BuiltinModelSpec["family"], (i: number) => string[]> = {
  llama: (i) => [
    ...["q_proj", "k_proj", "v_proj", "o_proj"].map((m) => `model.layers.${i}.self_attn.${m}`),
    ...["gate_proj", "up_proj", "down_proj"].map((m) => `model.layers.${i}.mlp.${m}`),
  ],
  gpt2: (i) => [`transformer.h.${i}.attn.c_attn`, `transformer.h.${i}.attn.c_proj`, `transformer.h.${i}.mlp.c_fc`, `transformer.h.${i}.mlp.c_proj`],
  bert: (i) => [
    ...["query", "key", "value"].map((m) => `bert.encoder.layer.${i}.attention.self.${m}`),
    `bert.encoder.layer.${i}.attention.output.dense`,
    `bert.encoder.layer.${i}.intermediate.dense`,
    `bert.encoder.layer.${i}.output.dense`,
  ],
};

/**
 * Every linear module path of a built-in model, in layer order, with the head last:
 * `lm_head` (causal LM) or `score` (classifier) for llama/gpt2; `bert.pooler.dense` and
 * `classifier` for bert.
 */
export function builtinModulePaths(spec: Pick<BuiltinModelSpec, "family" | "head" | "layers">): string[] {
  const paths: string[] = [];
  for (let i = 0; i < spec.layers; i++) paths.push(...BLOCK_MODULES[spec.family](i));
  if (spec.family === "bert") paths.push("bert.pooler.dense", "classifier");
  else paths.push(spec.head === "classifier" ? "score" : "lm_head");
  return paths;
}

const regexCache = new Map<string, RegExp | null>();

/** The compiled full-match form of `source`, or null when it is not a valid regex. */
export function fullMatchRegex(source: string): RegExp | null {
  let re = regexCache.get(source);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${source})$`);
    } catch {
      re = null;
    }
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

/** Why `source` is not a valid regular expression, or null when it is. */
export function regexError(source: string): string | null {
  try {
    new RegExp(`^(?:${source})$`);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message.replace(/^Invalid regular expression: /, "") : String(err);
  }
}

/** HF PEFT name rule: the path equals `name` or ends with `.name`. */
export function matchesName(path: string, name: string): boolean {
  return path === name || (path.length > name.length && path.endsWith(name) && path.charCodeAt(path.length - name.length - 1) === 46);
}

/** True when `selector` picks `path`: its regex full-matches, or one of its names matches. */
export function matchesSelector(path: string, selector: Selector): boolean {
  if (selector.regex !== null) {
    const re = fullMatchRegex(selector.regex);
    if (re && re.test(path)) return true;
  }
  for (const name of selector.names) if (matchesName(path, name)) return true;
  return false;
}

/** The paths `target` picks and `exclude` does not (exclude wins), in input order. */
export function selectModules(paths: readonly string[], target: Selector, exclude: Selector): string[] {
  return paths.filter((p) => matchesSelector(p, target) && !matchesSelector(p, exclude));
}

/** HF PEFT rank/alpha pattern rule: `key` (a regex) matches a path as `(.*\.)?(key)$`. */
export function matchesPatternKey(path: string, key: string): boolean {
  const re = fullMatchRegex(`(?:.*\\.)?(?:${key})`);
  return re !== null && re.test(path);
}

/** A selector that matches nothing. */
export const EMPTY_SELECTOR: Selector = { regex: null, names: [] };
