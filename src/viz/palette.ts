// One colour per run, the same in every figure of a notebook or report.

/** Okabe–Ito-derived qualitative palette (colour-blind safe), then a few extra distinct hues. */
export const RUN_COLOURS = [
  "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F3C8D", "#3B3B3B", "#B8860B", "#1B9E77",
];

/** Maps a run name to its colour. */
export type Palette = (run: string) => string;

/**
 * A palette over `runs` in the given order (the plan's declaration order). Runs not listed get the
 * next free colours in the order they are first asked for, so the mapping never changes once made.
 */
export function makePalette(runs: readonly string[] = []): Palette {
  const assigned = new Map<string, string>();
  const colourOf = (run: string) => {
    let c = assigned.get(run);
    if (c === undefined) {
      c = RUN_COLOURS[assigned.size % RUN_COLOURS.length]!;
      assigned.set(run, c);
    }
    return c;
  };
  runs.forEach(colourOf);
  return colourOf;
}

/** `#rrggbb` with an alpha, as `rgba(r,g,b,a)`. */
export function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new RangeError(`withAlpha: expected a #rrggbb colour, got ${JSON.stringify(hex)}`);
  const [r, g, b] = [m[1]!, m[2]!, m[3]!].map((h) => parseInt(h, 16));
  return `rgba(${r},${g},${b},${alpha})`;
}

/** Sequential colour scale for importance and mask heatmaps (light → dark blue). */
export const HEAT_SCALE: [number, string][] = [
  [0, "#f7fbff"], [0.25, "#c6dbef"], [0.5, "#6baed6"], [0.75, "#2171b5"], [1, "#08306b"],
];

/** Colours for "kept" and "removed" in structure figures, and prune/expand markers. */
export const KEPT = "#009E73";
export const REMOVED = "#D55E00";
export const EXPANDED = "#009E73";
