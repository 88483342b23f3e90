// Loss and evaluation curves: one mean line per run with a shaded band over seeds.

import { aggregate, type Band } from "./bands.js";
import { baseLayout, plotlyText, type Figure, type Trace } from "./figure.js";
import { makePalette, withAlpha, type Palette } from "./palette.js";
import { runNames, type LossSeries, type SeedSeries } from "./rundata.js";

export interface CurveOptions {
  /** EMA weight in [0, 1) applied to each seed before aggregating; 0 (default) = raw. */
  smoothing?: number;
  /** Band drawn around the mean: ±1 std (default), min–max over seeds, or none. */
  band?: "std" | "minmax" | "none";
  /** Colours per run; default: runs in first-seen order. */
  palette?: Palette;
  /** Replaces the default title. */
  title?: string;
  /** Logarithmic y axis. */
  logY?: boolean;
}

function bandEdges(b: Band, kind: "std" | "minmax"): [number[], number[]] {
  if (kind === "minmax") return [b.max, b.min];
  return [b.mean.map((m, i) => m + b.std[i]!), b.mean.map((m, i) => m - b.std[i]!)];
}

function runTraces(run: string, band: Band, colour: string, kind: CurveOptions["band"], yLabel: string): Trace[] {
  const name = plotlyText(run);
  const traces: Trace[] = [];
  if (kind !== "none" && band.n.some((n) => n > 1)) {
    const [upper, lower] = bandEdges(band, kind ?? "std");
    traces.push({
      type: "scatter", mode: "lines", name, legendgroup: name, showlegend: false, hoverinfo: "skip",
      x: [...band.steps, ...[...band.steps].reverse()], y: [...upper, ...[...lower].reverse()],
      fill: "toself", fillcolor: withAlpha(colour, 0.18), line: { width: 0, color: colour },
      meta: { role: "band" },
    });
  }
  traces.push({
    type: "scatter", mode: band.steps.length > 1 ? "lines" : "markers", name, legendgroup: name,
    x: band.steps, y: band.mean, line: { color: colour, width: 2 }, marker: { color: colour, size: 7 },
    customdata: band.steps.map((_, i) => [band.n[i], band.std[i], band.min[i], band.max[i]]),
    hovertemplate: `<b>%{fullData.name}</b><br>step %{x}<br>${yLabel}: %{y:.4g} ± %{customdata[1]:.2g}` +
      `<br>min–max %{customdata[2]:.4g} – %{customdata[3]:.4g}<br>%{customdata[0]} seed(s)<extra></extra>`,
    meta: { role: "mean" },
  });
  return traces;
}

function bandNote(opts: CurveOptions): string {
  const band = opts.band === "none" ? "" : opts.band === "minmax" ? "band: min–max over seeds" : "band: ±1 std over seeds";
  const smooth = opts.smoothing ? `EMA ${opts.smoothing}` : "";
  return [band, smooth].filter(Boolean).join(", ");
}

/** Mean curve per run with a band over seeds; x = optimiser step. */
export function curveFigure(series: readonly SeedSeries[], yLabel: string, title: string, opts: CurveOptions = {}): Figure {
  const palette = opts.palette ?? makePalette(runNames(series));
  const data = runNames(series).flatMap((run) =>
    runTraces(run, aggregate(series.filter((s) => s.run === run), opts.smoothing ?? 0), palette(run), opts.band, yLabel),
  );
  const note = bandNote(opts);
  const layout = baseLayout(opts.title ?? title, "optimiser step", yLabel, note ? { subtitle: `mean over seeds; ${note}` } : {});
  if (opts.logY) (layout.yaxis as Record<string, unknown>).type = "log";
  return { data, layout };
}

/** Training loss vs step: per run, the mean over seeds with a ±std (or min–max) band. */
export function lossCurves(series: readonly LossSeries[], opts: CurveOptions = {}): Figure {
  const generic = series.map((s) => ({ run: s.run, seed: s.seed, points: s.points.map((p) => ({ step: p.step, value: p.loss })) }));
  return curveFigure(generic, "training loss (nats/token)", "Training loss", opts);
}

const METRIC_AXIS: Record<string, string> = {
  accuracy: "accuracy (fraction correct)",
  exact_match: "exact match (fraction)",
  loss: "loss (nats/token)",
};

/** A validation (or test) metric vs step: mean over seeds per run with a band. `metric` is bare: "accuracy". */
export function evalCurves(series: readonly SeedSeries[], metric: string, opts: CurveOptions & { split?: string } = {}): Figure {
  const split = opts.split ?? "validation";
  const label = METRIC_AXIS[metric] ?? metric;
  const title = `${split[0]!.toUpperCase()}${split.slice(1)} ${metric.replace(/_/g, " ")}`;
  return curveFigure(series, `${split} ${label}`, plotlyText(title), opts);
}
