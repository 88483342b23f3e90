// Bar charts of per-run statistics: compared metrics, parameter counts, step time, memory.
// Bars show the mean over seeds; error bars the 95 % confidence interval of summary.ts (Student t on
// the logit scale for fractions, on the log scale for positive quantities).

import type { MetricName } from "../dsl/plan.js";
import type { RunResult } from "../results/events.js";
import { metricKey, METRICS } from "../results/metrics.js";
import { describe, type Described } from "../results/statistics.js";
import type { Summary } from "../results/summary.js";
import { axis, baseLayout, plotlyText, type Figure, type Trace } from "./figure.js";
import { makePalette, withAlpha, type Palette } from "./palette.js";
import { runNames } from "./rundata.js";

export interface BarOptions {
  palette?: Palette;
  /** Only these runs, in this order (default: all, in summary/result order). */
  runs?: readonly string[];
  title?: string;
}

const SUBTITLE = "mean over seeds; error bars: 95% CI kept in the metric's range";
const BAR_LAYOUT = { height: 340, showlegend: false, bargap: 0.45 };

interface BarPoint {
  run: string;
  stats: Described;
}

/** Error bar from a CI (none when n = 1), clamped at `floor` (for log axes). */
function errorBars(points: BarPoint[], floor = -Infinity): Record<string, unknown> {
  return {
    type: "data", symmetric: false, visible: true, color: "#374151", thickness: 1.5, width: 6,
    // Intervals on the logit or log scale are asymmetric and centred on that scale: clamp at 0.
    array: points.map((p) => (p.stats.ci95 ? Math.max(0, p.stats.ci95[1] - p.stats.mean) : 0)),
    arrayminus: points.map((p) => (p.stats.ci95 ? Math.max(0, p.stats.mean - Math.max(p.stats.ci95[0], floor)) : 0)),
  };
}

function barTrace(points: BarPoint[], name: string, colours: string[], unit: string, extra: Record<string, unknown> = {}): Trace {
  return {
    type: "bar", name, x: points.map((p) => plotlyText(p.run)), y: points.map((p) => p.stats.mean),
    marker: { color: colours, line: { color: colours.map(() => "#1f2937"), width: 0.5 } },
    error_y: errorBars(points),
    customdata: points.map((p) => [p.stats.n, p.stats.ci95?.[0] ?? null, p.stats.ci95?.[1] ?? null, p.stats.std]),
    hovertemplate: `<b>%{x}</b><br>${name}: %{y:.4~g} ${unit}<br>95% CI: [%{customdata[1]:.4~g}, %{customdata[2]:.4~g}]` +
      `<br>std %{customdata[3]:.3~g} · %{customdata[0]} seed(s)<extra></extra>`,
    ...extra,
  };
}

function pickRuns<T extends { run: string }>(items: T[], runs?: readonly string[]): T[] {
  if (!runs) return items;
  return runs.flatMap((r) => items.filter((i) => i.run === r));
}

/** Human label and axis title of a summary key (test_accuracy, step_time, …). */
export function metricLabel(key: string): { title: string; axis: string; unit: string } {
  const m = /^(validation|test)_(.+)$/.exec(key);
  const bare = (m ? m[2] : key) as MetricName;
  const info = METRICS[bare] ?? { label: bare.replace(/_/g, " "), unit: "" };
  const split = m ? `${m[1]} ` : "";
  const title = `${split}${info.label}`;
  return { title: title[0]!.toUpperCase() + title.slice(1), axis: info.unit ? `${title} (${info.unit})` : title, unit: info.unit };
}

/**
 * One bar per run: the mean of `metric` over seeds at the chosen lr, error bars = 95 % CI.
 * `metric` is a summary key (test_accuracy) or a compare metric name (accuracy → test_ or validation_).
 */
export function comparisonBars(summary: Summary, metric: string, opts: BarOptions = {}): Figure {
  const keys = new Set(summary.runs.flatMap((r) => Object.keys(r.metrics)));
  const key = metric in METRICS ? metricKey(metric as MetricName, keys) ?? metric : metric;
  const label = metricLabel(key);
  const palette = opts.palette ?? makePalette(summary.runs.map((r) => r.run));
  const all = summary.runs.flatMap((r) => (r.metrics[key] ? [{ run: r.run, stats: r.metrics[key]! }] : []));
  const points = pickRuns(all, opts.runs);
  const missing = (opts.runs ?? summary.runs.map((r) => r.run)).filter((r) => !points.some((p) => p.run === r));
  const layout = baseLayout(opts.title ?? label.title, "run", label.axis, { ...BAR_LAYOUT, subtitle: SUBTITLE });
  if (missing.length > 0) {
    layout.annotations = [{ text: `no data: ${missing.map(plotlyText).join(", ")}`, xref: "paper", yref: "paper", x: 1, y: 1.08, showarrow: false, font: { color: "#b91c1c" } }];
  }
  return { data: [barTrace(points, label.title, points.map((p) => palette(p.run)), label.unit)], layout };
}

/** Statistics of one numeric field per run over finished, finite results. */
function perRun(results: readonly RunResult[], field: (r: RunResult) => number, runs?: readonly string[]): BarPoint[] {
  const done = results.filter((r) => r.status === "finished");
  const points = runNames(done).flatMap((run) => {
    const values = done.filter((r) => r.run === run).map(field).filter(Number.isFinite);
    return values.length > 0 ? [{ run, stats: describe(values, { scale: "positive" }) }] : [];
  });
  return pickRuns(points, runs);
}

function paletteFor(results: readonly RunResult[], opts: BarOptions): Palette {
  return opts.palette ?? makePalette(runNames(results));
}

/** Foundation (frozen) vs trainable parameters per run, log scale. */
export function paramBars(results: readonly RunResult[], opts: BarOptions = {}): Figure {
  const palette = paletteFor(results, opts);
  const foundation = perRun(results, (r) => r.params.foundation, opts.runs);
  const trainable = perRun(results, (r) => r.params.trainable, opts.runs);
  const data = [
    barTrace(foundation, "foundation (frozen)", foundation.map((p) => withAlpha(palette(p.run), 0.35)), "params",
      { marker: { color: foundation.map((p) => withAlpha(palette(p.run), 0.35)), pattern: { shape: "/", fgcolor: "#6b7280", size: 6 } } }),
    barTrace(trainable, "trainable", trainable.map((p) => palette(p.run)), "params"),
  ];
  // On a log axis an error bar may not reach 0 or below: clamp its lower end at 1 parameter.
  for (const [t, pts] of [[data[0]!, foundation], [data[1]!, trainable]] as const) t.error_y = errorBars(pts, 1);
  const layout = baseLayout(opts.title ?? "Parameters", "run", "parameters (count, log scale)", {
    ...BAR_LAYOUT, showlegend: true, barmode: "group", bargap: 0.3, subtitle: "foundation (frozen, hatched) vs trainable; mean over seeds",
    yaxis: axis("parameters (count, log scale)", { type: "log", dtick: 1, tickformat: "~s" }),
  });
  return { data, layout };
}

/** Mean milliseconds per optimiser step per run (95 % CI over seeds). */
export function timeBars(results: readonly RunResult[], opts: BarOptions = {}): Figure {
  const palette = paletteFor(results, opts);
  const points = perRun(results, (r) => r.stepMs, opts.runs);
  const layout = baseLayout(opts.title ?? "Step time", "run", "time per optimiser step (ms)", { ...BAR_LAYOUT, subtitle: SUBTITLE });
  return { data: [barTrace(points, "step time", points.map((p) => palette(p.run)), "ms")], layout };
}

/** Peak tensor memory per run in MiB (95 % CI over seeds). */
export function memoryBars(results: readonly RunResult[], opts: BarOptions = {}): Figure {
  const palette = paletteFor(results, opts);
  const points = perRun(results, (r) => r.peakBytes / 2 ** 20, opts.runs);
  const layout = baseLayout(opts.title ?? "Peak tensor memory", "run", "peak tensor memory (MiB)", { ...BAR_LAYOUT, subtitle: SUBTITLE });
  return { data: [barTrace(points, "peak memory", points.map((p) => palette(p.run)), "MiB")], layout };
}
