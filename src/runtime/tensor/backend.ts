// Backend selection: which TensorFlow.js backend runs, and why each faster one was skipped.
//
// Order for "auto": tensorflow-gpu (@tensorflow/tfjs-node-gpu) → tensorflow (@tensorflow/tfjs-node)
// → webgpu → native → wasm → cpu. An explicitly requested backend is tried alone and its failure
// is an error that says why.
//
// "native" is the wasm backend with peftlab's native kernels (a Node-API addon, see ./native/)
// registered over some of its kernels: tf.getBackend() says "wasm", BackendInfo.name "native".
// Every other choice first puts the wasm kernels back, so "wasm" is always pure wasm.
//
// One copy of tfjs-core (checked with `npm ls @tensorflow/tfjs-core`: every @tensorflow package,
// tfjs-node-gpu → @tensorflow/tfjs included, depends on 4.22.0 and npm dedupes it to one folder).
// Node resolves `import "@tensorflow/tfjs-core"` through its package.json "main" (there is no
// "exports" map) to the same CommonJS bundle that `require` returns, so our ESM code, the backends
// and tfjs-node(-gpu) all hold one module instance. Even a second copy would share state: the
// engine (`_tfengine`), the kernel and gradient registries and the Tensor class live on a global
// namespace that every copy looks up. tfjs-node(-gpu) therefore registers its "tensorflow"
// backend into our engine. Note that @tensorflow/tfjs's Node bundle inlines its own copies of the
// gradient and chained-op code; they register into those same global registries (see ./tf.ts).
//
// The wasm backend's threaded build does not start in Node 20: its pthread pool creates workers
// from a `blob:` URL, which worker_threads rejects (ERR_WORKER_PATH), and tfjs itself reports
// WASM_HAS_MULTITHREAD_SUPPORT=false under Node. So wasm runs the SIMD build on one thread;
// `initBackend(…, {wasmThreads: true})` re-tries the threaded build and falls back with the reason.

import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BackendName } from "../../dsl/plan.js";
import * as tf from "./tf.js";
import { registerMissingGradients } from "./kernels/gradients.js";
import { registerMissingWasmKernels } from "./kernels/index.js";
import { disableNativeKernels, enableNativeKernels, loadAddon, NativeUnavailable } from "./native/index.js";

/** The result of {@link initBackend}. */
export interface BackendInfo {
  /** The backend that runs: "tensorflow", "webgpu", "native", "wasm" or "cpu". */
  name: string;
  /** tf.getBackend(): the same as `name` except under "native", which runs on tfjs's "wasm". */
  tfjsName: string;
  requested: BackendName;
  /** Faster backends that were tried first and why they could not be used. */
  skipped: { name: string; reason: string }[];
  /** e.g. "SIMD, 1 thread" for wasm; for native the native kernels, threads and SIMD path. */
  detail: string;
  /** One human line: which backend runs and why each faster one was skipped. */
  line: string;
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** Receives the one-line summary. */
  log?: (line: string) => void;
  /** wasm only: try the multi-threaded build first (it fails in Node 20; see the file comment). */
  wasmThreads?: boolean;
}

/** Every name a user may request. */
export const BACKEND_NAMES: readonly BackendName[] = ["auto", "tensorflow-gpu", "tensorflow", "webgpu", "native", "wasm", "cpu"];

/** Concrete backends in the order "auto" tries them. */
const AUTO_ORDER: readonly Exclude<BackendName, "auto">[] = ["tensorflow-gpu", "tensorflow", "webgpu", "native", "wasm", "cpu"];

/** Where a backend request came from. */
export type BackendSource = "cli" | "env" | "plan" | "default";

/**
 * Picks the requested backend: CLI flag > env `PEFTLAB_BACKEND` > the plan's `backend` > "auto".
 * Empty strings count as unset. Pass the env value explicitly (`process.env.PEFTLAB_BACKEND`).
 * @throws when a given name is not a backend, naming where it came from.
 */
export function resolveBackendRequest(sources: { cli?: string | null; env?: string | null; plan?: BackendName | null }): {
  backend: BackendName;
  source: BackendSource;
} {
  const ordered: [Exclude<BackendSource, "default">, string | null | undefined, string][] = [
    ["cli", sources.cli, "--backend"],
    ["env", sources.env, "PEFTLAB_BACKEND"],
    ["plan", sources.plan, "plan.backend"],
  ];
  for (const [source, value, where] of ordered) {
    if (value == null || value.trim() === "") continue;
    const name = value.trim().toLowerCase();
    if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
      throw new Error(`${where}: unknown backend "${value}"; expected one of ${BACKEND_NAMES.join(", ")}`);
    }
    return { backend: name as BackendName, source };
  }
  return { backend: "auto", source: "default" };
}

/** Thrown inside a try-function: the backend is unavailable for `reason`. */
class Unavailable extends Error {}

const requireHere = createRequire(import.meta.url);

/** First line of an error message, shortened. */
function shortReason(err: unknown): string {
  const text = err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);
  const first = text.split("\n")[0]?.trim() ?? "";
  return first.length > 160 ? `${first.slice(0, 157)}…` : first;
}

function isMissingPackage(err: unknown, pkg: string): boolean {
  const code = (err as { code?: string })?.code;
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && shortReason(err).includes(`'${pkg}'`);
}

/** Imports `pkg`, turning "not installed" and load errors into {@link Unavailable}. */
async function importOrExplain(pkg: string): Promise<unknown> {
  try {
    return await import(pkg);
  } catch (err) {
    if (isMissingPackage(err, pkg)) throw new Unavailable("not installed");
    throw new Unavailable(`${pkg} failed to load: ${shortReason(err)}`);
  }
}

/**
 * tfjs-node(-gpu) ships without its native addon; node-pre-gyp fetches or builds it at install
 * time. Checking the file first avoids a half-loaded package (its kernels registered, its
 * backend not). Returns a reason when the addon is certainly missing, null when unsure.
 */
function missingNativeAddon(pkg: string): string | null {
  let manifest: string;
  try {
    manifest = requireHere.resolve(`${pkg}/package.json`);
  } catch {
    return "not installed";
  }
  try {
    const json = JSON.parse(fs.readFileSync(manifest, "utf8")) as {
      binary?: { module_name?: string; module_path?: string; napi_versions?: number[] };
    };
    const b = json.binary;
    if (!b?.module_name || !b.module_path || !Array.isArray(b.napi_versions) || b.napi_versions.length === 0) return null;
    const files = b.napi_versions.map((v) =>
      path.join(path.dirname(manifest), b.module_path!.replace("{napi_build_version}", String(v)), `${b.module_name}.node`),
    );
    if (files.some((f) => fs.existsSync(f))) return null;
    const shown = path.relative(path.dirname(manifest), files[files.length - 1]!);
    return `native addon missing (${shown} not found: its install script did not run)`;
  } catch {
    return null;
  }
}

async function activate(name: string): Promise<void> {
  let ok: boolean;
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(" "));
  try {
    ok = await tf.setBackend(name);
  } finally {
    console.warn = warn;
  }
  if (!ok) {
    const why = warnings.filter((w) => !/^Initialization of backend .* failed$/.test(w.trim())).map((w) => w.split("\n")[0]);
    throw new Unavailable(`initialisation failed${why.length ? `: ${why.join("; ")}` : ""}`);
  }
}

async function tryTfjsNode(pkg: string): Promise<string> {
  const missing = missingNativeAddon(pkg);
  if (missing) throw new Unavailable(missing);
  await importOrExplain(pkg);
  if (!tf.findBackendFactory("tensorflow")) throw new Unavailable(`${pkg} loaded but registered no "tensorflow" backend`);
  await activate("tensorflow");
  return pkg === "@tensorflow/tfjs-node-gpu" ? "libtensorflow, CUDA build" : "libtensorflow";
}

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

/** Finds a WebGPU implementation: a global navigator.gpu, or the `webgpu` (Dawn) npm package. */
async function findWebGpu(): Promise<{ gpu: GpuLike; via: string }> {
  const existing = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (existing) return { gpu: existing, via: "navigator.gpu" };
  let mod: { create?: (flags: string[]) => GpuLike; globals?: object };
  try {
    mod = (await importOrExplain("webgpu")) as typeof mod;
  } catch (err) {
    if (err instanceof Unavailable && err.message === "not installed") {
      throw new Unavailable("no WebGPU implementation for Node installed (no navigator.gpu, no 'webgpu' package)");
    }
    throw err;
  }
  if (typeof mod.create !== "function") throw new Unavailable("the 'webgpu' package has no create() function");
  if (mod.globals) Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: GpuLike };
  if (!nav.gpu) Object.defineProperty(nav, "gpu", { value: gpu, configurable: true });
  return { gpu, via: "the 'webgpu' package" };
}

async function tryWebGpu(): Promise<string> {
  const { gpu, via } = await findWebGpu();
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Unavailable(`${via} offers no adapter`);
  await importOrExplain("@tensorflow/tfjs-backend-webgpu").catch((err: unknown) => {
    if (err instanceof Unavailable && err.message === "not installed") {
      throw new Unavailable("WebGPU adapter found but @tensorflow/tfjs-backend-webgpu is not installed");
    }
    throw err;
  });
  await activate("webgpu");
  return `via ${via}`;
}

interface WasmModule {
  setWasmPaths(prefix: string): void;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

let wasmPathsSet = false;

async function tryWasm(opts: InitBackendOptions): Promise<string> {
  const wasm = (await importOrExplain("@tensorflow/tfjs-backend-wasm")) as WasmModule;
  registerMissingWasmKernels();
  if (!wasmPathsSet && !tf.engine().registry["wasm"]) {
    // The .wasm binaries sit next to the package's node bundle in dist/.
    const file = requireHere.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm");
    wasm.setWasmPaths(path.dirname(file) + path.sep);
    wasmPathsSet = true;
  }
  const simd = Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
  let threadNote = "";
  if (opts.wasmThreads && !tf.engine().registry["wasm"]) {
    const cores = os.availableParallelism();
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
    wasm.setThreadsCount(cores);
    try {
      await activate("wasm");
    } catch (err) {
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
      threadNote = `; threaded build failed: ${shortReason(err)}`;
    }
  }
  // Always (re)activate: tf.getBackend() would start a default initialisation by itself.
  await activate("wasm");
  const threads = wasm.getThreadsCount();
  return `${simd ? "SIMD" : "no SIMD"}, ${threads} thread${threads === 1 ? "" : "s"}${threadNote}`;
}

/** Kernel names for the backend line: peftlab's fused ops without their prefix, a gradient kernel
 *  folded into its forward one ("RMSNorm+grad"). */
function nativeKernelList(kernels: string[]): string {
  const names = kernels.map((k) => k.replace(/^Peftlab/, ""));
  // "XGrad" and "XGradWeight" (a second gradient kernel) belong to "X".
  const forwardOf = (k: string): string | null => {
    const m = /^(.+?)Grad(Weight)?$/.exec(k);
    return m && names.includes(m[1]!) ? m[1]! : null;
  };
  const shown = names.filter((k) => forwardOf(k) === null);
  return shown.map((k) => (names.some((g) => forwardOf(g) === k) ? `${k}+grad` : k)).join(", ");
}

async function tryNative(opts: InitBackendOptions): Promise<string> {
  // Load the addon before touching the backend, so that a missing binary costs nothing; register
  // the native kernels after the wasm backend's own (and our wrappers of them) are in place.
  try {
    loadAddon();
  } catch (err) {
    if (err instanceof NativeUnavailable) throw new Unavailable(err.message);
    throw err;
  }
  const wasmDetail = await tryWasm(opts);
  const state = enableNativeKernels();
  if (state.kernels.length === 0) throw new Unavailable(`no native kernel usable: ${state.missing.map((m) => m.reason).join("; ")}`);
  const missing = state.missing.length ? `; not native: ${state.missing.map((m) => `${m.kernel} (${m.reason})`).join(", ")}` : "";
  const t = state.threads;
  return `${nativeKernelList(state.kernels)} native (${state.simd}, ${t} thread${t === 1 ? "" : "s"}), the rest on wasm ${wasmDetail}${missing}`;
}

async function tryCpu(): Promise<string> {
  await activate("cpu");
  // The cpu backend prints an "install tfjs-node" banner on first use; our line says it instead.
  (tf.backend() as { firstUse?: boolean }).firstUse = false;
  return "plain JavaScript";
}

async function tryBackend(name: Exclude<BackendName, "auto">, opts: InitBackendOptions): Promise<string> {
  switch (name) {
    case "tensorflow-gpu":
      return tryTfjsNode("@tensorflow/tfjs-node-gpu");
    case "tensorflow":
      return tryTfjsNode("@tensorflow/tfjs-node");
    case "webgpu":
      return tryWebGpu();
    case "native":
      return tryNative(opts);
    case "wasm":
      return tryWasm(opts);
    case "cpu":
      return tryCpu();
  }
}

function summaryLine(name: string, detail: string, requested: BackendName, skipped: BackendInfo["skipped"]): string {
  let line = `backend: ${name} (${detail})`;
  if (requested !== "auto") line += ` — requested`;
  if (skipped.length > 0) line += ` — skipped ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`;
  return line;
}

/**
 * Initialises TensorFlow.js on the requested backend ("auto" = the fastest that works), registers
 * the kernels and gradients our models need that tfjs lacks, and reports the choice in one line.
 * @throws when an explicitly requested backend cannot be used, saying why.
 */
export async function initBackend(requested: BackendName = "auto", opts: InitBackendOptions = {}): Promise<BackendInfo> {
  if (!(BACKEND_NAMES as readonly string[]).includes(requested)) {
    throw new Error(`initBackend: unknown backend "${requested}"; expected one of ${BACKEND_NAMES.join(", ")}`);
  }
  registerMissingGradients();
  disableNativeKernels();
  const candidates = requested === "auto" ? AUTO_ORDER : [requested];
  const skipped: BackendInfo["skipped"] = [];
  for (const name of candidates) {
    try {
      const detail = await tryBackend(name, opts);
      await tf.ready();
      const tfjsName = tf.getBackend();
      const info: BackendInfo = { name: name === "native" ? "native" : tfjsName, tfjsName, requested, skipped, detail, line: "" };
      info.line = summaryLine(info.name, detail, requested, skipped);
      opts.log?.(info.line);
      return info;
    } catch (err) {
      if (name === "native") disableNativeKernels();
      // Any failure of a candidate (not only the expected Unavailable) makes "auto" move on.
      const reason = err instanceof Unavailable ? err.message : shortReason(err);
      if (requested !== "auto") throw new Error(`backend "${name}" was requested but cannot be used: ${reason}`);
      skipped.push({ name, reason });
    }
  }
  throw new Error(`no backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`);
}
