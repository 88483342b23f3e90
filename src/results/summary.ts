// summary.json of a set of results: per run, the chosen learning rate and every metric's
// statistics over its finished seeds at that rate; per `compare`, paired differences by seed.

import type { CompareSpec, MetricName } from "../dsl/plan.js";
import type { RunResult, SplitSizes } from "./events.js";
import { chooseLearningRates, groupByRun, type LrChoice } from "./learning-rate.js";
import { metricKey, METRICS, resultMetrics, scaleOf } from "./metrics.js";
import { describe, pairedDiff, type Described, type PairedDiff, type SeedValue } from "./statistics.js";

/** Below this many seeds a run or a paired comparison gets a warning. */
export const MIN_SEEDS = 3;

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
  /** Examples per split the finished seeds used (null when no result recorded them). */
  examples: SplitSizes | null;
  /** Trivial-predictor scores on the scored examples, keyed like metrics (see RunResult.baselines). */
  baselines: Record<string, number>;
  /** What a reader should know before trusting the numbers (few seeds, lr at the grid's edge). */
  warnings: string[];
}

/** "identical": every shared seed gave the same value on both sides. */
export type Verdict = "better" | "worse" | "not significant" | "identical" | "insufficient data";

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
  /** Every run's warnings (prefixed with its name) and those of the comparisons. */
  warnings: string[];
}

/** What buildSummary needs from the plan. */
export interface SummaryPlan {
  runs: readonly { name: string }[];
  comparisons: readonly CompareSpec[];
}

/** 0.5 / (examples scored): the continuity correction for a proportion of exactly 0 or 1. */
function epsilonFor(key: string, examples: SplitSizes | null): number | undefined {
  const split = /^(validation|test)_/.exec(key)?.[1] as "validation" | "test" | undefined;
  const n = split && examples ? examples[split] : 0;
  return n > 0 ? 0.5 / n : undefined;
}

function statsOf(rs: RunResult[], examples: SplitSizes | null): Record<string, MetricStats> {
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
    if (finite.length > 0) out[k] = { ...describe(finite, { scale: scaleOf(k), epsilon: epsilonFor(k, examples) }), nonFinite: col.length - finite.length };
  }
  return out;
}

function runWarnings(seeds: number, choice: LrChoice | null): string[] {
  const out: string[] = [];
  if (seeds > 0 && seeds < MIN_SEEDS) {
    out.push(`only ${seeds} finished seed${seeds === 1 ? "" : "s"} at the chosen learning rate: below ${MIN_SEEDS} seeds an interval is ` +
      (seeds === 1 ? "not defined" : "very wide (t(0.975, 1) = 12.7) and a real difference is seldom significant") + `; add seeds`);
  }
  const lrs = choice?.candidates.map((c) => c.lr) ?? [];
  if (choice?.grid && choice.lr !== null && (choice.lr === lrs[0] || choice.lr === lrs[lrs.length - 1])) {
    const side = choice.lr === lrs[0] ? "smallest" : "largest";
    out.push(`the chosen learning rate ${choice.lr} is the ${side} of its grid (${lrs.join(", ")}): the best may lie beyond it; extend the grid`);
  }
  return out;
}

/** The split sizes and baselines of the first finished result that has them. */
function firstOf<K extends "examples" | "baselines">(rs: RunResult[], key: K): RunResult[K] | undefined {
  return rs.find((r) => r[key] !== undefined)?.[key];
}

function summariseRun(run: string, rs: RunResult[], choice: LrChoice | null): RunSummary {
  const lr = choice?.lr ?? null;
  const atLr = rs.filter((r) => r.status === "finished" && r.lr === lr);
  const examples = firstOf(atLr, "examples") ?? null;
  return {
    run,
    lr,
    lrChoice: choice,
    seeds: atLr.map((r) => r.seed).sort((a, b) => a - b),
    failed: rs.filter((r) => r.status === "failed").map((r) => ({ seed: r.seed, lr: r.lr, error: r.error ?? null })),
    metrics: statsOf(atLr, examples),
    examples,
    baselines: firstOf(atLr, "baselines") ?? {},
    warnings: runWarnings(atLr.length, choice),
  };
}

function verdictOf(diff: PairedDiff | null, higherIsBetter: boolean): Verdict {
  if (!diff || !diff.ci95) return "insufficient data";
  if (diff.identical) return "identical";
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
        const range: [number, number] = key && scaleOf(key) === "proportion" ? [-1, 1] : [-Infinity, Infinity];
        const diff = key ? pairedDiff(seedValues(finished.get(baseline) ?? [], key), seedValues(finished.get(other) ?? [], key), range) : null;
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
  const comparisons = plan.comparisons.map((c) => compareRuns(c, finished, keys));
  const warnings = [
    ...runs.flatMap((r) => r.warnings.map((w) => `run ${r.run}: ${w}`)),
    ...comparisons.flatMap((c) => c.pairs.filter((p) => p.diff && p.diff.n < MIN_SEEDS).map((p) =>
      `compare ${c.name}: ${p.other} − ${p.baseline} pairs only ${p.diff!.n} seed(s); below ${MIN_SEEDS} a difference can hardly be significant`)),
  ];
  return { version: 1, runs, comparisons, warnings: [...new Set(warnings)] };
}
