// BeamLoRA figures: rank importance over time (with prune/expand markers) and the prune timeline.

import type { BeamImportanceEvent, BeamPruneEvent } from "../results/events.js";
import { axis, baseLayout, plotlyText, type Figure, type Trace } from "./figure.js";
import { EXPANDED, HEAT_SCALE, REMOVED } from "./palette.js";

export interface ImportanceOptions {
  /** Prune events to overlay: × on pruned slots, ▲ on the parents they were re-seeded from. */
  prunes?: readonly BeamPruneEvent[];
  /** Divide each module's scores by their maximum at that step (default true), so modules compare. */
  normalize?: boolean;
  title?: string;
}

/** Row label of one rank of one module. */
export function rankLabel(module: string, rank: number): string {
  return `${plotlyText(module)} · r${rank}`;
}

/** Modules in first-seen order with their rank counts (the largest seen). */
function moduleRanks(events: readonly BeamImportanceEvent[], module?: string): Map<string, number> {
  const ranks = new Map<string, number>();
  for (const e of events) {
    for (const m of e.modules) {
      if (module !== undefined && m.module !== module) continue;
      ranks.set(m.module, Math.max(ranks.get(m.module) ?? 0, m.scores.length));
    }
  }
  if (module !== undefined && ranks.size === 0) {
    const known = [...new Set(events.flatMap((e) => e.modules.map((m) => m.module)))];
    throw new RangeError(`importanceHeatmap: no module ${JSON.stringify(module)} in the importance events; known: ${known.join(", ") || "(none)"}`);
  }
  return ranks;
}

function cell(scores: number[] | undefined, rank: number, normalize: boolean): [number | null, number | null] {
  const raw = scores?.[rank];
  if (raw === undefined || !Number.isFinite(raw)) return [null, null];
  if (!normalize) return [raw, raw];
  const max = Math.max(...scores!.filter(Number.isFinite).map(Math.abs));
  return [max > 0 ? raw / max : 0, raw];
}

function pruneOverlay(prunes: readonly BeamPruneEvent[], ranks: Map<string, number>): Trace[] {
  const pruned = { x: [] as number[], y: [] as string[], text: [] as string[] };
  const parents = { x: [] as number[], y: [] as string[], text: [] as string[] };
  for (const p of prunes) {
    for (const m of p.modules) {
      if (!ranks.has(m.module)) continue;
      m.pruned.forEach((slot, i) => {
        const parent = m.parents[i];
        pruned.x.push(p.step);
        pruned.y.push(rankLabel(m.module, slot));
        pruned.text.push(`pruned r${slot}; re-seeded from r${parent ?? "?"} (p = ${p.p.toFixed(3)})`);
        if (parent !== undefined) {
          parents.x.push(p.step);
          parents.y.push(rankLabel(m.module, parent));
          parents.text.push(`expanded r${parent} into r${slot}`);
        }
      });
    }
  }
  const marker = (symbol: string, color: string) => ({ symbol, color, size: 9, line: { color: "#ffffff", width: 1 } });
  return [
    { type: "scatter", mode: "markers", name: "pruned rank", x: pruned.x, y: pruned.y, text: pruned.text, marker: marker("x", REMOVED), hovertemplate: "step %{x}<br>%{y}<br>%{text}<extra></extra>" },
    { type: "scatter", mode: "markers", name: "expanded (parent)", x: parents.x, y: parents.y, text: parents.text, marker: marker("triangle-up", EXPANDED), hovertemplate: "step %{x}<br>%{y}<br>%{text}<extra></extra>" },
  ];
}

/**
 * Rank-importance heatmap: x = step, y = module · rank, colour = score (relative to the module's
 * best rank at that step unless `normalize: false`). Restrict to one `module` if given.
 */
export function importanceHeatmap(events: readonly BeamImportanceEvent[], module?: string, opts: ImportanceOptions = {}): Figure {
  const normalize = opts.normalize ?? true;
  const ranks = moduleRanks(events, module);
  const sorted = [...events].sort((a, b) => a.step - b.step);
  const rows: string[] = [];
  const z: (number | null)[][] = [];
  const raw: (number | null)[][] = [];
  for (const [mod, r] of ranks) {
    for (let k = 0; k < r; k++) {
      rows.push(rankLabel(mod, k));
      const cells = sorted.map((e) => cell(e.modules.find((m) => m.module === mod)?.scores, k, normalize));
      z.push(cells.map((c) => c[0]));
      raw.push(cells.map((c) => c[1]));
    }
  }
  const criterion = sorted[0]?.criterion ?? "importance";
  const heat: Trace = {
    type: "heatmap", name: "importance", x: sorted.map((e) => e.step), y: rows, z, customdata: raw,
    colorscale: HEAT_SCALE, zmin: normalize ? 0 : undefined, zmax: normalize ? 1 : undefined,
    colorbar: { title: { text: normalize ? "relative<br>importance" : criterion }, thickness: 12 },
    hovertemplate: `step %{x}<br>%{y}<br>${plotlyText(criterion)} score %{customdata:.4g}` + (normalize ? "<br>relative %{z:.2f}" : "") + "<extra></extra>",
  };
  const data = [heat, ...(opts.prunes && opts.prunes.length > 0 ? pruneOverlay(opts.prunes, ranks) : [])];
  const rowPx = rows.length > 40 ? 11 : 22;
  const layout = baseLayout(opts.title ?? `BeamLoRA rank importance (${plotlyText(criterion)})`, "optimiser step", "module · rank", {
    height: Math.min(1800, 150 + rows.length * rowPx),
    yaxis: axis("module · rank", { type: "category", autorange: "reversed", categoryorder: "array", categoryarray: rows, tickfont: { size: rows.length > 40 ? 9 : 11 }, showgrid: false }),
    xaxis: axis("optimiser step", { showgrid: false }),
    shapes: (opts.prunes ?? []).map((p) => ({ type: "line", xref: "x", yref: "paper", x0: p.step, x1: p.step, y0: 0, y1: 1, line: { color: "#9ca3af", width: 1, dash: "dot" } })),
  });
  return { data, layout };
}

/** A bar width in steps: a third of the smallest gap between prune steps. */
function barWidth(steps: number[]): number {
  const gaps = steps.slice(1).map((s, i) => s - steps[i]!).filter((g) => g > 0);
  return gaps.length ? Math.min(...gaps) / 3 : Math.max(1, (steps[0] ?? 10) / 5);
}

/** p(t) at each prune step (left axis) and the number of ranks pruned there (bars, right axis). */
export function pruneTimeline(events: readonly BeamPruneEvent[], opts: { title?: string } = {}): Figure {
  const sorted = [...events].sort((a, b) => a.step - b.step);
  const steps = sorted.map((e) => e.step);
  const data: Trace[] = [
    { type: "bar", name: "ranks pruned (all modules)", x: steps, y: sorted.map((e) => e.totalPruned), yaxis: "y2", width: steps.map(() => barWidth(steps)), marker: { color: REMOVED, opacity: 0.55 }, hovertemplate: "step %{x}<br>%{y} ranks pruned<extra></extra>" },
    { type: "scatter", mode: "lines+markers", name: "top-p threshold p(t)", x: steps, y: sorted.map((e) => e.p), line: { color: "#0072B2", width: 2 }, marker: { size: 6 }, hovertemplate: "step %{x}<br>p(t) = %{y:.3f}<extra></extra>" },
  ];
  const layout = baseLayout(opts.title ?? "BeamLoRA prune / expand timeline", "optimiser step", "top-p threshold p(t) (fraction)", {
    yaxis: axis("top-p threshold p(t) (fraction)", { rangemode: "tozero" }),
    yaxis2: axis("ranks pruned and re-expanded (count)", { overlaying: "y", side: "right", rangemode: "tozero", showgrid: false, tickformat: "d" }),
    margin: { r: 72 },
  });
  return { data, layout };
}
