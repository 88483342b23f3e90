// The `native` backend's kernels: peftlab's native kernels registered over the wasm backend's.
//
// enableNativeKernels() swaps them in (keeping each replaced KernelConfig); disableNativeKernels()
// puts the originals back, so `wasm` after `native` in one process is pure wasm again.
import * as tf from "../tf.js";
import { loadAddon, threadCount, type LoadedAddon } from "./addon.js";
import { NATIVE_KERNELS } from "./kernels/index.js";

export { loadAddon, threadCount, NativeUnavailable, addonCandidates, type NativeAddon, type NativeInfo } from "./addon.js";
export { NATIVE_KERNELS, type NativeKernel } from "./kernels/index.js";

/** What enableNativeKernels() did. */
export interface NativeState {
  /** Kernel names now native. */
  kernels: string[];
  /** Kernels left on wasm and why (e.g. the binary predates them). */
  missing: { kernel: string; reason: string }[];
  threads: number;
  /** "AVX2+FMA", "AVX2+FMA, AVX-512F products" or "plain C". */
  simd: string;
  file: string;
}

/** Replaced configs by kernel name (null: the name was new). Non-empty while native is on. */
const replaced = new Map<string, tf.KernelConfig | null>();
const active = new Set<string>();

/** True while the native kernel `kernelName` is registered (fused ops check this to choose a path). */
export function isNativeKernelActive(kernelName: string): boolean {
  return active.has(kernelName);
}

/**
 * The kernels named in $PEFTLAB_NATIVE_DISABLE (comma-separated tfjs kernel names, e.g.
 * "PeftlabAdamW,Add"), which stay on wasm: a way to find the kernel behind a difference between
 * the backends. A fused op's forward and gradient kernels are switched off together. An unknown
 * name is an error, so a typo does not pass for a clean comparison.
 */
export function disabledKernels(env: NodeJS.ProcessEnv = process.env): Set<string> {
  const names = (env.PEFTLAB_NATIVE_DISABLE ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  const known = new Set(NATIVE_KERNELS.map((k) => k.kernelName));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new Error(`PEFTLAB_NATIVE_DISABLE: unknown kernel ${unknown.map((n) => `"${n}"`).join(", ")}; the native kernels are ${[...known].join(", ")}`);
  }
  // A fused op and its gradient kernels go together (a forward without its backward cannot train).
  const op = (n: string) => n.replace(/Grad(Weight)?$/, "");
  const ops = new Set(names.map(op));
  return new Set([...known].filter((n) => ops.has(op(n))));
}

/**
 * Registers the native kernels over the wasm ones and sizes the thread pool.
 * Call after the wasm backend's own kernels are registered. Idempotent.
 * @throws NativeUnavailable when the addon cannot be loaded; an Error for a bad PEFTLAB_THREADS.
 */
export function enableNativeKernels(threads: number = threadCount()): NativeState {
  const loaded: LoadedAddon = loadAddon();
  const { addon } = loaded;
  addon.setThreads(threads);
  const missing: NativeState["missing"] = [];
  const off = disabledKernels();
  for (const k of NATIVE_KERNELS) {
    if (active.has(k.kernelName)) continue;
    if (off.has(k.kernelName)) {
      missing.push({ kernel: k.kernelName, reason: "PEFTLAB_NATIVE_DISABLE" });
      continue;
    }
    const absent = k.natives.filter((f) => typeof addon[f] !== "function");
    if (absent.length > 0) {
      missing.push({ kernel: k.kernelName, reason: `${loaded.file} lacks ${absent.join(", ")} (rebuild it)` });
      continue;
    }
    const original = tf.getKernel(k.kernelName, "wasm") ?? null;
    const kernelFunc = k.make(addon, original?.kernelFunc ?? null);
    if (original) tf.unregisterKernel(k.kernelName, "wasm");
    tf.registerKernel({ ...(original ?? {}), kernelName: k.kernelName, backendName: "wasm", kernelFunc });
    replaced.set(k.kernelName, original);
    active.add(k.kernelName);
  }
  const info = addon.info();
  const simd = !info.simd ? "plain C" : info.gemm === "AVX-512F" ? "AVX2+FMA, AVX-512F products" : "AVX2+FMA";
  return { kernels: [...active], missing, threads: info.threads, simd, file: loaded.file };
}

/** Puts back the wasm kernels that enableNativeKernels() replaced. Idempotent. */
export function disableNativeKernels(): void {
  for (const [name, original] of replaced) {
    tf.unregisterKernel(name, "wasm");
    if (original) tf.registerKernel(original);
  }
  replaced.clear();
  active.clear();
}
