// Figures as notebook outputs: one output per figure carrying application/vnd.plotly.v1+json (for
// JupyterLab's and VS Code's Plotly renderers) and text/html (everywhere else: exported HTML,
// trusted classic notebooks), plus text/plain.
//
// The html form needs plotly.js in the page. The first figure of a kernel session is preceded by
// one output that loads it; later figures queue themselves until it has run (src/viz/display.ts).
// To keep committed notebooks small, that output carries plotly.js gzip-compressed and base64
// encoded (~2 MB instead of 4.8 MB) and unpacks it with the browser's DecompressionStream, then
// runs the very script src/viz/display.ts's plotlyLibraryHtml() would have inlined.

import { gzipSync } from "node:zlib";
import type { Figure } from "../viz/figure.js";
import { mimeBundle, plotlyLibraryHtml } from "../viz/display.js";
import { plotlyJsVersion } from "../viz/plotlyjs.js";
import type { DisplayChannel, MimeData } from "./channel.js";

/** Shared with src/viz/notebook.ts: set once plotly.js has been sent in this kernel session. */
const INJECTED = Symbol.for("peftlab.plotlyInjected");

let loaderCache: string | null = null;

/** The JavaScript of plotlyLibraryHtml() (the library and the queue drain), without the tag. */
function libraryScript(): string {
  const html = plotlyLibraryHtml();
  const open = "<script>";
  const close = "</script>";
  if (!html.startsWith(open) || !html.endsWith(close) || html.indexOf(close) !== html.length - close.length) {
    throw new Error("notebook plotly loader: plotlyLibraryHtml() is no longer a single <script> element");
  }
  return html.slice(open.length, -close.length);
}

/**
 * One html output that loads plotly.js into the page from a compressed copy (no network) and
 * draws the figures queued before it ran. Does nothing where plotly.js is already loaded.
 */
export function plotlyLoaderHtml(): string {
  if (loaderCache) return loaderCache;
  const packed = gzipSync(Buffer.from(libraryScript(), "utf8"), { level: 9 }).toString("base64");
  loaderCache =
    `<div class="peftlab-plotly-loader" style="display:none"></div>` +
    `<script>/* plotly.js ${plotlyJsVersion()} (MIT License, Plotly, Inc.), gzip + base64, unpacked by peftlab */\n` +
    `(function(){if(window.Plotly&&window.Plotly.newPlot)return;` +
    `if(typeof DecompressionStream==="undefined"){console.error("peftlab: this browser cannot unpack plotly.js (no DecompressionStream)");return;}` +
    `var b=atob("${packed}");var u=new Uint8Array(b.length);for(var i=0;i<b.length;i++)u[i]=b.charCodeAt(i);` +
    `new Response(new Blob([u]).stream().pipeThrough(new DecompressionStream("gzip"))).text().then(function(src){` +
    `if(window.Plotly&&window.Plotly.newPlot)return;var s=document.createElement("script");s.text=src;document.head.appendChild(s);})` +
    `.catch(function(e){console.error("peftlab: could not load plotly.js",e);});})();</script>`;
  return loaderCache;
}

/** Whether plotly.js was already sent in this kernel session. */
export function plotlySent(): boolean {
  return (globalThis as Record<symbol, unknown>)[INJECTED] === true;
}

/** Sends the plotly.js loader once per kernel session (not on the null channel). */
export function ensurePlotly(target: DisplayChannel): void {
  if (target.kind === "none" || plotlySent()) return;
  target.write({ "text/html": plotlyLoaderHtml(), "text/plain": `plotly.js ${plotlyJsVersion()} loader` }, null, false);
  (globalThis as Record<symbol, unknown>)[INJECTED] = true;
}

/** Test hook: forget that plotly.js was sent (as in a new kernel session). */
export function resetPlotlySent(): void {
  (globalThis as Record<symbol, unknown>)[INJECTED] = false;
}

/** The figure's title as plain text (Plotly's label markup removed). */
function titleOf(fig: Figure): string {
  return fig.layout.title.text.replace(/<br>/g, " ").replace(/<[^>]*>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

/** The output of one figure: Plotly JSON, the html fallback and a text line, in one bundle. */
export function figureData(fig: Figure): MimeData {
  return { ...mimeBundle(fig), "text/plain": `<Plotly figure: ${titleOf(fig)}>` };
}
