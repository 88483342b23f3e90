// Showing figures in a notebook and updating them in place while a run trains.
//
// tslab (1.0.x) API, as its public.d.ts declares it: `display` has html(s), raw(contentType, b)
// and friends; `newDisplay()` returns a Display bound to a fresh display_id whose first call sends
// `display_data` and every later call `update_display_data` — i.e. in-place updates are
// supported. Each call carries ONE mime type, so a figure goes as text/html (see display.ts);
// mode "plotly-json" sends application/vnd.plotly.v1+json instead, for frontends with a Plotly
// renderer (tslab passes a non-Uint8Array `b` through unchanged, so the JSON object arrives as an
// object although its .d.ts says string).

import type { PlotFigure } from "./figures.js";
import { type Figure, PLOT_CONFIG } from "./figure.js";
import { figureHtml, PLOTLY_MIME, plotlyLibraryHtml } from "./display.js";

/** A figure shown in a notebook that can be redrawn in place. */
export interface FigureHandle {
  /** Redraws with a new figure (throttled; the latest figure always wins). */
  update(fig: Figure): void;
  /** Sends the latest pending figure now. */
  flush(): void;
  /** Flushes and stops timers; later updates are ignored. */
  close(): void;
}

/** Where figures go: a notebook cell (tslab) or anything else that can show and replace output. */
export interface NotebookSink {
  show(fig: Figure): FigureHandle;
}

/** The part of tslab's Display this module uses. */
export interface TslabDisplayLike {
  html(s: string): void;
  raw(contentType: string, b: unknown): unknown;
}

/** The part of the `tslab` module this module uses: `import * as tslab from "tslab"`. */
export interface TslabLike {
  display: TslabDisplayLike;
  newDisplay(): TslabDisplayLike;
}

export interface TslabSinkOptions {
  /** Minimum milliseconds between two redraws of one figure (default 1000; 0 = every update). */
  throttleMs?: number;
  /** "html" (default, works everywhere) or "plotly-json" (needs a Plotly renderer in the frontend). */
  mode?: "html" | "plotly-json";
}

const INJECTED = Symbol.for("peftlab.plotlyInjected");

/** Whether this process (kernel session) already sent plotly.js. */
function libraryInjected(): boolean {
  return (globalThis as Record<symbol, unknown>)[INJECTED] === true;
}

function markInjected(): void {
  (globalThis as Record<symbol, unknown>)[INJECTED] = true;
}

class ThrottledHandle implements FigureHandle {
  private pending: Figure | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  /** `last`: when the figure was last sent (ms since the epoch). */
  constructor(private readonly send: (fig: Figure) => void, private readonly throttleMs: number, private last: number) {}

  update(fig: Figure): void {
    if (this.closed) return;
    this.pending = fig;
    const wait = this.last + this.throttleMs - Date.now();
    if (wait <= 0) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), wait);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.pending) return;
    const fig = this.pending;
    this.pending = null;
    this.last = Date.now();
    this.send(fig);
  }

  close(): void {
    this.flush();
    this.closed = true;
  }
}

/** A NotebookSink for tslab: every shown figure gets its own display_id and updates in place. */
export function tslabSink(tslab: TslabLike, opts: TslabSinkOptions = {}): NotebookSink {
  const mode = opts.mode ?? "html";
  const throttleMs = opts.throttleMs ?? 1000;
  return {
    show(fig: Figure): FigureHandle {
      if (mode === "html" && !libraryInjected()) {
        tslab.display.html(plotlyLibraryHtml());
        markInjected();
      }
      const out = tslab.newDisplay();
      const send = (f: Figure) => {
        if (mode === "html") out.html(figureHtml(f));
        else out.raw(PLOTLY_MIME, { data: f.data, layout: f.layout, config: { ...PLOT_CONFIG, ...f.config } });
      };
      send(fig);
      return new ThrottledHandle(send, throttleMs, Date.now());
    },
  };
}

/** Keeps one handle per figure key: new keys are shown, known keys updated in place. */
export class LiveFigures {
  private readonly handles = new Map<string, FigureHandle>();

  constructor(private readonly sink: NotebookSink) {}

  /** Shows or updates every figure (e.g. the result of figureForPlot after new events). */
  refresh(figures: readonly PlotFigure[]): void {
    for (const { key, figure } of figures) {
      const handle = this.handles.get(key);
      if (handle) handle.update(figure);
      else this.handles.set(key, this.sink.show(figure));
    }
  }

  /** Sends every pending update and stops the timers (call when training ends). */
  close(): void {
    for (const h of this.handles.values()) h.close();
  }
}

/** Test hook: forget that plotly.js was sent (a new kernel session). */
export function resetNotebookSession(): void {
  (globalThis as Record<symbol, unknown>)[INJECTED] = false;
}
