// run(experiment) in a cell: runPlan (the one job loop, src/runtime/run/) with a notebook sink that
// draws a progress display and live Plotly charts updated in place; then the summary and the
// comparison charts. It writes a run folder (report.html included) unless told not to, and says
// where. It returns the results (result.json of every job) and summary.json. Like peft`…`, it
// never throws: an experiment with errors or a failure while training is shown in the cell and
// reported in the returned object, so the next cells still run.

import * as fs from "node:fs";
import * as path from "node:path";
import type { Plan, PlotName } from "../dsl/plan.js";
import type { RunEvent, RunResult } from "../results/events.js";
import { ProgressState } from "../results/progress.js";
import { newRunData, recordEvent, type RunData } from "../results/run-data.js";
import { jobFolder, RUN_FOLDER } from "../results/run-folder.js";
import { buildSummary, type Summary } from "../results/summary.js";
import type { JobOutcome, JobSpec } from "../runtime/run/job.js";
import { exportJobAdapters } from "../runtime/run/export-adapters.js";
import { plannedJobs, runPlan } from "../runtime/run/run-plan.js";
import type { JobEnding, PlannedJob, RunSink } from "../runtime/run/sink.js";
import { figureForPlot } from "../viz/figures.js";
import { escapeHtml } from "../viz/html.js";
import { LiveFigures } from "../viz/notebook.js";
import { makePalette, type Palette } from "../viz/palette.js";
import type { DisplayChannel } from "./channel.js";
import type { Experiment } from "./experiment.js";
import { progressHtml, progressText } from "./progress.js";
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
  /**
   * The run folder to write (relative to the experiment's folder): plan, per-job config, metrics,
   * events, adapters and results, summary.json and report.html. Default: a new folder
   * runs/<file name>-<date>-<time> next to the experiment (runs/cell-<N>-… for a cell). `false`:
   * write no folder.
   */
  out?: string | false;
  /** Also writes each finished job's adapters (PEFT format) to DIR/<run>/<seed>[-lr<lr>]/. */
  exportTo?: string;
  /** Called with each finished job's trained model before it is disposed (the model is valid only during the call). */
  onModel?: (job: JobSpec, outcome: JobOutcome) => void | Promise<void>;
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
  /** The run folder written (absolute; its report is report.html), or null when none was. */
  folder: string | null;
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
  return { ok: false, error, backend: null, folder: null, results: [], summary: emptySummary(plan), runs, adapters: [], wallMs: 0, interrupted: false };
}

/** "lora seed 1" or "lora seed 1 lr 0.001" when the run has an lr grid. */
function jobLabel(job: JobSpec): string {
  return `${job.run.name} seed ${job.seed}${job.run.train.lrs.length > 1 ? ` lr ${job.lr}` : ""}`;
}

/** The last backend line a run in this kernel showed (runs after it show it only when it changes). */
let lastBackendLine: string | null = null;

/** The notebook's sink: progress, live figures, the data so far, throttled redraws, adapter exports. */
class NotebookSink implements RunSink {
  readonly data: RunData[] = [];
  readonly adapters: ExportedAdapter[] = [];
  private readonly progress: ProgressState;
  private readonly progressOut: Output;
  private readonly figures: LiveFigures;
  private readonly palette: Palette;
  private lastProgress = 0;
  private lastFigures = 0;

  constructor(private readonly plan: Plan, jobs: readonly PlannedJob[], private readonly target: DisplayChannel, private readonly opts: NotebookRunOptions, private readonly baseDir: string) {
    this.progress = new ProgressState(jobs.map((j) => ({ label: jobLabel(j.spec), total: j.spec.run.train.steps })));
    this.progressOut = new Output(target);
    this.figures = new LiveFigures(bundleSink(target));
    this.palette = makePalette(plan.runs.map((r) => r.name));
    this.drawProgress(true);
  }

  jobStart(job: PlannedJob): void {
    this.data[job.index] = newRunData(job.spec.run.name, job.spec.seed, job.spec.lr);
    this.progress.start(job.index);
    this.drawProgress(true);
  }

  event(job: PlannedJob, ev: RunEvent): void {
    const d = this.data[job.index];
    if (!d) return;
    recordEvent(d, ev);
    this.progress.event(job.index, ev);
    this.drawProgress(false);
    this.drawFigures(false);
  }

  /** exportTo and onModel for a finished job; a failed export fails the job (as the run folder's does). */
  async jobTrained(job: PlannedJob, outcome: JobOutcome): Promise<void> {
    if (outcome.interrupted || outcome.result.status !== "finished" || !outcome.model) return;
    if (this.opts.exportTo) {
      const { run, seed, lr } = job.spec;
      const folder = path.join(path.resolve(this.baseDir, this.opts.exportTo), run.name, jobFolder(seed, lr, run.train.lrs.length > 1));
      try {
        this.adapters.push({ run: run.name, seed, lr, paths: exportJobAdapters(this.plan, job.spec, outcome.model, folder, { baseDir: this.baseDir }) });
      } catch (e) {
        outcome.result.status = "failed";
        outcome.result.error = `adapter export to ${folder} failed: ${(e as Error).message}`;
      }
    }
    await this.opts.onModel?.(job.spec, outcome);
  }

  jobEnd(job: PlannedJob, result: RunResult, ending: JobEnding): void {
    if (ending === "skipped") this.progress.skip(job.index, result);
    else this.progress.end(job.index, result, ending === "interrupted");
    const d = this.data[job.index];
    if (d) d.result = result;
    this.drawProgress(true);
    this.drawFigures(true);
  }

  note(line: string): void {
    // The backend line is shown by the first run of a kernel session, and again only when it changes.
    if (line.startsWith("backend:")) {
      if (line === lastBackendLine) return;
      lastBackendLine = line;
    }
    this.progress.log.push(line);
    this.drawProgress(true);
  }

  /** Final redraw; the runs' data in job order. */
  finish(): RunData[] {
    this.drawProgress(true);
    this.drawFigures(true);
    this.figures.close();
    return this.data.filter((d): d is RunData => d !== undefined);
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

/**
 * A new run folder for each run(): runs/<file name without .peft, or cell-N>-<YYYYMMDD-HHMMSS> next
 * to the experiment, created here so that two kernels starting in the same second (notebooks run
 * side by side) never share one; "-2", "-3", … when the name is taken.
 */
function newDefaultFolder(exp: Experiment, now = new Date()): string {
  const name = path.basename(exp.file).replace(/\.peft$/, "").replace(/^<cell (\d+)>$/, "cell-$1").replace(/[^\w.-]+/g, "-");
  const p2 = (n: number) => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}${p2(now.getMonth() + 1)}${p2(now.getDate())}-${p2(now.getHours())}${p2(now.getMinutes())}${p2(now.getSeconds())}`;
  const root = path.resolve(exp.baseDir, "runs");
  fs.mkdirSync(root, { recursive: true });
  for (let i = 1; ; i++) {
    const dir = path.join(root, `${name}-${stamp}${i > 1 ? `-${i}` : ""}`);
    try {
      fs.mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
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
  let sink: NotebookSink | null = null;
  try {
    const folder = opts.out === false ? null : opts.out !== undefined ? path.resolve(exp.baseDir, opts.out) : newDefaultFolder(exp);
    sink = new NotebookSink(plan, plannedJobs(plan, opts.only), target, opts, exp.baseDir);
    const out = await runPlan(plan, {
      baseDir: exp.baseDir,
      backend: opts.backend ?? null,
      ...(opts.only ? { only: opts.only } : {}),
      folder,
      source: exp.sources.get(exp.file) ?? null,
      sinks: [sink],
    });
    const runs = sink.finish();
    const bad = out.results.filter((r) => r.status === "failed");
    const result: NotebookRun = {
      ok: bad.length === 0 && !out.interrupted,
      error: bad.length ? `${bad.length} job(s) failed: ${bad.map((r) => `${r.run} seed ${r.seed}: ${r.error ?? "unknown error"}`).join("; ")}` : out.interrupted ? "interrupted" : null,
      backend: out.backend.name,
      folder: out.folder,
      results: out.results,
      summary: out.summary,
      runs,
      adapters: sink.adapters,
      wallMs: out.wallMs,
      interrupted: out.interrupted,
    };
    if (result.error) {
      showHtml(`<div style="color:#b91c1c;font-family:system-ui,sans-serif;font-size:13px"><b>✗ ${escapeHtml(result.error)}</b></div>`, result.error, target);
    }
    if (out.folder) {
      // Relative to the kernel's folder, so the link opens in Jupyter.
      const report = path.relative(process.cwd(), path.join(out.folder, RUN_FOLDER.report));
      showHtml(`<div style="font-family:system-ui,sans-serif;font-size:13px;color:#374151">run folder: <code>${escapeHtml(out.folder)}</code> · report: <a href="${escapeHtml(report)}" target="_blank">${escapeHtml(report)}</a></div>`, `run folder: ${out.folder} (report: ${report})`, target);
    }
    if (opts.summary !== false) {
      showSummary(result.summary, target);
      for (const c of comparisonPlots(plan, opts.live ?? DEFAULT_LIVE)) show(figuresFor(result, c.names, c.focus), target);
    }
    return result;
  } catch (e) {
    const runs = sink?.finish() ?? [];
    const message = e instanceof Error ? e.message : String(e);
    showHtml(`<div style="color:#b91c1c;font-family:system-ui,sans-serif;font-size:13px"><b>✗ training stopped:</b> ${escapeHtml(message)}</div>`, `training stopped: ${message}`, target);
    return failed(plan, message, runs);
  }
}
