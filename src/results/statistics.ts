// Statistics over seeds: Student's t distribution, descriptive statistics of a sample, and the
// paired difference of two runs by seed. Pure arithmetic, no imports.
//
// The Student t quantiles are computed from the regularized incomplete beta function, so the
// confidence intervals are exact for the small seed counts experiments use.

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

/**
 * What values a metric can take, which decides its interval:
 * - "proportion": a fraction in [0, 1] (accuracy, exact match, F1);
 * - "positive": a quantity above 0 (times, throughput, memory, parameter counts, loss);
 * - "real": anything else.
 */
export type Scale = "real" | "proportion" | "positive";

/**
 * How a 95 % interval was computed:
 * - "t": Student t on the values (a "real" scale);
 * - "logit-t": Student t on logit(value), mapped back, so it stays inside (0, 1);
 * - "log-t": Student t on ln(value), mapped back, so it stays above 0;
 * - "t-clamped": Student t cut to the possible range, used when a transform cannot apply
 *   (a "positive" metric with a value of 0, a "proportion" outside [0, 1]);
 * - "none": all values equal (the interval is the value itself) or one value (no interval).
 */
export type IntervalMethod = "t" | "logit-t" | "log-t" | "t-clamped" | "none";

/** Mean, spread and 95 % confidence interval of a sample. */
export interface Described {
  mean: number;
  /** Sample standard deviation (n − 1); null when n = 1. */
  std: number | null;
  /** 95 % interval of the mean on the metric's scale (see `interval`); null when n = 1. */
  ci95: [number, number] | null;
  /** How ci95 was computed. */
  interval: IntervalMethod;
  n: number;
  min: number;
  max: number;
}

export interface DescribeOptions {
  scale?: Scale;
  /**
   * For "proportion": values of exactly 0 or 1 are moved this far inside before the logit (the
   * logit of 0 or 1 is infinite). A good choice is 0.5 / (examples scored), the usual continuity
   * correction; default 0.5 / 1000.
   */
  epsilon?: number;
}

const mean = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
const sampleStd = (xs: readonly number[], m: number) => Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / (xs.length - 1));

/** Student t 95 % interval of the mean of xs (n >= 2). */
function tInterval(xs: readonly number[]): [number, number] {
  const m = mean(xs);
  const half = (tQuantile(0.975, xs.length - 1) * sampleStd(xs, m)) / Math.sqrt(xs.length);
  return [m - half, m + half];
}

const logit = (p: number) => Math.log(p / (1 - p));
const expit = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Describes a non-empty sample of finite numbers. Throws on an empty sample or a non-finite value.
 *
 * The interval respects the scale (default "real": a plain Student t interval). Over a handful of
 * seeds a bootstrap has too few distinct resamples to be useful, and a Wilson interval counts
 * examples, not seeds; so a bounded metric gets a t interval on the logit scale and a positive one
 * a t interval on the log scale, both mapped back. These are intervals of the centre on that scale
 * (for "log-t" the geometric mean), asymmetric near a bound, and never leave the possible range.
 */
export function describe(values: readonly number[], opts: DescribeOptions = {}): Described {
  if (values.length === 0) throw new RangeError("describe: no values (need at least one)");
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`describe: value ${i} is ${v}; only finite numbers can be described`);
  });
  const n = values.length;
  const m = mean(values);
  const min = Math.min(...values);
  const max = Math.max(...values);
  if (n === 1) return { mean: m, std: null, ci95: null, interval: "none", n, min, max };
  const std = sampleStd(values, m);
  const base = { mean: m, std, n, min, max };
  if (min === max) return { ...base, mean: min, std: 0, ci95: [min, min], interval: "none" };
  const scale = opts.scale ?? "real";
  if (scale === "proportion") {
    if (min >= 0 && max <= 1) {
      const eps = opts.epsilon ?? 0.5 / 1000;
      const [lo, hi] = tInterval(values.map((v) => logit(Math.min(1 - eps, Math.max(eps, v)))));
      return { ...base, ci95: [expit(lo), expit(hi)], interval: "logit-t" };
    }
    const [lo, hi] = tInterval(values);
    return { ...base, ci95: [Math.max(0, lo), Math.min(1, hi)], interval: "t-clamped" };
  }
  if (scale === "positive") {
    if (min > 0) {
      const [lo, hi] = tInterval(values.map(Math.log));
      return { ...base, ci95: [Math.exp(lo), Math.exp(hi)], interval: "log-t" };
    }
    const [lo, hi] = tInterval(values);
    return { ...base, ci95: [Math.max(0, lo), hi], interval: "t-clamped" };
  }
  return { ...base, ci95: tInterval(values), interval: "t" };
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
  /** Student t 95 % interval, cut to the possible range of a difference; null when n = 1. */
  ci95: [number, number] | null;
  n: number;
  /** Seeds used, ascending. */
  seeds: number[];
  /**
   * The smallest mean difference this design would call significant, given the spread seen:
   * t(0.975, n − 1) · sd / √n, the half-width of the interval. Null when n = 1.
   */
  detectable: number | null;
  /** True when every seed gave exactly the same value on both sides (n >= 2). */
  identical: boolean;
}

function bySeed(side: string, values: readonly SeedValue[]): Map<number, number> {
  const map = new Map<number, number>();
  for (const { seed, value } of values) {
    if (map.has(seed)) throw new RangeError(`pairedDiff: seed ${seed} appears twice in ${side}`);
    map.set(seed, value);
  }
  return map;
}

/**
 * Paired difference `b − a` by seed; null when the two sides share no seed. `range` is the possible
 * range of one difference (e.g. [-1, 1] for two proportions): the interval is cut to it.
 */
export function pairedDiff(a: readonly SeedValue[], b: readonly SeedValue[], range: [number, number] = [-Infinity, Infinity]): PairedDiff | null {
  const left = bySeed("a", a);
  const right = bySeed("b", b);
  const seeds = [...left.keys()].filter((s) => right.has(s)).sort((x, y) => x - y);
  if (seeds.length === 0) return null;
  const diffs = seeds.map((s) => right.get(s)! - left.get(s)!);
  const d = describe(diffs);
  const ci95: [number, number] | null = d.ci95 ? [Math.max(range[0], d.ci95[0]), Math.min(range[1], d.ci95[1])] : null;
  const detectable = d.ci95 ? (d.ci95[1] - d.ci95[0]) / 2 : null;
  const identical = d.n >= 2 && diffs.every((x) => x === 0);
  return { mean: d.mean, std: d.std, ci95, n: d.n, seeds, detectable, identical };
}
