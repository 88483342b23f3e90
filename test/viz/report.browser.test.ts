/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Opens the generated report (and the notebook html) in headless Chromium and checks that every
// plot rendered, nothing failed and nothing was fetched from the network.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { figureHtml, plotlyLibraryHtml } from "../../src/viz/display.js";
import { lossCurves } from "../../src/viz/figures.js";
import { loadRunDir } from "../../src/results/run-folder.js";
import { renderReport } from "../../src/viz/report.js";
import { makeRunDir } from "../fixtures/make-run-dir.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];
const EVIL_RUN = "lora<img src=x onerror=window.__xss=1>";

let context: BrowserContext;
const temp: string[] = [];

beforeAll(async () => {
  execFileSync("bash", [join(import.meta.dirname, "../../scripts/ensure-chromium.sh")], { stdio: "inherit", timeout: 900_000 });
  const profile = mkdtempSync(join(tmpdir(), "peftlab-chromium-"));
  temp.push(profile);
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
}, 900_000);

afterAll(async () => {
  await context?.close();
  temp.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** Collects console errors, page errors and any request that is not file: / data: / about:. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("request", (r) => { if (!/^(file|data|about|blob):/.test(r.url())) problems.push(`network: ${r.url()}`); });
  return problems;
}

/** Data traces Plotly drew into a plot div: scatter/bar trace groups, and heatmap images. */
const TRACES = ".cartesianlayer g.trace, .cartesianlayer g.hm image";

/** Per plot div: whether Plotly took it over, its svg count and how many data traces it drew. */
async function plots(page: Page): Promise<{ id: string; plotly: boolean; svg: number; traces: number }[]> {
  await page.waitForFunction(
    (sel) => [...document.querySelectorAll(".peftlab-plot")].every((d) => d.classList.contains("js-plotly-plot") && d.querySelector(sel) !== null),
    TRACES, { timeout: 30_000 },
  ).catch(() => undefined); // the assertions below say which plot is missing
  return page.$$eval(".peftlab-plot", (divs, sel) => divs.map((d) => ({
    id: d.id,
    plotly: d.classList.contains("js-plotly-plot"),
    svg: d.querySelectorAll("svg.main-svg").length,
    traces: d.querySelectorAll(sel).length,
  })), TRACES);
}

describe("report in headless Chromium", () => {
  test("every plot renders with data traces, without errors or network access", async () => {
    const fx = makeRunDir(undefined, { names: [EVIL_RUN, "lightpeft"], fail: { run: "lightpeft", seed: 2 } });
    temp.push(fx.dir);
    const file = join(fx.dir, "report.html");
    writeFileSync(file, renderReport(loadRunDir(fx.dir)));
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`file://${file}`, { waitUntil: "load" });
    const rendered = await plots(page);
    expect(rendered).toHaveLength(14);
    for (const p of rendered) {
      expect(p.plotly, `${p.id} was not taken over by Plotly`).toBe(true);
      expect(p.svg, `${p.id} has no svg`).toBeGreaterThan(0);
      expect(p.traces, `${p.id} has no data traces`).toBeGreaterThan(0);
    }
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.$$eval("img", (imgs) => imgs.length)).toBe(0);
    expect(await page.textContent("#results")).toContain(EVIL_RUN);
    await page.screenshot({ path: "/tmp/report.png", fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  test("notebook html: figures shown before and after plotly.js loads are all drawn, even with an AMD define", async () => {
    const fig = lossCurves([{ run: "a", seed: 0, points: [{ step: 1, loss: 2 }, { step: 2, loss: 1 }] }]);
    const page = await context.newPage();
    const problems = watch(page);
    const amd = `<script>window.define = function () { throw new Error("plotly must not register as an AMD module"); }; window.define.amd = {};</script>`;
    await page.setContent(`<!DOCTYPE html><html><body>${amd}${figureHtml(fig, { id: "early" })}${plotlyLibraryHtml()}${figureHtml(fig, { id: "late" })}</body></html>`);
    const rendered = await plots(page);
    expect(rendered.map((p) => [p.id, p.traces > 0])).toEqual([["early", true], ["late", true]]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
