// The worker threads of `runPlan` with `jobs` > 1: up to `size` jobs train at once, each in a
// worker thread (job-worker.ts) with its own backend. The main thread keeps every sink: it hands a
// job to an idle worker and turns the worker's messages back into the sink calls a job in this
// thread would make. A worker that dies mid-job (a crash, process.exit) fails that job with an error
// saying so, and a fresh worker takes the next job.
import * as fs from "node:fs";
import * as os from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { RunEvent, RunResult } from "../../results/events.js";
import { threadCount } from "../tensor/native/addon.js";
import type { PlannedJob } from "./sink.js";

/** What every worker is started with. */
export interface WorkerSetup {
  /** Directory that relative paths in the plan are resolved against. */
  baseDir: string;
  /** The backend the main thread chose; each worker initialises the same one. */
  backendName: string;
  /** One Int32 the main thread sets to 1 to stop every running job after a checkpoint. */
  stop: SharedArrayBuffer;
}

/** Main thread → worker: train this job. */
export type ToWorker = {
  type: "job"; job: PlannedJob; checkpointDir: string | null; jobDir: string | null; resume: boolean;
  /** This job's directory for relative paths, when it is not the pool's (a queue worker serves many experiments). */
  baseDir?: string;
};

/** Worker → main thread. */
export type FromWorker =
  | { type: "event"; event: RunEvent }
  | { type: "resumed"; extras: Record<string, unknown>; step: number }
  | { type: "trained"; result: RunResult; interrupted: boolean }
  | { type: "error"; message: string };

/** What one job in a worker tells its caller as it runs. */
export interface PoolJobHooks {
  event(e: RunEvent): void;
  resumed(extras: Record<string, unknown>, step: number): void;
}

const WORKER_URL = new URL("./job-worker.js", import.meta.url);

/**
 * Whether the worker script exists beside this module: true in the compiled package; false when
 * this module runs from its TypeScript source (a test runner), where a worker thread cannot load it.
 */
export function jobWorkerAvailable(): boolean {
  return fs.existsSync(fileURLToPath(WORKER_URL));
}

/** The backends that compute on the calling thread alone, so that jobs in worker threads add cores. */
const SINGLE_THREADED = new Set(["wasm", "cpu"]);

/**
 * How many jobs run at once when the user did not say: one per core on a single-threaded backend
 * (wasm, cpu), never more than there are jobs; 1 on the others, which already use every core
 * (native's thread pool, TensorFlow's) or a device.
 */
export function defaultJobs(backendName: string, jobs: number, cores: number = os.availableParallelism()): number {
  if (!SINGLE_THREADED.has(backendName)) return 1;
  return Math.max(1, Math.min(jobs, cores));
}

/**
 * The native kernels' pool size for each of `size` workers: the cores (or $PEFTLAB_THREADS, taken
 * as the budget for the whole run) shared out, at least 1.
 */
export function nativeThreadsPerWorker(size: number, env: NodeJS.ProcessEnv = process.env): number {
  return Math.max(1, Math.floor(threadCount(env) / size));
}

/** A result for a job that ended without one from its worker. */
function failedResult(job: PlannedJob, backend: string, error: string, wallMs: number): RunResult {
  const { run, seed, lr } = job.spec;
  return {
    run: run.name, seed, lr, backend, steps: 0, metrics: {}, params: { foundation: 0, trainable: 0 },
    stepMs: 0, tokensPerS: 0, peakBytes: 0, wallMs, status: "failed", error,
  };
}

export class JobPool {
  private readonly idle: Worker[] = [];
  private readonly live = new Set<Worker>();
  private readonly stopFlag: Int32Array;
  private readonly setup: WorkerSetup;
  private readonly env: NodeJS.ProcessEnv;

  private readonly script: URL;

  /** `script`: the worker's module, job-worker.js unless a test hands another that speaks its messages. */
  constructor(readonly size: number, opts: { baseDir: string; backendName: string; script?: URL }) {
    this.script = opts.script ?? WORKER_URL;
    if (!opts.script && !jobWorkerAvailable()) {
      throw new Error(`jobs > 1 runs jobs in worker threads, and their script ${fileURLToPath(WORKER_URL)} is missing (build the package with tsc, or run with jobs 1)`);
    }
    const stop = new SharedArrayBuffer(4);
    this.stopFlag = new Int32Array(stop);
    this.setup = { baseDir: opts.baseDir, backendName: opts.backendName, stop };
    this.env = opts.backendName === "native" ? { ...process.env, PEFTLAB_THREADS: String(nativeThreadsPerWorker(size)) } : { ...process.env };
  }

  /** Every running job writes a checkpoint and stops; no job started later trains. */
  stop(): void {
    Atomics.store(this.stopFlag, 0, 1);
  }

  /** Trains `job` in an idle worker (a new one when none is idle); resolves when it has ended, never rejects. */
  run(job: PlannedJob, where: { checkpointDir: string | null; jobDir: string | null; resume: boolean; baseDir?: string }, hooks: PoolJobHooks): Promise<{ result: RunResult; interrupted: boolean }> {
    const worker = this.idle.pop() ?? this.spawn();
    const t0 = Date.now();
    return new Promise((resolve) => {
      let crash: string | null = null;
      const done = (out: { result: RunResult; interrupted: boolean }, reusable: boolean) => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
        if (reusable) this.idle.push(worker);
        else void worker.terminate();
        resolve(out);
      };
      const onMessage = (m: FromWorker) => {
        if (m.type === "event") hooks.event(m.event);
        else if (m.type === "resumed") hooks.resumed(m.extras, m.step);
        else if (m.type === "trained") done({ result: m.result, interrupted: m.interrupted }, true);
        else done({ result: failedResult(job, this.setup.backendName, `in its worker thread: ${m.message}`, Date.now() - t0), interrupted: false }, false);
      };
      const onError = (e: Error) => {
        crash = e.message;
      };
      const onExit = (code: number) => {
        const why = crash !== null ? `threw ${crash}` : `exited with code ${code}`;
        done({ result: failedResult(job, this.setup.backendName, `the worker thread training ${job.folder} ${why} before the job ended`, Date.now() - t0), interrupted: false }, false);
      };
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      worker.postMessage({ type: "job", job, ...where } satisfies ToWorker);
    });
  }

  /** Ends every worker. */
  async close(): Promise<void> {
    this.idle.length = 0;
    await Promise.all([...this.live].map((w) => w.terminate()));
  }

  private spawn(): Worker {
    const worker = new Worker(this.script, { workerData: this.setup, env: this.env });
    this.live.add(worker);
    // An idle worker that fails is simply not reused; a busy one's failure is handled by run().
    worker.on("error", () => {});
    worker.once("exit", () => {
      this.live.delete(worker);
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return worker;
  }
}
