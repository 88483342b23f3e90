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
