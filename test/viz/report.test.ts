import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { reportCommand } from "../../src/cli/report.js";
import { loadRunDir } from "../../src/results/run-folder.js";
import { renderReport } from "../../src/viz/report.js";
import { makeRunDir } from "../fixtures/make-run-dir.js";

const EVIL_RUN = "lora<img src=x onerror=alert(1)>";
const EVIL_SOURCE = "# </script><script>alert('src')</script> & <b>bold</b>";
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function fixture(opts: Parameters<typeof makeRunDir>[1] = {}) {
  const fx = makeRunDir(undefined, opts);
  made.push(fx.dir);
  return fx;
}

/** The text of the page outside <script> elements (what a reader sees, roughly). */
const outsideScripts = (html: string) => html.replace(/<script[\s\S]*?<\/script>/g, "");

describe("renderReport", () => {
  const fx = fixture({ names: [EVIL_RUN, "lightpeft"], fail: { run: "lightpeft", seed: 2 }, sourceExtra: EVIL_SOURCE });
  const html = renderReport(loadRunDir(fx.dir), { generatedAt: new Date("2025-01-02T03:04:05Z") });
  const page = outsideScripts(html);

  test.each([
    ["results", "Results"], ["comparisons", "Comparisons"], ["curves", "Training curves"], ["metric-bars", "Compared metrics"],
    ["predictions", "Predictions"], ["beamlora", "BeamLoRA"], ["lightpeft", "Light-PEFT"], ["cost", "Parameters, time and memory"], ["reproducibility", "Reproducibility"],
  ])("has section #%s with a heading and a table-of-contents entry", (id, title) => {
    expect(html).toContain(`<section id="${id}"><h2>${title}</h2>`);
    expect(html).toContain(`<li><a href="#${id}">${title}</a></li>`);
  });

  test("comparison table: mean ± std, 95% CI, chosen lr and paired differences with verdicts", () => {
    expect(page).toContain("<h3>beam_vs_light</h3>");
    expect(page).toMatch(/\d+(\.\d+)?% ± \d+(\.\d+)?%<span class="ci">95% CI \(logit-t\) \[/);
    expect(page).toMatch(/ms<span class="ci">95% CI \(log-t\) \[/);
    expect(page).toContain("<th>chosen lr</th>");
    expect(page).toMatch(/0\.0003 <span class="badge ok">chosen<\/span>/);
    expect(page).toContain("Paired differences");
    expect(page).toMatch(/badge (ns|better|worse)/);
    expect(page).toContain("not significant (CI contains 0)");
  });

  test("sizes, majority-answer baselines, the smallest detectable difference and a constant difference are shown", () => {
    expect(page).toContain("<th>examples train / validation / test</th>");
    expect(page).toContain('<td class="num">800 / 100 / 100</td>');
    expect(page).toContain('<th>Test accuracy of the majority answer</th><td class="num muted">58%</td>');
    expect(page).toContain("<th class=\"num\">smallest detectable</th>");
    // trainable_params is the same on every seed of both runs: a constant, non-zero difference.
    expect(page).toMatch(/Trainable parameters<\/td>[^\n]*\[−2\.59k, −2\.59k\]<\/td><td class="num">±0<\/td>[^\n]*badge better/);
  });

  test("warnings: fewer than 3 seeds and a chosen lr at the edge of its grid", () => {
    const few = fixture({ seeds: [0, 1], beamLrs: [1e-3, 3e-4] });
    const p2 = outsideScripts(renderReport(loadRunDir(few.dir)));
    expect(p2).toMatch(/<h3>Warnings \(\d+\)<\/h3>/);
    expect(p2).toContain("only 2 finished seeds at the chosen learning rate");
    expect(p2).toMatch(/the chosen learning rate 0\.0003 is the smallest of its grid \(0\.0003, 0\.001\)/);
  });

  test("predictions: the first 5 test examples of the lowest seed per run, escaped, with the counts of the whole file", () => {
    expect(html).toContain('<section id="predictions"><h2>Predictions</h2>');
    expect(page).toContain("seed 0 · first 5 of 7 test examples · 4 of 7 correct");
    expect(page).toContain("&lt;script&gt;alert(&#39;prediction&#39;)&lt;/script&gt; &amp; more");
    expect(page).not.toContain("<script>alert('prediction')");
    expect(page).toContain("message 4 of lightpeft");
    expect(page).not.toContain("message 5 of lightpeft");
  });

  test("a failed run is said so, with its error", () => {
    expect(page).toContain("Problems found (2)");
    expect(page).toContain("failed: loss became NaN at step 120 (lr too high?)");
    expect(page).toContain('<span class="badge failed">1 failed</span>');
  });

  test("reproducibility: source, plan, seeds, versions, backend, checksums, durations", () => {
    expect(page).toContain("<h3>Source (.peft)</h3>");
    expect(page).toContain("&quot;estimateSteps&quot;: 40");
    expect(page).toMatch(/<dt>seeds<\/dt><dd>0, 1, 2<\/dd>/);
    expect(page).toMatch(/<dt>@tensorflow\/tfjs-core<\/dt><dd class="mono">4\.22\.0<\/dd>/);
    expect(page).toMatch(/<dt>backend<\/dt><dd>cpu/);
    expect(page).toContain("<dt>data.sha256</dt>");
    expect(page).toMatch(/<dt>total run time<\/dt><dd>1\.\d+ min over 9 run folder\(s\)/);
    expect(page).toContain("Generated 2025-01-02 03:04:05 UTC");
  });

  test("user text is escaped everywhere (run names, source)", () => {
    expect(html).not.toContain("<img src=x");
    expect(html).not.toContain("alert('src')</script>");
    expect(page).toContain("lora&lt;img src=x onerror=alert(1)&gt;");
    expect(page).toContain("# &lt;/script&gt;&lt;script&gt;alert(&#39;src&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;");
  });

  test("plotly.js is inlined; nothing is loaded from elsewhere", () => {
    expect(html).toContain("(function(define,module,exports){");
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
    expect(html).not.toMatch(/<link[^>]*\bhref=/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?https?:/i);
    expect(html.match(/<script/g)).toHaveLength(3);
  });

  test("every figure spec has a div; all specs parse", () => {
    const json = /<script type="application\/json" id="peftlab-figures">([\s\S]*?)<\/script>/.exec(html)![1]!;
    const specs = JSON.parse(json) as { id: string; data: unknown[] }[];
    expect(specs.length).toBe(14);
    for (const s of specs) {
      expect(html).toContain(`<div id="${s.id}" class="peftlab-plot"`);
      expect(s.data.length).toBeGreaterThan(0);
    }
  });

  test("BeamLoRA and Light-PEFT sections are left out when no run has their events", () => {
    const input = loadRunDir(fx.dir);
    for (const d of input.runs) d.events = d.events.filter((e) => !e.type.startsWith("beam.") && !e.type.startsWith("lightpeft."));
    const plain = renderReport(input);
    expect(plain).not.toContain('<section id="beamlora">');
    expect(plain).not.toContain('<section id="lightpeft">');
    expect(plain).toContain('<section id="curves">');
  });
});

describe("peftlab report (CLI)", () => {
  let out: string;
  let err: string;
  beforeEach(() => {
    out = "";
    err = "";
    vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
  });
  afterEach(() => vi.restoreAllMocks());

  test("writes DIR/report.html by default, or --out FILE", async () => {
    const fx = fixture({ killed: { run: "lightpeft", seed: 0 } });
    expect(await reportCommand([fx.dir])).toBe(0);
    expect(readFileSync(join(fx.dir, "report.html"), "utf8")).toMatch(/^<!DOCTYPE html>/);
    expect(out).toContain(`wrote ${join(fx.dir, "report.html")} (1 failed or incomplete run folder(s) noted in the report)`);
    const target = join(fx.dir, "custom.html");
    expect(await reportCommand([fx.dir, "--out", target])).toBe(0);
    expect(existsSync(target)).toBe(true);
    const other = join(fx.dir, "other.html");
    expect(await reportCommand([fx.dir, `--out=${other}`])).toBe(0);
    expect(existsSync(other)).toBe(true);
  });

  test.each([
    [[], 2, /missing the run directory DIR/],
    [["a", "b"], 2, /unexpected argument "b"/],
    [["a", "--fast"], 2, /unknown option --fast/],
    [["a", "--out"], 2, /option --out needs a value/],
  ])("bad arguments %j exit %i with usage", async (argv, code, message) => {
    expect(await reportCommand(argv)).toBe(code);
    expect(err).toMatch(message);
    expect(err).toContain("usage: peftlab report DIR [--out FILE]");
  });

  test("a directory that is not a run directory exits 1 with the reason", async () => {
    const dir = mkdtempSync(join(tmpdir(), "peftlab-empty-"));
    made.push(dir);
    expect(await reportCommand([dir])).toBe(1);
    expect(err).toMatch(/is not a run directory/);
  });

  test("--help prints usage and exits 0", async () => {
    expect(await reportCommand(["--help"])).toBe(0);
    expect(out).toContain("usage: peftlab report");
  });
});
