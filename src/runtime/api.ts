// Training a whole plan from code: `await train(plan)` runs every run × seed × learning rate and
// returns the results and their summary — the same content as result.json and summary.json.
import * as path from "node:path";
import type { Plan } from "../dsl/plan.js";
import { type BackendInfo, initBackend, resolveBackendRequest } from "./backend.js";
import type { Dataset } from "./data/index.js";
import type { RunEvent, RunResult } from "./events.js";
import { disposeJob, executeJob, expandJobs, type JobOrder, type JobOutcome, type JobSpec } from "./job.js";
import { buildSummary, type Summary } from "./summary.js";
import * as tf from "./tf.js";

export interface TrainOptions {
  /** Backend to use; default: the plan's, overridden by PEFTLAB_BACKEND. */
  backend?: string;
  /** Only these runs (by name). */
  only?: string[];
  /**
   * Directory that relative paths in the plan are resolved against. Default: the folder of the
   * plan's source file (`plan.source.path`, itself relative to the current directory), since the
   * compiler writes paths relative to the file they were written in. (A notebook experiment's
   * plan names its file without the folder: pass the experiment's `baseDir`, as `run(exp)` does.)
   */
  baseDir?: string;
  /** The order of the jobs (see {@link JobOrder}); default "runs". */
  order?: JobOrder;
  /** Every event of every job, tagged with the job. */
  onEvent?: (job: JobSpec, e: RunEvent) => void;
  /** Called when a job starts and ends (progress displays). */
  onJobStart?: (job: JobSpec, index: number, total: number) => void;
  onJobEnd?: (job: JobSpec, result: RunResult) => void;
  /**
   * Called with each finished job's trained model before it is disposed (export adapters, inspect
   * weights). The model is only valid during the call.
   */
  onModel?: (job: JobSpec, outcome: JobOutcome) => void | Promise<void>;
  /** Where each job may checkpoint (null = no checkpoints). */
  checkpointDir?: (job: JobSpec) => string | null;
  /** Polled after every step; true stops the current job (after a checkpoint) and the rest. */
  shouldStop?: () => boolean;
  log?: (line: string) => void;
}

export interface TrainResults {
  backend: BackendInfo;
  results: RunResult[];
  summary: Summary;
  /** Wall time of the whole plan in milliseconds. */
  wallMs: number;
  interrupted: boolean;
}

/** The folder of the plan's source file, or the current directory when the plan has no file name. */
function defaultBaseDir(plan: Plan): string {
  return plan.source.path ? path.dirname(path.resolve(plan.source.path)) : process.cwd();
}

/** Trains every job of `plan` and summarises them (learning rates chosen on validation, never test). */
export async function train(plan: Plan, opts: TrainOptions = {}): Promise<TrainResults> {
  const t0 = Date.now();
  const req = resolveBackendRequest({ cli: opts.backend ?? null, env: process.env.PEFTLAB_BACKEND ?? null, plan: plan.backend });
  const backend = await initBackend(req.backend, { log: opts.log });
  const jobs = expandJobs(plan, opts.only, opts.order);
  const results: RunResult[] = [];
  const datasets = new Map<string, Dataset>();
  let interrupted = false;
  for (const [i, job] of jobs.entries()) {
    if (opts.shouldStop?.()) {
      interrupted = true;
      break;
    }
    opts.onJobStart?.(job, i, jobs.length);
    const outcome = await executeJob(job, {
      baseDir: opts.baseDir ?? defaultBaseDir(plan),
      backend: tf.getBackend(),
      emit: (e) => opts.onEvent?.(job, e),
      checkpointDir: opts.checkpointDir?.(job) ?? null,
      shouldStop: opts.shouldStop,
      datasets,
    });
    try {
      if (outcome.result.status === "finished" && opts.onModel) await opts.onModel(job, outcome);
    } finally {
      disposeJob(outcome);
    }
    if (outcome.interrupted) {
      interrupted = true;
      break;
    }
    results.push(outcome.result);
    opts.onJobEnd?.(job, outcome.result);
  }
  const summary = buildSummary(results, { runs: plan.runs.map((r) => ({ name: r.name })), comparisons: plan.comparisons });
  return { backend, results, summary, wallMs: Date.now() - t0, interrupted };
}
