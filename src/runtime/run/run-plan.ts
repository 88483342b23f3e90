// runPlan: the one loop that runs a plan's jobs. The CLI (`peftlab run`), the notebook's run() and
// train() all call it. It chooses the backend, runs every selected run × seed × learning rate,
// skips jobs an earlier session finished and continues from checkpoints (resume), stops cleanly
// when its signal aborts, summarises the results, and tells its sinks everything as it happens;
// with `folder` it writes the run folder (run-folder-sink.ts) as its first sink.
import * as path from "node:path";
import type { Plan } from "../../dsl/plan.js";
import type { RunResult } from "../../results/events.js";
import { jobFolder } from "../../results/run-folder.js";
import { buildSummary } from "../../results/summary.js";
import { initBackend, resolveBackendRequest } from "../tensor/backend.js";
import type { Dataset } from "../data/index.js";
import { disposeJob, executeJob, expandJobs, type JobOrder } from "./job.js";
import { defaultJobs, JobPool } from "./job-pool.js";
import { acquireLock } from "./folder-io.js";
import { runOnQueue } from "./queue.js";
import { RunFolderSink } from "./run-folder-sink.js";
import type { PlannedJob, PlanOutcome, RunSink } from "./sink.js";

export interface RunPlanOptions {
  /** Backend to use; default: the plan's, overridden by PEFTLAB_BACKEND. */
  backend?: string | null;
  /** Only these runs (by name); an unknown name is an error. Default: every run. */
  only?: readonly string[];
  /** The order of the jobs (see {@link JobOrder}); default "runs". */
  order?: JobOrder;
  /**
   * Directory that relative paths in the plan are resolved against. Default: the folder of the
   * plan's source file (`plan.source.path`, itself relative to the current directory), since the
   * compiler writes paths relative to the file they were written in.
   */
  baseDir?: string;
  /** The run folder to write (locked while the plan runs); null or absent: write nothing. */
  folder?: string | null;
  /** The .peft text of the plan, written as source.peft in the run folder. */
  source?: string | null;
  /** Skip the jobs the run folder records as finished, and continue the others from their checkpoints. */
  resume?: boolean;
  /** Aborting stops the current job after a checkpoint (when there is a run folder) and runs no more. */
  signal?: AbortSignal;
  /** Subscribers to the jobs and their events, called in order after the run folder. */
  sinks?: readonly RunSink[];
  /**
   * How many jobs train at once (default 1). Above 1 each job trains in a worker thread with its
   * own backend (job-pool.ts), with the same results as one at a time: a job's seed decides all
   * it computes. "auto": one per core on a single-threaded backend (wasm, cpu), else 1 (native's
   * kernels and TensorFlow already use every core). Sinks then get no live model: a sink with `jobTrained` needs jobs 1.
   */
  jobs?: number | "auto";
  /**
   * Train on a BullMQ job queue in Redis instead of here (queue.ts): one queue job per run × seed ×
   * learning rate, trained by `peftlab worker` processes into `folder` (which they must reach at the
   * same path); runPlan follows them and summarises. `retries`: tries after a failed attempt (default 2).
   */
  queue?: { url: string; retries?: number } | null;
}

/** The folder of the plan's source file, or the current directory when the plan has no file name. */
function defaultBaseDir(plan: Plan): string {
  return plan.source.path ? path.dirname(path.resolve(plan.source.path)) : process.cwd();
}

/** The selected jobs with their folders; throws when `only` names a run the plan lacks. */
export function plannedJobs(plan: Plan, only?: readonly string[], order?: JobOrder): PlannedJob[] {
  const unknown = (only ?? []).filter((n) => !plan.runs.some((r) => r.name === n));
  if (unknown.length) {
    const file = plan.source.path || "the plan";
    throw new Error(`only names ${unknown.map((n) => `"${n}"`).join(", ")}, not a run of ${file} (runs: ${plan.runs.map((r) => r.name).join(", ")})`);
  }
  return expandJobs(plan, only ? [...only] : undefined, order).map((spec, index) => ({
    spec, index, folder: `${spec.run.name}/${jobFolder(spec.seed, spec.lr, spec.run.train.lrs.length > 1)}`,
  }));
}

/** Runs every selected job of `plan`; learning rates are chosen on validation, never on test. */
export async function runPlan(plan: Plan, opts: RunPlanOptions = {}): Promise<PlanOutcome> {
  const t0 = Date.now();
  const jobs = plannedJobs(plan, opts.only, opts.order);
  const baseDir = opts.baseDir ?? defaultBaseDir(plan);
  if (opts.queue) {
    if (!opts.folder) throw new Error("runPlan: a queue needs a run folder (folder), where the workers write");
    return runOnQueue(plan, jobs, {
      url: opts.queue.url, retries: opts.queue.retries ?? 2, folder: opts.folder, source: opts.source, resume: opts.resume,
      baseDir, backend: opts.backend ?? null, signal: opts.signal, sinks: opts.sinks ?? [],
    });
  }
  const note = (line: string) => sinks.forEach((s) => s.note?.(line));
  const folderDir = opts.folder ? path.resolve(opts.folder) : null;
  const folder = folderDir ? new RunFolderSink(folderDir, { source: opts.source, resume: opts.resume, baseDir, note }) : null;
  const sinks: RunSink[] = [...(folder ? [folder] : []), ...(opts.sinks ?? [])];
  const release = folderDir ? acquireLock(folderDir) : () => {};
  try {
    const req = resolveBackendRequest({ cli: opts.backend ?? null, env: process.env.PEFTLAB_BACKEND ?? null, plan: plan.backend });
    const backend = await initBackend(req.backend, { log: note });
    sinks.forEach((s) => s.planStart?.(plan, jobs, backend));
    const stopped = () => opts.signal?.aborted === true;
    if (opts.jobs !== undefined && opts.jobs !== "auto" && !(Number.isInteger(opts.jobs) && opts.jobs >= 1)) {
      throw new Error(`runPlan: jobs must be a whole number of at least 1 or "auto", got ${String(opts.jobs)}`);
    }
    const parallel = opts.jobs === "auto" ? defaultJobs(backend.name, jobs.length) : Math.min(opts.jobs ?? 1, jobs.length);
    if (parallel > 1) {
      const run = await runInWorkers(jobs, parallel, { sinks, folder, baseDir, backend: backend.name, note, signal: opts.signal });
      const summary = buildSummary(run.results, { runs: plan.runs.map((r) => ({ name: r.name })), comparisons: plan.comparisons });
      const end: PlanOutcome = { backend, results: run.results, summary, wallMs: Date.now() - t0, interrupted: run.interrupted, folder: folderDir, jobs };
      sinks.forEach((s) => s.planEnd?.(end));
      return end;
    }
    const results: RunResult[] = [];
    const datasets = new Map<string, Dataset>();
    let interrupted = false;
    for (const job of jobs) {
      const previous = folder?.finishedResult(job) ?? null;
      if (previous) {
        results.push(previous);
        sinks.forEach((s) => s.jobEnd?.(job, previous, "skipped"));
        continue;
      }
      if (stopped()) {
        interrupted = true;
        break;
      }
      const resuming = folder?.prepare(job) ?? false;
      sinks.forEach((s) => s.jobStart?.(job));
      const outcome = await executeJob(job.spec, {
        baseDir,
        backend: backend.name,
        emit: (e) => sinks.forEach((s) => s.event?.(job, e)),
        checkpointDir: folder ? folder.checkpointDir(job) : null,
        resume: resuming,
        shouldStop: stopped,
        datasets,
        checkpointExtras: () => folder?.checkpointExtras(job) ?? {},
        onResume: (extras, step) => {
          folder?.resumed(job, extras);
          note(`${job.folder}: resuming from the checkpoint at step ${step}`);
        },
      });
      try {
        for (const s of sinks) await s.jobTrained?.(job, outcome);
      } finally {
        disposeJob(outcome);
      }
      if (outcome.interrupted) {
        interrupted = true;
        sinks.forEach((s) => s.jobEnd?.(job, outcome.result, "interrupted"));
        break;
      }
      results.push(outcome.result);
      sinks.forEach((s) => s.jobEnd?.(job, outcome.result, outcome.result.status));
    }
    const summary = buildSummary(results, { runs: plan.runs.map((r) => ({ name: r.name })), comparisons: plan.comparisons });
    const end: PlanOutcome = { backend, results, summary, wallMs: Date.now() - t0, interrupted, folder: folderDir, jobs };
    sinks.forEach((s) => s.planEnd?.(end));
    return end;
  } finally {
    release();
  }
}

/**
 * The jobs of runPlan, `size` at a time in worker threads. The sinks hear of each job as they
 * would with one job at a time, except jobTrained, which the worker does for the run folder
 * (writeTrainedJob) and no other sink may need. Results come back in job order.
 */
async function runInWorkers(
  jobs: readonly PlannedJob[],
  size: number,
  ctx: { sinks: RunSink[]; folder: RunFolderSink | null; baseDir: string; backend: string; note: (line: string) => void; signal?: AbortSignal },
): Promise<{ results: RunResult[]; interrupted: boolean }> {
  const { sinks, folder } = ctx;
  const needsModel = sinks.filter((s) => s !== folder && s.jobTrained);
  if (needsModel.length) throw new Error(`jobs ${size}: the jobs train in worker threads, so a sink's jobTrained cannot see their models (train()'s onModel, the notebook's live sink); run with jobs 1`);
  const pool = new JobPool(size, { baseDir: ctx.baseDir, backendName: ctx.backend });
  const onAbort = () => pool.stop();
  ctx.signal?.addEventListener("abort", onAbort);
  if (ctx.signal?.aborted) pool.stop();
  const stopped = () => ctx.signal?.aborted === true;
  const byIndex: (RunResult | null)[] = jobs.map(() => null);
  let interrupted = false;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const previous = folder?.finishedResult(job) ?? null;
      if (previous) {
        byIndex[job.index] = previous;
        sinks.forEach((s) => s.jobEnd?.(job, previous, "skipped"));
        continue;
      }
      if (stopped()) {
        interrupted = true;
        return;
      }
      const resuming = folder?.prepare(job) ?? false;
      sinks.forEach((s) => s.jobStart?.(job));
      const out = await pool.run(job, { checkpointDir: folder ? folder.checkpointDir(job) : null, jobDir: folder ? folder.jobDir(job) : null, resume: resuming }, {
        event: (e) => sinks.forEach((s) => s.event?.(job, e)),
        resumed: (extras, step) => {
          folder?.resumed(job, extras);
          ctx.note(`${job.folder}: resuming from the checkpoint at step ${step}`);
        },
      });
      if (out.interrupted) {
        interrupted = true;
        sinks.forEach((s) => s.jobEnd?.(job, out.result, "interrupted"));
        continue;
      }
      byIndex[job.index] = out.result;
      sinks.forEach((s) => s.jobEnd?.(job, out.result, out.result.status));
    }
  };
  try {
    await Promise.all(Array.from({ length: size }, lane));
  } finally {
    ctx.signal?.removeEventListener("abort", onAbort);
    await pool.close();
  }
  return { results: byIndex.filter((r): r is RunResult => r !== null), interrupted };
}
