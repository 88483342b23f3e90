// Loading peftlab's native kernels (the Node-API addon built from native/src).
//
// Where the binary is looked for, first match wins:
//   1. $PEFTLAB_NATIVE_PATH (only there when set: a test or a user can point at another build,
//      or at a missing file to switch the addon off);
//   2. native/build/peftlab.node, built by scripts/build-native.js during `npm ci`;
//   3. prebuilds/<platform>-<arch>/peftlab.node, shipped with a release.
// The addon is unusable on x86-64 CPUs without AVX2+FMA (its plain C path is there for other
// architectures and for tests, not as a fast path on old x86 CPUs). Every failure has a reason that
// the backend line shows.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The version of the addon's JavaScript interface this code was written for (native/src/module.c). */
export const NATIVE_ABI = 1;

/** What the addon's info() returns. */
export interface NativeInfo {
  abi: number;
  /** The CPU has AVX2 and FMA. */
  avx2: boolean;
  /** The SIMD path is in use (false: plain C). */
  simd: boolean;
  threads: number;
  /** The matrix product's micro-kernel: "AVX-512F", "AVX2+FMA" or "plain C". */
  gemm: string;
  /** The kernels the binary exports. */
  kernels: string[];
}

/** The addon's exports: info/setThreads/setSimd and one function per kernel. */
export interface NativeAddon {
  info(): NativeInfo;
  setThreads(n: number): void;
  setSimd(on: boolean): void;
  /** Off runs every matrix product on the 6×16 AVX2 kernel (tests compare the 12×8 and AVX-512 tiles with it). */
  setGemmVariants(on: boolean): void;
  [kernel: string]: unknown;
}

export interface LoadedAddon {
  addon: NativeAddon;
  /** The file it was loaded from. */
  file: string;
  info: NativeInfo;
}

/** Thrown when the addon cannot be used; the message is the reason, in a few words. */
export class NativeUnavailable extends Error {}

/** The package root: this file is src/runtime/tensor/native/addon.ts or dist/runtime/tensor/native/addon.js. */
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

/** The candidate binaries, in the order they are tried. */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const forced = env.PEFTLAB_NATIVE_PATH?.trim();
  if (forced) return [path.resolve(forced)];
  return [
    path.join(packageRoot, "native", "build", "peftlab.node"),
    path.join(packageRoot, "prebuilds", `${process.platform}-${process.arch}`, "peftlab.node"),
  ];
}

let cached: { env: string | undefined; result: LoadedAddon | NativeUnavailable } | null = null;
/** Binaries opened so far, by path: a shared object is opened once per process. */
const opened = new Map<string, NativeAddon>();

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split("\n")[0]?.trim() ?? "";
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}

function load(): LoadedAddon {
  const candidates = addonCandidates();
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) {
    const forced = process.env.PEFTLAB_NATIVE_PATH?.trim();
    throw new NativeUnavailable(
      forced
        ? `PEFTLAB_NATIVE_PATH=${forced}: no such file`
        : `no binary for ${process.platform}-${process.arch} (run \`node scripts/build-native.js\`; it needs a C compiler)`,
    );
  }
  let addon = opened.get(file);
  if (!addon) {
    try {
      const mod = { exports: {} as NativeAddon };
      process.dlopen(mod, file); // a shared object whatever the file's extension
      addon = mod.exports;
    } catch (err) {
      throw new NativeUnavailable(`${path.basename(file)} failed to load: ${firstLine(err)}`);
    }
    opened.set(file, addon);
  }
  if (typeof addon?.info !== "function") throw new NativeUnavailable(`${file} is not peftlab's addon (no info())`);
  const info = addon.info();
  if (info.abi !== NATIVE_ABI) {
    throw new NativeUnavailable(`${file} has interface version ${info.abi}, expected ${NATIVE_ABI} (rebuild: node scripts/build-native.js --force)`);
  }
  if (process.arch === "x64" && !info.avx2) throw new NativeUnavailable("this CPU lacks AVX2/FMA");
  return { addon, file, info };
}

/**
 * Loads the addon once per process (again if PEFTLAB_NATIVE_PATH changes).
 * @throws NativeUnavailable with the reason it cannot be used.
 */
export function loadAddon(): LoadedAddon {
  const env = process.env.PEFTLAB_NATIVE_PATH;
  if (!cached || cached.env !== env) {
    try {
      cached = { env, result: load() };
    } catch (err) {
      cached = { env, result: err instanceof NativeUnavailable ? err : new NativeUnavailable(firstLine(err)) };
    }
  }
  if (cached.result instanceof NativeUnavailable) throw cached.result;
  return cached.result;
}

/**
 * The thread count: $PEFTLAB_THREADS when set (a positive integer), else the cores available.
 * @throws when PEFTLAB_THREADS is set to something else, naming the value.
 */
export function threadCount(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PEFTLAB_THREADS?.trim();
  if (!raw) return os.availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`PEFTLAB_THREADS: expected an integer from 1 to 256, got "${raw}"`);
  return n;
}
