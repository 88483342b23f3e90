// run(experiment) in a cell: trains every job of the plan with a progress display and live
// Plotly charts updated in place, then shows the summary and the comparison charts, and returns
// the results (result.json of every job) and summary.json. Like peft`…`, it never throws: an
// experiment with errors or a failure while training is shown in the cell and reported in the
// returned object, so the next cells still run.

import * as path from "node:path";
import { exportJobAdapters } from "../cli/export.js";
import { jobFolder } from "../cli/rundir.js";
import type { Plan, PlotName } from "../dsl/plan.js";
import { train, type TrainOptions } from "../runtime/api.js";
import type { RunEvent, RunResult } from "../runtime/events.js";
import { expandJobs, type JobOutcome, type JobSpec } from "../runtime/job.js";
import { buildSummary, type Summary } from "../runtime/summary.js";
import { figureForPlot } from "../viz/figures.js";
import { escapeHtml } from "../viz/html.js";
import { LiveFigures } from "../viz/notebook.js";
import { makePalette, type Palette } from "../viz/palette.js";
import { newRunData, recordEvent, type RunData } from "../viz/rundata.js";
import type { DisplayChannel } from "./channel.js";
import type { Experiment } from "./experiment.js";
import { ProgressState, progressHtml, progressText } from "./progress.js";
import { channel, Output } from "./session.js";
import { bundleSink, figuresFor, show, showHtml, showSummary } from "./show.js";

/** Options of run(). */
export interface NotebookRunOptions {
  /** Only these runs (by name). */
  only?: string[];
  /** Backend (default: the plan's, overridden by PEFTLAB_BACKEND). */
  backend?: string;
  /** Charts drawn live while training (default: loss, eval, importance, masks — each only when it has data). */
  live?: readonly PlotName[];
  /** Minimum milliseconds between two redraws of the live charts (default 2000). */
  refreshMs?: number;
  /** Writes each finished job's adapters (PEFT format) to DIR/<run>/<seed>[-lr<lr>]/. */
  exportTo?: string;
  /** Called with each trained model before it is disposed (the model is valid only during the call). */
  onModel?: TrainOptions["onModel"];
  /** Show the summary and each comparison's other plots at the end (default true). */
  summary?: boolean;
}

/** An adapter folder written by run({ exportTo }). */
export interface ExportedAdapter {
  run: string;
  seed: number;
  lr: number;
  /** One folder per adapter of the run. */
  paths: string[];
}

/** What run() returns: the content of every result.json and of summary.json, and the events. */
export interface NotebookRun {
  /** False when the experiment had errors, training threw, or a job failed. */
  ok: boolean;
  /** Why it is not ok (null when ok). */
  error: string | null;
  /** The backend that ran (e.g. "wasm"); null when training did not start. */
  backend: string | null;
  /** One result.json per finished or failed job. */
  results: RunResult[];
  /** summary.json. */
  summary: Summary;
  /** Every job's events, as the figures read them. */
  runs: RunData[];
  adapters: ExportedAdapter[];
  wallMs: number;
  interrupted: boolean;
}

const DEFAULT_LIVE: readonly PlotName[] = ["loss", "eval", "importance", "masks"];
const PROGRESS_MS = 250;

function emptySummary(plan: Plan | null): Summary {
  return buildSummary([], { runs: plan?.runs.map((r) => ({ name: r.name })) ?? [], comparisons: [] });
}

function failed(plan: Plan | null, error: string, runs: RunData[] = []): NotebookRun {
  return { ok: false, error, backend: null, results: [], summary: emptySummary(plan), runs, adapters: [], wallMs: 0, interrupted: false };
}

/** "lora seed 1" or "lora seed 1 lr 0.001" when the run has an lr grid. */
function jobLabel(job: JobSpec): string {
  return `${job.run.name} seed ${job.seed}${job.run.train.lrs.length > 1 ? ` lr ${job.lr}` : ""}`;
}

/** The live part of a run: progress, figures, the data so far, throttled redraws. */
class LiveRun {
  readonly data: RunData[] = [];
  readonly adapters: ExportedAdapter[] = [];
  private index = -1;
  private readonly progress: ProgressState;
  private readonly progressOut: Output;
  private readonly figures: LiveFigures;
  private readonly palette: Palette;
  private lastProgress = 0;
  private lastFigures = 0;

  constructor(private readonly plan: Plan, jobs: readonly JobSpec[], private readonly target: DisplayChannel, private readonly opts: NotebookRunOptions) {
    this.progress = new ProgressState(jobs.map((j) => ({ label: jobLabel(j), total: j.run.train.steps })));
    this.progressOut = new Output(target);
    this.figures = new LiveFigures(bundleSink(target));
    this.palette = makePalette(plan.runs.map((r) => r.name));
    this.drawProgress(true);
  }

  jobStart(job: JobSpec, index: number): void {
    this.index = index;
    this.data[index] = newRunData(job.run.name, job.seed, job.lr);
    this.progress.start(index);
    this.drawProgress(true);
  }

  event(ev: RunEvent): void {
    const d = this.data[this.index];
    if (!d) return;
    recordEvent(d, ev);
    this.progress.event(this.index, ev);
    this.drawProgress(false);
    this.drawFigures(false);
  }

  jobEnd(result: RunResult): void {
    const d = this.data[this.index];
    if (d) d.result = result;
    this.progress.end(this.index, result);
    this.drawProgress(true);
    this.drawFigures(true);
  }

  /** Writes the job's adapters under dir; a failure fails the job (as in `peftlab run`), not the run. */
  exportAdapters(job: JobSpec, outcome: JobOutcome, dir: string, baseDir?: string): void {
    if (!outcome.model) return;
    const folder = path.join(dir, job.run.name, jobFolder(job.seed, job.lr, job.run.train.lrs.length > 1));
    try {
      this.adapters.push({ run: job.run.name, seed: job.seed, lr: job.lr, paths: exportJobAdapters(this.plan, job, outcome.model, folder, { baseDir }) });
    } catch (e) {
      outcome.result.status = "failed";
      outcome.result.error = `adapter export to ${folder} failed: ${(e as Error).message}`;
    }
  }

  log(line: string): void {
    this.progress.log.push(line);
    this.drawProgress(true);
  }

  finish(): void {
    this.drawProgress(true);
    this.drawFigures(true);
    this.figures.close();
  }

  private drawProgress(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastProgress < PROGRESS_MS) return;
    this.lastProgress = now;
    this.progressOut.set({ "text/html": progressHtml(this.progress), "text/plain": progressText(this.progress) });
  }

  private drawFigures(force: boolean): void {
    if (this.target.kind === "none") return;
    const now = Date.now();
    if (!force && now - this.lastFigures < (this.opts.refreshMs ?? 2000)) return;
    this.lastFigures = now;
    const runs = this.data.filter((d): d is RunData => d !== undefined);
    this.figures.refresh((this.opts.live ?? DEFAULT_LIVE).flatMap((name) => figureForPlot(name, { runs, palette: this.palette })));
  }
}

/** The plots each comparison asks for that are not already drawn live. */
function comparisonPlots(plan: Plan, live: readonly PlotName[]): { focus: string[]; names: PlotName[] }[] {
  return plan.comparisons.map((c) => ({ focus: c.runs, names: c.plots.filter((p) => !live.includes(p)) })).filter((c) => c.names.length > 0);
}

/**
 * Trains the experiment's plan in the cell: a progress bar and live charts while it trains,
 * the summary and the comparison charts at the end. Never throws.
 */
export async function run(exp: Experiment, opts: NotebookRunOptions = {}): Promise<NotebookRun> {
  const target = channel();
  if (!exp.ok || !exp.plan) {
    const why = `${exp.file} has ${exp.errors.length} error${exp.errors.length === 1 ? "" : "s"}; fix them and run again`;
    showHtml(`<div style="color:#b91c1c;font-family:system-ui,sans-serif;font-size:13px;font-weight:600">✗ not run: ${escapeHtml(why)}</div>${exp.ok ? "" : `<pre style="font-size:12px">${escapeHtml(exp.diagnosticsText())}</pre>`}`, `not run: ${why}\n${exp.diagnosticsText()}`, target);
    return failed(exp.plan, why);
  }
  const plan = exp.plan;
  let live: LiveRun | null = null;
  try {
    live = new LiveRun(plan, expandJobs(plan, opts.only), target, opts);
    const current = live;
    const out = await train(plan, {
      baseDir: exp.baseDir,
      ...(opts.backend ? { backend: opts.backend } : {}),
      ...(opts.only ? { only: opts.only } : {}),
      onJobStart: (job, i) => current.jobStart(job, i),
      onEvent: (_job, ev) => current.event(ev),
      onJobEnd: (_job, result) => current.jobEnd(result),
      onModel: async (job, outcome) => {
        if (opts.exportTo) current.exportAdapters(job, outcome, path.resolve(exp.baseDir, opts.exportTo), exp.baseDir);
        await opts.onModel?.(job, outcome);
      },
      log: (line) => current.log(line),
    });
    live.finish();
    const bad = out.results.filter((r) => r.status === "failed");
    const result: NotebookRun = {
      ok: bad.length === 0 && !out.interrupted,
      error: bad.length ? `${bad.length} job(s) failed: ${bad.map((r) => `${r.run} seed ${r.seed}: ${r.error ?? "unknown error"}`).join("; ")}` : out.interrupted ? "interrupted" : null,
      backend: out.backend.name,
      results: out.results,
      summary: out.summary,
      runs: live.data.filter((d): d is RunData => d !== undefined),
      adapters: live.adapters,
      wallMs: out.wallMs,
      interrupted: out.interrupted,
    };
    if (result.error) {
      showHtml(`<div style="color:#b91c1c;font-family:system-ui,sans-serif;font-size:13px"><b>✗ ${escapeHtml(result.error)}</b></div>`, result.error, target);
    }
    if (opts.summary !== false) {
      showSummary(result.summary, target);
      for (const c of comparisonPlots(plan, opts.live ?? DEFAULT_LIVE)) show(figuresFor(result, c.names, c.focus), target);
    }
    return result;
  } catch (e) {
    live?.finish();
    const message = e instanceof Error ? e.message : String(e);
    showHtml(`<div style="color:#b91c1c;font-family:system-ui,sans-serif;font-size:13px"><b>✗ training stopped:</b> ${escapeHtml(message)}</div>`, `training stopped: ${message}`, target);
    return failed(plan, message, live?.data.filter((d): d is RunData => d !== undefined) ?? []);
  }
}
