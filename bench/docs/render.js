// Renders Plotly figures to SVG files with plotly.js in headless Chromium (Plotly.toImage), offline:
// the page is about:blank and plotly.js is injected from the plotly.js-dist-min package.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { plotlyJsSource } from "../../dist/internal.js";

export const CHROMIUM = process.env.PEFTLAB_CHROMIUM ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/**
 * Writes `<dir>/<name>.svg` for every figure of `figures` (name → {data, layout}); returns the paths.
 * Widths default to 900 px; heights come from each layout.
 */
export async function renderSvgs(figures, dir, { width = 900 } = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`rendering the figures needs Chromium at ${CHROMIUM} (bash scripts/ensure-chromium.sh installs it, or set PEFTLAB_CHROMIUM)`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-docs-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  const written = [];
  try {
    const page = await context.newPage();
    await page.addScriptTag({ content: plotlyJsSource() });
    for (const [name, fig] of Object.entries(figures)) {
      const height = typeof fig.layout.height === "number" ? fig.layout.height : 400;
      const url = await page.evaluate(
        ([f, w, h]) => globalThis.Plotly.toImage({ data: f.data, layout: { ...f.layout, width: w, height: h } }, { format: "svg", width: w, height: h }),
        [fig, width, height],
      );
      const prefix = "data:image/svg+xml,";
      if (!url.startsWith(prefix)) throw new Error(`figure ${name}: Plotly returned ${url.slice(0, 40)}… instead of an SVG data URL`);
      const file = path.join(dir, `${name}.svg`);
      fs.writeFileSync(file, decodeURIComponent(url.slice(prefix.length)));
      written.push(file);
    }
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  return written;
}
