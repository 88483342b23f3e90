import { describe, expect, test } from "vitest";
import type { PlotName } from "../../src/dsl/plan.js";
import type { BeamImportanceEvent, BeamPruneEvent, LightPruneEvent, MaskEvent, RunResult } from "../../src/results/events.js";
import { buildSummary } from "../../src/results/summary.js";
import { aggregate, ema } from "../../src/viz/bands.js";
import {
  comparisonBars, evalCurves, figureForPlot, importanceHeatmap, lossCurves, makePalette, maskHeatmap, memoryBars, paramBars,
  prunedStructure, pruneTimeline, timeBars, type Figure, type Trace,
} from "../../src/viz/figures.js";
import { evalMetrics, evalSeries, lossSeries } from "../../src/viz/rundata.js";
import { newRunData, recordEvent, type RunData } from "../../src/results/run-data.js";

const EVIL = "<img src=x onerror=alert(1)>";

function runData(run: string, seed: number, losses: number[], accs: number[] = []): RunData {
  const d = newRunData(run, seed, 1e-3);
  losses.forEach((loss, i) => recordEvent(d, { type: "step", step: (i + 1) * 10, loss, lr: 1e-3, gradNorm: 1, tokens: 10, stepMs: 5, time: 0 }));
  accs.forEach((a, i) => recordEvent(d, { type: "eval", step: (i + 1) * 20, split: "validation", metrics: { accuracy: a, loss: 1 - a } }));
  recordEvent(d, { type: "eval", step: 99, split: "test", metrics: { test_accuracy: 0.1 } });
  return d;
}

const RUNS = [
  runData("a", 0, [3, 2, 1], [0.5, 0.7]), runData("a", 1, [4, 2, 2], [0.6, 0.8]), runData("a", 2, [5, 2, 0], [0.7, 0.9]),
  runData("b", 0, [1, 1, 1], [0.4, 0.4]), runData("b", 1, [3, 3, 3], [0.6, 0.6]),
];

const role = (t: Trace) => (t.meta as { role?: string } | undefined)?.role;

function result(run: string, seed: number, extra: Partial<RunResult> = {}): RunResult {
  return {
    run, seed, lr: 1e-3, backend: "cpu", steps: 30, metrics: { test_accuracy: 0.5 + 0.1 * seed + (run === "b" ? 0.2 : 0), validation_accuracy: 0.5 },
    params: { foundation: 100_000, trainable: run === "a" ? 1000 : 500 }, stepMs: 10 + seed, tokensPerS: 1000, peakBytes: (8 + seed) * 2 ** 20,
    wallMs: 1000, status: "finished", ...extra,
  };
}
const RESULTS = [0, 1, 2].flatMap((s) => [result("a", s), result("b", s)]).concat(result("b", 3, { status: "failed", stepMs: 1e9 }));

const IMPORTANCE: BeamImportanceEvent[] = [10, 20, 30].map((step) => ({
  type: "beam.importance", step, criterion: "gate",
  modules: [{ module: "q", scores: [0.1, 0.3, 0.6] }, { module: EVIL, scores: [2, 1, 4] }],
}));
const PRUNES: BeamPruneEvent[] = [{ type: "beam.prune", step: 20, p: 0.8, totalPruned: 2, modules: [{ module: "q", pruned: [0], parents: [2] }, { module: EVIL, pruned: [1], parents: [2] }] }];
const MASKS: MaskEvent[] = [5, 10].map((step) => ({
  type: "lightpeft.masks", step,
  heads: [[1, 1 - step / 20], [0.5, 1]],
  neurons: [0, 1].map(() => ({ mean: 1 - step / 100, min: 0, max: 1, q25: 0.2, q50: 0.5, q75: 0.8 })),
}));
const LIGHT: LightPruneEvent = {
  type: "lightpeft.prune", step: 10,
  heads: [{ layer: 1, kept: [1], removed: [0] }, { layer: 0, kept: [0, 1], removed: [] }],
  neurons: [{ layer: 0, kept: 30, removed: 2 }, { layer: 1, kept: 20, removed: 12 }],
  modulesRemoved: ["layers.1.v"], ranks: [{ module: "layers.0.q", kept: [0, 2], before: 4 }],
  before: { foundation: 1000, trainable: 100 }, after: { foundation: 800, trainable: 60 },
};

describe("curves", () => {
  test("loss: per run a band then a mean line, mean and ±std match the seeds", () => {
    const fig = lossCurves(lossSeries(RUNS));
    expect(fig.data.map((t) => `${t.name}:${role(t)}`)).toEqual(["a:band", "a:mean", "b:band", "b:mean"]);
    const meanA = fig.data[1]!;
    expect(meanA.x).toEqual([10, 20, 30]);
    expect(meanA.y).toEqual([4, 2, 1]);
    const band = fig.data[0]!;
    expect(band.fill).toBe("toself");
    expect(band.x).toEqual([10, 20, 30, 30, 20, 10]);
    expect(band.y![0]).toBeCloseTo(5, 12); // 4 + std(3, 4, 5) = 4 + 1
    expect(band.y![5]).toBeCloseTo(3, 12);
    expect(band.legendgroup).toBe(meanA.legendgroup);
  });

  test("min–max band runs along the maxima then back along the minima", () => {
    const fig = lossCurves(lossSeries(RUNS.filter((r) => r.run === "a")), { band: "minmax" });
    expect(fig.data[0]!.y).toEqual([5, 2, 2, 0, 2, 3]);
    expect(JSON.stringify(fig.layout.title)).toContain("min–max");
  });

  test("no band for 'none' or a single seed", () => {
    expect(lossCurves(lossSeries(RUNS), { band: "none" }).data.every((t) => role(t) === "mean")).toBe(true);
    expect(lossCurves(lossSeries([RUNS[0]!])).data.map(role)).toEqual(["mean"]);
  });

  test("smoothing is applied per seed before averaging, and the subtitle says so", () => {
    const fig = lossCurves(lossSeries(RUNS), { smoothing: 0.5 });
    expect(fig.data[1]!.y![0]).toBe(4); // debiased EMA starts at the first value
    expect(fig.data[1]!.y![1]).not.toBe(2);
    expect(JSON.stringify(fig.layout.title)).toContain("EMA 0.5");
  });

  test("eval curves read one split and bare or prefixed metric names", () => {
    expect(evalMetrics(RUNS)).toEqual(["accuracy", "loss"]);
    const fig = evalCurves(evalSeries(RUNS, "accuracy"), "accuracy");
    const y = fig.data.find((t) => t.name === "a" && role(t) === "mean")!.y as number[];
    expect(y[0]).toBeCloseTo(0.6, 12);
    expect(y[1]).toBeCloseTo(0.8, 12);
    expect(evalSeries(RUNS, "accuracy", "test")[0]!.points).toEqual([{ step: 99, value: 0.1 }]);
    expect(fig.layout.yaxis!.title!.text).toContain("accuracy");
  });
});

describe("bands", () => {
  test("aggregate aligns seeds by step and skips non-finite values", () => {
    const b = aggregate([
      { run: "a", seed: 0, points: [{ step: 2, value: 1 }, { step: 1, value: 3 }] },
      { run: "a", seed: 1, points: [{ step: 1, value: 5 }, { step: 3, value: Number.NaN }] },
    ]);
    expect(b).toEqual({ steps: [1, 2], mean: [4, 1], std: [Math.SQRT2, 0], min: [3, 1], max: [5, 1], n: [2, 1] });
  });

  test("ema keeps a constant series and rejects weights outside [0, 1)", () => {
    expect(ema([2, 2, 2], 0.9).map((v) => Number(v.toFixed(12)))).toEqual([2, 2, 2]);
    expect(ema([1, 3], 0)).toEqual([1, 3]);
    expect(() => ema([1], 1)).toThrow(/weight must be in \[0, 1\)/);
  });
});

describe("bars", () => {
  const summary = buildSummary(RESULTS, { runs: [{ name: "a" }, { name: "b" }, { name: "c" }], comparisons: [] });

  test("comparison bars: mean per run, asymmetric CI error bars, missing runs noted", () => {
    const fig = comparisonBars(summary, "accuracy");
    const t = fig.data[0]!;
    expect(t.x).toEqual(["a", "b"]);
    expect((t.y as number[])[0]).toBeCloseTo(0.6, 12);
    const stats = summary.runs[0]!.metrics.test_accuracy!;
    const err = t.error_y as { array: number[]; arrayminus: number[] };
    expect(err.array[0]).toBeCloseTo(stats.ci95![1] - stats.mean, 12);
    expect(err.arrayminus[0]).toBeCloseTo(stats.mean - stats.ci95![0], 12);
    expect(JSON.stringify(fig.layout.annotations)).toContain("no data: c");
    expect(fig.layout.title.text).toBe("Test accuracy");
  });

  test("cost bars leave failed seeds out and use readable units", () => {
    expect(timeBars(RESULTS).data[0]!.y).toEqual([11, 11]);
    expect(memoryBars(RESULTS).data[0]!.y).toEqual([9, 9]);
    expect(memoryBars(RESULTS).layout.yaxis!.title!.text).toContain("MiB");
    const params = paramBars(RESULTS, { runs: ["b", "a"] });
    expect(params.data.map((t) => t.name)).toEqual(["foundation (frozen)", "trainable"]);
    expect(params.data[1]!.y).toEqual([500, 1000]);
    expect((params.layout.yaxis as { type?: string }).type).toBe("log");
  });
});

describe("BeamLoRA figures", () => {
  test("importance heatmap: one row per module · rank, scores relative to the module's best", () => {
    const fig = importanceHeatmap(IMPORTANCE, undefined, { prunes: PRUNES });
    const heat = fig.data[0]!;
    expect(heat.y).toEqual(["q · r0", "q · r1", "q · r2", "&lt;img src=x onerror=alert(1)&gt; · r0", "&lt;img src=x onerror=alert(1)&gt; · r1", "&lt;img src=x onerror=alert(1)&gt; · r2"]);
    expect(heat.x).toEqual([10, 20, 30]);
    const z = heat.z as number[][];
    expect(z[2]).toEqual([1, 1, 1]);
    expect(z[3]![0]).toBe(0.5);
    expect((heat.customdata as number[][])[3]![0]).toBe(2);
    const [pruned, parents] = [fig.data[1]!, fig.data[2]!];
    expect(pruned.y).toEqual(["q · r0", "&lt;img src=x onerror=alert(1)&gt; · r1"]);
    expect(parents.x).toEqual([20, 20]);
    expect((fig.layout.shapes as { x0: number }[]).map((s) => s.x0)).toEqual([20]);
  });

  test("a module filter keeps its rows; an unknown module is an error naming the known ones", () => {
    expect(importanceHeatmap(IMPORTANCE, "q").data[0]!.y).toHaveLength(3);
    expect(importanceHeatmap(IMPORTANCE, "q", { normalize: false }).data[0]!.z).toEqual([[0.1, 0.1, 0.1], [0.3, 0.3, 0.3], [0.6, 0.6, 0.6]]);
    expect(() => importanceHeatmap(IMPORTANCE, "k")).toThrow(/no module "k".*known: q, <img/);
  });

  test("prune timeline: p(t) line and pruned counts on a second axis", () => {
    const fig = pruneTimeline([...PRUNES, { ...PRUNES[0]!, step: 10, p: 0.7, totalPruned: 5 }]);
    expect(fig.data.map((t) => t.type)).toEqual(["bar", "scatter"]);
    expect(fig.data[0]!.y).toEqual([5, 2]);
    expect(fig.data[1]!.y).toEqual([0.7, 0.8]);
    expect(fig.data[0]!.yaxis).toBe("y2");
  });
});

describe("Light-PEFT figures", () => {
  test("mask heatmap shows the last step's heads and the evolution per layer", () => {
    const fig = maskHeatmap(MASKS);
    expect(fig.data[0]!.z).toEqual(MASKS[1]!.heads);
    const heads = fig.data.filter((t) => String(t.name).endsWith("heads"));
    expect(heads.map((t) => t.y)).toEqual([[0.875, 0.75], [0.75, 0.75]]);
    expect(fig.data.filter((t) => String(t.name).endsWith("neurons"))).toHaveLength(2);
    expect(() => maskHeatmap([])).toThrow(/no lightpeft.masks events/);
  });

  test("with the pruning step, the right panel shows the kept fraction of heads and neurons per layer", () => {
    const fig = maskHeatmap(MASKS, { prune: LIGHT });
    const bars = fig.data.filter((t) => t.type === "bar");
    expect(bars.map((t) => [t.name, t.x, t.y])).toEqual([
      ["heads kept", ["layer 0", "layer 1"], [1, 0.5]],
      ["FFN neurons kept", ["layer 0", "layer 1"], [30 / 32, 20 / 32]],
    ]);
    expect(fig.data.filter((t) => t.type === "scatter")).toEqual([]);
    expect(JSON.stringify(fig.layout.annotations)).toContain("kept per layer at the pruning step (step 10): heads and FFN neurons");
  });

  test("without it, the legend names both the head (solid) and the neuron (dotted) lines", () => {
    const fig = maskHeatmap(MASKS);
    expect(fig.data.filter((t) => t.showlegend !== false && t.type === "scatter").map((t) => t.name)).toEqual(["layer 0 heads", "layer 0 neurons", "layer 1 heads"]);
  });

  test("pruned structure: kept and removed per layer (sorted) and per module", () => {
    const fig = prunedStructure(LIGHT);
    const byAxis = (ax: string, name: string) => fig.data.find((t) => t.xaxis === ax && t.name === name)!;
    expect(byAxis("x", "kept").y).toEqual([2, 1]);
    expect(byAxis("x", "removed").y).toEqual([0, 1]);
    expect(byAxis("x2", "removed").y).toEqual([2, 12]);
    expect(byAxis("x3", "kept").y).toEqual([2]);
    expect(byAxis("x3", "removed").y).toEqual([2]);
    expect(JSON.stringify(fig.layout)).toContain("−20.0%");
    expect(JSON.stringify(fig.layout)).toContain("layers.1.v");
  });
});

describe("figureForPlot and shared conventions", () => {
  const withEvents = RUNS.map((d) => ({ ...d, events: [...d.events] }));
  IMPORTANCE.forEach((e) => recordEvent(withEvents[1]!, e));
  PRUNES.forEach((e) => recordEvent(withEvents[1]!, e));
  [...MASKS, LIGHT].forEach((e) => recordEvent(withEvents[4]!, e));
  const ctx = { runs: withEvents, results: RESULTS };

  test.each([
    ["loss", ["loss"]], ["eval", ["eval:accuracy", "eval:loss"]], ["importance", ["importance:a", "prunes:a"]],
    ["masks", ["masks:b", "structure:b"]], ["params", ["params"]], ["time", ["time"]], ["memory", ["memory"]],
  ] as [PlotName, string[]][])("%s", (name, keys) => {
    expect(figureForPlot(name, ctx).map((f) => f.key)).toEqual(keys);
  });

  test("nothing to draw yet gives no figure; focus keeps a compare's runs", () => {
    const empty = { runs: [newRunData("a", 0, null)] };
    for (const name of ["loss", "eval", "importance", "masks", "params", "time", "memory"] as PlotName[]) expect(figureForPlot(name, empty)).toEqual([]);
    const focused = figureForPlot("loss", { ...ctx, focus: ["b"] })[0]!.figure;
    expect(new Set(focused.data.map((t) => t.name))).toEqual(new Set(["b"]));
  });

  test("every figure has a title, axis titles, JSON-safe data and one colour per run", () => {
    const palette = makePalette(["a", "b"]);
    const figs: Figure[] = [
      lossCurves(lossSeries(RUNS), { palette }), evalCurves(evalSeries(RUNS, "loss"), "loss", { palette }),
      paramBars(RESULTS, { palette }), timeBars(RESULTS, { palette }), memoryBars(RESULTS, { palette }),
      importanceHeatmap(IMPORTANCE, undefined, { prunes: PRUNES }), pruneTimeline(PRUNES), maskHeatmap(MASKS), prunedStructure(LIGHT),
    ];
    for (const f of figs) {
      expect(f.layout.title.text.length).toBeGreaterThan(0);
      expect(JSON.parse(JSON.stringify(f))).toEqual(JSON.parse(JSON.stringify(f)));
      expect(f.data.length).toBeGreaterThan(0);
      const yTitle = f.layout.yaxis?.title?.text ?? "";
      expect(yTitle.length).toBeGreaterThan(0);
    }
    const colourOf = (f: Figure, run: string) => (f.data.find((t) => t.name === run && role(t) === "mean")!.line as { color: string }).color;
    expect(colourOf(figs[0]!, "b")).toBe(colourOf(figs[1]!, "b"));
    expect(colourOf(figs[0]!, "a")).not.toBe(colourOf(figs[0]!, "b"));
    expect((timeBars(RESULTS, { palette }).data[0]!.marker as { color: string[] }).color).toEqual([palette("a"), palette("b")]);
  });

  test("user text is escaped for Plotly's label markup", () => {
    const fig = lossCurves([{ run: EVIL, seed: 0, points: [{ step: 1, loss: 1 }] }]);
    expect(fig.data[0]!.name).toBe("&lt;img src=x onerror=alert(1)&gt;");
    expect(JSON.stringify(fig)).not.toContain("<img");
  });
});
