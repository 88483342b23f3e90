// Training a whole plan from code: `await train(plan)` runs every run × seed × learning rate through
// runPlan (the one job loop, run/run-plan.ts) and returns the results and their summary — the same
// content as result.json and summary.json; with `folder` it also writes the run folder.
import type { Plan } from "../../dsl/plan.js";
import type { RunEvent, RunResult } from "../../results/events.js";
import type { JobOutcome, JobSpec } from "./job.js";
import { runPlan, type RunPlanOptions } from "./run-plan.js";
import type { PlannedJob, PlanOutcome, RunSink } from "./sink.js";

export interface TrainOptions extends RunPlanOptions {
  /** Every event of every job, tagged with the job. */
  onEvent?: (job: JobSpec, e: RunEvent) => void;
  /** Called when a job starts and ends (progress displays); onJobEnd runs after the job's tensors are freed. */
  onJobStart?: (job: JobSpec, index: number, total: number) => void;
  onJobEnd?: (job: JobSpec, result: RunResult) => void;
  /**
   * Called with each finished job's trained model before it is disposed (export adapters, inspect
   * weights). The model is only valid during the call. Needs `jobs` 1 (the default).
   */
  onModel?: (job: JobSpec, outcome: JobOutcome) => void | Promise<void>;
  /** Lines the run logs (which backend runs, resumes). */
  log?: (line: string) => void;
}

/** What train() returns: the backend, every result, summary.json, the wall time and whether it was stopped. */
export type TrainResults = PlanOutcome;

/** Trains every job of `plan` and summarises them (learning rates chosen on validation, never test). */
export function train(plan: Plan, opts: TrainOptions = {}): Promise<TrainResults> {
  let total = 0;
  const callbacks: RunSink = {
    planStart: (_plan, jobs) => void (total = jobs.length),
    jobStart: (job) => opts.onJobStart?.(job.spec, job.index, total),
    event: (job, e) => opts.onEvent?.(job.spec, e),
    // Only with onModel: with `jobs` > 1 the models stay in their worker threads.
    ...(opts.onModel
      ? {
          jobTrained: async (job: PlannedJob, outcome: JobOutcome) => {
            if (!outcome.interrupted && outcome.result.status === "finished" && outcome.model) await opts.onModel?.(job.spec, outcome);
          },
        }
      : {}),
    jobEnd: (job, result, ending) => {
      if (ending !== "interrupted") opts.onJobEnd?.(job.spec, result);
    },
    note: (line) => opts.log?.(line),
  };
  return runPlan(plan, { ...opts, sinks: [...(opts.sinks ?? []), callbacks] });
}
