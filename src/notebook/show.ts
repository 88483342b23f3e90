// show(figure) and friends: figures, html, tables and summaries as cell outputs.
// Figures come from src/viz's builders (the report uses the same ones); only the rendering differs.

import type { PlotName } from "../dsl/plan.js";
import type { RunResult } from "../results/events.js";
import type { Summary } from "../results/summary.js";
import type { Figure } from "../viz/figure.js";
import { atChosenLr, figureForPlot, type PlotFigure } from "../viz/figures.js";
import { escapeHtml } from "../viz/html.js";
import type { FigureHandle, NotebookSink } from "../viz/notebook.js";
import { makePalette } from "../viz/palette.js";
import type { RunData } from "../results/run-data.js";
import type { DisplayChannel } from "./channel.js";
import { ensurePlotly, figureData } from "./plotly.js";
import { channel, display, Output } from "./session.js";
import { summaryHtml, summaryText } from "./summary-view.js";

/** Anything show() draws: a figure, a keyed figure (figureForPlot), or a list of them. */
export type Showable = Figure | PlotFigure | readonly (Figure | PlotFigure)[];

function figuresIn(x: Showable): Figure[] {
  const list = Array.isArray(x) ? (x as readonly (Figure | PlotFigure)[]) : [x as Figure | PlotFigure];
  return list.map((f) => ("figure" in f ? f.figure : f));
}

/** Shows figures, each as one output with Plotly JSON and its html fallback. */
export function show(x: Showable, target: DisplayChannel = channel()): void {
  const figs = figuresIn(x);
  if (figs.length > 0) ensurePlotly(target);
  for (const f of figs) display(figureData(f), target);
}

/** Shows html (with a plain-text alternative for text-only frontends). */
export function showHtml(html: string, text = html.replace(/<[^>]*>/g, ""), target: DisplayChannel = channel()): void {
  display({ "text/html": html, "text/plain": text }, target);
}

/** Shows text in a <pre> (keeps alignment; escapes html). */
export function showText(text: string, target: DisplayChannel = channel()): void {
  display({ "text/html": `<pre style="margin:4px 0">${escapeHtml(text)}</pre>`, "text/plain": text }, target);
}

/** Shows summary.json: the statistics over seeds and the paired comparisons. */
export function showSummary(summary: Summary, target: DisplayChannel = channel()): void {
  display({ "text/html": summaryHtml(summary), "text/plain": summaryText(summary) }, target);
}

/** What figuresFor draws from: a run's events and results (a NotebookRun has these fields). */
export interface FigureSource {
  runs: readonly RunData[];
  results: readonly RunResult[];
  summary: Summary;
}

/**
 * The figures of the given plot names over a finished run (only each run's chosen learning
 * rate), optionally for some runs only — the same builders the HTML report uses.
 */
export function figuresFor(source: FigureSource, names: readonly PlotName[], focus?: readonly string[]): PlotFigure[] {
  const runs = atChosenLr(source.runs, source.summary);
  const palette = makePalette(source.summary.runs.map((r) => r.run));
  const chosen = new Set(runs.map((d) => `${d.run}\u0000${d.seed}\u0000${d.lr}`));
  const results = source.results.filter((r) => chosen.has(`${r.run}\u0000${r.seed}\u0000${r.lr}`));
  return names.flatMap((name) => figureForPlot(name, { runs, results, palette, ...(focus ? { focus } : {}) }));
}

/** A NotebookSink (src/viz/notebook.ts) whose figures are bundle outputs updated in place. */
export function bundleSink(target: DisplayChannel = channel()): NotebookSink {
  return {
    show(fig: Figure): FigureHandle {
      ensurePlotly(target);
      const out = new Output(target);
      out.set(figureData(fig));
      return { update: (f) => out.set(figureData(f)), flush: () => undefined, close: () => undefined };
    },
  };
}
