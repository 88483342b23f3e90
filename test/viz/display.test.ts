import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  escapeHtml, figureHtml, jsonForScript, mimeBundle, PLOTLY_MIME, plotlyLibraryHtml, renderers,
} from "../../src/viz/display.js";
import type { Figure } from "../../src/viz/figure.js";
import { scriptSafe } from "../../src/viz/html.js";
import { LiveFigures, resetNotebookSession, tslabSink, type TslabDisplayLike, type TslabLike } from "../../src/viz/notebook.js";
import { plotlyJsVersion } from "../../src/viz/plotlyjs.js";

const fig = (name: string): Figure => ({
  data: [{ type: "scatter", name, x: [1, 2], y: [3, 4] }],
  layout: { title: { text: `loss of ${name}` }, height: 300 },
});

describe("escaping", () => {
  test.each([
    ["<b>&'\"", "&lt;b&gt;&amp;&#39;&quot;"],
    ["plain", "plain"],
    ["</script><script>alert(1)</script>", "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"],
  ])("escapeHtml(%j)", (input, out) => {
    expect(escapeHtml(input)).toBe(out);
  });

  test("jsonForScript round-trips and never contains < > & or line separators", () => {
    const value = { name: "</script><!-- & \u2028 \u2029", n: [1, 2.5, null], nested: { ok: true } };
    const json = jsonForScript(value);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(value);
  });

  test("scriptSafe breaks </script and <!-- without changing what string literals mean", () => {
    const js = `var a = "</script>", b = '<!--x';`;
    const safe = scriptSafe(js);
    expect(safe).not.toMatch(/<\/script|<!--/i);
    expect(new Function(`${safe}; return [a, b];`)()).toEqual(["</script>", "<!--x"]);
  });
});

describe("figure html and mime bundle", () => {
  test("figure html: a div with the id and a script that draws or queues", () => {
    const html = figureHtml(fig("</script><b>x"), { id: "my-fig" });
    expect(html).toContain('<div id="my-fig" class="peftlab-plot" style="width:100%;min-height:300px">');
    expect(html).toContain("window.Plotly.newPlot(el,spec.data,spec.layout,spec.config)");
    expect(html).toContain("__peftlabPlotlyPending");
    expect(html.match(/<\/script>/g)).toHaveLength(1);
  });

  test("ids are unique when not given", () => {
    const ids = [1, 2, 3].map(() => /id="([^"]+)"/.exec(figureHtml(fig("a")))![1]);
    expect(new Set(ids).size).toBe(3);
  });

  test("mimeBundle offers Plotly JSON with config and the html fallback", () => {
    const b = mimeBundle(fig("a"), { id: "x1" });
    expect(Object.keys(b).sort()).toEqual([PLOTLY_MIME, "text/html"].sort());
    expect(b[PLOTLY_MIME].data).toEqual(fig("a").data);
    expect(b[PLOTLY_MIME].config).toMatchObject({ responsive: true, displaylogo: false });
    expect(b["text/html"]).toBe(renderers.html(fig("a"), { id: "x1" }));
  });

  test("the library script inlines plotly.js once, wrapped, and drains the queue", () => {
    const lib = plotlyLibraryHtml();
    expect(lib.length).toBeGreaterThan(1_000_000);
    expect(lib).toContain(`plotly.js ${plotlyJsVersion()}`);
    expect(lib).toContain("(function(define,module,exports){");
    expect(lib.match(/<\/script/gi)).toHaveLength(1);
    expect(lib).not.toMatch(/<script[^>]+src=/);
  });
});

function fakeTslab() {
  const log: { display: number; kind: string; content: unknown }[] = [];
  let next = 0;
  const make = (id: number): TslabDisplayLike => ({
    html: (s: string) => void log.push({ display: id, kind: "text/html", content: s }),
    raw: (kind: string, content: unknown) => void log.push({ display: id, kind, content }),
  });
  const tslab: TslabLike = { display: make(-1), newDisplay: () => make(next++) };
  return { tslab, log };
}

describe("tslab sink", () => {
  beforeEach(() => {
    resetNotebookSession();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  test("plotly.js is sent once per kernel session, before the first figure; each figure gets its own display", () => {
    const { tslab, log } = fakeTslab();
    tslabSink(tslab).show(fig("a"));
    tslabSink(tslab).show(fig("b"));
    expect(log.map((l) => l.display)).toEqual([-1, 0, 1]);
    expect(String(log[0]!.content)).toContain("plotly.js");
    expect(String(log[1]!.content)).toContain("loss of a");
  });

  test("updates are throttled in place and the latest figure wins; close flushes", () => {
    const { tslab, log } = fakeTslab();
    const h = tslabSink(tslab, { throttleMs: 1000 }).show(fig("v0"));
    h.update(fig("v1"));
    h.update(fig("v2"));
    expect(log).toHaveLength(2);
    vi.advanceTimersByTime(1000);
    expect(log).toHaveLength(3);
    expect(log[2]!.display).toBe(0);
    expect(String(log[2]!.content)).toContain("loss of v2");
    h.update(fig("v3"));
    h.close();
    expect(String(log.at(-1)!.content)).toContain("loss of v3");
    h.update(fig("v4"));
    vi.advanceTimersByTime(5000);
    expect(log.some((l) => String(l.content).includes("loss of v4"))).toBe(false);
  });

  test("plotly-json mode sends the figure object and no library", () => {
    const { tslab, log } = fakeTslab();
    tslabSink(tslab, { mode: "plotly-json" }).show(fig("a"));
    expect(log).toHaveLength(1);
    expect(log[0]!.kind).toBe(PLOTLY_MIME);
    expect((log[0]!.content as Figure).data).toEqual(fig("a").data);
  });

  test("LiveFigures shows new keys and updates known ones", () => {
    const { tslab, log } = fakeTslab();
    const live = new LiveFigures(tslabSink(tslab, { throttleMs: 0 }));
    live.refresh([{ key: "loss", figure: fig("1") }]);
    live.refresh([{ key: "loss", figure: fig("2") }, { key: "eval", figure: fig("3") }]);
    live.close();
    expect(log.filter((l) => l.display >= 0).map((l) => `${l.display}:${/loss of (\d)/.exec(String(l.content))![1]}`)).toEqual(["0:1", "0:2", "1:3"]);
  });
});
