// Every figure builder, and the mapping from a plan's plot names to builders.
// Builders are pure functions of the data so far, so a notebook can rebuild a figure after each
// event and update it in place.

import type { PlotName } from "../dsl/plan.js";
import type { RunResult } from "../results/events.js";
import type { Summary } from "../results/summary.js";
import { memoryBars, paramBars, timeBars } from "./bars.js";
import { importanceHeatmap, pruneTimeline } from "./beam.js";
import { evalCurves, lossCurves } from "./curves.js";
import type { Figure } from "./figure.js";
import { plotlyText } from "./figure.js";
import { maskHeatmap, prunedStructure } from "./lightpeft.js";
import { makePalette, type Palette } from "./palette.js";
import {
  beamImportance, beamPrunes, evalMetrics, evalSeries, lightPrunes, lossSeries, maskEvents, runNames,
} from "./rundata.js";
import type { RunData } from "../results/run-data.js";

export { comparisonBars, memoryBars, metricLabel, paramBars, timeBars, type BarOptions } from "./bars.js";
export { importanceHeatmap, pruneTimeline, rankLabel, type ImportanceOptions } from "./beam.js";
export { curveFigure, evalCurves, lossCurves, type CurveOptions } from "./curves.js";
export { PLOT_CONFIG, plotlyText, type Figure, type Layout, type Trace } from "./figure.js";
export { maskHeatmap, prunedStructure } from "./lightpeft.js";
export { makePalette, RUN_COLOURS, type Palette } from "./palette.js";

/** What figureForPlot draws from. */
export interface PlotContext {
  /** Run × seed data so far (for curves, importance and masks). Pass only each run's chosen lr. */
  runs: readonly RunData[];
  /** Results for the bar charts; default: the `result` of every entry of `runs`. */
  results?: readonly RunResult[];
  /** Only these runs, in this order (e.g. a compare's runs). */
  focus?: readonly string[];
  palette?: Palette;
  /** EMA weight for the loss curves (0 = raw). */
  smoothing?: number;
}

/** A figure plus a stable key (for updating it in place) and the seed it shows, if one. */
export interface PlotFigure {
  key: string;
  figure: Figure;
}

/** Keeps the entries of `ctx.runs` whose run is in focus, in focus order. */
function focused(ctx: PlotContext): RunData[] {
  if (!ctx.focus) return [...ctx.runs];
  return ctx.focus.flatMap((run) => ctx.runs.filter((d) => d.run === run));
}

/** One representative seed per run among those that have `has`: the lowest seed. */
function representative(runs: readonly RunData[], has: (d: RunData) => boolean): RunData[] {
  return runNames(runs).flatMap((run) => {
    const withData = runs.filter((d) => d.run === run && has(d)).sort((a, b) => a.seed - b.seed);
    return withData.length > 0 ? [withData[0]!] : [];
  });
}

function beamFigures(runs: readonly RunData[]): PlotFigure[] {
  return representative(runs, (d) => beamImportance(d).length > 0 || beamPrunes(d).length > 0).flatMap((d) => {
    const who = `${plotlyText(d.run)}, seed ${d.seed}`;
    const out: PlotFigure[] = [];
    const imp = beamImportance(d);
    if (imp.length > 0) out.push({ key: `importance:${d.run}`, figure: importanceHeatmap(imp, undefined, { prunes: beamPrunes(d), title: `BeamLoRA rank importance — ${who}` }) });
    if (beamPrunes(d).length > 0) out.push({ key: `prunes:${d.run}`, figure: pruneTimeline(beamPrunes(d), { title: `BeamLoRA prune / expand timeline — ${who}` }) });
    return out;
  });
}

function maskFigures(runs: readonly RunData[]): PlotFigure[] {
  return representative(runs, (d) => maskEvents(d).length > 0 || lightPrunes(d).length > 0).flatMap((d) => {
    const who = `${plotlyText(d.run)}, seed ${d.seed}`;
    const out: PlotFigure[] = [];
    const prune = lightPrunes(d).at(-1);
    if (maskEvents(d).length > 0) out.push({ key: `masks:${d.run}`, figure: maskHeatmap(maskEvents(d), { title: `Light-PEFT masks during estimation — ${who}`, prune }) });
    if (prune) out.push({ key: `structure:${d.run}`, figure: prunedStructure(prune, { title: `Light-PEFT pruned structure at step ${prune.step} — ${who}` }) });
    return out;
  });
}

/**
 * The figures a plan's `plots: [...]` name asks for. Curves and bars give one figure; `eval` one per
 * validation metric; `importance` and `masks` two per run that has such events (lowest seed shown).
 * Returns [] when there is nothing to draw yet.
 */
export function figureForPlot(name: PlotName, ctx: PlotContext): PlotFigure[] {
  const runs = focused(ctx);
  const palette = ctx.palette ?? makePalette(runNames(runs));
  const results = ctx.results ? ctx.results.filter((r) => !ctx.focus || ctx.focus.includes(r.run)) : runs.flatMap((d) => (d.result ? [d.result] : []));
  const bars = { palette, ...(ctx.focus ? { runs: ctx.focus } : {}) };
  switch (name) {
    case "loss":
      return runs.some((d) => d.steps.length > 0) ? [{ key: "loss", figure: lossCurves(lossSeries(runs), { palette, smoothing: ctx.smoothing ?? 0 }) }] : [];
    case "eval":
      return evalMetrics(runs).map((m) => ({ key: `eval:${m}`, figure: evalCurves(evalSeries(runs, m), m, { palette }) }));
    case "importance":
      return beamFigures(runs);
    case "masks":
      return maskFigures(runs);
    case "params":
      return results.length > 0 ? [{ key: "params", figure: paramBars(results, bars) }] : [];
    case "time":
      return results.length > 0 ? [{ key: "time", figure: timeBars(results, bars) }] : [];
    case "memory":
      return results.length > 0 ? [{ key: "memory", figure: memoryBars(results, bars) }] : [];
  }
}

/** The entries of `runs` at their run's chosen learning rate (entries of runs the summary lacks are kept). */
export function atChosenLr(runs: readonly RunData[], summary: Summary): RunData[] {
  const chosen = new Map(summary.runs.map((r) => [r.run, r.lr]));
  return runs.filter((d) => !chosen.has(d.run) || chosen.get(d.run) === null || chosen.get(d.run) === d.lr);
}
