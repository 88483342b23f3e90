// A sweep's wall time with `--jobs`: the same 6-job plan (3 runs × 2 seeds) trained by runPlan with
// jobs 1 and with jobs 2, on the wasm backend (one thread per job), into fresh run folders:
//   sweep.speedup_jobs2   wall(jobs 1) ÷ wall(jobs 2)                 goal ≥ 1.7 on two cores
//   sweep.queue_overhead  wall(--queue, one worker with --concurrency 2) ÷ wall(jobs 2) − 1: the time
//                         the Redis job queue adds per job, as a fraction of a job's  goal ≤ 0.05
// All runs must give the same test metrics (each job's seed decides what it computes); the
// benchmark fails when they do not. The wall times include starting the worker threads; the
// cores each run really used are recorded beside them (a busy machine lowers the speed-up). The
// queue run uses a redis-server started here on a free port and one `peftlab worker` process started
// before the clock (a standing worker, as on a cluster); without redis-server it is skipped (null).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compileSource, runPlan } from "../dist/index.js";

export const GOAL = 1.7;
export const QUEUE_GOAL = 0.05;
const BIN = fileURLToPath(new URL("../bin/peftlab.js", import.meta.url));

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

/** One training of the plan with `jobs` at once (or `queue` options); returns its wall time and test metrics by job. */
async function timed(source, jobs, dir, queue = null) {
  const { plan, diagnostics } = compileSource(source, "sweep.peft");
  if (!plan) throw new Error(`sweep.peft does not compile: ${diagnostics.map((d) => d.message).join("; ")}`);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const out = await runPlan(plan, queue ? { folder: dir, queue } : { folder: dir, jobs });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const failed = out.results.filter((r) => r.status !== "finished");
  if (failed.length) throw new Error(`jobs ${jobs}: ${failed.map((r) => `${r.run}/${r.seed}: ${r.error}`).join("; ")}`);
  return { ms, cores: (cpu.user + cpu.system) / 1000 / ms, metrics: out.results.map((r) => ({ job: `${r.run}/${r.seed}`, test: r.metrics })) };
}

/** A TCP port free on 127.0.0.1 just now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once `child`'s output matches `re`; rejects when it exits first or after `ms`. */
function outputMatch(child, re, ms) {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`no ${re} within ${ms / 1000} s: ${text.slice(-500)}`)), ms);
    const onData = (d) => {
      text += d;
      if (re.test(text)) {
        clearTimeout(timer);
        resolve(undefined);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${re}: ${text.slice(-500)}`));
    });
  });
}

/** Stops a child process with `signal` and waits for it. */
function stop(child, signal = "SIGTERM") {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", resolve);
    child.kill(signal);
  });
}

/**
 * Calls fn(url) with a redis-server on a free port (password set, nothing saved) and one
 * `peftlab worker --concurrency N` taking jobs; stops both after. Null when redis-server is missing.
 */
async function withQueue(concurrency, dir, fn) {
  const server = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => fs.existsSync(p));
  if (!server) return null;
  const port = await freePort();
  const password = randomBytes(12).toString("hex");
  fs.mkdirSync(dir, { recursive: true });
  const redis = spawn(server, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--requirepass", password], { stdio: ["ignore", "pipe", "pipe"] });
  let worker = null;
  try {
    await outputMatch(redis, /Ready to accept connections/, 10_000);
    const url = `redis://:${password}@127.0.0.1:${port}`;
    worker = spawn(process.execPath, [BIN, "worker", "--queue", url, "--concurrency", String(concurrency)], { stdio: ["ignore", "pipe", "pipe"] });
    await outputMatch(worker, /takes jobs/, 60_000);
    return await fn(url);
  } finally {
    if (worker) await stop(worker);
    await stop(redis);
  }
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
    ctx.log("sweep: --queue, one worker with --concurrency 2");
    const queued = await withQueue(2, path.join(tmp, "redis"), (url) => timed(source, null, path.join(tmp, "queue"), { url }));
    if (queued && JSON.stringify(queued.metrics) !== JSON.stringify(one.metrics)) {
      throw new Error("--queue gave other test metrics than jobs 1 (a job's results must depend on its seed alone)");
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
      // Null when redis-server is missing (queue_skipped says so).
      queue_ms: queued ? Math.round(queued.ms) : null,
      queue_overhead: queued ? queued.ms / two.ms - 1 : null,
      queue_added_ms_per_job: queued ? (queued.ms - two.ms) / one.metrics.length : null,
      queue_goal: QUEUE_GOAL,
      ...(queued ? {} : { queue_skipped: "redis-server not found" }),
      same_results: true,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
