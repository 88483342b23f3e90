// BeamLoRA's scalar rules: the gate temperature, the dynamic top-p threshold p(t), the per-module
// pruning cap and the period arithmetic. Pure functions, no tensors.
import type { BeamSpec } from "../../../dsl/plan.js";

/** Gate temperature when the plan leaves it automatic (README of the official code). */
export const TAU_DEFAULT = 0.05;
/** Gate temperature for runs whose learning rate is below {@link TAU_LOW_LR_BELOW}. */
export const TAU_LOW_LR = 0.03;
export const TAU_LOW_LR_BELOW = 1e-4;

/** τ: the plan's value, or 0.05 (0.03 when `lr` < 1e-4) when it is null. */
export function resolveTau(tau: number | null, lr: number): number {
  if (tau !== null) {
    if (!(tau > 0) || !Number.isFinite(tau)) throw new Error(`Error in BeamLoRA: the gate temperature tau must be a positive number, got ${tau}`);
    return tau;
  }
  return lr < TAU_LOW_LR_BELOW ? TAU_LOW_LR : TAU_DEFAULT;
}

/**
 * The top-p threshold at training step `t`. With start p0, end p1 and T_end = endStep:
 * - cosine:   p = p1 − (p1 − p0)·(1 + cos(π t / T_end)) / 2 for t ≤ T_end (the official
 *             `CosineAnnealingThreshold`, an S-curve from p0 up to p1);
 * - linear:   p = p0 + (p1 − p0)·t / T_end;
 * - constant: p = p0 at every step (p1 and T_end are not used).
 * After T_end (and whenever T_end ≤ 0) the cosine and linear schedules stay at p1.
 */
export function topPAt(topP: BeamSpec["topP"], t: number): number {
  const { start, end, schedule, endStep } = topP;
  if (schedule === "constant") return start;
  if (t >= endStep) return end;
  const frac = Math.max(0, t) / endStep;
  if (schedule === "linear") return start + (end - start) * frac;
  return end - ((end - start) * (1 + Math.cos(Math.PI * frac))) / 2;
}

/**
 * Most ranks one module may lose at one prune step. "half" is ⌊r/2⌋. An explicit count is also
 * clamped to ⌊r/2⌋ (our choice; the paper does not say): only then are the pruned slots (the module's k
 * weakest ranks) and their parents (its k strongest) guaranteed to be disjoint.
 */
export function capFor(cap: BeamSpec["capPerModule"], r: number): number {
  const half = Math.floor(r / 2);
  return cap === "half" ? half : Math.min(cap, half);
}

/** The three kinds of step in a period, for `step` completed optimiser steps (`step` ≥ 1). */
export function isPruneStep(spec: Pick<BeamSpec, "period">, step: number, totalSteps: number): boolean {
  return step > 0 && step % spec.period === 0 && totalSteps - step >= spec.period;
}

/**
 * Snapshot steps: `step % T == snapshotOffset`. With offset 0 the snapshot of a period is taken at
 * its boundary, after that boundary's prune step (and at step 0 for the first period).
 */
export function isSnapshotStep(spec: Pick<BeamSpec, "period" | "snapshotOffset">, step: number): boolean {
  return step % spec.period === spec.snapshotOffset;
}

/** Throws, naming the field and the value, when `spec` cannot drive the plug-in. */
export function validateBeamSpec(spec: BeamSpec): void {
  const bad = (field: string, value: unknown, allowed: string): never => {
    throw new Error(`Error in BeamLoRA (adapter "${spec.adapter}"): ${field} must be ${allowed}, got ${JSON.stringify(value)}`);
  };
  if (!Number.isInteger(spec.period) || spec.period < 1) bad("period", spec.period, "an integer ≥ 1");
  if (!Number.isInteger(spec.snapshotOffset) || spec.snapshotOffset < 0 || spec.snapshotOffset >= spec.period) {
    bad("snapshotOffset", spec.snapshotOffset, `an integer in [0, period = ${spec.period})`);
  }
  const { start, end, schedule, endStep } = spec.topP;
  if (!(start > 0 && start <= 1)) bad("topP.start", start, "in (0, 1]");
  if (!(end > 0 && end <= 1)) bad("topP.end", end, "in (0, 1]");
  if (!["cosine", "linear", "constant"].includes(schedule)) bad("topP.schedule", schedule, `"cosine", "linear" or "constant"`);
  if (!Number.isInteger(endStep) || endStep < 0) bad("topP.endStep", endStep, "an integer ≥ 0");
  if (spec.capPerModule !== "half" && (!Number.isInteger(spec.capPerModule) || spec.capPerModule < 0)) {
    bad("capPerModule", spec.capPerModule, `"half" or an integer ≥ 0`);
  }
  if (!["gate", "first_order", "activation"].includes(spec.importance)) bad("importance", spec.importance, `"gate", "first_order" or "activation"`);
  if (!Number.isInteger(spec.importanceEvery) || spec.importanceEvery < 0) bad("importanceEvery", spec.importanceEvery, "an integer ≥ 0");
}
