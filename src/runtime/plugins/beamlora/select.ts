// Which ranks BeamLoRA prunes and which ranks re-seed them.
// Pure functions over plain numbers, so the decisions can be tested with hand-made importances.
//
// Ties: every ordering here is "score descending, then index ascending" (global flat index for the
// global sort, rank index inside a module). Used consistently, a module's pruned ranks are always
// the tail of its own order and its parents the head, so the two never overlap when k ≤ ⌊r/2⌋.
import { Rng } from "../../rng.js";

/** One module's decision: pruned slots (ascending) and the parent each one copies, aligned. */
export interface ModulePlan {
  pruned: number[];
  parents: number[];
}

function checkScores(scores: readonly (readonly number[])[]): void {
  scores.forEach((row, m) =>
    row.forEach((s, i) => {
      if (!Number.isFinite(s)) throw new Error(`Error in BeamLoRA: the importance of rank ${i} of module #${m} is ${s}; importances must be finite`);
    }),
  );
}

/**
 * Global dynamic top-p: sort all importances descending, take the cumulative sum, find the
 * first position where it exceeds `p · mass`, and prune everything from that position on (the
 * crossing rank included). `mass` defaults to the sum of all scores; the plug-in passes N·r (the
 * official `cumsum_threshold · len(modules) · r`), which is the same for scores that sum to r per
 * module. With p ≥ 1 nothing is pruned (our reading of a threshold that covers all the mass). Returns the mask per module.
 */
export function globalTopPMask(scores: readonly (readonly number[])[], p: number, mass?: number): boolean[][] {
  checkScores(scores);
  const mask = scores.map((row) => row.map(() => false));
  if (p >= 1) return mask;
  const flat: { s: number; m: number; i: number; at: number }[] = [];
  scores.forEach((row, m) => row.forEach((s, i) => flat.push({ s, m, i, at: flat.length })));
  flat.sort((a, b) => b.s - a.s || a.at - b.at);
  const total = mass ?? flat.reduce((acc, e) => acc + e.s, 0);
  const threshold = p * total;
  let cum = 0;
  let cut = flat.length;
  for (let j = 0; j < flat.length; j++) {
    cum += flat[j].s;
    if (cum > threshold) {
      cut = j;
      break;
    }
  }
  for (let j = cut; j < flat.length; j++) mask[flat[j].m][flat[j].i] = true;
  return mask;
}

/** Indices of `scores` in order of importance: score descending, then index ascending. */
export function rankOrder(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
}

/**
 * Keeps at most `cap` pruned ranks in one module, un-pruning the most important extras (as the
 * official `modify_above_half_mask` does). Returns a new mask.
 */
export function capModuleMask(mask: readonly boolean[], scores: readonly number[], cap: number): boolean[] {
  const out = [...mask];
  const pruned = rankOrder(scores).filter((i) => mask[i]); // most important first
  for (let j = 0; j < pruned.length - Math.max(0, cap); j++) out[pruned[j]] = false;
  return out;
}

/**
 * Pairs each pruned slot (ascending) with one of the module's top-k ranks by current importance
 * (k = number pruned), in a random order drawn from `rand` (Fisher–Yates; torch.randperm in the
 * official code). Throws if a parent would also be a pruned slot.
 */
export function pairParents(scores: readonly number[], pruned: readonly number[], rand: () => number): number[] {
  const k = pruned.length;
  const parents = rankOrder(scores).slice(0, k);
  for (let i = k - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [parents[i], parents[j]] = [parents[j], parents[i]];
  }
  const slots = new Set(pruned);
  const clash = parents.find((p) => slots.has(p));
  if (clash !== undefined) {
    throw new Error(`Error in BeamLoRA: rank ${clash} is both pruned and a parent (${k} pruned of ${scores.length}); at most ⌊r/2⌋ ranks may be pruned`);
  }
  return parents;
}

/**
 * The whole decision of one prune step: global top-p mask, per-module cap (`caps[m]`), then
 * random pairing with `randFor(m)` for module m.
 */
export function planPrune(
  scores: readonly (readonly number[])[],
  p: number,
  caps: readonly number[],
  randFor: (module: number) => () => number,
  mass?: number,
): ModulePlan[] {
  const mask = globalTopPMask(scores, p, mass);
  return scores.map((row, m) => {
    const capped = capModuleMask(mask[m], row, caps[m]);
    const pruned = row.map((_, i) => i).filter((i) => capped[i]);
    return { pruned, parents: pruned.length ? pairParents(row, pruned, randFor(m)) : [] };
  });
}


/**
 * A counter-based uniform source for the pairing of module `module` at step `step`: it depends
 * only on (seed, step, module), so a resumed run that knows the seed makes the same choices
 * whatever happened before.
 */
export function pairingRand(seed: number, step: number, module: string): () => number {
  const r = new Rng(`${seed >>> 0}/${step}/${module}`);
  return () => r.next();
}
