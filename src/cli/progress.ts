// The terminal's progress sink for runPlan: on a terminal one live bar per job (step, loss,
// tokens/s, ETA) redrawn in place, otherwise plain lines at a sensible interval. Both render the
// one progress reducer (src/results/progress.ts).
import { ProgressState, type JobProgress } from "../results/progress.js";
import type { RunEvent, RunResult } from "../results/events.js";
import type { JobEnding, PlannedJob, RunSink } from "../runtime/run/sink.js";
import type { Plan } from "../dsl/plan.js";

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** The text after a job's bar once it has ended. */
function endText(j: JobProgress): string {
  if (j.state === "finished") return `finished${j.note ? `: ${j.note}` : ""}`;
  if (j.state === "failed") return `FAILED: ${j.note}`;
  return j.note;
}

function describe(j: JobProgress, width: number, now: number): string {
  const frac = j.total > 0 ? Math.min(1, j.step / j.total) : 0;
  const elapsed = j.startedAt === null ? 0 : now - j.startedAt;
  const eta = j.step > 0 ? (elapsed / j.step) * (j.total - j.step) : NaN;
  const filled = Math.round(frac * width);
  const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
  const loss = j.loss !== null && Number.isFinite(j.loss) ? j.loss.toFixed(4) : "—";
  const running = j.state === "running" || j.state === "waiting";
  const mem = j.rssBytes !== undefined ? `  mem ${(j.rssBytes / 2 ** 30).toFixed(2)} GiB` : "";
  const tail = running ? `loss ${loss}  ${Math.round(j.tokensPerS ?? 0)} tok/s${mem}  ETA ${formatDuration(eta)}` : endText(j);
  return `${j.label.padEnd(24).slice(0, 24)} ${bar} ${String(j.step).padStart(5)}/${j.total}  ${tail}`;
}

/** Where the terminal progress writes: stderr, whether it is a terminal, and its width. */
export interface TerminalOut {
  write(text: string): void;
  tty: boolean;
  columns: number | null;
}

/** Progress of runPlan's jobs on a terminal (bars) or a log (lines); `quiet` prints only the notes (backend, resumes, problems). */
export class TerminalProgress implements RunSink {
  private state = new ProgressState([]);
  private drawn = 0;
  private lastDraw = 0;
  private readonly lastLine = new Map<number, number>();

  constructor(private readonly out: TerminalOut, private readonly opts: { quiet?: boolean; everyMs?: number } = {}) {}

  planStart(_plan: Plan, jobs: readonly PlannedJob[]): void {
    this.state = new ProgressState(jobs.map((j) => ({ label: j.folder, total: j.spec.run.train.steps })));
  }

  jobStart(job: PlannedJob): void {
    this.state.start(job.index);
    const j = this.state.jobs[job.index]!;
    this.lastLine.set(job.index, Date.now());
    if (this.opts.quiet) return;
    if (this.out.tty) this.draw(true);
    else this.line(`${j.label}: started, ${j.total} steps`);
  }

  event(job: PlannedJob, e: RunEvent): void {
    const line = this.state.event(job.index, e);
    if (this.opts.quiet) return;
    if (this.out.tty) {
      this.draw(false);
      return;
    }
    const j = this.state.jobs[job.index]!;
    if (line !== null) this.line(`${j.label}: ${line}`);
    else if (e.type === "step" && Date.now() - (this.lastLine.get(job.index) ?? 0) >= (this.opts.everyMs ?? 10_000)) {
      this.lastLine.set(job.index, Date.now());
      this.line(describe(j, 20, Date.now()));
    }
  }

  jobEnd(job: PlannedJob, result: RunResult, ending: JobEnding): void {
    if (ending === "skipped") {
      this.state.skip(job.index, result);
      this.note(`${job.folder}: already finished, skipped`);
      return;
    }
    this.state.end(job.index, result, ending === "interrupted");
    if (this.opts.quiet) return;
    const j = this.state.jobs[job.index]!;
    if (this.out.tty) this.draw(true);
    else this.line(`${j.label}: ${endText(j)}${j.startedAt === null ? "" : ` after ${formatDuration(Date.now() - j.startedAt)}`}`);
  }

  /** A message that bars must not overwrite (printed even when quiet). */
  note(line: string): void {
    this.clear();
    this.drawn = 0;
    this.out.write(`${line}\n`);
    if (this.out.tty) this.draw(true);
  }

  private line(text: string): void {
    this.out.write(`${text}\n`);
  }

  private clear(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.clear();
    // Jobs that have not started stay hidden; ended ones scroll away once there are many.
    const started = this.state.jobs.filter((j) => j.state !== "waiting");
    const visible = started.filter((j, i) => j.state === "running" || i >= started.length - 12);
    const width = Math.max(10, Math.min(30, (this.out.columns ?? 100) - 80));
    for (const j of visible) this.out.write(`${describe(j, width, now)}\n`);
    this.drawn = visible.length;
  }
}
