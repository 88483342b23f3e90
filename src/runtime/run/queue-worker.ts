// `peftlab worker --queue URL`: takes the jobs of every experiment on the queue (queue.ts) and trains
// them into their run folders, `concurrency` at a time, each in a worker thread (job-pool.ts) so that
// this thread stays free to renew the queue's locks. The run folder must be the one the coordinator
// created (shared storage, same absolute path): a worker that cannot see its marker file fails the
// job at once with a message saying so. A job resumes from its checkpoint whenever one is there: a
// job whose worker was killed (the queue notices its lock lapse and hands it on) or that failed and
// is retried goes on from its last checkpoint, with the same results as if it had never stopped.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { UnrecoverableError, WaitingError, Worker, type Job } from "bullmq";
import type { RunEvent, RunResult } from "../../results/events.js";
import { initBackend, resolveBackendRequest, type BackendInfo } from "../tensor/backend.js";
import { JobPool } from "./job-pool.js";
import { QUEUE_MARKER, QUEUE_NAME, type QueueJobData, type QueueProgress } from "./queue.js";
import { checkRedis, parseQueueUrl } from "./queue-url.js";
import { RunFolderSink } from "./run-folder-sink.js";

export interface QueueWorkerOptions {
  /** redis:// or rediss:// URL (the password is never shown). */
  url: string;
  /** Jobs trained at once (each in its own worker thread). */
  concurrency: number;
  /**
   * Milliseconds without a lock renewal after which the queue takes a job from this worker and
   * hands it to another (the worker renews every half of it).
   */
  stallMs: number;
  /** One line for the user (redacted). */
  log(line: string): void;
  /** Aborting stops the running jobs after a checkpoint, hands them back to the queue, and resolves. */
  signal?: AbortSignal;
}

/** How long a worker waits between progress messages of one job (step events in between are merged). */
const PROGRESS_EVERY_MS = 250;

/** Runs a queue worker until `signal` aborts; resolves to the number of jobs it ended. */
export async function runQueueWorker(opts: QueueWorkerOptions): Promise<number> {
  const address = parseQueueUrl(opts.url);
  const log = (line: string) => opts.log(address.redact(line));
  await checkRedis(address);
  const backends = new Map<string, Promise<BackendInfo>>();
  const pools = new Map<string, JobPool>();
  /** The pool of worker threads for a backend request, started (with the backend) on first use. */
  const poolFor = async (requested: string): Promise<JobPool> => {
    let info = backends.get(requested);
    if (!info) {
      info = initBackend(requested as BackendInfo["requested"], { log });
      backends.set(requested, info);
    }
    const name = (await info).name;
    let pool = pools.get(name);
    if (!pool) {
      pool = new JobPool(opts.concurrency, { baseDir: process.cwd(), backendName: name });
      pools.set(name, pool);
    }
    return pool;
  };
  let ended = 0;

  const processJob = async (qjob: Job<QueueJobData, RunResult>, token?: string): Promise<RunResult> => {
    const data = qjob.data;
    if (data?.format !== 1 || !data.job?.spec?.plan) throw new UnrecoverableError(`job ${qjob.id} is not a job this version of peftlab can train`);
    checkRunFolder(data);
    const job = data.job;
    const req = resolveBackendRequest({ cli: data.backend, env: process.env.PEFTLAB_BACKEND ?? null, plan: job.spec.plan.backend });
    const pool = await poolFor(req.backend);
    const folder = new RunFolderSink(data.out, { resume: true, baseDir: data.baseDir, note: log });
    const resuming = folder.prepare(job);
    const relay = new ProgressRelay(qjob);
    log(`${job.folder} (${data.out}): ${resuming ? "continuing from its checkpoint" : "started"}, attempt ${qjob.attemptsMade + 1} of ${qjob.opts.attempts ?? 1}`);
    const out = await pool.run(job, { checkpointDir: folder.checkpointDir(job), jobDir: folder.jobDir(job), resume: resuming, baseDir: data.baseDir }, {
      event: (e) => {
        folder.event(job, e);
        relay.push(e);
      },
      resumed: (extras, step) => {
        folder.resumed(job, extras);
        relay.note(`resuming from the checkpoint at step ${step}`);
      },
    });
    await relay.close();
    if (out.interrupted) {
      // This worker is stopping: the checkpoint is written, the next worker continues from it.
      folder.jobEnd(job, out.result, "interrupted");
      await qjob.moveToWait(token);
      log(`${job.folder}: stopped at step ${out.result.steps} and handed back to the queue`);
      throw new WaitingError();
    }
    ended += 1;
    if (out.result.status === "finished") {
      folder.jobEnd(job, out.result, "finished");
      log(`${job.folder}: finished`);
      return out.result;
    }
    const last = qjob.attemptsMade + 1 >= (qjob.opts.attempts ?? 1);
    // Only the last failure is recorded as the job's result; a retry continues from the checkpoint.
    folder.jobEnd(job, out.result, last ? "failed" : "interrupted");
    log(`${job.folder}: failed${last ? "" : ", to be retried"}: ${out.result.error ?? "unknown error"}`);
    throw new Error(out.result.error ?? "failed");
  };

  const worker = new Worker<QueueJobData, RunResult>(QUEUE_NAME, processJob, {
    connection: { ...address.connection, maxRetriesPerRequest: null },
    concurrency: opts.concurrency,
    lockDuration: opts.stallMs,
    stalledInterval: opts.stallMs,
    maxStalledCount: 2,
    autorun: false,
  });
  let lastError = "";
  worker.on("error", (e) => {
    const line = `queue ${address.display}: ${e.message}`;
    if (line !== lastError) log(line);
    lastError = line;
  });
  const running = worker.run();
  await worker.waitUntilReady();
  log(`worker ${os.hostname()}:${process.pid} takes jobs from ${address.display} (${opts.concurrency} at a time)`);
  await new Promise<void>((resolve) => {
    if (opts.signal?.aborted) resolve();
    opts.signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  for (const pool of pools.values()) pool.stop();
  await worker.close();
  await running;
  await Promise.all([...pools.values()].map((p) => p.close()));
  return ended;
}

/**
 * Throws an UnrecoverableError when the run folder is not the coordinator's: missing (storage not
 * shared, or mounted at another path) or holding the marker of another experiment.
 */
function checkRunFolder(data: QueueJobData): void {
  const marker = path.join(data.out, QUEUE_MARKER);
  let key: unknown;
  try {
    key = (JSON.parse(fs.readFileSync(marker, "utf8")) as { key?: unknown }).key;
  } catch {
    throw new UnrecoverableError(
      `${os.hostname()} cannot see the run folder ${data.out} (no ${QUEUE_MARKER} there): --out must be on storage every worker reaches at the same absolute path (a shared file system)`,
    );
  }
  if (key !== data.key) {
    throw new UnrecoverableError(`the run folder ${data.out} on ${os.hostname()} belongs to another experiment (its ${QUEUE_MARKER} has another key): is another machine's folder mounted there?`);
  }
}

/** A job's events and notes, sent to the coordinator as queue progress at most every PROGRESS_EVERY_MS. */
class ProgressRelay {
  private events: RunEvent[] = [];
  private notes: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<unknown> = Promise.resolve();

  constructor(private readonly job: Job<QueueJobData, RunResult>) {}

  push(e: RunEvent): void {
    // Only the latest step matters to a display; every other event is kept.
    const last = this.events.at(-1);
    if (e.type === "step" && last?.type === "step") this.events[this.events.length - 1] = e;
    else this.events.push(e);
    this.schedule();
  }

  note(line: string): void {
    this.notes.push(line);
    this.schedule();
  }

  /** Sends what is left; resolves once every message went out (or failed: progress is best effort). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flush();
    await this.sending;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, PROGRESS_EVERY_MS);
  }

  private flush(): void {
    if (!this.events.length && !this.notes.length) return;
    const progress: QueueProgress = { events: this.events, notes: this.notes };
    this.events = [];
    this.notes = [];
    this.sending = this.sending.then(() => this.job.updateProgress(progress as unknown as object).catch(() => {}));
  }
}
