// Light-PEFT decisions: which heads, neurons, adapter modules and ranks survive the estimation
// window (pure functions of the recorded numbers), and applying them to a model.
import type { PruneScope, PruneSpec } from "../../../dsl/plan.js";
import { LoraAdapter } from "../../adapters/lora.js";
import type { FamilyModel } from "../../models/model.js";
import { keepByQuantile, quantile } from "./quantile.js";

/** The structure left after early pruning. Plain JSON: it goes into checkpoints as is. */
export interface LightPeftDecisions {
  /** Name of the adapter the module and rank decisions apply to. */
  adapter: string;
  /** Kept query-head indices per layer, in the original numbering, ascending. */
  heads: number[][];
  /** Kept FFN neuron indices per layer, in the original numbering, ascending. */
  neurons: number[][];
  /** Modules whose adapter is removed: by module importance, or because no rank survived. */
  modulesRemoved: string[];
  /** Kept rank indices (original numbering, ascending) of every surviving module. */
  ranks: Record<string, number[]>;
}

/**
 * Kept heads per layer from the signed final head masks `masks[layer][head]`.
 * With grouped-query attention (`groupSize` = heads / kvHeads > 1) whole key/value groups are
 * kept or pruned: a group's score is the mean mask of its query heads, and the quantile rule runs
 * over group scores. With groupSize 1 this is exactly the per-head rule. A layer keeps at least
 * one group.
 */
export function decideHeads(masks: readonly (readonly number[])[], ratio: number, scope: PruneScope, groupSize: number): number[][] {
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new RangeError(`Error in decideHeads: groupSize must be a positive integer, got ${groupSize}`);
  const groupScores = masks.map((layer, l) => {
    if (layer.length % groupSize !== 0) {
      throw new RangeError(`Error in decideHeads: layer ${l} has ${layer.length} head masks, not a multiple of the group size ${groupSize}`);
    }
    return Array.from({ length: layer.length / groupSize }, (_, g) => {
      let s = 0;
      for (let i = 0; i < groupSize; i++) s += layer[g * groupSize + i];
      return s / groupSize;
    });
  });
  const keptGroups = keepByQuantile(groupScores, ratio, scope, { keepOne: true });
  return keptGroups.map((gs) => gs.flatMap((g) => Array.from({ length: groupSize }, (_, i) => g * groupSize + i)));
}

/** Kept FFN neurons per layer from the signed final neuron masks; a layer keeps at least one. */
export function decideNeurons(masks: readonly (readonly number[])[], ratio: number, scope: PruneScope): number[][] {
  return keepByQuantile(masks, ratio, scope, { keepOne: true });
}

/**
 * Modules removed by module importance: a global quantile at `ratio`; scores ≤ threshold go.
 * Modules without a score (never recorded) are kept and take no part in the quantile, as in the
 * authors' code. A ratio of 0 removes nothing.
 */
export function decideModules(scores: Readonly<Record<string, number>>, ratio: number): string[] {
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`Error in decideModules: ratio must be in [0, 1], got ${ratio}`);
  const names = Object.keys(scores);
  if (ratio === 0 || names.length === 0) return [];
  const threshold = quantile(names.map((n) => scores[n]), ratio);
  return names.filter((n) => !(scores[n] > threshold));
}

/**
 * Kept ranks of each surviving module: a global quantile over the ranks of all `surviving`
 * modules, or one per module (`scope` "layer"); scores ≤ threshold go. Modules left with no rank
 * are listed in `emptied` (they must be removed). Modules without scores keep every rank.
 */
export function decideRanks(
  scores: Readonly<Record<string, readonly number[]>>,
  surviving: readonly string[],
  ratio: number,
  scope: PruneScope,
  ranksOf: (module: string) => number,
): { kept: Record<string, number[]>; emptied: string[] } {
  const scored = surviving.filter((m) => scores[m] !== undefined);
  const keptScored = keepByQuantile(scored.map((m) => scores[m]), ratio, scope, { keepOne: false });
  const kept: Record<string, number[]> = {};
  const emptied: string[] = [];
  for (const m of surviving) {
    const i = scored.indexOf(m);
    const k = i >= 0 ? keptScored[i] : Array.from({ length: ranksOf(m) }, (_, r) => r);
    if (k.length === 0) emptied.push(m);
    else kept[m] = k;
  }
  return { kept, emptied };
}

/** Everything recorded during estimation that the decision needs. */
export interface EstimationResult {
  headMasks: number[][];
  neuronMasks: number[][];
  moduleScores: Record<string, number>;
  rankScores: Record<string, number[]>;
}

/** All four decisions from the estimation results, following `spec`. */
export function decideLightPeft(model: FamilyModel, adapter: string, spec: PruneSpec, est: EstimationResult): LightPeftDecisions {
  const groupSize = model.config.heads / model.config.kvHeads;
  const heads = decideHeads(est.headMasks, spec.heads.ratio, spec.heads.scope, groupSize);
  const neurons = decideNeurons(est.neuronMasks, spec.neurons.ratio, spec.neurons.scope);
  const adapters = loraAdaptersNamed(model, adapter);
  const byImportance = decideModules(est.moduleScores, spec.moduleRatio);
  const removed = new Set(byImportance);
  const surviving = [...adapters.keys()].filter((m) => !removed.has(m));
  const ranks = decideRanks(est.rankScores, surviving, spec.rankRatio, spec.rankScope, (m) => adapters.get(m)!.rank);
  return { adapter, heads, neurons, modulesRemoved: [...byImportance, ...ranks.emptied], ranks: ranks.kept };
}

/** Every LoRA adapter named `name`, by module path (in model order). */
export function loraAdaptersNamed(model: FamilyModel, name: string): Map<string, LoraAdapter> {
  const out = new Map<string, LoraAdapter>();
  for (const [path, l] of model.linears()) {
    const a = l.adapters.get(name);
    if (a instanceof LoraAdapter) out.set(path, a);
  }
  return out;
}

function checkIndices(where: string, keep: readonly number[], size: number): void {
  if (keep.length === 0) throw new Error(`Error in ${where}: keeps nothing`);
  keep.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 0 || k >= size || (i > 0 && k <= keep[i - 1])) {
      throw new Error(`Error in ${where}: kept indices must be ascending integers in [0, ${size}), got [${keep.join(", ")}]`);
    }
  });
}

/**
 * Applies decisions to a model that still has its original structure (a fresh model, or the
 * one that was estimated): slices heads and neurons (base weights and adapters), removes the
 * adapters of removed modules, keeps the chosen ranks (scaling stays alpha / r_original), and
 * removes the Light-PEFT masks. Use it to resume a pruned run or to load a pruned model.
 */
export function applyLightPeftDecisions(model: FamilyModel, d: LightPeftDecisions): void {
  if (d.heads.length !== model.blocks.length || d.neurons.length !== model.blocks.length) {
    throw new Error(`Error in applyLightPeftDecisions: decisions cover ${d.heads.length} / ${d.neurons.length} layers, the model has ${model.blocks.length}`);
  }
  const linears = model.linears();
  for (const m of d.modulesRemoved) {
    if (!linears.get(m)?.adapters.has(d.adapter)) throw new Error(`Error in applyLightPeftDecisions: module "${m}" has no adapter "${d.adapter}" to remove`);
  }
  for (const [m, keep] of Object.entries(d.ranks)) {
    if (d.modulesRemoved.includes(m)) throw new Error(`Error in applyLightPeftDecisions: module "${m}" is both removed and given ranks`);
    const a = linears.get(m)?.adapters.get(d.adapter);
    if (!(a instanceof LoraAdapter)) throw new Error(`Error in applyLightPeftDecisions: module "${m}" has no LoRA adapter "${d.adapter}"`);
    checkIndices(`applyLightPeftDecisions (ranks of ${m})`, keep, a.rank);
  }
  model.blocks.forEach((blk, l) => {
    checkIndices(`applyLightPeftDecisions (heads of layer ${l})`, d.heads[l], blk.heads);
    checkIndices(`applyLightPeftDecisions (neurons of layer ${l})`, d.neurons[l], blk.intermediate);
  });
  model.blocks.forEach((blk, l) => {
    if (d.heads[l].length < blk.heads) blk.pruneHeads(d.heads[l]);
    if (d.neurons[l].length < blk.intermediate) blk.pruneNeurons(d.neurons[l]);
  });
  for (const m of d.modulesRemoved) linears.get(m)!.removeAdapter(d.adapter);
  for (const [m, keep] of Object.entries(d.ranks)) {
    const a = linears.get(m)!.adapters.get(d.adapter) as LoraAdapter;
    if (keep.length < a.rank) a.keepRanks(keep);
  }
  model.setMasks("heads", false);
  model.setMasks("neurons", false);
}
