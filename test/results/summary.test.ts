import { describe as group, expect, test } from "vitest";
import type { CompareSpec } from "../../src/dsl/plan.js";
import type { RunResult } from "../../src/results/events.js";
import { chooseLearningRates, chosenResults } from "../../src/results/learning-rate.js";
import { metricKey, scaleOf } from "../../src/results/metrics.js";
import { describe, incompleteBeta, pairedDiff, tCdf, tQuantile } from "../../src/results/statistics.js";
import { buildSummary } from "../../src/results/summary.js";

// Two-sided 95 % critical values t(0.975, df), df = 1..30, from the standard printed table (3 decimals).
const T_TABLE = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

group("Student t quantiles", () => {
  test.each(T_TABLE.map((t, i) => [i + 1, t]))("t(0.975, df=%i) = %f", (df, t) => {
    expect(Math.abs(tQuantile(0.975, df) - t)).toBeLessThan(5.1e-4);
  });

  test.each([
    [1, 12.706204736174707], [2, 4.302652729749464], [5, 2.570581835636314], [10, 2.228138851986273], [30, 2.042272456301238],
  ])("t(0.975, df=%i) to 10 digits", (df, t) => {
    expect(tQuantile(0.975, df)).toBeCloseTo(t, 9);
  });

  test.each([0.6, 0.9, 0.975, 0.99, 0.9995])("closed forms for df = 1 and df = 2 at p = %f", (p) => {
    expect(tQuantile(p, 1)).toBeCloseTo(Math.tan(Math.PI * (p - 0.5)), 8);
    expect(tQuantile(p, 2)).toBeCloseTo((2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 9);
  });

  test("symmetry, the median and the CDF round trip", () => {
    for (const df of [1, 3, 7.5, 40]) {
      expect(tQuantile(0.5, df)).toBe(0);
      expect(tQuantile(0.1, df)).toBeCloseTo(-tQuantile(0.9, df), 12);
      for (const p of [0.01, 0.3, 0.8, 0.999]) expect(tCdf(tQuantile(p, df), df)).toBeCloseTo(p, 10);
    }
  });

  test("large df approaches the normal quantile", () => {
    expect(tQuantile(0.975, 1e6)).toBeCloseTo(1.959966, 5);
  });

  test("incomplete beta: I_x(1, 1) = x and I_x(a, b) = 1 − I_(1−x)(b, a)", () => {
    for (const x of [0, 0.2, 0.5, 0.9, 1]) expect(incompleteBeta(x, 1, 1)).toBeCloseTo(x, 12);
    expect(incompleteBeta(0.3, 2.5, 0.5)).toBeCloseTo(1 - incompleteBeta(0.7, 0.5, 2.5), 12);
  });

  test.each([[0], [1], [-0.1], [Number.NaN]])("p = %f is rejected", (p) => {
    expect(() => tQuantile(p, 3)).toThrow(/p must be in \(0, 1\)/);
  });

  test("df must be positive", () => {
    expect(() => tQuantile(0.9, 0)).toThrow(/df must be > 0/);
  });
});

group("describe", () => {
  test("known sample: mean, sample std, t interval", () => {
    const d = describe([2, 4, 4, 4, 5, 5, 7, 9]);
    const std = Math.sqrt(32 / 7);
    const half = (2.3646242515927853 * std) / Math.sqrt(8);
    expect(d.mean).toBe(5);
    expect(d.std).toBeCloseTo(std, 12);
    expect(d.ci95![0]).toBeCloseTo(5 - half, 9);
    expect(d.ci95![1]).toBeCloseTo(5 + half, 9);
    expect([d.n, d.min, d.max]).toEqual([8, 2, 9]);
  });

  test("n = 1 has no std and no interval", () => {
    expect(describe([0.7])).toEqual({ mean: 0.7, std: null, ci95: null, interval: "none", n: 1, min: 0.7, max: 0.7 });
  });

  test("empty and non-finite samples are errors naming the problem", () => {
    expect(() => describe([])).toThrow(/no values/);
    expect(() => describe([1, Number.NaN])).toThrow(/value 1 is NaN/);
  });
});

group("intervals stay in the metric's range", () => {
  const tHalf = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
    return [m, (tQuantile(0.975, xs.length - 1) * sd) / Math.sqrt(xs.length)] as const;
  };

  test("a plain t interval of accuracies 0.95, 1, 1 would reach above 100 %; logit-t stays below 1", () => {
    const xs = [0.95, 1, 1];
    const [m, half] = tHalf(xs);
    expect(m + half).toBeGreaterThan(1);
    const d = describe(xs, { scale: "proportion", epsilon: 0.5 / 200 });
    expect(d.interval).toBe("logit-t");
    expect(d.ci95![0]).toBeGreaterThan(0);
    expect(d.ci95![1]).toBeLessThan(1);
    expect(d.ci95![0]).toBeLessThan(0.95);
    // Back-transform of the t interval of logit(clip(x)) computed by hand.
    const l = xs.map((x) => Math.log(Math.min(x, 1 - 0.0025) / (1 - Math.min(x, 1 - 0.0025))));
    const [lm, lh] = tHalf(l);
    expect(d.ci95![1]).toBeCloseTo(1 / (1 + Math.exp(-(lm + lh))), 12);
  });

  test("proportions near 0 never go negative", () => {
    const d = describe([0, 0.02, 0.1], { scale: "proportion" });
    const [m, half] = tHalf([0, 0.02, 0.1]);
    expect(m - half).toBeLessThan(0);
    expect(d.ci95![0]).toBeGreaterThan(0);
    expect(d.ci95![1]).toBeLessThan(1);
  });

  test("positive quantities use the log scale: step times never negative", () => {
    const xs = [3, 40, 9];
    const [m, half] = tHalf(xs);
    expect(m - half).toBeLessThan(0);
    const d = describe(xs, { scale: "positive" });
    expect(d.interval).toBe("log-t");
    const logs = xs.map(Math.log);
    const [lm, lh] = tHalf(logs);
    expect(d.ci95![0]).toBeCloseTo(Math.exp(lm - lh), 12);
    expect(d.ci95![1]).toBeCloseTo(Math.exp(lm + lh), 12);
    expect(d.ci95![0]).toBeGreaterThan(0);
  });

  test("a value on the bound that a transform cannot take: t cut to the range", () => {
    const d = describe([0, 5, 1], { scale: "positive" });
    expect(d.interval).toBe("t-clamped");
    expect(d.ci95![0]).toBe(0);
    const p = describe([0.9, 1.2], { scale: "proportion" });
    expect(p.interval).toBe("t-clamped");
    expect(p.ci95![1]).toBe(1);
  });

  test("equal values: the interval is the value; the real scale keeps the plain t interval", () => {
    expect(describe([0.1, 0.1, 0.1], { scale: "proportion" })).toMatchObject({ mean: 0.1, std: 0, ci95: [0.1, 0.1], interval: "none" });
    expect(describe([1, 2, 3]).interval).toBe("t");
  });

  test.each([
    ["test_accuracy", "proportion"], ["validation_exact_match", "proportion"], ["test_f1", "proportion"],
    ["test_loss", "positive"], ["step_time", "positive"], ["tokens_per_s", "positive"], ["peak_memory", "positive"], ["score", "real"],
  ])("scaleOf(%s) = %s", (key, scale) => {
    expect(scaleOf(key)).toBe(scale);
  });
});

group("pairedDiff", () => {
  test("b − a over shared seeds", () => {
    const a = [{ seed: 0, value: 1 }, { seed: 1, value: 2 }, { seed: 2, value: 3 }];
    const b = [{ seed: 2, value: 3 }, { seed: 0, value: 2 }, { seed: 1, value: 4 }, { seed: 9, value: 100 }];
    const d = pairedDiff(a, b)!;
    expect(d.seeds).toEqual([0, 1, 2]);
    expect(d.mean).toBe(1);
    expect(d.std).toBeCloseTo(1, 12);
    expect(d.ci95![1] - d.mean).toBeCloseTo(4.302652729749464 / Math.sqrt(3), 9);
  });

  test("the smallest detectable difference is the interval's half-width; a range cuts the interval", () => {
    const a = [{ seed: 0, value: 0.1 }, { seed: 1, value: 0.1 }];
    const b = [{ seed: 0, value: 0.9 }, { seed: 1, value: 0.5 }];
    const d = pairedDiff(a, b, [-1, 1])!;
    expect(d.detectable).toBeCloseTo((12.706204736174707 * Math.sqrt(0.08)) / Math.sqrt(2), 9);
    expect(d.ci95![1]).toBe(1);
    expect(d.ci95![0]).toBe(-1); // 0.6 − 2.54 would be below the possible −1
    expect(d.identical).toBe(false);
    expect(pairedDiff(a, a)).toMatchObject({ mean: 0, identical: true, ci95: [0, 0] });
    expect(pairedDiff(a.slice(0, 1), b)).toMatchObject({ n: 1, detectable: null, identical: false });
  });

  test("no shared seed gives null; a repeated seed is an error", () => {
    expect(pairedDiff([{ seed: 0, value: 1 }], [{ seed: 1, value: 1 }])).toBeNull();
    expect(() => pairedDiff([{ seed: 0, value: 1 }, { seed: 0, value: 2 }], [])).toThrow(/seed 0 appears twice in a/);
  });
});

function res(run: string, lr: number, seed: number, metrics: Record<string, number>, extra: Partial<RunResult> = {}): RunResult {
  return {
    run, seed, lr, backend: "cpu", steps: 10, metrics, params: { foundation: 1000, trainable: 10 }, stepMs: 5, tokensPerS: 100,
    peakBytes: 1024, wallMs: 50, status: "finished", ...extra,
  };
}

const grid = (run: string, lrs: Record<number, number[]>, key: string) =>
  Object.entries(lrs).flatMap(([lr, vals]) => vals.map((v, seed) => res(run, Number(lr), seed, { [key]: v })));

group("chooseLearningRates", () => {
  test.each([
    { name: "highest validation accuracy", rs: grid("a", { 1e-3: [0.8, 0.82], 1e-4: [0.85, 0.86] }, "validation_accuracy"), lr: 1e-4, metric: "validation_accuracy" },
    { name: "lowest validation loss", rs: grid("a", { 1e-3: [0.4, 0.5], 1e-4: [0.6, 0.7] }, "validation_loss"), lr: 1e-3, metric: "validation_loss" },
    { name: "exact match before loss", rs: [...grid("a", { 1: [0.2], 2: [0.9] }, "validation_exact_match"), res("a", 1, 1, { validation_loss: 0.1 })], lr: 2, metric: "validation_exact_match" },
    { name: "ties keep the smaller lr", rs: grid("a", { 3: [0.5], 1: [0.5], 2: [0.5] }, "validation_accuracy"), lr: 1, metric: "validation_accuracy" },
    {
      name: "a tie on accuracy is broken by validation loss",
      rs: [res("a", 1, 0, { validation_accuracy: 0, validation_loss: 2.4 }), res("a", 2, 0, { validation_accuracy: 0, validation_loss: 2.1 }), res("a", 3, 0, { validation_accuracy: 0, validation_loss: 2.3 })],
      lr: 2, metric: "validation_accuracy",
    },
    { name: "an lr with a NaN seed loses", rs: grid("a", { 1: [0.99, Number.NaN], 2: [0.5, 0.5] }, "validation_accuracy"), lr: 2, metric: "validation_accuracy" },
    {
      name: "an lr whose seeds all failed loses",
      rs: [res("a", 1, 0, {}, { status: "failed" }), res("a", 2, 0, { validation_accuracy: 0.1 })], lr: 2, metric: "validation_accuracy",
    },
    { name: "one lr needs no metric", rs: [res("a", 5e-4, 0, {})], lr: 5e-4, metric: null },
    { name: "no validation metric, no choice", rs: [res("a", 1, 0, { test_accuracy: 0.9 }), res("a", 2, 0, { test_accuracy: 0.1 })], lr: null, metric: null },
  ])("$name", ({ rs, lr, metric }) => {
    const c = chooseLearningRates(rs).a!;
    expect(c.lr).toBe(lr);
    expect(c.metric).toBe(metric);
    expect(c.candidates.map((x) => x.lr)).toEqual([...new Set(rs.map((r) => r.lr))].sort((x, y) => x - y));
    expect(c.reason.length).toBeGreaterThan(0);
  });

  test("test metrics never influence the choice", () => {
    const base = [
      res("a", 1e-3, 0, { validation_accuracy: 0.70, test_accuracy: 0.95 }),
      res("a", 1e-3, 1, { validation_accuracy: 0.72, test_accuracy: 0.96 }),
      res("a", 1e-4, 0, { validation_accuracy: 0.80, test_accuracy: 0.10 }),
      res("a", 1e-4, 1, { validation_accuracy: 0.81, test_accuracy: 0.11 }),
    ];
    expect(chooseLearningRates(base).a!.lr).toBe(1e-4);
    let state = 7;
    const rand = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 50; trial++) {
      const scrambled = base.map((r) => ({ ...r, metrics: { ...r.metrics, test_accuracy: rand(), test_loss: rand() * 10, test_exact_match: rand() } }));
      expect(chooseLearningRates(scrambled)).toEqual(chooseLearningRates(base));
    }
  });
});

group("buildSummary", () => {
  const cmp: CompareSpec = { name: "ab", runs: ["a", "b"], metrics: ["accuracy", "loss", "step_time"], plots: [] };
  const results = [
    ...[0, 1, 2].map((s) => res("a", 1e-3, s, { validation_accuracy: 0.5, test_accuracy: 0.50 + 0.01 * s, test_loss: 1 })),
    ...[0, 1, 2].map((s) => res("a", 1e-4, s, { validation_accuracy: 0.9, test_accuracy: 0.70 + 0.01 * s, test_loss: 0.5 + 0.1 * s })),
    ...[0, 1, 2].map((s) => res("b", 1e-4, s, { validation_accuracy: 0.9, test_accuracy: 0.80 + 0.012 * s, test_loss: 0.5 + 0.1 * ((s * 2) % 3) }, { stepMs: 5 })),
    res("b", 1e-4, 3, {}, { status: "failed", error: "NaN loss" }),
  ];
  const summary = buildSummary(results, { runs: [{ name: "b" }, { name: "a" }, { name: "never-ran" }], comparisons: [cmp] });

  test("runs in plan order, then statistics at the chosen lr only", () => {
    expect(summary.runs.map((r) => r.run)).toEqual(["b", "a", "never-ran"]);
    const a = summary.runs[1]!;
    expect(a.lr).toBe(1e-4);
    expect(a.seeds).toEqual([0, 1, 2]);
    expect(a.metrics.test_accuracy!.mean).toBeCloseTo(0.71, 12);
    expect(a.metrics.step_time!.mean).toBe(5);
    expect(a.metrics.trainable_params!.mean).toBe(10);
  });

  test("failed seeds are listed and left out; a run without results is empty", () => {
    const b = summary.runs[0]!;
    expect(b.failed).toEqual([{ seed: 3, lr: 1e-4, error: "NaN loss" }]);
    expect(b.metrics.test_accuracy!.n).toBe(3);
    expect(summary.runs[2]).toMatchObject({ lr: null, seeds: [], metrics: {}, lrChoice: null });
  });

  test("paired differences: better, not significant, and a zero difference on every seed (identical)", () => {
    const byMetric = Object.fromEntries(summary.comparisons[0]!.pairs.map((p) => [p.metric, p]));
    expect(byMetric.accuracy).toMatchObject({ key: "test_accuracy", baseline: "a", other: "b", verdict: "better" });
    expect(byMetric.accuracy!.diff!.mean).toBeCloseTo(0.102, 12);
    expect(byMetric.loss!.verdict).toBe("not significant");
    expect(byMetric.step_time!.diff!.mean).toBe(0);
    expect(byMetric.step_time!.verdict).toBe("identical");
  });

  test("lower-is-better metrics turn a decrease into 'better'; one shared seed is insufficient", () => {
    const rs = [
      ...[0, 1, 2].map((s) => res("x", 1, s, { test_loss: 1 + 0.01 * s })),
      ...[0, 1, 2].map((s) => res("y", 1, s, { test_loss: 0.5 + 0.02 * s })),
      res("z", 1, 0, { test_loss: 0.1 }),
    ];
    const s = buildSummary(rs, { runs: [], comparisons: [{ name: "c", runs: ["x", "y", "z"], metrics: ["loss"], plots: [] }] });
    const pairs = s.comparisons[0]!.pairs;
    expect(pairs.map((p) => `${p.other}-${p.baseline}:${p.verdict}`)).toEqual([
      "y-x:better", "z-x:insufficient data", "z-y:insufficient data",
    ]);
  });

  test("non-finite values are counted, not averaged", () => {
    const s = buildSummary([res("a", 1, 0, { test_loss: Number.NaN }), res("a", 1, 1, { test_loss: 2 })], { runs: [], comparisons: [] });
    expect(s.runs[0]!.metrics.test_loss).toMatchObject({ mean: 2, n: 1, nonFinite: 1 });
  });

  test("metricKey prefers test over validation and passes cost metrics through", () => {
    expect(metricKey("accuracy", new Set(["validation_accuracy", "test_accuracy"]))).toBe("test_accuracy");
    expect(metricKey("accuracy", new Set(["validation_accuracy"]))).toBe("validation_accuracy");
    expect(metricKey("exact_match", new Set(["test_accuracy"]))).toBeNull();
    expect(metricKey("peak_memory", new Set())).toBe("peak_memory");
  });

  test("chosenResults keeps each run's chosen lr", () => {
    const picked = chosenResults(results, chooseLearningRates(results));
    expect(new Set(picked.map((r) => `${r.run}@${r.lr}`))).toEqual(new Set(["a@0.0001", "b@0.0001"]));
  });

  test("summary is plain JSON", () => {
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
  });

  test("three seeds and a single lr: no warnings; a grid whose smallest lr wins: one", () => {
    expect(summary.runs[0]!.warnings).toEqual([]);
    expect(summary.warnings).toEqual(["run a: the chosen learning rate 0.0001 is the smallest of its grid (0.0001, 0.001): the best may lie beyond it; extend the grid"]);
  });
});

group("buildSummary: small n, grid edges, sizes and baselines", () => {
  const sizes = { train: 80, validation: 10, test: 20 };
  const rs = [
    ...[0, 1].map((s) => res("few", 1e-3, s, { validation_accuracy: 0.6, test_accuracy: [0.95, 1][s]! }, { examples: sizes, baselines: { test_accuracy: 0.55 } })),
    ...[0, 1].map((s) => res("few", 1e-4, s, { validation_accuracy: 0.5, test_accuracy: 0.5 })),
    ...[0, 1].map((s) => res("other", 1e-3, s, { test_accuracy: 0.9 })),
  ];
  const s = buildSummary(rs, { runs: [], comparisons: [{ name: "c", runs: ["few", "other"], metrics: ["accuracy"], plots: [] }] });
  const few = s.runs[0]!;

  test("fewer than 3 seeds is a warning in the run and the summary, and so is a pair with 2 seeds", () => {
    expect(few.warnings.some((w) => /only 2 finished seeds/.test(w))).toBe(true);
    expect(s.warnings).toContain(`run few: ${few.warnings[0]}`);
    expect(s.warnings.some((w) => /^compare c: other − few pairs only 2 seed\(s\)/.test(w))).toBe(true);
  });

  test("a chosen lr at the edge of its grid is a warning", () => {
    expect(few.lr).toBe(1e-3);
    expect(few.warnings.some((w) => /0\.001 is the largest of its grid \(0\.0001, 0\.001\)/.test(w))).toBe(true);
    expect(s.runs[1]!.warnings.some((w) => /grid/.test(w))).toBe(false);
  });

  test("sizes and baselines come from the results; the logit interval uses 0.5 / test examples", () => {
    expect(few.examples).toEqual(sizes);
    expect(few.baselines).toEqual({ test_accuracy: 0.55 });
    expect(s.runs[1]!.examples).toBeNull();
    expect(few.metrics.test_accuracy).toMatchObject({ interval: "logit-t" });
    expect(few.metrics.test_accuracy!.ci95).toEqual(describe([0.95, 1], { scale: "proportion", epsilon: 0.5 / 20 }).ci95);
    expect(few.metrics.test_accuracy!.ci95![1]).toBeLessThan(1);
  });

  test("paired differences of fractions stay within ±1", () => {
    const p = s.comparisons[0]!.pairs[0]!;
    expect(p.diff!.ci95![0]).toBeGreaterThanOrEqual(-1);
    expect(p.diff!.ci95![1]).toBeLessThanOrEqual(1);
    expect(p.diff!.detectable).toBeGreaterThan(0);
  });
});
