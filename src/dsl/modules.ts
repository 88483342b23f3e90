// Module paths of the built-in model families, and what a plan selector picks among them (by the
// PEFT rules of src/peft/targets.ts). The runtime imports these too, so the checks and the
// injector agree on what a selector matches.

import { matchesTargetModules } from "../peft/targets.js";
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
 * Every Linear module path of a built-in model (the modules an adapter can target), in layer
 * order, then `lm_head` for a llama causal LM or `bert.pooler.dense` for bert. Not listed: gpt2's
 * LM head, which is the token embedding (tied), and classifier heads (`score`, `classifier`),
 * which are trained whole and saved in PEFT's modules_to_save.
 */
export function builtinModulePaths(spec: Pick<BuiltinModelSpec, "family" | "head" | "layers">): string[] {
  const paths: string[] = [];
  for (let i = 0; i < spec.layers; i++) paths.push(...BLOCK_MODULES[spec.family](i));
  if (spec.family === "bert") paths.push("bert.pooler.dense");
  else if (spec.family === "llama" && spec.head !== "classifier") paths.push("lm_head");
  return paths;
}

/**
 * True when `selector` picks `path`: its regex full-matches, or one of its names matches (the PEFT
 * rules of src/peft/targets.ts, for a selector that may hold both forms).
 */
export function matchesSelector(path: string, selector: Selector): boolean {
  return (selector.regex !== null && matchesTargetModules(selector.regex, path)) || matchesTargetModules(selector.names, path);
}

/** The paths `target` picks and `exclude` does not (exclude wins), in input order. */
export function selectModules(paths: readonly string[], target: Selector, exclude: Selector): string[] {
  return paths.filter((p) => matchesSelector(p, target) && !matchesSelector(p, exclude));
}

/** A selector that matches nothing. */
export const EMPTY_SELECTOR: Selector = { regex: null, names: [] };
