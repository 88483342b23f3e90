#!/usr/bin/env node
// Builds peftlab's native kernels (native/src → native/build/peftlab.node) with a C compiler and
// the Node-API headers, offline: `gcc -O3 -shared -fPIC`, no node-gyp, no system libraries.
//
//   node scripts/build-native.js                 build (skipped when the binary is up to date)
//   node scripts/build-native.js --force         rebuild
//   node scripts/build-native.js --if-possible   as run by `npm ci`: a failure is one line, exit 0
//   node scripts/build-native.js --prebuild      write prebuilds/<platform>-<arch>/peftlab.node
//   node scripts/build-native.js --out FILE      write FILE
//
// The binary is built for the baseline of the architecture (no -march): the AVX2/FMA code is
// compiled per function (target attributes) and chosen at run time after a CPU check, so one
// binary runs on every x86-64 CPU. Environment: CC (compiler, default cc, then gcc), CFLAGS (added).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const srcDir = path.join(root, "native", "src");

function parseArgs(argv) {
  const opts = { force: false, soft: false, out: null, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--force") opts.force = true;
    else if (a === "--if-possible") opts.soft = true;
    else if (a === "--quiet") opts.quiet = true;
    else if (a === "--prebuild") opts.out = path.join(root, "prebuilds", `${process.platform}-${process.arch}`, "peftlab.node");
    else if (a === "--out" && argv[i + 1]) opts.out = path.resolve(argv[++i]);
    else throw new Error(`unknown argument "${a}" (expected --force, --if-possible, --quiet, --prebuild or --out FILE)`);
  }
  opts.out ??= path.join(root, "native", "build", "peftlab.node");
  return opts;
}

/** Files of native/src and native/src/kernels ending in `ext`, sorted. */
function nativeFiles(ext) {
  const list = (dir) => fs.readdirSync(dir).filter((f) => f.endsWith(ext)).sort().map((f) => path.join(dir, f));
  return [...list(srcDir), ...list(path.join(srcDir, "kernels"))];
}

/** The C sources: native/src/*.c and native/src/kernels/*.c, sorted. */
export function nativeSources() {
  return nativeFiles(".c");
}

/** The folder holding node_api.h: the node-api-headers package, else the headers installed with Node. */
function nodeApiInclude() {
  try {
    const pkg = createRequire(import.meta.url).resolve("node-api-headers/package.json");
    const dir = path.join(path.dirname(pkg), "include");
    if (fs.existsSync(path.join(dir, "node_api.h"))) return dir;
  } catch {
    // not installed: try Node's own headers
  }
  const bundled = path.join(path.dirname(process.execPath), "..", "include", "node");
  if (fs.existsSync(path.join(bundled, "node_api.h"))) return bundled;
  throw new Error("node_api.h not found (install the devDependency node-api-headers, or Node's headers)");
}

function findCompiler() {
  const candidates = process.env.CC ? [process.env.CC] : ["cc", "gcc", "clang"];
  for (const cc of candidates) {
    const r = spawnSync(cc, ["--version"], { encoding: "utf8" });
    if (r.status === 0) return cc;
  }
  throw new Error(`no C compiler found (tried ${candidates.join(", ")}; set CC)`);
}

function upToDate(out, inputs) {
  if (!fs.existsSync(out)) return false;
  const built = fs.statSync(out).mtimeMs;
  return inputs.every((f) => fs.statSync(f).mtimeMs <= built);
}

export function buildNative(opts) {
  if (!fs.existsSync(srcDir)) throw new Error(`no sources at ${srcDir}`);
  const sources = nativeSources();
  const inputs = [...sources, ...nativeFiles(".h"), fileURLToPath(import.meta.url)];
  if (!opts.force && upToDate(opts.out, inputs)) return { out: opts.out, skipped: true };
  const cc = findCompiler();
  const include = nodeApiInclude();
  const flags = ["-O3", "-std=gnu11", "-shared", "-fPIC", "-pthread", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"];
  flags.push("-DNAPI_VERSION=8", `-I${include}`, `-I${srcDir}`);
  if (process.platform === "darwin") flags.push("-undefined", "dynamic_lookup");
  if (process.env.CFLAGS) flags.push(...process.env.CFLAGS.split(/\s+/).filter(Boolean));
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  const tmp = `${opts.out}.${process.pid}.tmp`;
  const r = spawnSync(cc, [...flags, "-o", tmp, ...sources, "-lm"], { encoding: "utf8" });
  if (r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    const first = `${r.stderr ?? ""}${r.error?.message ?? ""}`.split("\n").find((l) => /error/i.test(l)) ?? `exit code ${r.status}`;
    const err = new Error(`${cc} failed: ${first.trim()}`);
    err.details = r.stderr;
    throw err;
  }
  if (r.stderr?.trim() && !opts.quiet) process.stderr.write(r.stderr);
  fs.renameSync(tmp, opts.out); // atomic: a process loading the old binary keeps its copy
  return { out: opts.out, skipped: false, cc };
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`build-native: ${err.message}`);
    process.exit(2);
  }
  try {
    const r = buildNative(opts);
    if (!opts.quiet) console.log(`peftlab native kernels: ${r.skipped ? "up to date" : "built"} ${path.relative(root, r.out)}`);
  } catch (err) {
    if (opts.soft) {
      const prebuilt = path.join(root, "prebuilds", `${process.platform}-${process.arch}`, "peftlab.node");
      const fallback = fs.existsSync(prebuilt) ? `the prebuilt ${path.relative(root, prebuilt)} will be used` : "the wasm backend will be used";
      console.log(`peftlab native kernels not built (${err.message}); ${fallback}`);
      return;
    }
    console.error(`build-native: ${err.message}`);
    if (err.details) console.error(err.details);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
