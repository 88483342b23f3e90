// Which file a model's base weights came from, and whether they hold NaN or Infinity. A loss that
// turns NaN because the weights file already held NaN is a broken file, not a learning-rate
// problem: the trainer asks here before it blames the learning rate.

import type { FamilyModel } from "../models/model.js";
import { findNonFinite } from "./safetensors-dtypes.js";

const origin = new WeakMap<FamilyModel, string>();

/** Remember that `model`'s base weights were read from `file` (a loader calls this). */
export function recordWeightsFile(model: FamilyModel, file: string): void {
  origin.set(model, file);
}

/** The file `model`'s base weights were read from, if a loader recorded one. */
export function weightsFileOf(model: FamilyModel): string | undefined {
  return origin.get(model);
}

/**
 * The first tensor of the frozen base (the trainable classifier head left out) holding NaN or
 * Infinity, as `file model.safetensors, tensor "…": 3 NaN, 0 infinite`; null when all are finite.
 * It reads every base tensor back, so it is meant for the moment training has already failed.
 */
export function nonFiniteWeights(model: FamilyModel): string | null {
  const head = new Set(model.classifier ? model.classifier.params().map(([, v]) => v) : []);
  const file = origin.get(model);
  for (const [name, v] of model.stateDict()) {
    if (head.has(v)) continue;
    const bad = findNonFinite(v.dataSync() as Float32Array);
    if (bad) return `${file ? `file ${file}, ` : ""}tensor "${name}": ${bad.nan} NaN, ${bad.inf} infinite`;
  }
  return null;
}
