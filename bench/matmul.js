// GFLOP/s of one float32 n×n · n×n matrix product on each backend variant (native on one thread
// and on every core, wasm, cpu; see lib/backends.js), against PyTorch (bench/reference/matmul.py)
// on one thread and on every core in the same run. The product is the kernel that dominates a
// training step of a wide model, so it bounds what the runtime can reach.
import { tf } from "../dist/index.js";
import { CORES, DEFAULT_VARIANTS, headline, useVariant } from "./lib/backends.js";
import { runReference } from "./lib/reference.js";
import { ratio, sig, summarizeMs, timeCalls } from "./lib/timing.js";

const BUDGET = {
  smoke: { size: 128, cpuSize: 64, wasm: { warmup: 1, repeats: 3 }, cpu: { warmup: 1, repeats: 2 }, torch: 3 },
  quick: { size: 1024, cpuSize: 512, native: { warmup: 3, repeats: 15 }, wasm: { warmup: 2, repeats: 6 }, cpu: { warmup: 1, repeats: 3 }, torch: 15 },
  full: { size: 1024, cpuSize: 1024, native: { warmup: 5, repeats: 30 }, wasm: { warmup: 3, repeats: 15 }, cpu: { warmup: 1, repeats: 4 }, torch: 30 },
};

/** Backends whose kernels compute before tf.matMul returns (wasm, peftlab's native kernels, cpu). */
const SYNCHRONOUS = new Set(["wasm", "cpu"]);

/**
 * Times tf.matMul of two seeded n×n matrices on the current backend. Like the PyTorch side
 * (`torch.matmul`, result left in place), a call is the product into a new tensor; the result is
 * read back only where the backend computes asynchronously (a GPU), since there the read-back is
 * what waits for the product.
 */
function timeOurs(n, budget) {
  const a = tf.randomUniform([n, n], 0, 1, "float32", 1);
  const b = tf.randomUniform([n, n], 0, 1, "float32", 2);
  const readBack = !SYNCHRONOUS.has(tf.getBackend());
  try {
    const ms = timeCalls(() => {
      const c = tf.matMul(a, b);
      if (readBack) c.dataSync();
      c.dispose();
    }, budget);
    return summarizeMs(ms);
  } finally {
    a.dispose();
    b.dispose();
  }
}

const gflops = (n, ms) => (2 * n ** 3) / (ms / 1000) / 1e9;

/** Runs the matmul benchmark; returns the `matmul` JSON section. */
export async function runMatmul(ctx) {
  const budget = BUDGET[ctx.mode];
  const n = budget.size;
  const backends = {};
  for (const name of ctx.backends ?? DEFAULT_VARIANTS) {
    let info;
    try {
      info = await useVariant(name);
    } catch (err) {
      backends[name] = { available: false, reason: err instanceof Error ? err.message : String(err) };
      continue;
    }
    // The plain-JS cpu backend is ~30x slower; in quick mode it multiplies a smaller matrix.
    const size = name === "cpu" ? budget.cpuSize : n;
    ctx.log?.(`matmul: ${name}, ${size}×${size}`);
    const s = timeOurs(size, budget[name] ?? budget.native ?? budget.wasm);
    backends[name] = { available: true, size, ms_median: sig(s.ms_median), gflops: sig(gflops(size, s.ms_median)), detail: info.detail };
  }
  const torch = {};
  const torchThreads = [...new Set([1, 2, CORES])];
  for (const threads of torchThreads) {
    ctx.log?.(`matmul: torch, ${threads} thread(s)`);
    const r = runReference("matmul.py", ["--size", String(n), "--warmup", String(budget.native?.warmup ?? budget.wasm.warmup), "--repeats", String(budget.torch)], { threads });
    torch[threads] = r.available ? { available: true, ms_median: sig(r.ms_median), gflops: sig(r.gflops), versions: r.versions } : r;
  }
  const main = headline(backends);
  const g = (name) => (backends[name]?.available ? backends[name].gflops : null);
  const t = (threads) => (torch[threads]?.available ? torch[threads].gflops : null);
  const ours = g(main);
  const ref = t(1);
  return {
    size: n,
    backend: main,
    ours_gflops: ours,
    torch_gflops: ref,
    torch_threads: 1,
    ratio: sig(ratio(ours, ref)),
    ratio_all_cores: sig(ratio(g("native_all_cores"), t(CORES))),
    cores: CORES,
    ratio_vs_torch_2_threads: sig(ratio(ours, t(2))),
    wasm_gflops: g("wasm"),
    ratio_wasm: sig(ratio(g("wasm"), ref)),
    torch_reason: ref === null ? torch[1].reason : null,
    torch_blas: torch[1].available ? torch[1].versions.blas : null,
    backends,
    torch,
  };
}
