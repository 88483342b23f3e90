#!/usr/bin/env node
// Generates docs/benchmarks.md and its figures (docs/benchmarks/*.svg) from the JSON of a bench run:
//
//   npm run bench -- --json full.json            # the full run (long)
//   node scripts/gen-benchmarks-doc.js full.json [--out docs]
//
// A copy of the JSON is kept as docs/benchmarks.json so the page's numbers can be checked.
// The figures are rendered by plotly.js in headless Chromium (scripts/ensure-chromium.sh).
import fs from "node:fs";
import path from "node:path";
import { docFigures } from "../bench/docs/figures.js";
import { benchmarksMarkdown } from "../bench/docs/markdown.js";
import { renderSvgs } from "../bench/docs/render.js";

function parse(argv) {
  const o = { json: null, out: "docs", allowPartial: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") o.out = argv[++i];
    else if (argv[i] === "--allow-partial") o.allowPartial = true;
    else if (!o.json) o.json = argv[i];
    else throw new Error(`unexpected argument "${argv[i]}"`);
  }
  if (!o.json || !o.out) throw new Error("usage: node scripts/gen-benchmarks-doc.js RUN.json [--out docs] [--allow-partial]");
  return o;
}

/** The bench document at `file`; throws naming the file and what is wrong with it. */
function readRun(file) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${file}: ${err.message}`);
  }
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not JSON (${err.message}); pass the file written by npm run bench -- --json FILE`);
  }
  const missing = ["mode", "machine", "versions", "started"].filter((k) => doc === null || typeof doc !== "object" || !(k in doc));
  if (missing.length) throw new Error(`${file} is not a bench document: it has no ${missing.map((k) => `"${k}"`).join(", ")}`);
  return doc;
}

async function main() {
  const o = parse(process.argv.slice(2));
  const doc = readRun(o.json);
  if (doc.mode !== "full" && !o.allowPartial) {
    throw new Error(`${o.json} is from a ${doc.mode} run; docs/benchmarks.md is generated from a full run (pass --allow-partial to preview)`);
  }
  const figDir = path.join(o.out, "benchmarks");
  fs.rmSync(figDir, { recursive: true, force: true });
  const files = await renderSvgs(docFigures(doc), figDir);
  fs.writeFileSync(path.join(o.out, "benchmarks.md"), `${benchmarksMarkdown(doc, path.basename(o.json))}\n`);
  fs.writeFileSync(path.join(o.out, "benchmarks.json"), `${JSON.stringify(doc, null, 1)}\n`);
  console.log(`wrote ${path.join(o.out, "benchmarks.md")}, ${path.join(o.out, "benchmarks.json")} and ${files.length} figures in ${figDir}`);
}

main().catch((err) => {
  console.error(`gen-benchmarks-doc: ${err.message}`);
  process.exit(1);
});
