// Rendering figures in notebook cells.
//
// How plotly.js reaches the page (no network, so no CDN): the first figure a kernel session shows
// is preceded by ONE html output holding the whole minified plotly.js (~4.8 MB) in a <script>.
// Every figure is then a small text/html output — a <div> and a script that calls
// window.Plotly.newPlot, or, if plotly.js has not run yet, queues itself until the library
// script drains the queue. This works in JupyterLab / Notebook 7 (scripts in trusted html
// outputs run in the page), in VS Code (all outputs share one webview window) and in exported
// HTML (the library output is saved in the notebook, so the file is self-contained). Inlining
// plotly.js per figure would cost 4.8 MB a figure; the library is wrapped so it always sets
// window.Plotly, even where an AMD `define` or a CommonJS `module` is in scope.
//
// The same figure is also offered as `application/vnd.plotly.v1+json` in mimeBundle(), for
// frontends with a Plotly renderer (jupyterlab-plotly, VS Code) when a kernel can send a bundle.

import { PLOT_CONFIG, type Figure } from "./figure.js";
import { escapeHtml, jsonForScript, scriptSafe } from "./html.js";
import { plotlyJsSource, plotlyJsVersion } from "./plotlyjs.js";

export { escapeHtml, jsonForScript } from "./html.js";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";
const PENDING = "__peftlabPlotlyPending";

/** A Jupyter mime bundle for one figure. */
export interface MimeBundle {
  [PLOTLY_MIME]: { data: unknown[]; layout: unknown; config: Record<string, unknown> };
  "text/html": string;
}

let counter = 0;

/** A fresh element id (unique within a kernel session and across reloads of a saved page). */
export function newFigureId(): string {
  counter += 1;
  return `peftlab-fig-${Date.now().toString(36)}-${counter}`;
}

/** The html of one figure: a div and a script that draws into it once window.Plotly exists. */
export function figureHtml(fig: Figure, opts: { id?: string; height?: number } = {}): string {
  const id = opts.id ?? newFigureId();
  const spec = { data: fig.data, layout: fig.layout, config: { ...PLOT_CONFIG, ...fig.config } };
  const height = opts.height ?? (typeof fig.layout.height === "number" ? fig.layout.height : 380);
  return (
    `<div id="${escapeHtml(id)}" class="peftlab-plot" style="width:100%;min-height:${height}px">` +
    `<em style="color:#6b7280">Plot not drawn yet: plotly.js is not loaded (run the notebook's first display cell).</em></div>` +
    `<script>(function(){var spec=${jsonForScript(spec)};` +
    `function draw(){var el=document.getElementById(${jsonForScript(id)});if(!el)return;el.innerHTML="";` +
    `window.Plotly.newPlot(el,spec.data,spec.layout,spec.config);}` +
    `if(window.Plotly&&window.Plotly.newPlot)draw();else(window.${PENDING}=window.${PENDING}||[]).push(draw);})();</script>`
  );
}

/**
 * The script that loads plotly.js into the page and draws the figures queued before it ran.
 * Send it once per kernel session (or once per HTML document).
 */
export function plotlyLibraryHtml(): string {
  return (
    `<script>/* plotly.js ${escapeHtml(plotlyJsVersion())} (MIT License, Plotly, Inc.), inlined by peftlab */\n` +
    `(function(define,module,exports){\n${scriptSafe(plotlyJsSource())}\n}).call(window);\n` +
    `(function(){var q=window.${PENDING}||[];window.${PENDING}=[];` +
    `for(var i=0;i<q.length;i++){try{q[i]();}catch(e){console.error(e);}}})();</script>`
  );
}

/** The mime bundle of one figure: Plotly JSON for renderers that have it, html for the rest. */
export function mimeBundle(fig: Figure, opts: { id?: string } = {}): MimeBundle {
  return {
    [PLOTLY_MIME]: { data: fig.data, layout: fig.layout, config: { ...PLOT_CONFIG, ...fig.config } },
    "text/html": figureHtml(fig, opts),
  };
}

/** Renderers a notebook (or any other front end) composes. */
export const renderers = {
  html: figureHtml,
  bundle: mimeBundle,
  library: plotlyLibraryHtml,
} as const;
