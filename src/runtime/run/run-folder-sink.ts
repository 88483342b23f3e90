// The run folder as a sink (layout: src/results/run-folder.ts): everything a run records is
// written here, whoever started it. It also holds what a resume needs: which jobs finished in an
// earlier session, where each job checkpoints, and how far its logs had got at the checkpoint.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Plan } from "../../dsl/plan.js";
import type { RunEvent, RunResult } from "../../results/events.js";
import { loadRunDir, RUN_FOLDER } from "../../results/run-folder.js";
import { renderReport } from "../../viz/report.js";
import type { Dataset } from "../data/index.js";
import { writeFileAtomic } from "../io/atomic.js";
import { recoverCheckpoint, removeCheckpoint } from "../train/checkpoint.js";
import type { JobOutcome } from "./job.js";
import { exportJobAdapters } from "./export-adapters.js";
import { JsonlWriter } from "./folder-io.js";
import type { JobEnding, PlannedJob, PlanOutcome, RunSink } from "./sink.js";
import { versions } from "./versions.js";

export interface RunFolderOptions {
  /** The .peft text the plan was compiled from (written as source.peft when given). */
  source?: string | null;
  /** Keep what an earlier session of this folder finished, and continue from checkpoints. */
  resume?: boolean;
  /** Directory that relative paths in the plan are resolved against (for the pruned base's tokenizer). */
  baseDir: string;
  /** Problems that do not stop the run (the report could not be written). */
  note: (line: string) => void;
}

/** The JSON written as a job's config.json: the resolved spec, the data's checksum and the versions. */
export function jobConfig(plan: Plan, job: PlannedJob, backend: string, dataset: Dataset | null): Record<string, unknown> {
  const { run, seed, lr } = job.spec;
  return {
    run: run.name,
    seed,
    lr,
    backend,
    spec: run,
    model: plan.models[run.model],
    data: { name: run.data, spec: plan.data[run.data], sha256: dataset?.checksum ?? null },
    adapters: Object.fromEntries(run.adapters.map((n) => [n, plan.adapters[n]])),
    beam: run.beam ? plan.beams[run.beam] : null,
    prune: run.prune ? plan.prunes[run.prune] : null,
    source: plan.source,
    versions: versions(),
  };
}

function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * What a trained job leaves in its folder `jobDir` while its model is alive: config.json always; for
 * a finished job its test predictions and adapters (a failed export turns the result into a failure).
 * The run folder sink calls it, and so does a worker thread that trained the job (job-worker.ts).
 */
export function writeTrainedJob(plan: Plan, job: PlannedJob, jobDir: string, backend: string, outcome: JobOutcome, baseDir: string): void {
  writeJson(path.join(jobDir, RUN_FOLDER.config), jobConfig(plan, job, backend, outcome.dataset));
  if (outcome.interrupted || outcome.result.status !== "finished" || !outcome.model) return;
  // Every scored test example with the model's answer, one JSON object a line.
  writeFileAtomic(path.join(jobDir, RUN_FOLDER.predictions), outcome.predictions.map((p) => `${JSON.stringify(p)}\n`).join(""));
  try {
    exportJobAdapters(plan, job.spec, outcome.model, path.join(jobDir, RUN_FOLDER.adapter), { baseDir });
  } catch (e) {
    outcome.result.status = "failed";
    outcome.result.error = `adapter export failed: ${(e as Error).message}`;
  }
}

export class RunFolderSink implements RunSink {
  private plan: Plan | null = null;
  private backend = "";
  /** The open logs of each running job, by job folder (several jobs run at once with `jobs` > 1). */
  private logs = new Map<string, { metrics: JsonlWriter; events: JsonlWriter }>();

  /** `dir` is the run folder (created when missing). */
  constructor(readonly dir: string, private readonly opts: RunFolderOptions) {}

  jobDir(job: PlannedJob): string {
    return path.join(this.dir, job.folder);
  }

  checkpointDir(job: PlannedJob): string {
    return path.join(this.jobDir(job), RUN_FOLDER.checkpoint);
  }

  /** On resume, the result of a job that finished in an earlier session; else null. */
  finishedResult(job: PlannedJob): RunResult | null {
    if (!this.opts.resume) return null;
    try {
      const r = JSON.parse(fs.readFileSync(path.join(this.jobDir(job), RUN_FOLDER.result), "utf8")) as RunResult;
      return r.status === "finished" ? r : null;
    } catch {
      return null;
    }
  }

  /**
   * Makes the job's folder ready. Returns true when the job continues from its checkpoint (then the
   * logs are reopened by `resumed`); otherwise clears what an earlier session left and starts the logs.
   */
  prepare(job: PlannedJob): boolean {
    const dir = this.jobDir(job);
    fs.mkdirSync(dir, { recursive: true });
    // A kill between saveCheckpoint's two renames leaves the checkpoint beside its folder: put it back.
    const resuming = this.opts.resume === true && recoverCheckpoint(this.checkpointDir(job)) !== null;
    if (!resuming) {
      removeCheckpoint(this.checkpointDir(job));
      for (const sub of [RUN_FOLDER.adapter, RUN_FOLDER.prunedBase, RUN_FOLDER.adaloraAdapter]) {
        fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
      }
      fs.rmSync(path.join(dir, RUN_FOLDER.result), { force: true });
      fs.rmSync(path.join(dir, RUN_FOLDER.predictions), { force: true });
      this.openLogs(job, null, null);
    }
    return resuming;
  }

  private openLogs(job: PlannedJob, metricsBytes: number | null, eventsBytes: number | null): void {
    this.closeLogs(job);
    const dir = this.jobDir(job);
    this.logs.set(job.folder, {
      metrics: new JsonlWriter(path.join(dir, RUN_FOLDER.metrics), metricsBytes),
      events: new JsonlWriter(path.join(dir, RUN_FOLDER.events), eventsBytes),
    });
  }

  private closeLogs(job: PlannedJob): void {
    const logs = this.logs.get(job.folder);
    if (!logs) return;
    logs.metrics.close();
    logs.events.close();
    this.logs.delete(job.folder);
  }

  /** What a checkpoint of `job` records about its logs: their sizes, so a resume can cut what came after. */
  checkpointExtras(job: PlannedJob): Record<string, unknown> {
    const logs = this.logs.get(job.folder);
    return { metricsBytes: logs?.metrics.size() ?? 0, eventsBytes: logs?.events.size() ?? 0 };
  }

  /** The job continues from a checkpoint: reopen its logs, cut back to their size at that checkpoint. */
  resumed(job: PlannedJob, extras: Record<string, unknown>): void {
    this.openLogs(job, Number(extras.metricsBytes ?? 0), Number(extras.eventsBytes ?? 0));
  }

  planStart(plan: Plan, _jobs: readonly PlannedJob[], backend: { name: string }): void {
    this.plan = plan;
    this.backend = backend.name;
    writeJson(path.join(this.dir, RUN_FOLDER.plan), plan);
    if (this.opts.source !== undefined && this.opts.source !== null) writeFileAtomic(path.join(this.dir, RUN_FOLDER.source), this.opts.source);
  }

  event(job: PlannedJob, e: RunEvent): void {
    const logs = this.logs.get(job.folder);
    if (e.type === "step" || e.type === "eval") logs?.metrics.write(e);
    else logs?.events.write(e);
  }

  /** config.json for every job that ran; the adapters of a finished one (a failed export fails the job). */
  jobTrained(job: PlannedJob, outcome: JobOutcome): void {
    writeTrainedJob(this.plan!, job, this.jobDir(job), this.backend, outcome, this.opts.baseDir);
  }

  jobEnd(job: PlannedJob, result: RunResult, ending: JobEnding): void {
    if (ending === "skipped") return;
    if (ending !== "interrupted") {
      writeJson(path.join(this.jobDir(job), RUN_FOLDER.result), result);
      if (result.status === "finished") removeCheckpoint(this.checkpointDir(job));
    }
    this.closeLogs(job);
  }

  /** summary.json and report.html once every job has ended (a stopped run writes neither). */
  planEnd(outcome: PlanOutcome): void {
    if (outcome.interrupted) return;
    writeJson(path.join(this.dir, RUN_FOLDER.summary), outcome.summary);
    const report = path.join(this.dir, RUN_FOLDER.report);
    try {
      writeFileAtomic(report, renderReport(loadRunDir(this.dir)));
    } catch (e) {
      this.opts.note(`could not write the report ${report}: ${(e as Error).message}`);
    }
  }
}
