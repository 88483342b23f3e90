// Folding adapters into the base weights for good (PEFT's merge_and_unload): per module, one update
// W ← W + ΣΔW of the adapters named, then the adapters are disposed and removed.

import type { FamilyModel } from "../models/model.js";
import * as tf from "../tensor/tf.js";

/** The names of the adapters attached to `model`, in the order first seen. */
export function adapterNames(model: FamilyModel): string[] {
  const names = new Set<string>();
  for (const l of model.linears().values()) for (const n of l.adapters.keys()) names.add(n);
  return [...names];
}

/**
 * Merges adapters `names` into the weights of every module that has them and removes them. An
 * adapter already merged into a module (Linear.merge) is only removed there. Returns the module paths
 * changed.
 */
export function mergeAndRemove(model: FamilyModel, names: readonly string[]): string[] {
  const changed: string[] = [];
  for (const l of model.linears().values()) {
    const here = names.filter((n) => l.adapters.has(n));
    if (here.length === 0) continue;
    const pending = here.filter((n) => !l.merged.has(n));
    if (pending.length > 0) {
      const next = tf.tidy(() => pending.reduce<tf.Tensor>((w, n) => tf.add(w, l.adapters.get(n)!.deltaWeight()), l.weight));
      l.weight.assign(next);
      next.dispose();
    }
    for (const n of here) {
      l.adapters.get(n)!.dispose();
      l.adapters.delete(n);
      l.merged.delete(n);
    }
    l.active = l.active.filter((n) => !here.includes(n));
    changed.push(l.path);
  }
  return changed;
}
