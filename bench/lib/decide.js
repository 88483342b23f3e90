// Statistics of the deciding experiments, with no tensors: each method's learning rate chosen on
// validation, test scores by seed at that rate, paired differences with Student-t 95 % intervals,
// and the smallest effect a design could detect (80 % power, two-sided α 0.05, from the observed
// paired standard deviation). Verdicts compare intervals with the size of effect a claim names.
import { describe, pairedDiff } from "../../dist/index.js";
import { tQuantile } from "../../dist/results/statistics.js";
import { sig } from "./timing.js";

export const ALPHA = 0.05;
export const POWER = 0.8;

/** Finished results of `runs`, grouped by (run, lr): [{run, lr, bySeed: Map seed → result}]. */
export function configsOf(results, runs) {
  const groups = new Map();
  for (const r of results) {
    if (!runs.includes(r.run) || r.status !== "finished") continue;
    const key = `${r.run}|${r.lr}`;
    if (!groups.has(key)) groups.set(key, { run: r.run, lr: r.lr, bySeed: new Map() });
    groups.get(key).bySeed.set(r.seed, r);
  }
  return [...groups.values()].sort((a, b) => a.lr - b.lr || a.run.localeCompare(b.run));
}

const meanOf = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The configuration (run, lr) of a method with the best mean validation accuracy over its seeds;
 * ties go to the lower mean validation loss. Never reads a test metric. Null when nothing finished.
 */
export function chooseConfig(results, runs) {
  const configs = configsOf(results, runs).map((c) => {
    const rs = [...c.bySeed.values()];
    return { ...c, validation: meanOf(rs.map((r) => r.metrics.validation_accuracy ?? 0)), validation_loss: meanOf(rs.map((r) => r.metrics.validation_loss ?? Infinity)), seeds: rs.length };
  });
  if (configs.length === 0) return null;
  const best = configs.reduce((a, b) => (b.validation > a.validation || (b.validation === a.validation && b.validation_loss < a.validation_loss) ? b : a));
  return {
    run: best.run,
    lr: best.lr,
    bySeed: best.bySeed,
    candidates: configs.map((c) => ({ run: c.run, lr: c.lr, validation: sig(c.validation), seeds: c.seeds })),
  };
}

/** [{seed, value}] of a metric of one configuration. */
export function valuesOf(config, key = "test_accuracy") {
  if (!config) return [];
  return [...config.bySeed.values()].filter((r) => Number.isFinite(r.metrics[key])).map((r) => ({ seed: r.seed, value: r.metrics[key] })).sort((a, b) => a.seed - b.seed);
}

/** The configuration of `run` at learning rate `lr` (for comparisons at a common rate). */
export function configAt(results, run, lr) {
  return configsOf(results, [run]).find((c) => c.lr === lr) ?? null;
}

/**
 * The smallest true mean difference a paired design of `n` seeds detects with probability
 * `power` at two-sided level `alpha`, given the paired standard deviation `sd`:
 * (t(1 − α/2, n − 1) + t(power, n − 1)) · sd / √n. Null below 2 seeds.
 */
export function detectableEffect(sd, n, alpha = ALPHA, power = POWER) {
  if (n < 2 || sd === null || !Number.isFinite(sd)) return null;
  return (tQuantile(1 - alpha / 2, n - 1) + tQuantile(power, n - 1)) * (sd / Math.sqrt(n));
}

/**
 * `b − a` by seed with its 95 % interval (cut to [−1, 1] for scores), the detectable effect and
 * the per-seed values; a verdict: "better" (interval above 0), "worse" (below), "not significant".
 */
export function compare(a, b, range = [-1, 1]) {
  const d = pairedDiff(a, b, /** @type {[number, number]} */ (range));
  if (!d) return { n: 0, mean: null, sd: null, ci95: null, detectable_effect: null, verdict: "insufficient data", per_seed: [] };
  const verdict = d.ci95 === null ? "insufficient data" : d.ci95[0] > 0 ? "better" : d.ci95[1] < 0 ? "worse" : "not significant";
  const bSeed = new Map(b.map((x) => [x.seed, x.value]));
  const aSeed = new Map(a.map((x) => [x.seed, x.value]));
  return {
    n: d.n,
    mean: Math.abs(d.mean) < 1e-12 ? 0 : sig(d.mean), // sums of equal scores leave rounding dust
    sd: d.std === null ? null : sig(d.std),
    ci95: d.ci95 ? d.ci95.map((x) => sig(x)) : null,
    detectable_effect: d.std === null ? null : sig(detectableEffect(d.std, d.n)),
    verdict,
    per_seed: d.seeds.map((s) => ({ seed: s, a: sig(aSeed.get(s)), b: sig(bSeed.get(s)) })),
  };
}

/** {mean, std, n, ci95} of per-seed values (a proportion: logit-t interval). */
export function statOfValues(values) {
  if (values.length === 0) return { mean: null, std: null, n: 0, ci95: null };
  const d = describe(values.map((v) => v.value), { scale: "proportion" });
  return { mean: sig(d.mean), std: d.std === null ? null : sig(d.std), n: d.n, ci95: d.ci95 ? d.ci95.map((x) => sig(x)) : null };
}

/**
 * Where an interval stands against a claimed effect `delta` > 0 in the claim's direction:
 * "supported" when it lies above 0, "contradicted" when it lies below `delta` (the claimed gain is
 * ruled out), "not decidable" otherwise.
 */
export function verdictForGain(ci95, delta) {
  if (!ci95) return "not decidable";
  if (ci95[0] > 0) return "supported";
  if (ci95[1] < delta) return "contradicted";
  return "not decidable";
}

/**
 * Where an interval stands against an equivalence margin ±`margin`: "within" when it lies inside
 * it, "outside" when it lies wholly beyond it, "not decidable" otherwise.
 */
export function equivalence(ci95, margin) {
  if (!ci95) return "not decidable";
  if (ci95[0] >= -margin && ci95[1] <= margin) return "within";
  if (ci95[0] > margin || ci95[1] < -margin) return "outside";
  return "not decidable";
}

/** True when a method's test interval lies above the constant-answer score: it learned the task. */
export function clearsChance(stat, chance) {
  return Array.isArray(stat?.ci95) && (chance === null || chance === undefined || stat.ci95[0] > chance);
}
