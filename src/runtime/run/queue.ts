// runPlan on a BullMQ job queue in Redis (`peftlab run --queue URL`): the plan's jobs become queue
// jobs that `peftlab worker` processes (queue-worker.ts) on any machine that reaches Redis and the
// run folder. This side, the coordinator, enqueues one queue job per run × seed × learning rate,
// follows them through the queue's events with the same sinks as a local run, and writes
// summary.json and report.html when every job has ended.
//
// Every experiment shares one queue ("peftlab"), so a worker serves all of them; a job's id starts
// with the experiment's key (a hash of the plan and the absolute run folder), so two experiments
// never take each other's jobs, and running the same experiment again finds its own jobs (--resume).
// A queue job carries data only: the plan, the job, the run folder and the base directory.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Queue, QueueEvents, type Job } from "bullmq";
import type { Plan } from "../../dsl/plan.js";
import type { RunEvent, RunResult } from "../../results/events.js";
import { RUN_FOLDER } from "../../results/run-folder.js";
import { buildSummary } from "../../results/summary.js";
import type { BackendInfo } from "../tensor/backend.js";
import { writeFileAtomic } from "../io/atomic.js";
import { acquireLock } from "./folder-io.js";
import { checkRedis, parseQueueUrl } from "./queue-url.js";
import { RunFolderSink } from "./run-folder-sink.js";
import type { PlannedJob, PlanOutcome, RunSink } from "./sink.js";

/** The BullMQ queue every experiment's jobs go to. */
export const QUEUE_NAME = "peftlab";

/**
 * The file the coordinator writes into the run folder before it enqueues: a worker that cannot see
 * it is not looking at the same storage, and fails the job saying so.
 */
export const QUEUE_MARKER = "queue.json";

/** What a queue job carries: plain data, never code. */
export interface QueueJobData {
  format: 1;
  /** The experiment's key (see {@link experimentKey}). */
  key: string;
  /** The run folder, absolute; every worker must see it at this path. */
  out: string;
  /** Directory that relative paths in the plan are resolved against. */
  baseDir: string;
  /** The coordinator's --backend, if any (else each worker's $PEFTLAB_BACKEND, else the plan's). */
  backend: string | null;
  /** The job, with the plan in `job.spec.plan`. */
  job: PlannedJob;
}

/** What a worker reports as a job's progress: events for the display, and lines for the user. */
export interface QueueProgress {
  events: RunEvent[];
  notes: string[];
}

/** The experiment's key: the plan and the absolute run folder, hashed. */
export function experimentKey(plan: Plan, out: string): string {
  return createHash("sha256").update(JSON.stringify(plan)).update("\0").update(path.resolve(out)).digest("hex").slice(0, 16);
}

/** The queue job id of `folder` (e.g. "lora/1") in the experiment `key` (BullMQ ids may not hold ":"). */
export function queueJobId(key: string, folder: string): string {
  return `${key}.${folder}`;
}

/** A failed result for a job the queue gave up on, from its last error. */
export function queueFailedResult(job: PlannedJob, error: string): RunResult {
  const { run, seed, lr } = job.spec;
  return {
    run: run.name, seed, lr, backend: "", steps: 0, metrics: {}, params: { foundation: 0, trainable: 0 },
    stepMs: 0, tokensPerS: 0, peakBytes: 0, wallMs: 0, status: "failed", error,
  };
}

export interface QueueRunOptions {
  /** redis:// or rediss:// URL, possibly with a password (never shown). */
  url: string;
  /** Tries after a failed attempt before a job is reported failed. */
  retries: number;
  /** The run folder: on storage every worker reaches under the same absolute path. */
  folder: string;
  source?: string | null;
  /** Keep the jobs the folder or the queue finished; re-attach to the jobs still queued or training. */
  resume?: boolean;
  baseDir: string;
  /** The --backend the workers use (null: each worker's $PEFTLAB_BACKEND, else the plan's). */
  backend: string | null;
  /** Aborting stops following: the queue keeps the jobs, the workers go on, --resume re-attaches. */
  signal?: AbortSignal;
  sinks: readonly RunSink[];
  /** How often the coordinator also asks the queue for the state of every job it waits for. */
  pollMs?: number;
}

/** runPlan's jobs through the queue (runPlan calls this for `queue`). */
export async function runOnQueue(plan: Plan, jobs: readonly PlannedJob[], opts: QueueRunOptions): Promise<PlanOutcome> {
  const t0 = Date.now();
  const address = parseQueueUrl(opts.url);
  const note = (line: string) => sinks.forEach((s) => s.note?.(address.redact(line)));
  const dir = path.resolve(opts.folder);
  const folder = new RunFolderSink(dir, { source: opts.source, resume: opts.resume, baseDir: opts.baseDir, note });
  const sinks: RunSink[] = [folder, ...opts.sinks];
  const display = sinks.filter((s) => s !== folder);
  await checkRedis(address);
  const release = acquireLock(dir);
  const connection = { ...address.connection, maxRetriesPerRequest: null };
  const queue = new Queue<QueueJobData, RunResult>(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  let lastError = "";
  const onError = (e: Error) => {
    const line = `queue ${address.display}: ${address.redact(e.message)}`;
    if (line !== lastError) note(line);
    lastError = line;
  };
  queue.on("error", onError);
  events.on("error", onError);
  try {
    const key = experimentKey(plan, dir);
    const backend = queuedBackend(opts.backend);
    note(backend.line);
    sinks.forEach((s) => s.planStart?.(plan, jobs, backend));
    writeFileAtomic(path.join(dir, QUEUE_MARKER), `${JSON.stringify({ queue: QUEUE_NAME, key, jobs: jobs.length }, null, 2)}\n`);
    await events.waitUntilReady();

    const byIndex: (RunResult | null)[] = jobs.map(() => null);
    const pending = new Map<string, PlannedJob>();
    for (const job of jobs) {
      const previous = folder.finishedResult(job);
      if (previous) {
        byIndex[job.index] = previous;
        sinks.forEach((s) => s.jobEnd?.(job, previous, "skipped"));
        continue;
      }
      const id = queueJobId(key, job.folder);
      if (!(await keepQueued(queue, id, job, opts.resume === true))) {
        if (!opts.resume) fs.rmSync(folder.jobDir(job), { recursive: true, force: true });
        const data: QueueJobData = { format: 1, key, out: dir, baseDir: opts.baseDir, backend: opts.backend, job };
        await queue.add(job.folder, data, {
          jobId: id,
          attempts: opts.retries + 1,
          backoff: { type: "fixed", delay: 1000 },
          removeOnComplete: { age: 7 * 24 * 3600 },
          removeOnFail: { age: 7 * 24 * 3600 },
        });
      }
      pending.set(id, job);
    }
    if (pending.size > 0) {
      const workers = await queue.getWorkersCount();
      note(`queue ${address.display}: ${pending.size} job(s) of experiment ${key} queued or running; ${workers === 0 ? "no worker is connected yet: start one with peftlab worker --queue URL" : `${workers} worker(s) connected`}`);
    }

    const started = new Set<string>();
    const start = (id: string) => {
      const job = pending.get(id);
      if (!job || started.has(id)) return;
      started.add(id);
      display.forEach((s) => s.jobStart?.(job));
    };
    const end = (id: string, result: RunResult) => {
      const job = pending.get(id);
      if (!job) return;
      pending.delete(id);
      byIndex[job.index] = result;
      sinks.forEach((s) => s.jobEnd?.(job, result, result.status));
    };
    /** Asks the queue where the job is, and ends it when the queue has finished with it. */
    const settle = async (id: string) => {
      const job = pending.get(id);
      if (!job) return;
      // The state alone first: the job itself (with its plan) is read only once it has ended.
      const state = await queue.getJobState(id);
      if (state === "active") start(id);
      if (state !== "completed" && state !== "failed" && state !== "unknown") return;
      const qjob = await queue.getJob(id);
      if (!pending.has(id)) return;
      if (state === "unknown" || !qjob) end(id, queueFailedResult(job, `the queue lost job ${id} (removed from Redis by hand or by a fresh run of the same experiment)`));
      else if (state === "completed") end(id, qjob.returnvalue);
      else end(id, failedResultOf(folder, job, qjob));
    };
    await new Promise<void>((resolve, reject) => {
      let poll: NodeJS.Timeout | null = null;
      const check = () => {
        if (pending.size === 0 || opts.signal?.aborted) {
          if (poll) clearInterval(poll);
          opts.signal?.removeEventListener("abort", check);
          resolve();
        }
      };
      const settleAndCheck = (id: string) => {
        settle(id).then(check, (e: unknown) => {
          if (poll) clearInterval(poll);
          reject(e);
        });
      };
      events.on("active", ({ jobId }) => start(jobId));
      events.on("progress", ({ jobId, data }) => {
        const job = pending.get(jobId);
        if (!job || typeof data !== "object" || data === null) return;
        start(jobId);
        const p = data as Partial<QueueProgress>;
        for (const e of p.events ?? []) display.forEach((s) => s.event?.(job, e));
        for (const line of p.notes ?? []) note(`${job.folder}: ${line}`);
      });
      events.on("completed", ({ jobId }) => settleAndCheck(jobId));
      events.on("failed", ({ jobId }) => settleAndCheck(jobId));
      opts.signal?.addEventListener("abort", check);
      // Events are what the display follows; the poll catches what finished while no one listened.
      poll = setInterval(() => [...pending.keys()].forEach(settleAndCheck), opts.pollMs ?? 2000);
      [...pending.keys()].forEach(settleAndCheck);
      check();
    });

    const interrupted = pending.size > 0;
    const results = byIndex.filter((r): r is RunResult => r !== null);
    const summary = buildSummary(results, { runs: plan.runs.map((r) => ({ name: r.name })), comparisons: plan.comparisons });
    const ran = results.find((r) => r.backend);
    const outcome: PlanOutcome = {
      backend: ran ? { ...backend, name: ran.backend, tfjsName: ran.backend } : backend,
      results, summary, wallMs: Date.now() - t0, interrupted, folder: dir, jobs,
    };
    sinks.forEach((s) => s.planEnd?.(outcome));
    return outcome;
  } finally {
    await Promise.allSettled([events.close(), queue.close()]);
    release();
  }
}

/**
 * Whether the queue already holds job `id` for this experiment in a state to keep. A fresh run
 * removes what an earlier run left (refusing while a worker still trains it); --resume keeps a job
 * that is waiting, retrying or training, and re-enqueues one the queue finished or failed that the
 * folder does not record as finished.
 */
async function keepQueued(queue: Queue<QueueJobData, RunResult>, id: string, job: PlannedJob, resume: boolean): Promise<boolean> {
  const existing = await queue.getJob(id);
  if (!existing) return false;
  const state = await existing.getState();
  if (resume && state !== "completed" && state !== "failed" && state !== "unknown") return true;
  if (state === "active") {
    throw new Error(`${job.folder}: a worker is still training this job for an earlier run of the same experiment; continue it with --resume, or wait for it to end`);
  }
  await existing.remove();
  return false;
}

/** The result of a job the queue failed: the worker's result.json when it wrote one, else the queue's last error. */
function failedResultOf(folder: RunFolderSink, job: PlannedJob, qjob: Job<QueueJobData, RunResult>): RunResult {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(folder.jobDir(job), RUN_FOLDER.result), "utf8")) as RunResult;
    if (r.status === "failed") return r;
  } catch {
    /* no result written: the worker could not reach the folder, or died */
  }
  const attempts = qjob.attemptsMade > 1 ? ` (after ${qjob.attemptsMade} attempts)` : "";
  return queueFailedResult(job, `${qjob.failedReason ?? "failed on the queue"}${attempts}`);
}

/** The backend as the coordinator knows it: what the workers were asked for; they choose. */
function queuedBackend(requested: string | null): BackendInfo {
  const name = requested ?? "auto";
  return {
    name, tfjsName: name, requested: name as BackendInfo["requested"], skipped: [], detail: "chosen by each queue worker",
    line: `backend: ${requested ? `${requested} on every queue worker` : "chosen by each queue worker ($PEFTLAB_BACKEND, else the plan's, else auto)"}`,
  };
}

/** One job as `peftlab queue status` lists it. */
export interface QueueJobRow {
  state: string;
  /** The job's folder in its run folder, e.g. "lora/1". */
  job: string;
  /** The run folder it trains into. */
  out: string;
  /** Attempts that failed so far, and how many are allowed. */
  attempts: string;
  /** The last step the worker reported, of the job's total. */
  step: string;
  /** Why it failed (failed jobs), else "". */
  error: string;
}

/** What the queue at `url` holds: counts by state, the jobs, and how many workers are connected. */
export async function queueStatus(url: string, limit = 1000): Promise<{ display: string; counts: Record<string, number>; jobs: QueueJobRow[]; workers: number }> {
  const address = parseQueueUrl(url);
  await checkRedis(address);
  const queue = new Queue<QueueJobData, RunResult>(QUEUE_NAME, { connection: { ...address.connection, maxRetriesPerRequest: null } });
  queue.on("error", () => {});
  try {
    const states = ["active", "waiting", "prioritized", "delayed", "completed", "failed"] as const;
    const counts = await queue.getJobCounts(...states);
    const jobs: QueueJobRow[] = [];
    for (const state of states) {
      for (const j of await queue.getJobs([state], 0, limit - 1, true)) {
        if (!j) continue;
        const progress = j.progress as Partial<QueueProgress> | number;
        const steps = typeof progress === "object" ? (progress.events ?? []).filter((e) => e.type === "step") : [];
        const total = j.data?.job?.spec?.run?.train?.steps;
        const last = steps.at(-1);
        jobs.push({
          state: state === "delayed" ? "retrying" : state === "prioritized" ? "waiting" : state,
          job: j.data?.job?.folder ?? j.name,
          out: j.data?.out ?? "?",
          attempts: `${j.attemptsMade}/${j.opts.attempts ?? 1}`,
          step: state === "completed" ? `${total ?? "?"}/${total ?? "?"}` : last && last.type === "step" ? `${last.step}/${total ?? "?"}` : "",
          error: state === "failed" ? address.redact(j.failedReason ?? "") : "",
        });
      }
    }
    return { display: address.display, counts, jobs, workers: await queue.getWorkersCount() };
  } finally {
    await queue.close();
  }
}
