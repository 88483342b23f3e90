// summary.json of a set of results: per run, the chosen learning rate and every metric's
// statistics over its finished seeds at that rate; per `compare`, paired differences by seed.

import type { CompareSpec, MetricName } from "../dsl/plan.js";
import type { RunResult } from "./events.js";
import { chooseLearningRates, groupByRun, type LrChoice } from "./learning-rate.js";
import { metricKey, METRICS, resultMetrics } from "./metrics.js";
import { describe, pairedDiff, type Described, type PairedDiff, type SeedValue } from "./statistics.js";

/** Statistics of one metric over the finished seeds of a run at its chosen lr. */
export interface MetricStats extends Described {
  /** Finished seeds whose value was NaN or infinite (left out of the statistics). */
  nonFinite: number;
}

export interface RunSummary {
  run: string;
  /** Chosen learning rate (null when none could be chosen or the run has no result). */
  lr: number | null;
  lrChoice: LrChoice | null;
  /** Finished seeds at the chosen lr, ascending. */
  seeds: number[];
  /** Every failed result of the run, at any lr. */
  failed: { seed: number; lr: number; error: string | null }[];
  metrics: Record<string, MetricStats>;
}

export type Verdict = "better" | "worse" | "not significant" | "insufficient data";

/** `other − baseline` on one metric, paired by seed. */
export interface PairedComparison {
  metric: MetricName;
  /** Summary key read (e.g. test_accuracy); null when no result has the metric. */
  key: string | null;
  baseline: string;
  other: string;
  diff: PairedDiff | null;
  /** From `other`'s side; "not significant" when the 95 % CI straddles 0. */
  verdict: Verdict;
}

export interface ComparisonSummary extends CompareSpec {
  /** Every pair (runs[i], runs[j]) with i < j, as runs[j] − runs[i], for every metric. */
  pairs: PairedComparison[];
}

/** The content of summary.json. */
export interface Summary {
  version: 1;
  /** Plan runs in declaration order, then runs that only the results name. */
  runs: RunSummary[];
  comparisons: ComparisonSummary[];
}

/** What buildSummary needs from the plan. */
export interface SummaryPlan {
  runs: readonly { name: string }[];
  comparisons: readonly CompareSpec[];
}

function statsOf(rs: RunResult[]): Record<string, MetricStats> {
  const columns = new Map<string, number[]>();
  for (const r of rs) {
    for (const [k, v] of Object.entries(resultMetrics(r))) {
      const col = columns.get(k) ?? [];
      col.push(v);
      columns.set(k, col);
    }
  }
  const out: Record<string, MetricStats> = {};
  for (const [k, col] of [...columns].sort(([a], [b]) => a.localeCompare(b))) {
    const finite = col.filter((v) => Number.isFinite(v));
    if (finite.length > 0) out[k] = { ...describe(finite), nonFinite: col.length - finite.length };
  }
  return out;
}

function summariseRun(run: string, rs: RunResult[], choice: LrChoice | null): RunSummary {
  const lr = choice?.lr ?? null;
  const atLr = rs.filter((r) => r.status === "finished" && r.lr === lr);
  return {
    run,
    lr,
    lrChoice: choice,
    seeds: atLr.map((r) => r.seed).sort((a, b) => a - b),
    failed: rs.filter((r) => r.status === "failed").map((r) => ({ seed: r.seed, lr: r.lr, error: r.error ?? null })),
    metrics: statsOf(atLr),
  };
}

function verdictOf(diff: PairedDiff | null, higherIsBetter: boolean): Verdict {
  if (!diff || !diff.ci95) return "insufficient data";
  const [lo, hi] = diff.ci95;
  if (lo <= 0 && hi >= 0) return "not significant";
  return diff.mean > 0 === higherIsBetter ? "better" : "worse";
}

function seedValues(rs: RunResult[], key: string): SeedValue[] {
  return rs.flatMap((r) => {
    const v = resultMetrics(r)[key];
    return v !== undefined && Number.isFinite(v) ? [{ seed: r.seed, value: v }] : [];
  });
}

function compareRuns(spec: CompareSpec, finished: Map<string, RunResult[]>, keys: Set<string>): ComparisonSummary {
  const pairs: PairedComparison[] = [];
  for (const metric of spec.metrics) {
    const key = metricKey(metric, keys);
    for (let i = 0; i < spec.runs.length; i++) {
      for (let j = i + 1; j < spec.runs.length; j++) {
        const [baseline, other] = [spec.runs[i]!, spec.runs[j]!];
        const diff = key ? pairedDiff(seedValues(finished.get(baseline) ?? [], key), seedValues(finished.get(other) ?? [], key)) : null;
        pairs.push({ metric, key, baseline, other, diff, verdict: verdictOf(diff, METRICS[metric].higherIsBetter) });
      }
    }
  }
  return { ...spec, pairs };
}

/**
 * Builds summary.json: per run, the chosen lr and every metric's statistics over its finished seeds
 * at that lr; per `compare`, paired differences between its runs. `lrChoice` defaults to
 * chooseLearningRates(results).
 */
export function buildSummary(
  results: readonly RunResult[],
  plan: SummaryPlan,
  lrChoice: Record<string, LrChoice> = chooseLearningRates(results),
): Summary {
  const byRun = groupByRun(results);
  const names = [...new Set([...plan.runs.map((r) => r.name), ...byRun.keys()])];
  const runs = names.map((n) => summariseRun(n, byRun.get(n) ?? [], lrChoice[n] ?? null));
  const finished = new Map(runs.map((s) => [s.run, (byRun.get(s.run) ?? []).filter((r) => r.status === "finished" && r.lr === s.lr)]));
  const keys = new Set([...finished.values()].flat().flatMap((r) => Object.keys(resultMetrics(r))));
  return { version: 1, runs, comparisons: plan.comparisons.map((c) => compareRuns(c, finished, keys)) };
}
