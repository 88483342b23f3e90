// The plotly.js bundle from the `plotly.js-dist-min` package (MIT), read at run time so the report
// and notebooks work offline. Read once per process.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let cached: { source: string; version: string } | null = null;

function load(): { source: string; version: string } {
  if (cached) return cached;
  let path: string;
  try {
    path = require.resolve("plotly.js-dist-min/plotly.min.js");
  } catch (e) {
    throw new Error(`plotly.js-dist-min is not installed (needed to inline plotly.js): ${(e as Error).message}`);
  }
  const version = (JSON.parse(readFileSync(require.resolve("plotly.js-dist-min/package.json"), "utf8")) as { version: string }).version;
  cached = { source: readFileSync(path, "utf8"), version };
  return cached;
}

/** The minified plotly.js source (about 4.8 MB). */
export function plotlyJsSource(): string {
  return load().source;
}

/** The version of the inlined plotly.js, e.g. "4.1.2". */
export function plotlyJsVersion(): string {
  return load().version;
}
