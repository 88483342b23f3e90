// The committed notebooks exported to HTML (jupyter nbconvert --to html) draw every Plotly figure
// in a browser with no network: plotly.js comes from the notebook's one compressed loader output.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PLOTLY } from "./helpers.js";

/** The page's document, as the functions evaluated in the browser see it. */
declare const document: { querySelectorAll(selector: string): { length: number } };

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NOTEBOOKS = fs.readdirSync(path.join(ROOT, "notebooks")).filter((f) => f.endsWith(".ipynb")).sort();
const out = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-nb-html-"));
let browser: Browser;

beforeAll(async () => {
  try {
    execFileSync("sh", ["-c", "command -v jupyter-nbconvert"], { stdio: "ignore" });
  } catch {
    execFileSync("bash", [path.join(ROOT, "scripts/ensure-system-deps.sh")], { stdio: "inherit" });
  }
  execFileSync("bash", [path.join(ROOT, "scripts/ensure-chromium.sh")], { stdio: "inherit", timeout: 900_000 });
  execFileSync("jupyter-nbconvert", ["--to", "html", "--output-dir", out, ...NOTEBOOKS.map((n) => path.join(ROOT, "notebooks", n))], { stdio: "ignore" });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
}, 900_000);

afterAll(async () => {
  await browser?.close();
  fs.rmSync(out, { recursive: true, force: true });
});

/** Plotly outputs in a notebook file. */
function plotlyOutputs(file: string): number {
  const cells = (JSON.parse(fs.readFileSync(file, "utf8")) as { cells: { outputs?: { data?: Record<string, unknown> }[] }[] }).cells;
  return cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.[PLOTLY] !== undefined).length;
}

test.each(NOTEBOOKS)("%s as exported HTML draws every figure offline", async (name) => {
  const expected = plotlyOutputs(path.join(ROOT, "notebooks", name));
  expect(expected).toBeGreaterThan(0);
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  // nbconvert's template points at Debian's require.js and MathJax files; nothing else may be fetched.
  page.on("request", (r) => { if (!/^(data|about|blob):/.test(r.url()) && !/^file:\/\/(\/usr\/share\/javascript\/|.*\.html$)/.test(r.url())) problems.push(`request: ${r.url()}`); });
  try {
    await page.goto(`file://${path.join(out, name.replace(/\.ipynb$/, ".html"))}`);
    await page.waitForFunction((n) => document.querySelectorAll(".peftlab-plot .main-svg").length >= n, expected, { timeout: 30_000 });
    expect(await page.evaluate(() => document.querySelectorAll(".peftlab-plot").length)).toBe(expected);
    expect(problems).toEqual([]);
  } finally {
    await page.close();
  }
}, 60_000);
