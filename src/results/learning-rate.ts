// Choosing each run's learning rate when it tried several: on VALIDATION metrics only; test
// metrics are never read for the choice.

import type { RunResult } from "./events.js";

/** The results of each run, by run name, in first-seen order. */
export function groupByRun(results: readonly RunResult[]): Map<string, RunResult[]> {
  const map = new Map<string, RunResult[]>();
  for (const r of results) {
    const list = map.get(r.run);
    if (list) list.push(r);
    else map.set(r.run, [r]);
  }
  return map;
}

/** Validation metrics the choice reads, in order of preference. */
const SELECTION: { key: string; higherIsBetter: boolean }[] = [
  { key: "validation_accuracy", higherIsBetter: true },
  { key: "validation_exact_match", higherIsBetter: true },
  { key: "validation_loss", higherIsBetter: false },
];

/** One learning rate tried by a run. */
export interface LrCandidate {
  lr: number;
  /** Mean of the selection metric over finished seeds; null when unknown or any seed was not finite. */
  mean: number | null;
  /** Finished seeds at this lr. */
  n: number;
  failed: number;
}

/** The learning rate chosen for one run, and why. */
export interface LrChoice {
  run: string;
  /** Chosen lr; null when no lr could be chosen. */
  lr: number | null;
  /** True when the run tried more than one lr. */
  grid: boolean;
  /** Validation metric the choice used (null when there was nothing to choose or no metric). */
  metric: string | null;
  higherIsBetter: boolean | null;
  /** Ascending by lr. */
  candidates: LrCandidate[];
  reason: string;
}

function candidate(lr: number, rs: RunResult[], metric: string | null): LrCandidate {
  const done = rs.filter((r) => r.status === "finished");
  const values = metric ? done.map((r) => r.metrics[metric]) : [];
  const ok = values.length > 0 && values.every((v) => typeof v === "number" && Number.isFinite(v));
  const mean = ok ? (values as number[]).reduce((s, v) => s + v, 0) / values.length : null;
  return { lr, mean, n: done.length, failed: rs.length - done.length };
}

function chooseForRun(run: string, rs: RunResult[]): LrChoice {
  const lrs = [...new Set(rs.map((r) => r.lr))].sort((a, b) => a - b);
  const done = rs.filter((r) => r.status === "finished");
  const sel = SELECTION.find((s) => done.some((r) => s.key in r.metrics)) ?? null;
  const candidates = lrs.map((lr) => candidate(lr, rs.filter((r) => r.lr === lr), sel?.key ?? null));
  const base = { run, grid: lrs.length > 1, metric: sel?.key ?? null, higherIsBetter: sel?.higherIsBetter ?? null, candidates };
  if (lrs.length === 1) return { ...base, lr: lrs[0]!, reason: "only one learning rate was tried" };
  if (!sel) return { ...base, lr: null, reason: "no finished seed reported a validation metric" };
  const scored = candidates.filter((c) => c.mean !== null);
  if (scored.length === 0) return { ...base, lr: null, reason: `no learning rate has a finite ${sel.key} on every finished seed` };
  const sign = sel.higherIsBetter ? -1 : 1;
  const best = scored.reduce((b, c) => (sign * c.mean! < sign * b.mean! ? c : b));
  const tied = scored.filter((c) => c.mean === best.mean);
  if (tied.length > 1 && sel.key !== "validation_loss") {
    // A tie on accuracy (common early in training, e.g. all at 0) is broken by validation loss.
    const loss = (lr: number) => meanOf(done.filter((r) => r.lr === lr).map((r) => r.metrics.validation_loss));
    const byLoss = tied.map((c) => ({ c, loss: loss(c.lr) })).filter((x) => x.loss !== null);
    if (byLoss.length > 0) {
      const winner = byLoss.reduce((b, x) => (x.loss! < b.loss! ? x : b));
      return { ...base, lr: winner.c.lr, reason: `best mean ${sel.key} over ${winner.c.n} seed(s), tied; lowest mean validation_loss broke the tie` };
    }
  }
  return { ...base, lr: best.lr, reason: `best mean ${sel.key} over ${best.n} seed(s)` };
}

/** Mean of finite numbers, or null when any is missing or not finite. */
function meanOf(values: (number | undefined)[]): number | null {
  if (values.length === 0 || values.some((v) => v === undefined || !Number.isFinite(v))) return null;
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Chooses each run's learning rate from the results: the best mean validation_accuracy, else
 * validation_exact_match (higher is better), else the lowest validation_loss. An lr with a failed
 * or non-finite seed only loses to lrs whose every finished seed is finite; ties are broken by the
 * lowest mean validation_loss, then keep the smaller lr.
 * Test metrics are never read.
 */
export function chooseLearningRates(results: readonly RunResult[]): Record<string, LrChoice> {
  const out: Record<string, LrChoice> = {};
  for (const [run, rs] of groupByRun(results)) out[run] = chooseForRun(run, rs);
  return out;
}

/** The results at each run's chosen lr (all statuses). */
export function chosenResults(results: readonly RunResult[], choices: Record<string, LrChoice>): RunResult[] {
  return results.filter((r) => choices[r.run]?.lr === r.lr);
}
