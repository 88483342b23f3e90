// GFLOP/s of one float32 n×n · n×n matrix product on each TensorFlow.js backend, against PyTorch
// (bench/reference/matmul.py) on one and two threads in the same run. The product is the kernel
// that dominates a training step of a wide model, so it bounds what the runtime can reach.
import { initBackend, tf } from "../dist/index.js";
import { runReference } from "./lib/reference.js";
import { ratio, sig, summarizeMs, timeCalls } from "./lib/timing.js";

const BUDGET = {
  smoke: { size: 128, cpuSize: 64, wasm: { warmup: 1, repeats: 3 }, cpu: { warmup: 1, repeats: 2 }, torch: 3 },
  quick: { size: 1024, cpuSize: 512, wasm: { warmup: 2, repeats: 6 }, cpu: { warmup: 1, repeats: 3 }, torch: 6 },
  full: { size: 1024, cpuSize: 1024, wasm: { warmup: 3, repeats: 15 }, cpu: { warmup: 1, repeats: 4 }, torch: 15 },
};

/** Times tf.matMul of two seeded n×n matrices on the current backend (the result is read back each time). */
function timeOurs(n, budget) {
  const a = tf.randomUniform([n, n], 0, 1, "float32", 1);
  const b = tf.randomUniform([n, n], 0, 1, "float32", 2);
  try {
    const ms = timeCalls(() => {
      const c = tf.matMul(a, b);
      c.dataSync();
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
  for (const name of ctx.backends ?? ["wasm", "cpu"]) {
    try {
      await initBackend(name);
    } catch (err) {
      backends[name] = { available: false, reason: err instanceof Error ? err.message : String(err) };
      continue;
    }
    // The plain-JS cpu backend is ~30x slower; in quick mode it multiplies a smaller matrix.
    const size = name === "cpu" ? budget.cpuSize : n;
    ctx.log?.(`matmul: ${name}, ${size}×${size}`);
    const s = timeOurs(size, budget[name] ?? budget.wasm);
    backends[name] = { available: true, size, ms_median: sig(s.ms_median), gflops: sig(gflops(size, s.ms_median)) };
  }
  const torch = {};
  for (const threads of [1, 2]) {
    ctx.log?.(`matmul: torch, ${threads} thread(s)`);
    const r = runReference("matmul.py", ["--size", String(n), "--repeats", String(budget.torch)], { threads });
    torch[threads] = r.available ? { available: true, ms_median: sig(r.ms_median), gflops: sig(r.gflops), versions: r.versions } : r;
  }
  const ours = backends.wasm?.available ? backends.wasm.gflops : null;
  const ref = torch[1].available ? torch[1].gflops : null;
  return {
    size: n,
    backend: "wasm",
    ours_gflops: ours,
    torch_gflops: ref,
    torch_threads: 1,
    ratio: sig(ratio(ours, ref)),
    ratio_vs_torch_2_threads: sig(ratio(ours, torch[2].available ? torch[2].gflops : null)),
    torch_reason: ref === null ? torch[1].reason : null,
    torch_blas: torch[1].available ? torch[1].versions.blas : null,
    backends,
    torch,
  };
}
