// Runs the evidence tasks, one task per worker thread, `parallel` at a time. TensorFlow.js's wasm
// backend computes on one thread in Node, so on a machine with several cores the tasks of a full
// run can share the wall time. Every task still runs all of its runs (LoRA, BeamLoRA, Light-PEFT)
// in one worker, so a task's step-time ratios compare jobs that ran under the same conditions.
// The tasks' pretrained bases are built here, before any worker starts, so that two
// workers never build it at the same time.
import os from "node:os";
import { Worker } from "node:worker_threads";
import { runTaskEvidence, taskBase } from "./evidence.js";

/** How many tasks run at once when the user did not say: one per core, at most one per task. */
export function defaultParallel(tasks, cores = os.availableParallelism()) {
  return Math.max(1, Math.min(tasks, cores));
}

/** Runs one task in a worker thread (added to `live` while it runs); resolves with its evidence, rejects with the worker's error. */
function runInWorker(task, ctx, live) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./evidence-worker.js", import.meta.url), { workerData: { task, mode: ctx.mode, backend: ctx.backend ?? "wasm" } });
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
 * The evidence of every task, in the order given. With `parallel` 1 the tasks run one after the
 * other in this thread; otherwise in worker threads, `parallel` at a time.
 */
export async function runEvidence(tasks, ctx, parallel) {
  for (const t of new Set(tasks.map((x) => (x === "spam" ? "spam" : "arithmetic")))) await taskBase(t, ctx);
  if (parallel <= 1 || tasks.length <= 1) {
    const out = [];
    for (const task of tasks) out.push(await runTaskEvidence(task, ctx));
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
        out[i] = await runInWorker(tasks[i], ctx, live);
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
