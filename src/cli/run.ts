// `peftlab run FILE`: parse, compile, runPlan (the one job loop, src/runtime/run/) with a run
// folder and the terminal's progress, print the closing table.
import * as path from "node:path";
import { renderDiagnostics } from "../dsl/index.js";
import type { RunResult } from "../results/events.js";
import { RUN_FOLDER } from "../results/run-folder.js";
import type { Summary } from "../results/summary.js";
import { BACKEND_NAMES } from "../runtime/tensor/backend.js";
import { jobWorkerAvailable } from "../runtime/run/job-pool.js";
import { queueOption, queueUrlOf } from "./queue-option.js";
import { plannedJobs, runPlan } from "../runtime/run/run-plan.js";
import { stringOption, withArgs, type ArgsSpec } from "./args.js";
import type { Command } from "./commands.js";
import { fsErrorMessage } from "./fs-errors.js";
import { compileFile, processIO, type CliIO } from "./io.js";
import { formatDuration, TerminalProgress } from "./progress.js";

const ARGS: ArgsSpec = {
  synopsis: ["run FILE [options]"],
  description: "Trains every run × seed × learning rate of the .peft FILE, writes the run folder (plan, per-job\n"
    + "config, metrics, events, checkpoints, adapters, results, summary.json and report.html) and prints\n"
    + "the test metrics per run. Ctrl-C writes a checkpoint and stops; --resume continues from it.\n"
    + "With --queue the jobs go to `peftlab worker` processes on any machine (see docs/queue.md); Ctrl-C then\n"
    + "leaves them to the workers, and --resume follows them again.\n"
    + "Exit status: 0 every job finished, 1 a job failed or FILE has errors, 2 bad usage, 130 stopped.",
  options: {
    out: { type: "string", value: "DIR", help: "the run folder", default: "runs/<FILE without .peft>" },
    backend: { type: "string", value: "NAME", help: `one of ${BACKEND_NAMES.join(", ")}`, default: "the file's, or $PEFTLAB_BACKEND, or auto" },
    only: { type: "string", value: "RUN,...", multiple: true, help: "train only these runs (comma-separated or repeated)" },
    resume: { type: "boolean", help: "skip the jobs DIR records as finished and continue the others from their checkpoints" },
    jobs: { type: "string", value: "N", help: "train N jobs at once, each in a worker thread (same results as 1)", default: "one per core on wasm and cpu; else 1, as native kernels use every core" },
    queue: queueOption("train on `peftlab worker`s through a Redis job queue (DIR must be shared storage)"),
    retries: { type: "string", value: "N", help: "with --queue, tries after a failed attempt of a job before it is reported failed", default: "2" },
    quiet: { type: "boolean", help: "no progress, only the closing table and notes" },
  },
  examples: ["peftlab run examples/quickstart.peft --out runs/quick --only lora,beam", "peftlab run examples/quickstart.peft --jobs 2", "peftlab run examples/quickstart.peft --queue redis://:PASSWORD@queue-host:6379", "peftlab run examples/quickstart.peft --out=runs/quick --resume"],
};

/** Runs `peftlab run` with the arguments after "run"; resolves to the exit status. */
export function runCommand(argv: string[], io: CliIO = processIO()): Promise<number> {
  return withArgs("run", ARGS, argv, io, async ({ values, positionals }, usage) => {
    if (positionals.length !== 1) return usage(positionals.length === 0 ? "missing FILE" : `only one FILE is allowed (got ${positionals.join(", ")})`);
    const file = positionals[0]!;
    const backend = stringOption(values, "backend") ?? null;
    if (backend !== null && !(BACKEND_NAMES as readonly string[]).includes(backend)) return usage(`unknown backend "${backend}"; expected one of ${BACKEND_NAMES.join(", ")}`);
    const jobsText = stringOption(values, "jobs");
    const jobs = jobsText === undefined ? (jobWorkerAvailable() ? "auto" : 1) : Number(jobsText);
    if (typeof jobs === "number" && (!Number.isInteger(jobs) || jobs < 1)) return usage(`--jobs: expected a whole number of at least 1, got "${jobsText}"`);
    const queue = queueUrlOf(values, false);
    if (queue && "problem" in queue) return usage(queue.problem);
    const queueUrl = queue?.url;
    const retriesText = stringOption(values, "retries");
    const retries = retriesText === undefined ? 2 : Number(retriesText);
    const queueShown = queue?.display ?? "";
    if (queueUrl !== undefined) {
      if (jobsText !== undefined) return usage("--jobs trains here; with --queue, the workers choose how many at once (peftlab worker --concurrency N)");
    } else if (retriesText !== undefined) return usage("--retries is for --queue runs");
    if (!Number.isInteger(retries) || retries < 0) return usage(`--retries: expected a whole number of at least 0, got "${retriesText}"`);
    const only = ((values.only as string[] | undefined) ?? []).flatMap((v) => v.split(",")).map((s) => s.trim()).filter(Boolean);
    const compiled = compileFile(file, io);
    if (compiled.diagnostics.length) io.stderr(renderDiagnostics(compiled.diagnostics, compiled.sources));
    if (!compiled.plan) return 1;
    const plan = compiled.plan;
    try {
      plannedJobs(plan, only);
    } catch (e) {
      return usage(`--${(e as Error).message}`);
    }
    const out = stringOption(values, "out") ?? path.join("runs", path.basename(file).replace(/\.peft$/, ""));
    const stop = new AbortController();
    const progress = new TerminalProgress({ write: io.stderr, tty: io.stderrIsTTY ?? false, columns: io.columns ?? null }, { quiet: values.quiet === true });
    const onSignal = () => {
      if (stop.signal.aborted) {
        io.stderr("peftlab run: second interrupt, exiting without a checkpoint\n");
        process.exit(130);
      }
      stop.abort();
      progress.note(queueUrl !== undefined
        ? "peftlab run: interrupt: leaving the jobs to the queue's workers and stopping"
        : "peftlab run: interrupt: writing a checkpoint, then stopping (Ctrl-C again to quit at once)");
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      const outcome = await runPlan(plan, {
        backend, only, folder: out, source: compiled.sources.get(file) ?? "", resume: values.resume === true,
        baseDir: path.dirname(path.resolve(file)), signal: stop.signal, sinks: [progress],
        ...(queueUrl !== undefined ? { queue: { url: queueUrl, retries } } : { jobs }),
      });
      if (outcome.interrupted) {
        const again = `peftlab run ${file}${stringOption(values, "out") ? ` --out ${out}` : ""}${queueUrl !== undefined ? ` --queue ${queueShown}` : ""} --resume`;
        if (queueUrl !== undefined) io.stderr(`peftlab run: stopped following the queue; its workers go on with the jobs. Collect them with: ${again}\n`);
        else io.stderr(`peftlab run: stopped; continue with: ${again}\n`);
        return 130;
      }
      io.stdout(closingTable(outcome.summary, outcome.results, out, path.join(out, RUN_FOLDER.report)));
      return outcome.results.every((r) => r.status === "finished") && outcome.results.length === outcome.jobs.length ? 0 : 1;
    } catch (e) {
      // The folder is locked by another run, cannot be written (fsErrorMessage), or no backend could start.
      io.stderr(`peftlab run: ${fsErrorMessage(e) ?? (e as Error).message}\n`);
      return 1;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  });
}

/** The closing table: per run, the main test metric as mean ± std over seeds at the chosen lr. */
function closingTable(summary: Summary, results: RunResult[], out: string, report: string): string {
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
  args: ARGS,
  run: runCommand,
};
