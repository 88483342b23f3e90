// Light-PEFT figures: the estimated masks and the structure left after early pruning.

import type { LightPruneEvent, MaskEvent } from "../results/events.js";
import { axis, baseLayout, plotlyText, type Figure, type Trace } from "./figure.js";
import { fmtCount } from "./format.js";
import { HEAT_SCALE, KEPT, REMOVED } from "./palette.js";

/** Colour of layer i of n, light → dark along the heat scale's blues. */
function layerColour(i: number, n: number): string {
  const t = n <= 1 ? 1 : i / (n - 1);
  const from = [107, 174, 214];
  const to = [8, 48, 107];
  const c = from.map((f, k) => Math.round(f + (to[k]! - f) * t));
  return `rgb(${c.join(",")})`;
}

function panelTitle(text: string, x: number, y: number): Record<string, unknown> {
  return { text: `<b>${text}</b>`, xref: "paper", yref: "paper", x, y, xanchor: "left", yanchor: "bottom", showarrow: false, font: { size: 13 } };
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/**
 * Left: head masks heads[layer][head] at the last estimation step. Right, when the pruning step is
 * known (`opts.prune`): the fraction of heads and of FFN neurons each layer kept there — what the
 * masks decided. Without it: per layer, the mean head mask (solid) and the mean neuron mask
 * (dotted) at every estimation step.
 */
export function maskHeatmap(events: readonly MaskEvent[], opts: { title?: string; prune?: LightPruneEvent } = {}): Figure {
  if (events.length === 0) throw new RangeError("maskHeatmap: no lightpeft.masks events to draw");
  const sorted = [...events].sort((a, b) => a.step - b.step);
  const last = sorted[sorted.length - 1]!;
  const layers = last.heads.map((_, i) => `layer ${i}`);
  const heads = Math.max(0, ...last.heads.map((h) => h.length));
  const data: Trace[] = [{
    type: "heatmap", name: "head mask", x: Array.from({ length: heads }, (_, i) => i), y: layers, z: last.heads,
    colorscale: HEAT_SCALE, zmin: 0, zmax: Math.max(1, ...last.heads.flat()), xaxis: "x", yaxis: "y",
    colorbar: { title: { text: "mask" }, thickness: 12, x: 0.4, xanchor: "left", len: 0.9 },
    hovertemplate: "%{y}, head %{x}<br>mask %{z:.3f}<extra></extra>",
  }];
  const steps = sorted.map((e) => e.step);
  if (opts.prune) data.push(...keptFractions(opts.prune));
  else sorted[0]!.heads.forEach((_, layer) => {
    const colour = layerColour(layer, layers.length);
    data.push({
      type: "scatter", mode: "lines", name: `layer ${layer} heads`, legendgroup: `L${layer}`, x: steps, y: sorted.map((e) => mean(e.heads[layer] ?? [])),
      xaxis: "x2", yaxis: "y2", line: { color: colour, width: 2 }, hovertemplate: `layer ${layer}<br>step %{x}<br>mean head mask %{y:.3f}<extra></extra>`,
    });
    if (sorted.some((e) => e.neurons[layer])) {
      data.push({
        type: "scatter", mode: "lines", name: `layer ${layer} neurons`, legendgroup: `L${layer}`, showlegend: layer === 0, x: steps,
        y: sorted.map((e) => e.neurons[layer]?.mean ?? null), xaxis: "x2", yaxis: "y2", line: { color: colour, width: 1.5, dash: "dot" },
        hovertemplate: `layer ${layer}<br>step %{x}<br>mean neuron mask %{y:.3f}<extra></extra>`,
      });
    }
  });
  const layout = baseLayout(opts.title ?? "Light-PEFT masks during estimation", "attention head", "layer", {
    height: Math.max(400, 180 + layers.length * 34),
    showlegend: true,
    xaxis: axis("attention head (index)", { domain: [0, 0.38], dtick: 1, showgrid: false }),
    yaxis: axis("layer", { autorange: "reversed", showgrid: false }),
    xaxis2: opts.prune ? axis("layer", { domain: [0.54, 0.84], anchor: "y2" }) : axis("optimiser step", { domain: [0.54, 0.84], anchor: "y2" }),
    yaxis2: opts.prune ? axis("kept (fraction)", { anchor: "x2", range: [0, 1.05], tickformat: ".0%" }) : axis("mean mask value", { anchor: "x2", rangemode: "tozero" }),
    ...(opts.prune ? { barmode: "group" } : {}),
    legend: { orientation: "v", x: 0.86, xref: "paper", y: 1, yref: "paper", yanchor: "top", font: { size: 11 } },
    margin: { t: 84 },
    annotations: [
      panelTitle(`head masks at step ${last.step} (last estimation step)`, 0, 1.02),
      panelTitle(opts.prune ? `kept per layer at the pruning step (step ${opts.prune.step}): heads and FFN neurons` : "mean mask per layer: heads (solid), FFN neurons (dotted)", 0.54, 1.02),
    ],
  });
  return { data, layout };
}

function stacked(x: string[], kept: number[], removed: (number | null)[], axes: [string, string], unit: string, first: boolean): Trace[] {
  const common = { type: "bar" as const, x, xaxis: axes[0], yaxis: axes[1] };
  return [
    { ...common, name: "kept", legendgroup: "kept", showlegend: first, y: kept, marker: { color: KEPT }, hovertemplate: `%{x}<br>kept %{y} ${unit}<extra></extra>` },
    { ...common, name: "removed", legendgroup: "removed", showlegend: first, y: removed, marker: { color: REMOVED }, hovertemplate: `%{x}<br>removed %{y} ${unit}<extra></extra>` },
  ];
}

/** Per layer, the fraction of attention heads and of FFN neurons the pruning step kept (two bar traces). */
function keptFractions(prune: LightPruneEvent): Trace[] {
  const heads = [...prune.heads].sort((a, b) => a.layer - b.layer);
  const neurons = [...prune.neurons].sort((a, b) => a.layer - b.layer);
  const frac = (kept: number, removed: number) => (kept + removed > 0 ? kept / (kept + removed) : null);
  return [
    {
      type: "bar", name: "heads kept", x: heads.map((h) => `layer ${h.layer}`), y: heads.map((h) => frac(h.kept.length, h.removed.length)),
      customdata: heads.map((h) => [h.kept.length, h.kept.length + h.removed.length]), xaxis: "x2", yaxis: "y2", marker: { color: KEPT },
      hovertemplate: "%{x}: %{customdata[0]} of %{customdata[1]} heads kept (%{y:.0%})<extra></extra>",
    },
    {
      type: "bar", name: "FFN neurons kept", x: neurons.map((n) => `layer ${n.layer}`), y: neurons.map((n) => frac(n.kept, n.removed)),
      customdata: neurons.map((n) => [n.kept, n.kept + n.removed]), xaxis: "x2", yaxis: "y2", marker: { color: "#56B4E9" },
      hovertemplate: "%{x}: %{customdata[0]} of %{customdata[1]} neurons kept (%{y:.0%})<extra></extra>",
    },
  ];
}

/** Kept vs removed attention heads and FFN neurons per layer, and adapter ranks per module. */
export function prunedStructure(event: LightPruneEvent, opts: { title?: string } = {}): Figure {
  const heads = [...event.heads].sort((a, b) => a.layer - b.layer);
  const neurons = [...event.neurons].sort((a, b) => a.layer - b.layer);
  const modules = event.ranks.map((r) => plotlyText(r.module));
  const data = [
    ...stacked(heads.map((h) => `layer ${h.layer}`), heads.map((h) => h.kept.length), heads.map((h) => h.removed.length), ["x", "y"], "heads", true),
    ...stacked(neurons.map((n) => `layer ${n.layer}`), neurons.map((n) => n.kept), neurons.map((n) => n.removed), ["x2", "y2"], "neurons", false),
    ...stacked(modules, event.ranks.map((r) => r.kept.length), event.ranks.map((r) => r.before - r.kept.length), ["x3", "y3"], "ranks", false),
  ];
  const pct = (b: number, a: number) => (b > 0 ? ` (−${(((b - a) / b) * 100).toFixed(1)}%)` : "");
  const f = event.before.foundation;
  const t = event.before.trainable;
  const removedModules = event.modulesRemoved.length ? `modules removed: ${event.modulesRemoved.map(plotlyText).join(", ")}` : "no adapter module removed";
  const layout = baseLayout(opts.title ?? `Light-PEFT pruned structure at step ${event.step}`, "", "", {
    height: 780,
    barmode: "stack",
    bargap: 0.35,
    subtitle: `foundation ${fmtCount(f)} → ${fmtCount(event.after.foundation)}${pct(f, event.after.foundation)} · trainable ${fmtCount(t)} → ${fmtCount(event.after.trainable)}${pct(t, event.after.trainable)}`,
    xaxis: axis("", { anchor: "y" }),
    yaxis: axis("heads (count)", { domain: [0.76, 1] }),
    xaxis2: axis("", { anchor: "y2" }),
    yaxis2: axis("neurons (count)", { domain: [0.41, 0.65], anchor: "x2" }),
    xaxis3: axis("adapter module", { anchor: "y3", tickangle: modules.length > 6 ? -30 : 0 }),
    yaxis3: axis("ranks (count)", { domain: [0, 0.3], anchor: "x3" }),
    margin: { t: 118, b: 80 },
    annotations: [
      panelTitle("attention heads per layer", 0, 1.01),
      panelTitle("FFN neurons per layer", 0, 0.66),
      panelTitle(`adapter ranks per module — ${removedModules}`, 0, 0.31),
    ],
  });
  return { data, layout };
}
