// Statistics over seeds and the summary.json of a set of runs.
//
// Pure TypeScript (no tensors). The Student t quantiles are computed here from the regularized
// incomplete beta function, so confidence intervals are exact for small seed counts.
// Learning rates are chosen on VALIDATION metrics only; test metrics are never read for that.

import type { CompareSpec, MetricName } from "../dsl/plan.js";
import type { RunResult } from "./events.js";

// ---------------------------------------------------------------- Student t distribution

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7; about 15 significant digits). */
function logGamma(x: number): number {
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const clamp = (v: number) => (Math.abs(v) < tiny ? tiny : v);
  let c = 1;
  let d = 1 / clamp(1 - ((a + b) * x) / (a + 1));
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    const even = (m * (b - m) * x) / ((a - 1 + m2) * (a + m2));
    d = 1 / clamp(1 + even * d);
    c = clamp(1 + even / c);
    h *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + 1 + m2));
    d = 1 / clamp(1 + odd * d);
    c = clamp(1 + odd / c);
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) return h;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b) for a, b > 0 and x in [0, 1]. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (!(x >= 0 && x <= 1)) throw new RangeError(`incompleteBeta: x must be in [0, 1], got ${x}`);
  if (x === 0 || x === 1) return x;
  const lnFront = a * Math.log(x) + b * Math.log(1 - x) + logGamma(a + b) - logGamma(a) - logGamma(b);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T > t) for t >= 0 under Student's t with `df` degrees of freedom. */
function tUpperTail(t: number, df: number): number {
  return 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** Cumulative distribution function of Student's t with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  const tail = tUpperTail(Math.abs(t), df);
  return t >= 0 ? 1 - tail : tail;
}

/** Quantile (inverse CDF) of Student's t: the t with tCdf(t, df) = p. Bisection on the tail. */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`tQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`tQuantile: df must be > 0, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, df);
  const tail = 1 - p;
  let lo = 0;
  let hi = 1;
  while (tUpperTail(hi, df) > tail) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-14 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (tUpperTail(mid, df) > tail) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// ---------------------------------------------------------------- descriptive statistics

/** Mean, spread and 95 % confidence interval of a sample. */
export interface Described {
  mean: number;
  /** Sample standard deviation (n − 1); null when n = 1. */
  std: number | null;
  /** Student t 95 % interval of the mean; null when n = 1. */
  ci95: [number, number] | null;
  n: number;
  min: number;
  max: number;
}

/** Describes a non-empty sample of finite numbers. Throws on an empty sample or a non-finite value. */
export function describe(values: readonly number[]): Described {
  if (values.length === 0) throw new RangeError("describe: no values (need at least one)");
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`describe: value ${i} is ${v}; only finite numbers can be described`);
  });
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const min = Math.min(...values);
  const max = Math.max(...values);
  if (n === 1) return { mean, std: null, ci95: null, n, min, max };
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile(0.975, n - 1) * std) / Math.sqrt(n);
  return { mean, std, ci95: [mean - half, mean + half], n, min, max };
}

/** One value per seed. */
export interface SeedValue {
  seed: number;
  value: number;
}

/** Paired difference `b − a` over the seeds both sides have. */
export interface PairedDiff {
  mean: number;
  std: number | null;
  ci95: [number, number] | null;
  n: number;
  /** Seeds used, ascending. */
  seeds: number[];
}

function bySeed(side: string, values: readonly SeedValue[]): Map<number, number> {
  const map = new Map<number, number>();
  for (const { seed, value } of values) {
    if (map.has(seed)) throw new RangeError(`pairedDiff: seed ${seed} appears twice in ${side}`);
    map.set(seed, value);
  }
  return map;
}

/** Paired difference `b − a` by seed; null when the two sides share no seed. */
export function pairedDiff(a: readonly SeedValue[], b: readonly SeedValue[]): PairedDiff | null {
  const left = bySeed("a", a);
  const right = bySeed("b", b);
  const seeds = [...left.keys()].filter((s) => right.has(s)).sort((x, y) => x - y);
  if (seeds.length === 0) return null;
  const d = describe(seeds.map((s) => right.get(s)! - left.get(s)!));
  return { mean: d.mean, std: d.std, ci95: d.ci95, n: d.n, seeds };
}

// ---------------------------------------------------------------- metrics of a result

/** How to read each metric a `compare` can name. */
export const METRICS: Record<MetricName, { label: string; unit: string; higherIsBetter: boolean }> = {
  accuracy: { label: "accuracy", unit: "fraction", higherIsBetter: true },
  exact_match: { label: "exact match", unit: "fraction", higherIsBetter: true },
  loss: { label: "loss", unit: "nats/token", higherIsBetter: false },
  step_time: { label: "step time", unit: "ms", higherIsBetter: false },
  tokens_per_s: { label: "throughput", unit: "tokens/s", higherIsBetter: true },
  peak_memory: { label: "peak tensor memory", unit: "bytes", higherIsBetter: false },
  trainable_params: { label: "trainable parameters", unit: "count", higherIsBetter: false },
  foundation_params: { label: "foundation parameters", unit: "count", higherIsBetter: false },
  wall_time: { label: "wall time", unit: "ms", higherIsBetter: false },
};

const EVAL_METRICS = new Set<string>(["accuracy", "exact_match", "loss"]);

/** All metrics of one result: its `metrics` (validation_* / test_*) plus the cost metrics. */
export function resultMetrics(r: RunResult): Record<string, number> {
  return {
    ...r.metrics,
    step_time: r.stepMs,
    tokens_per_s: r.tokensPerS,
    peak_memory: r.peakBytes,
    trainable_params: r.params.trainable,
    foundation_params: r.params.foundation,
    wall_time: r.wallMs,
  };
}

/** The summary key a compare metric reads: test_<m> when any result has it, else validation_<m>. */
export function metricKey(metric: MetricName, available: ReadonlySet<string>): string | null {
  if (!EVAL_METRICS.has(metric)) return metric;
  for (const key of [`test_${metric}`, `validation_${metric}`]) if (available.has(key)) return key;
  return null;
}

// ---------------------------------------------------------------- learning-rate choice

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

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
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
  for (const [run, rs] of groupBy(results, (r) => r.run)) out[run] = chooseForRun(run, rs);
  return out;
}

/** The results at each run's chosen lr (all statuses). */
export function chosenResults(results: readonly RunResult[], choices: Record<string, LrChoice>): RunResult[] {
  return results.filter((r) => choices[r.run]?.lr === r.lr);
}

// ---------------------------------------------------------------- summary.json

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
  const byRun = groupBy(results, (r) => r.run);
  const names = [...new Set([...plan.runs.map((r) => r.name), ...byRun.keys()])];
  const runs = names.map((n) => summariseRun(n, byRun.get(n) ?? [], lrChoice[n] ?? null));
  const finished = new Map(runs.map((s) => [s.run, (byRun.get(s.run) ?? []).filter((r) => r.status === "finished" && r.lr === s.lr)]));
  const keys = new Set([...finished.values()].flat().flatMap((r) => Object.keys(resultMetrics(r))));
  return { version: 1, runs, comparisons: plan.comparisons.map((c) => compareRuns(c, finished, keys)) };
}
