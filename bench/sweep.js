// A sweep's wall time with `--jobs`: the same 6-job plan (3 runs × 2 seeds) trained by runPlan with
// jobs 1 and with jobs 2, on the wasm backend (one thread per job), into fresh run folders:
//   sweep.speedup_jobs2   wall(jobs 1) ÷ wall(jobs 2)                 goal ≥ 1.7 on two cores
// Both runs must give the same test metrics (each job's seed decides what it computes); the
// benchmark fails when they do not. The wall times include starting the worker threads; the
// cores each run really used are recorded beside them (a busy machine lowers the speed-up).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { compileSource, runPlan } from "../dist/index.js";

export const GOAL = 1.7;

/** Steps per job: long enough in quick and full mode that starting the workers is a small part. */
export const STEPS = { smoke: 6, quick: 120, full: 240 };

/** The .peft text of the sweep: 3 runs × 2 seeds of a small decoder on digit addition. */
export function sweepSource(steps) {
  return `backend wasm
model base = decoder { layers 2, width 64, heads 4, context 24 }
data sums = addition { digits 2, train 256, validation 32, test 32 }
adapter r4 = lora { rank 4, alpha 8, target "q_proj", "v_proj" }
adapter r8 = lora { rank 8, alpha 16, target "q_proj", "v_proj" }
adapter mlp = lora { rank 4, alpha 8, target "q_proj", "k_proj", "v_proj", "o_proj" }
train { steps ${steps}, batch 16, lr 3e-3, seeds 1 2, eval end, checkpoint off }
run small = base + r4 on sums
run wide = base + r8 on sums
run all = base + mlp on sums
`;
}

/** One training of the plan with `jobs` at once; returns its wall time and test metrics by job. */
async function timed(source, jobs, dir) {
  const { plan, diagnostics } = compileSource(source, "sweep.peft");
  if (!plan) throw new Error(`sweep.peft does not compile: ${diagnostics.map((d) => d.message).join("; ")}`);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const out = await runPlan(plan, { folder: dir, jobs });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const failed = out.results.filter((r) => r.status !== "finished");
  if (failed.length) throw new Error(`jobs ${jobs}: ${failed.map((r) => `${r.run}/${r.seed}: ${r.error}`).join("; ")}`);
  return { ms, cores: (cpu.user + cpu.system) / 1000 / ms, metrics: out.results.map((r) => ({ job: `${r.run}/${r.seed}`, test: r.metrics })) };
}

/** Runs the sweep with jobs 1 and jobs 2 (in that order) and returns the section for bench/run.js. */
export async function runSweepBench(ctx) {
  const steps = STEPS[ctx.mode];
  const source = sweepSource(steps);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-sweep-"));
  try {
    ctx.log(`sweep: 6 jobs × ${steps} steps, jobs 1`);
    const one = await timed(source, 1, path.join(tmp, "jobs1"));
    ctx.log(`sweep: jobs 2`);
    const two = await timed(source, 2, path.join(tmp, "jobs2"));
    if (JSON.stringify(one.metrics) !== JSON.stringify(two.metrics)) {
      throw new Error("jobs 2 gave other test metrics than jobs 1 (a job's results must depend on its seed alone)");
    }
    return {
      backend: "wasm",
      jobs: one.metrics.length,
      steps,
      cores: os.availableParallelism(),
      jobs1_ms: Math.round(one.ms),
      jobs2_ms: Math.round(two.ms),
      speedup_jobs2: one.ms / two.ms,
      // CPU time of the process (every thread) ÷ wall time: the cores each run really got. Below
      // 2 with jobs 2, other programs held a core and the speed-up says more about them than us.
      jobs1_cores_used: one.cores,
      jobs2_cores_used: two.cores,
      goal: GOAL,
      same_results: true,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
