// Runs the experiment units (bench/lib/experiments.js), one unit per worker thread, `parallel` at
// a time, so that on a machine with several cores the units of a full run share the wall time
// (on the native backend each worker's kernels get cores ÷ parallel threads). A unit runs all of
// its runs in one worker, so its step-time ratios compare jobs that ran under the same conditions.
// The pretrained base is built here, before any worker starts, so that two workers never build
// it at the same time.
import os from "node:os";
import { Worker } from "node:worker_threads";
import { experimentBase, runUnitEvidence } from "./evidence.js";
import { loadAddon } from "../../dist/internal.js";

/**
 * The backend of the evidence jobs: --evidence-backend or $PEFTLAB_BENCH_BACKEND when given, else
 * native where the addon loads (each worker's kernels get cores ÷ workers threads), else wasm.
 * Both backends compute the same steps to float32 rounding; single runs part after some tens of
 * steps as runs do whose learning rate differs in its 7th digit, so one seed's result differs
 * between them by chance, not on average: over seeds 1–40 of 400 LoRA steps on 2-digit addition
 * wasm reached 0.198 mean test exact match and native 0.212 (paired difference −0.014 ± 0.072;
 * docs/native.md). Native keeps the full run under 90 minutes on two cores; wasm would take ~2 hours.
 * @param {string} _mode
 * @param {(line: string) => void} [log] told why, when the jobs fall back to wasm
 */
export async function evidenceBackend(_mode, log = (_line) => {}) {
  if (process.env.PEFTLAB_BENCH_BACKEND) return process.env.PEFTLAB_BENCH_BACKEND;
  try {
    loadAddon();
    return "native";
  } catch (err) {
    log(`evidence: native kernels unavailable (${err instanceof Error ? err.message : String(err)}); the jobs run on wasm`);
    return "wasm";
  }
}

/** How many units run at once when the user did not say: one per core, at most one per unit. */
export function defaultParallel(tasks, cores = os.availableParallelism()) {
  return Math.max(1, Math.min(tasks, cores));
}

/** Runs one unit in a worker thread (added to `live` while it runs); resolves with its evidence, rejects with the worker's error. */
function runInWorker(task, ctx, live, parallel) {
  return new Promise((resolve, reject) => {
    const threads = String(Math.max(1, Math.floor(os.availableParallelism() / parallel)));
    const env = { ...process.env, PEFTLAB_THREADS: process.env.PEFTLAB_THREADS ?? threads };
    const workerData = { unit: task, mode: ctx.mode, backend: ctx.backend ?? "wasm", base: ctx.base ?? null };
    const worker = new Worker(new URL("./evidence-worker.js", import.meta.url), { workerData, env });
    live.add(worker);
    worker.once("exit", () => live.delete(worker));
    let result = null;
    worker.on("message", (m) => {
      if (m.type === "log") ctx.log?.(m.line);
      else if (m.type === "done") result = m.evidence;
      else if (m.type === "error") {
        const err = new Error(`evidence ${task}: ${m.message}`);
        if (m.stack) err.stack = `${err.message}\n--- in the worker:\n${m.stack}`;
        reject(err);
      }
    });
    worker.on("error", (err) => reject(new Error(`evidence ${task}: ${err.message}`)));
    worker.on("exit", (code) => {
      if (result) resolve(result);
      else reject(new Error(`evidence ${task}: the worker exited with code ${code} before finishing`));
    });
  });
}

/**
 * The evidence of every unit (by id), in the order given. With `parallel` 1 the units run one
 * after the other in this thread; otherwise in worker threads, `parallel` at a time.
 */
export async function runEvidence(tasks, ctx, parallel) {
  await experimentBase(ctx.base, ctx);
  if (parallel <= 1 || tasks.length <= 1) {
    const out = [];
    for (const task of tasks) out.push(await runUnitEvidence(task, ctx));
    return out;
  }
  const out = new Array(tasks.length);
  const live = new Set();
  let next = 0;
  let firstError = null;
  const lane = async () => {
    while (!firstError && next < tasks.length) {
      const i = next++;
      try {
        out[i] = await runInWorker(tasks[i], ctx, live, parallel);
      } catch (err) {
        if (firstError) return; // this worker was stopped because another task failed
        firstError = err;
        // No new task starts and the running ones stop: nothing trains on behind the caller's back.
        await Promise.all([...live].map((w) => w.terminate()));
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, tasks.length) }, lane));
  if (firstError) throw firstError;
  return out;
}
