// The HTML report: ONE self-contained file (plotly.js inlined, no external fonts or scripts).
// Every piece of user text (run names, module names, sources, problems) is escaped.

import type { RunResult } from "../results/events.js";
import { chosenResults, type LrChoice } from "../results/learning-rate.js";
import type { Summary } from "../results/summary.js";
import { comparisonBars } from "./bars.js";
import { PLOT_CONFIG, type Figure } from "./figure.js";
import { atChosenLr, figureForPlot, type PlotContext } from "./figures.js";
import { escapeHtml as e, jsonForScript } from "./html.js";
import { makePalette, type Palette } from "./palette.js";
import { plotlyLibraryHtml } from "./display.js";
import { reproSection } from "./report-repro.js";
import { REPORT_CSS } from "./report-style.js";
import { comparisonBlock, lrTable, predictionsSection, runTables, warningsBox } from "./report-tables.js";
import type { ReportInput } from "../results/run-folder.js";


export interface ReportOptions {
  /** Page title (default: "peftlab report — <source path>"). */
  title?: string;
  /** Timestamp printed in the header (default: now). Fixed in tests for stable output. */
  generatedAt?: Date;
}

interface Section {
  id: string;
  title: string;
  body: string;
}

/** Collects figures as they are placed, so one script can draw them all at the end. */
class FigureSet {
  readonly specs: { id: string; data: unknown; layout: unknown; config: unknown }[] = [];

  place(fig: Figure, caption = ""): string {
    const id = `fig-${this.specs.length + 1}`;
    this.specs.push({ id, data: fig.data, layout: fig.layout, config: { ...PLOT_CONFIG, ...fig.config } });
    const height = typeof fig.layout.height === "number" ? fig.layout.height : 380;
    return `<figure class="figure"><div id="${id}" class="peftlab-plot" style="min-height:${height}px"></div>` +
      (caption ? `<figcaption class="caption">${caption}</figcaption>` : "") + `</figure>`;
  }
}

function choicesOf(summary: Summary): Record<string, LrChoice> {
  const out: Record<string, LrChoice> = {};
  for (const r of summary.runs) if (r.lrChoice) out[r.run] = r.lrChoice;
  return out;
}

function overview(input: ReportInput, results: RunResult[]): string {
  const failed = input.runs.filter((d) => d.result?.status !== "finished").length;
  const stat = (value: string | number, label: string) => `<div class="stat"><b>${e(String(value))}</b><span>${e(label)}</span></div>`;
  const problems = [...input.problems, ...input.runs.flatMap((d) => d.problems.map((p) => `${d.path ?? `${d.run}/${d.seed}`}: ${p}`))];
  return `<div class="stats">${stat(input.summary.runs.length, "runs")}${stat(input.runs.length, "run folders")}` +
    `${stat(results.filter((r) => r.status === "finished").length, "finished")}${stat(failed, "failed or incomplete")}` +
    `${stat(input.summary.comparisons.length, "comparisons")}</div>` +
    (problems.length
      ? `<div class="problems"><h3>Problems found (${problems.length})</h3><ul>${problems.map((p) => `<li>${e(p)}</li>`).join("")}</ul>` +
        `<p class="small muted">Failed or incomplete seeds are left out of every statistic below.</p></div>`
      : "");
}

function comparisonsSection(summary: Summary, palette: Palette): string {
  const blocks = summary.comparisons.map((c) => comparisonBlock(c, summary, palette)).join("\n");
  return blocks || `<p class="muted">The plan declares no <code>compare</code>; no paired differences.</p>`;
}

function comparedMetricKeys(summary: Summary): string[] {
  const fromCompares = summary.comparisons.flatMap((c) => c.pairs.map((p) => p.key).filter((k): k is string => k !== null));
  if (fromCompares.length) return [...new Set(fromCompares)];
  return [...new Set(summary.runs.flatMap((r) => Object.keys(r.metrics)).filter((k) => k.startsWith("test_")))];
}

function sections(input: ReportInput, figs: FigureSet, palette: Palette, results: RunResult[]): Section[] {
  const chosen = atChosenLr(input.runs, input.summary);
  const ctx: PlotContext = { runs: chosen, results, palette };
  const place = (name: Parameters<typeof figureForPlot>[0], caption: string) =>
    figureForPlot(name, ctx).map((f) => figs.place(f.figure, caption)).join("\n");
  const out: Section[] = [
    { id: "results", title: "Results", body: warningsBox(input.summary) + runTables(input.summary, palette) + `<h3>Learning-rate choice</h3>` + lrTable(input.summary, palette) },
    { id: "comparisons", title: "Comparisons", body: comparisonsSection(input.summary, palette) },
    { id: "predictions", title: "Predictions", body: predictionsSection(chosen, palette) },
    {
      id: "curves", title: "Training curves",
      body: (place("loss", "Mean over seeds at each run's chosen learning rate; the shaded band is ±1 std over seeds.") || `<p class="muted">No step events were recorded.</p>`) +
        (place("eval", "Validation metric at each evaluation; band ±1 std over seeds.") || `<p class="muted">No validation events were recorded.</p>`),
    },
  ];
  const bars = comparedMetricKeys(input.summary).map((k) => figs.place(comparisonBars(input.summary, k, { palette }))).join("\n");
  if (bars) out.push({ id: "metric-bars", title: "Compared metrics", body: `<div class="grid2">${bars}</div>` });
  const beam = place("importance", "One representative seed (the lowest) per BeamLoRA run. × = pruned rank, ▲ = the rank it was re-seeded from.");
  if (beam) out.push({ id: "beamlora", title: "BeamLoRA", body: beam });
  const masks = place("masks", "One representative seed (the lowest) per Light-PEFT run.");
  if (masks) out.push({ id: "lightpeft", title: "Light-PEFT", body: masks });
  const cost = (["params", "time", "memory"] as const).map((p) => place(p, "")).join("\n");
  out.push({ id: "cost", title: "Parameters, time and memory", body: cost ? `<p class="muted small">Finished seeds at each run's chosen learning rate.</p><div class="grid2">${cost}</div>` : `<p class="muted">No finished run to measure.</p>` });
  out.push({ id: "reproducibility", title: "Reproducibility", body: reproSection(input, palette) });
  return out;
}

/** Renders the complete, self-contained report page. */
export function renderReport(input: ReportInput, opts: ReportOptions = {}): string {
  const palette = makePalette(input.summary.runs.map((r) => r.run));
  const allResults = input.runs.flatMap((d) => (d.result ? [d.result] : []));
  const results = chosenResults(allResults, choicesOf(input.summary));
  const figs = new FigureSet();
  const secs = sections(input, figs, palette, results);
  const title = opts.title ?? `peftlab report — ${input.plan?.source.path ?? input.dir}`;
  const when = (opts.generatedAt ?? new Date()).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  const toc = secs.map((s) => `<li><a href="#${s.id}">${e(s.title)}</a></li>`).join("");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="peftlab">
<title>${e(title)}</title>
<style>${REPORT_CSS}</style>
${plotlyLibraryHtml()}
</head>
<body>
<main>
<header class="top"><h1>${e(title)}</h1><p class="muted small">Generated ${e(when)} from <span class="mono">${e(input.dir)}</span></p>
${overview(input, allResults)}</header>
<nav class="toc" aria-label="Contents"><b>Contents</b><ol>${toc}</ol></nav>
${secs.map((s) => `<section id="${s.id}"><h2>${e(s.title)}</h2>\n${s.body}\n</section>`).join("\n")}
<footer>peftlab · figures drawn with plotly.js (inlined, works offline)</footer>
</main>
<script type="application/json" id="peftlab-figures">${jsonForScript(figs.specs)}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById("peftlab-figures").textContent);
  specs.forEach(function (s) {
    var el = document.getElementById(s.id);
    try { window.Plotly.newPlot(el, s.data, s.layout, s.config); }
    catch (err) { el.textContent = "This figure could not be drawn: " + err.message; console.error(err); }
  });
})();
</script>
</body>
</html>
`;
}
