// `peftlab run FILE [--out DIR] [--backend B] [--only RUN,...] [--resume] [--quiet]`
//
// Compiles the experiment, executes every run × seed × learning-rate job, writes the run
// directory (see rundir.ts), checkpoints as declared, and ends with summary.json and report.html.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Plan } from "../dsl/plan.js";
import { type RunEvent, type RunResult } from "../runtime/events.js";
import { BACKEND_NAMES, initBackend, resolveBackendRequest } from "../runtime/backend.js";
import { type Dataset } from "../runtime/data/index.js";
import { disposeJob, executeJob, expandJobs, type JobSpec } from "../runtime/job.js";
import { writeFileAtomic } from "../runtime/io/atomic.js";
import { buildSummary, type Summary } from "../runtime/summary.js";
import { loadRunDir } from "../viz/rundir.js";
import { renderReport } from "../viz/report.js";
import { renderDiagnostics } from "../dsl/index.js";
import { compileFile, processIO } from "./io.js";
import { ADALORA_DIR, exportJobAdapters, PRUNED_BASE_DIR } from "./export.js";
import { LineProgress, type ProgressSink, QuietProgress, TtyProgress, formatDuration } from "./progress.js";
import { acquireLock, jobFolder, JsonlWriter, LockError } from "./rundir.js";
import type { Command } from "./commands.js";
import { versions } from "./versions.js";

export const RUN_USAGE = "usage: peftlab run FILE [--out DIR] [--backend B] [--only RUN,...] [--resume] [--quiet]";

interface RunArgs {
  file: string;
  out: string | null;
  backend: string | null;
  only: string[];
  resume: boolean;
  quiet: boolean;
}

function parseArgs(argv: string[]): RunArgs | string {
  const a: RunArgs = { file: "", out: null, backend: null, only: [], resume: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${arg} needs a value`);
      return v;
    };
    try {
      if (arg === "--out") a.out = value();
      else if (arg === "--backend") a.backend = value();
      else if (arg === "--only") a.only = value().split(",").map((s) => s.trim()).filter(Boolean);
      else if (arg === "--resume") a.resume = true;
      else if (arg === "--quiet") a.quiet = true;
      else if (arg.startsWith("--")) return `unknown option ${arg}`;
      else if (a.file) return `only one FILE is allowed (got ${a.file} and ${arg})`;
      else a.file = arg;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (!a.file) return "missing FILE";
  if (a.backend && !(BACKEND_NAMES as readonly string[]).includes(a.backend)) return `unknown backend "${a.backend}"; expected one of ${BACKEND_NAMES.join(", ")}`;
  return a;
}

/** Where a job's files go, and the name shown in progress. */
function jobPaths(out: string, job: JobSpec): { dir: string; label: string } {
  const grid = job.run.train.lrs.length > 1;
  const folder = jobFolder(job.seed, job.lr, grid);
  return { dir: path.join(out, job.run.name, folder), label: `${job.run.name}/${folder}` };
}

/** The resolved config of one job (config.json). */
function jobConfig(plan: Plan, job: JobSpec, backend: string, dataset: Dataset | null): Record<string, unknown> {
  const run = job.run;
  return {
    run: run.name,
    seed: job.seed,
    lr: job.lr,
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

function readResult(dir: string): RunResult | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "result.json"), "utf8")) as RunResult;
  } catch {
    return null;
  }
}

export async function runCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`peftlab run: ${args}\n${RUN_USAGE}\n`);
    return 2;
  }
  const compiled = compileFile(args.file, processIO());
  if (compiled.diagnostics.length) process.stderr.write(renderDiagnostics(compiled.diagnostics, compiled.sources));
  if (!compiled.plan) return 1;
  const plan = compiled.plan;
  const source = compiled.sources.get(args.file) ?? "";
  const out = args.out ?? path.join("runs", path.basename(args.file).replace(/\.peft$/, ""));
  const baseDir = path.dirname(path.resolve(args.file));
  const unknown = args.only.filter((n) => !plan.runs.some((r) => r.name === n));
  if (unknown.length) {
    process.stderr.write(`peftlab run: --only names ${unknown.map((n) => `"${n}"`).join(", ")}, not a run of ${args.file} (runs: ${plan.runs.map((r) => r.name).join(", ")})\n`);
    return 2;
  }

  let release: () => void;
  try {
    release = acquireLock(out);
  } catch (e) {
    if (e instanceof LockError) {
      process.stderr.write(`peftlab run: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) {
      log("peftlab run: second interrupt, exiting without a checkpoint");
      release();
      process.exit(130);
    }
    stopRequested = true;
    log("peftlab run: interrupt: writing a checkpoint, then stopping (Ctrl-C again to quit at once)");
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  try {
    let backendName: string;
    try {
      const req = resolveBackendRequest({ cli: args.backend, env: process.env.PEFTLAB_BACKEND ?? null, plan: plan.backend });
      const info = await initBackend(req.backend);
      backendName = info.name;
      log(info.line);
    } catch (e) {
      log(`peftlab run: ${(e as Error).message}`);
      return 1;
    }
    writeFileAtomic(path.join(out, "plan.json"), `${JSON.stringify(plan, null, 2)}\n`);
    writeFileAtomic(path.join(out, "source.peft"), source);

    const progress: ProgressSink = args.quiet ? new QuietProgress() : process.stderr.isTTY ? new TtyProgress(process.stderr) : new LineProgress(log);
    const jobs = expandJobs(plan, args.only);
    const results: RunResult[] = [];
    const datasets = new Map<string, Dataset>();
    let interrupted = false;
    for (const job of jobs) {
      const { dir, label } = jobPaths(out, job);
      const previous = args.resume ? readResult(dir) : null;
      if (previous && previous.status === "finished") {
        results.push(previous);
        progress.note(`${label}: already finished, skipped`);
        continue;
      }
      if (stopRequested) break;
      fs.mkdirSync(dir, { recursive: true });
      const ckDir = path.join(dir, "checkpoint");
      const resuming = args.resume && fs.existsSync(path.join(ckDir, "state.json"));
      if (!resuming) {
        fs.rmSync(ckDir, { recursive: true, force: true });
        for (const sub of ["adapter", PRUNED_BASE_DIR, ADALORA_DIR]) fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
        fs.rmSync(path.join(dir, "result.json"), { force: true });
      }
      let metrics: JsonlWriter | null = resuming ? null : new JsonlWriter(path.join(dir, "metrics.jsonl"), null);
      let events: JsonlWriter | null = resuming ? null : new JsonlWriter(path.join(dir, "events.jsonl"), null);
      const emit = (e: RunEvent) => {
        if (e.type === "step" || e.type === "eval") metrics?.write(e);
        else events?.write(e);
        progress.event(label, e);
      };
      progress.begin(label, job.run.train.steps);
      const outcome = await executeJob(job, {
        baseDir,
        backend: backendName,
        emit,
        checkpointDir: job.run.train.checkpointEvery > 0 || true ? ckDir : null,
        resume: resuming,
        shouldStop: () => stopRequested,
        datasets,
        checkpointExtras: () => ({ metricsBytes: metrics?.size() ?? 0, eventsBytes: events?.size() ?? 0 }),
        onResume: (extras) => {
          metrics = new JsonlWriter(path.join(dir, "metrics.jsonl"), Number(extras.metricsBytes ?? 0));
          events = new JsonlWriter(path.join(dir, "events.jsonl"), Number(extras.eventsBytes ?? 0));
          progress.note(`${label}: resuming from the checkpoint at step ${String((extras as { step?: number }).step ?? "?")}`);
        },
      });
      writeFileAtomic(path.join(dir, "config.json"), `${JSON.stringify(jobConfig(plan, job, backendName, outcome.dataset), null, 2)}\n`);
      if (outcome.interrupted) {
        interrupted = true;
        progress.end(label, `interrupted at step ${outcome.result.steps}; checkpoint written`);
        metrics?.close();
        events?.close();
        disposeJob(outcome);
        break;
      }
      if (outcome.result.status === "finished" && outcome.model) {
        try {
          exportJobAdapters(plan, job, outcome.model, path.join(dir, "adapter"), { baseDir });
        } catch (e) {
          outcome.result.status = "failed";
          outcome.result.error = `adapter export failed: ${(e as Error).message}`;
        }
      }
      writeFileAtomic(path.join(dir, "result.json"), `${JSON.stringify(outcome.result, null, 2)}\n`);
      if (outcome.result.status === "finished") fs.rmSync(ckDir, { recursive: true, force: true });
      metrics?.close();
      events?.close();
      results.push(outcome.result);
      const main = outcome.result.metrics.test_accuracy;
      progress.end(label, outcome.result.status === "finished"
        ? `finished: test accuracy ${main !== undefined ? main.toFixed(4) : "n/a"}`
        : `FAILED: ${outcome.result.error ?? "unknown error"}`);
      disposeJob(outcome);
    }
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
    if (interrupted || stopRequested) {
      log(`peftlab run: stopped; continue with: peftlab run ${args.file}${args.out ? ` --out ${args.out}` : ""} --resume`);
      return 130;
    }
    const summary = buildSummary(results, { runs: plan.runs.map((r) => ({ name: r.name })), comparisons: plan.comparisons });
    writeFileAtomic(path.join(out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    const reportFile = path.join(out, "report.html");
    try {
      writeFileAtomic(reportFile, renderReport(loadRunDir(out)));
    } catch (e) {
      log(`peftlab run: could not write the report: ${(e as Error).message}`);
    }
    process.stdout.write(summaryText(summary, results, out, reportFile));
    return results.every((r) => r.status === "finished") && results.length === jobs.length ? 0 : 1;
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
    release();
  }
}

/** The closing table: per run, the main test metric as mean ± std over seeds at the chosen lr. */
function summaryText(summary: Summary, results: RunResult[], out: string, report: string): string {
  const lines: string[] = [];
  const failed = results.filter((r) => r.status !== "finished");
  lines.push("", `results (${results.length - failed.length}/${results.length} jobs finished) — ${out}`);
  for (const run of summary.runs) {
    if (!results.some((r) => r.run === run.run)) continue; // not selected by --only
    const acc = run.metrics["test_accuracy"];
    const step = run.metrics["step_time"];
    const lr = run.lr !== null && run.lr !== undefined ? `  lr ${run.lr}` : "";
    const accText = acc ? `test accuracy ${acc.mean.toFixed(4)}${acc.std !== null ? ` ± ${acc.std.toFixed(4)}` : ""} (n=${acc.n})` : "no test accuracy";
    const stepText = step ? `  step ${step.mean.toFixed(1)} ms` : "";
    lines.push(`  ${run.run.padEnd(20)} ${accText}${stepText}${lr}`);
  }
  for (const f of failed) lines.push(`  FAILED ${f.run} seed ${f.seed} lr ${f.lr}: ${f.error ?? "unknown error"}`);
  const wall = results.reduce((a, r) => a + r.wallMs, 0);
  lines.push(`report: ${report}  (total training time ${formatDuration(wall)})`, "");
  return lines.join("\n");
}

/** The `run` entry of the command table. */
export const runCliCommand: Command = {
  name: "run",
  summary: "train every run × seed × learning rate of a .peft file and write a report",
  usage: RUN_USAGE,
  run: (argv) => (argv.includes("--help") ? (process.stdout.write(`${RUN_USAGE}\n`), Promise.resolve(0)) : runCommand(argv)),
};
