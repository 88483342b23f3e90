// AdaLoRA's budget arithmetic (HF PEFT `RankAllocator.budget_schedule` and `mask_to_budget`), as
// pure functions on plain numbers. Steps are the trainer's completed optimiser steps (1…total).
import type { AdaLoraSpec } from "../../../dsl/plan.js";

/** Everything the budget schedule depends on. Budgets count rank-1 triplets over all modules. */
export interface BudgetSchedule {
  /** Σ init_r over the modules (PEFT's init_bgt). */
  initBudget: number;
  /** target_r × number of modules (PEFT's target_bgt). */
  targetBudget: number;
  tinit: number;
  tfinal: number;
  totalStep: number;
  deltaT: number;
}

/** What happens after optimiser step t. */
export type AllocationPhase = "allocate" | "finalize" | "fixed";

/**
 * HF's `update_and_allocate` branches: importance is updated and the cubic budget applied while
 * t < total − tfinal; at t = total − tfinal the final mask is forced (and becomes rank_pattern);
 * after that the fixed rank_pattern is re-applied every step.
 */
export function phaseAt(s: Pick<BudgetSchedule, "tfinal" | "totalStep">, step: number): AllocationPhase {
  const end = s.totalStep - s.tfinal;
  return step < end ? "allocate" : step === end ? "finalize" : "fixed";
}

/**
 * PEFT's budget_schedule: the initial budget while t ≤ tinit (no masking), the target after
 * total − tfinal, and in between the cubic decay
 *   b(t) = ⌊(B₀ − B_T)·(1 − (t − tinit)/(total − tfinal − tinit))³ + B_T⌋,
 * masking when t % deltaT == 0.
 */
export function budgetAt(s: BudgetSchedule, step: number): { budget: number; mask: boolean } {
  if (step <= s.tinit) return { budget: s.initBudget, mask: false };
  if (step > s.totalStep - s.tfinal) return { budget: s.targetBudget, mask: true };
  const c = 1 - (step - s.tinit) / (s.totalStep - s.tfinal - s.tinit);
  const budget = Math.trunc((s.initBudget - s.targetBudget) * c ** 3 + s.targetBudget);
  return { budget, mask: step % s.deltaT === 0 };
}

/**
 * PEFT's mask_to_budget on plain scores: the threshold is the k-th smallest of all triplet scores
 * (torch.kthvalue, k = B₀ − budget) and a triplet is masked when its score is ≤ the threshold (so
 * ties at the threshold are all masked, as in PEFT). k ≤ 0 keeps everything (PEFT's kthvalue would
 * raise). Returns the keep flags per module.
 */
export function maskToBudget(scores: readonly (readonly number[])[], initBudget: number, budget: number): boolean[][] {
  const k = initBudget - budget;
  if (k <= 0) return scores.map((s) => s.map(() => true));
  const flat = Float64Array.from(scores.flat());
  if (k > flat.length) throw new RangeError(`Error in maskToBudget: cannot mask ${k} of ${flat.length} triplets`);
  for (const v of flat) if (Number.isNaN(v)) throw new RangeError("Error in maskToBudget: an importance score is NaN (the gradients were not finite)");
  const threshold = flat.sort()[k - 1];
  return scores.map((s) => s.map((v) => !(v <= threshold)));
}

/** Checks the allocator settings against the run length; errors name the adapter and the values. */
export function validateAdaLoraSchedule(adapter: string, spec: AdaLoraSpec, totalStep: number): void {
  const where = `Error in AdaLoRA adapter "${adapter}"`;
  const int = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (!int(totalStep, 1)) throw new Error(`${where}: total_step (the run's steps) must be an integer >= 1, got ${totalStep}`);
  if (!int(spec.tinit, 0) || !int(spec.tfinal, 0)) throw new Error(`${where}: tinit and tfinal must be integers >= 0, got ${spec.tinit} and ${spec.tfinal}`);
  if (!int(spec.deltaT, 1)) throw new Error(`${where}: delta_t must be an integer >= 1, got ${spec.deltaT}`);
  for (const [key, b] of [["beta1", spec.beta1], ["beta2", spec.beta2]] as const) {
    if (!(b >= 0 && b < 1)) throw new Error(`${where}: ${key} must be in [0, 1), got ${b}`);
  }
  if (!(spec.orthRegWeight >= 0)) throw new Error(`${where}: orth_reg must be >= 0, got ${spec.orthRegWeight}`);
  const end = totalStep - spec.tfinal;
  if (!(spec.tinit < end)) {
    throw new Error(
      `${where}: tinit (${spec.tinit}) must be below total_step − tfinal (${totalStep} − ${spec.tfinal} = ${end}); ` +
        "lower tinit or tfinal, or train for more steps",
    );
  }
  if (end < 2) {
    throw new Error(`${where}: the final allocation at step ${end} needs at least one earlier step to measure importance; train for more steps or lower tfinal (${spec.tfinal})`);
  }
}
