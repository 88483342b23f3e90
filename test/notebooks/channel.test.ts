import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  channelFromTslab, detectTslab, findKernelWriter, type DisplayContent, type TslabDisplay, type TslabModule,
} from "../../src/notebook/channel.js";
import { figureData, plotlyLoaderHtml, resetPlotlySent } from "../../src/notebook/plotly.js";
import { channel, connect, disconnect, Output } from "../../src/notebook/session.js";
import { show } from "../../src/notebook/show.js";
import type { Figure } from "../../src/viz/figure.js";
import { plotlyLibraryHtml } from "../../src/viz/display.js";
import { PLOTLY, RecordingChannel } from "./helpers.js";

/** A fake tslab module whose public Display records raw() calls. */
function fakeTslab(): { tslab: TslabModule; raw: { display: number; mime: string; content: unknown }[] } {
  const raw: { display: number; mime: string; content: unknown }[] = [];
  let n = 0;
  const make = (id: number): TslabDisplay => ({ raw: (mime, content) => raw.push({ display: id, mime, content }) });
  return { tslab: { display: make(0), newDisplay: () => make(++n) }, raw };
}

const fig: Figure = { data: [{ type: "scatter", x: [1, 2], y: [3, 4] }], layout: { title: { text: "loss <b>now</b>" } } };

describe("finding tslab's kernel writer", () => {
  test("the writer of the jupyter module next to the imported tslab instance, read at each write", () => {
    const { tslab } = fakeTslab();
    const writes: [DisplayContent, boolean][] = [];
    const jupyter = { lastWriteDisplayData: null as null | ((c: DisplayContent, u: boolean) => void) };
    const cache = {
      "/other/tslab/dist/jupyter.js": { filename: "/other/tslab/dist/jupyter.js", exports: { lastWriteDisplayData: () => { throw new Error("wrong instance"); } } },
      "/k/node_modules/tslab/dist/public.js": { filename: "/k/node_modules/tslab/dist/public.js", exports: tslab },
      "/k/node_modules/tslab/dist/jupyter.js": { filename: "/k/node_modules/tslab/dist/jupyter.js", exports: jupyter },
    };
    const ch = channelFromTslab(tslab, cache);
    expect(ch.kind).toBe("bundle");
    expect(() => ch.write({ "text/plain": "x" }, null, false)).toThrow(/no active cell/);
    jupyter.lastWriteDisplayData = (c, u) => writes.push([c, u]);
    ch.write({ "text/html": "<b>a</b>", [PLOTLY]: { data: [] } }, "id1", false);
    ch.write({ "text/html": "<b>b</b>" }, "id1", true);
    expect(writes).toEqual([
      [{ data: { "text/html": "<b>a</b>", [PLOTLY]: { data: [] } }, metadata: {}, transient: { display_id: "id1" } }, false],
      [{ data: { "text/html": "<b>b</b>" }, metadata: {}, transient: { display_id: "id1" } }, true],
    ]);
  });

  test.each([
    ["tslab is not in the module cache", {}],
    ["no jupyter module next to it", { "/k/tslab/dist/public.js": { filename: "/k/tslab/dist/public.js", exports: "SELF" } }],
  ])("no writer when %s", (_why, cache) => {
    const { tslab } = fakeTslab();
    const resolved = Object.fromEntries(Object.entries(cache).map(([k, v]) => [k, { ...v, exports: tslab }]));
    expect(findKernelWriter(tslab, resolved)).toBeNull();
  });

  test("the public-API fallback sends one mime type per output (html first) and updates through one Display", () => {
    const { tslab, raw } = fakeTslab();
    const ch = channelFromTslab(tslab, {});
    expect(ch.kind).toBe("single");
    ch.write({ "text/plain": "p", "text/html": "<i>h</i>" }, null, false);
    ch.write({ [PLOTLY]: { data: [1] } }, "a", false);
    ch.write({ "text/html": "v2" }, "a", true);
    expect(raw).toEqual([
      { display: 0, mime: "text/html", content: "<i>h</i>" },
      { display: 1, mime: PLOTLY, content: '{"data":[1]}' },
      { display: 1, mime: "text/html", content: "v2" },
    ]);
  });

  test("detectTslab finds the kernel through tslab's __tslab__ hook, and nothing elsewhere", () => {
    const { tslab } = fakeTslab();
    expect(detectTslab({ __tslab__: { require: (id: string) => (id === "tslab" ? tslab : null) } })).toBe(tslab);
    expect(detectTslab({})).toBeNull();
    expect(detectTslab({ __tslab__: { require: () => { throw new Error("no"); } } })).toBeNull();
  });

  test("outside a kernel the channel drops everything", () => {
    disconnect();
    expect(channel().kind).toBe("none");
    expect(() => new Output().set({ "text/plain": "x" })).not.toThrow();
    expect(() => show(fig)).not.toThrow();
  });
});

describe("figures as outputs", () => {
  let rec: RecordingChannel;
  beforeEach(() => {
    resetPlotlySent();
    rec = new RecordingChannel();
    connect(rec);
  });
  afterEach(() => disconnect());

  test("each figure is ONE output with Plotly JSON, html and text; plotly.js is sent once, before the first", () => {
    show([fig, { key: "k", figure: fig }]);
    show(fig);
    const outs = rec.outputs();
    expect(outs).toHaveLength(4);
    expect(String(outs[0]!["text/html"])).toContain("DecompressionStream");
    for (const o of outs.slice(1)) {
      expect(Object.keys(o).sort()).toEqual([PLOTLY, "text/html", "text/plain"].sort());
      expect(o[PLOTLY]).toMatchObject({ data: fig.data, layout: fig.layout });
      expect(String(o["text/html"])).toContain("Plotly.newPlot");
      expect(o["text/plain"]).toBe("<Plotly figure: loss now>");
    }
  });

  test("an Output replaces itself in place", () => {
    const out = new Output();
    out.set(figureData(fig));
    out.set({ "text/plain": "second" });
    expect(rec.messages.map((m) => m.update)).toEqual([false, true]);
    expect(new Set(rec.messages.map((m) => m.displayId)).size).toBe(1);
    expect(rec.outputs()).toEqual([{ "text/plain": "second" }]);
  });

  test("the compressed loader unpacks to exactly the library script of the HTML report", () => {
    const html = plotlyLoaderHtml();
    const b64 = /atob\("([A-Za-z0-9+/=]+)"\)/.exec(html)![1]!;
    const script = gunzipSync(Buffer.from(b64, "base64")).toString("utf8");
    expect(`<script>${script}</script>`).toBe(plotlyLibraryHtml());
    expect(html.length).toBeLessThan(plotlyLibraryHtml().length / 2);
  });
});
