// Where notebook output goes: a Jupyter display channel.
//
// tslab's public Display sends ONE mime type per message (`raw(contentType, b)` builds
// `data: {[contentType]: b}`). A figure must travel as Plotly JSON and html in ONE output, so
// when the kernel is tslab this module writes the display message itself through the writer the
// kernel installs for the executing cell (`lastWriteDisplayData` in tslab's jupyter module, the
// same function `Display.raw` calls). That module is found in Node's module cache as the sibling
// of the exact tslab instance the notebook imported, so a project-local and a global tslab never
// mix. When it cannot be found the channel falls back to the public API, one mime type per output
// (html preferred). Outside a kernel every write is dropped, so code and tests run anywhere.

import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import * as path from "node:path";

/** Mime type → content, as in the `data` of a Jupyter display_data message. */
export type MimeData = Record<string, unknown>;

/** Where display messages go. */
export interface DisplayChannel {
  /** "bundle": one message carries every mime type; "single": only one per message; "none": dropped. */
  readonly kind: "bundle" | "single" | "none";
  /**
   * Sends display_data (update false) or update_display_data (update true). An output that may
   * be updated later needs a displayId.
   */
  write(data: MimeData, displayId: string | null, update: boolean): void;
}

/** The part of tslab's Display this module uses. */
export interface TslabDisplay {
  raw(contentType: string, b: string | Uint8Array): unknown;
}

/** The part of the `tslab` module this module uses (`import * as tslab from "tslab"`). */
export interface TslabModule {
  display: TslabDisplay;
  newDisplay(): TslabDisplay;
}

/** The display_data content tslab's kernel writer takes. */
export interface DisplayContent {
  data: MimeData;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

/** tslab's per-cell writer: `(content, update) => void`, null before the first cell runs. */
export type KernelWriter = (content: DisplayContent, update: boolean) => void;

/** A channel that drops everything (outside a notebook kernel). */
export const NULL_CHANNEL: DisplayChannel = { kind: "none", write: () => undefined };

/** A fresh display id (16 hex digits, like tslab's own). */
export function newDisplayId(): string {
  return randomBytes(8).toString("hex");
}

/** A channel over a kernel writer getter (read at each write: tslab swaps it per executed cell). */
export function writerChannel(getWriter: () => KernelWriter | null): DisplayChannel {
  return {
    kind: "bundle",
    write(data, displayId, update) {
      const writer = getWriter();
      if (!writer) throw new Error("notebook display: the tslab kernel has no active cell to write to");
      writer({ data, metadata: {}, transient: displayId ? { display_id: displayId } : {} }, update);
    },
  };
}

/** Mime types the single-type fallback prefers, best first. */
const SINGLE_PREFERENCE = ["text/html", "text/markdown", "text/plain"];

/** A channel over tslab's public API: one mime type per output, html preferred. */
export function publicApiChannel(tslab: TslabModule): DisplayChannel {
  const displays = new Map<string, TslabDisplay>();
  return {
    kind: "single",
    write(data, displayId, update) {
      const mime = SINGLE_PREFERENCE.find((m) => m in data) ?? Object.keys(data)[0];
      if (mime === undefined) return;
      const value = data[mime];
      const content = typeof value === "string" || value instanceof Uint8Array ? value : JSON.stringify(value);
      if (!displayId) {
        tslab.display.raw(mime, content);
        return;
      }
      let d = displays.get(displayId);
      if (!d || !update) {
        d = tslab.newDisplay();
        displays.set(displayId, d);
      }
      d.raw(mime, content);
    },
  };
}

interface CachedModule {
  filename?: string;
  exports?: unknown;
}

/**
 * The kernel writer getter of the tslab instance `tslab`, or null when it cannot be found:
 * the module-cache entry whose exports are `tslab`, then its sibling `jupyter.js`.
 */
export function findKernelWriter(tslab: TslabModule, cache: Record<string, CachedModule | undefined> = createRequire(import.meta.url).cache): (() => KernelWriter | null) | null {
  const own = Object.values(cache).find((m) => m?.exports === tslab);
  if (!own?.filename) return null;
  const jupyter = cache[path.join(path.dirname(own.filename), "jupyter.js")];
  const mod = jupyter?.exports as { lastWriteDisplayData?: unknown } | undefined;
  if (!mod || !("lastWriteDisplayData" in mod)) return null;
  return () => (typeof mod.lastWriteDisplayData === "function" ? (mod.lastWriteDisplayData as KernelWriter) : null);
}

/** The best channel for a tslab module: bundles through the kernel writer, else the public API. */
export function channelFromTslab(tslab: TslabModule, cache?: Record<string, CachedModule | undefined>): DisplayChannel {
  const writer = findKernelWriter(tslab, cache);
  return writer ? writerChannel(writer) : publicApiChannel(tslab);
}

/** The tslab module of the running kernel, when this process is a tslab kernel; else null. */
export function detectTslab(global: Record<string, unknown> = globalThis as unknown as Record<string, unknown>): TslabModule | null {
  const hook = global.__tslab__ as { require?: (id: string) => unknown } | undefined;
  if (!hook || typeof hook.require !== "function") return null;
  try {
    const mod = hook.require("tslab") as Partial<TslabModule> | null;
    return mod && typeof mod.newDisplay === "function" && mod.display ? (mod as TslabModule) : null;
  } catch {
    return null;
  }
}
