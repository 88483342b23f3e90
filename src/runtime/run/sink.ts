// What runPlan tells the world while it runs a plan: sinks subscribe to a plan's jobs and their
// events. The run folder, the terminal's progress and the notebook's live figures are sinks; each
// hook is optional.

import type { Plan } from "../../dsl/plan.js";
import type { RunEvent, RunResult } from "../../results/events.js";
import type { Summary } from "../../results/summary.js";
import type { BackendInfo } from "../tensor/backend.js";
import type { JobOutcome, JobSpec } from "./job.js";

/** One job of the plan as runPlan will run it. */
export interface PlannedJob {
  spec: JobSpec;
  /** Position among the plan's selected jobs. */
  index: number;
  /** `<run>/<seed>` or `<run>/<seed>-lr<value>`: the job's folder inside a run folder, and its name in logs. */
  folder: string;
}

/** How a job ended. "skipped": it had finished in an earlier session of the run folder. */
export type JobEnding = "finished" | "failed" | "interrupted" | "skipped";

/** What runPlan returns, and hands to every sink's `planEnd`. */
export interface PlanOutcome {
  backend: BackendInfo;
  /** One result per job that ran or was skipped, in job order (an interrupted job has none). */
  results: RunResult[];
  summary: Summary;
  /** Wall time of the whole plan in milliseconds. */
  wallMs: number;
  /** True when the run was stopped (its signal aborted) before every job ended. */
  interrupted: boolean;
  /** The run folder written (absolute), or null when none was asked for. */
  folder: string | null;
  /** Every job of the plan that was selected, including those not reached. */
  jobs: readonly PlannedJob[];
}

export interface RunSink {
  /** Before the first job, once the backend is ready. */
  planStart?(plan: Plan, jobs: readonly PlannedJob[], backend: BackendInfo): void;
  /** A job starts (or continues from its checkpoint; a note says so). */
  jobStart?(job: PlannedJob): void;
  event?(job: PlannedJob, e: RunEvent): void;
  /**
   * The job ran (finished, failed or was interrupted) and its model is still alive: export adapters,
   * inspect weights. A sink may turn a finished result into a failed one (e.g. the export failed).
   */
  jobTrained?(job: PlannedJob, outcome: JobOutcome): void | Promise<void>;
  jobEnd?(job: PlannedJob, result: RunResult, ending: JobEnding): void;
  /** A line for the user (which backend runs, a resume, a problem that does not stop the run). */
  note?(line: string): void;
  planEnd?(outcome: PlanOutcome): void;
}
