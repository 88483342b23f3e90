// The backend variants the speed benchmarks measure, by name:
//   native            peftlab's native kernels over wasm, on ONE thread (PEFTLAB_THREADS=1): the
//                     headline, compared with PyTorch on one thread
//   native_all_cores  the same on every core, compared with PyTorch on every core
//   wasm, cpu         the plain TensorFlow.js backends (the wasm figures stay for comparison)
// When the addon cannot load, the native variants are reported unavailable with the reason and
// the headline falls back to wasm.
import os from "node:os";
import { initBackend } from "../../dist/index.js";

export const CORES = os.availableParallelism();

export const VARIANTS = {
  native: { backend: "native", threads: 1 },
  native_all_cores: { backend: "native", threads: CORES },
  wasm: { backend: "wasm", threads: null },
  cpu: { backend: "cpu", threads: null },
};

export const DEFAULT_VARIANTS = ["native", "native_all_cores", "wasm", "cpu"];

/** Activates a variant; throws (with the backend's reason) when it cannot run. Returns initBackend's info. */
export async function useVariant(name) {
  const v = VARIANTS[name];
  if (!v) throw new Error(`bench: unknown backend variant "${name}"; expected one of ${Object.keys(VARIANTS).join(", ")}`);
  const saved = process.env.PEFTLAB_THREADS;
  if (v.threads) process.env.PEFTLAB_THREADS = String(v.threads);
  try {
    return await initBackend(v.backend);
  } finally {
    if (saved === undefined) delete process.env.PEFTLAB_THREADS;
    else process.env.PEFTLAB_THREADS = saved;
  }
}

/** The variant the headline ratio uses: native (one thread) when it ran, else wasm. */
export function headline(results) {
  return results.native?.available ? "native" : "wasm";
}
