// The figure type every builder returns: a plain Plotly `{data, layout}` object.
// Kept deliberately loose (Plotly has hundreds of attributes); the fields we rely on are named.

/** One Plotly trace. */
export interface Trace {
  type: "scatter" | "bar" | "heatmap";
  name?: string;
  x?: readonly (number | string | null)[];
  y?: readonly (number | string | null)[];
  [attribute: string]: unknown;
}

/** An axis title as Plotly wants it. */
export interface AxisTitle {
  text: string;
}

/** A Plotly layout; `title` and the axis titles are always set by our builders. */
export interface Layout {
  title: { text: string; [k: string]: unknown };
  xaxis?: { title?: AxisTitle; [k: string]: unknown };
  yaxis?: { title?: AxisTitle; [k: string]: unknown };
  [attribute: string]: unknown;
}

/** A Plotly figure: what `Plotly.newPlot(div, data, layout, config)` takes. */
export interface Figure {
  data: Trace[];
  layout: Layout;
  config?: Record<string, unknown>;
}

/** Plotly config shared by notebook and report figures. */
export const PLOT_CONFIG: Record<string, unknown> = {
  responsive: true,
  displaylogo: false,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
};

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

/**
 * Escapes text for Plotly's label renderer, which understands a small HTML subset (<b>, <br>,
 * <a href>) in names, titles, ticks and hover text. User text (run and module names) goes
 * through here so it is shown literally, never interpreted.
 */
export function plotlyText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** An axis with a title (units in brackets) and light grid lines. */
export function axis(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { title: { text: title }, gridcolor: "#e5e7eb", zerolinecolor: "#d1d5db", automargin: true, ...extra };
}

/** Extra layout attributes, plus `subtitle` (a smaller second line under the title). */
export type LayoutExtra = Record<string, unknown> & { subtitle?: string };

/**
 * The layout every figure starts from: title (and subtitle) at the top left, the legend in a row
 * under them, axis titles, fonts. Title and legend are placed in pixels from the top of the
 * figure, so they never overlap whatever the figure's height. `extra` overrides anything;
 * a `margin` without `t` keeps the computed top margin.
 */
export function baseLayout(title: string, xTitle: string, yTitle: string, extra: LayoutExtra = {}): Layout {
  const { subtitle, margin, ...rest } = extra;
  const height = typeof rest.height === "number" ? rest.height : 380;
  const headerPx = 14 + 22 * (1 + (title.match(/<br>/g)?.length ?? 0)) + (subtitle ? 18 : 0);
  const hasLegend = rest.showlegend !== false;
  const layout: Layout = {
    title: {
      text: title, x: 0, xref: "container", xanchor: "left", yref: "container", y: 1, yanchor: "top",
      pad: { t: 12, l: 12 }, font: { size: 16 },
      ...(subtitle ? { subtitle: { text: subtitle, font: { size: 12, color: "#6b7280" } } } : {}),
    },
    font: { family: FONT, size: 12, color: "#1f2937" },
    xaxis: axis(xTitle),
    yaxis: axis(yTitle),
    height,
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    hovermode: "closest",
    legend: { orientation: "h", xref: "container", x: 0.01, yref: "container", y: 1 - headerPx / height, yanchor: "top", bgcolor: "rgba(255,255,255,0)" },
    ...rest,
  };
  layout.margin = { l: 64, r: 24, b: 56, t: headerPx + (hasLegend ? 30 : 6), ...(margin as object | undefined) };
  return layout;
}
