// Progress of `peftlab run`: on a terminal one live bar per job (step, loss, tokens/s, ETA),
// otherwise plain lines at a sensible interval; --quiet prints nothing here.
import type { RunEvent } from "../runtime/events.js";

export interface ProgressSink {
  begin(job: string, totalSteps: number): void;
  event(job: string, e: RunEvent): void;
  end(job: string, status: string): void;
  /** A message that must not be overwritten by bars. */
  note(line: string): void;
}

interface JobState {
  job: string;
  total: number;
  step: number;
  loss: number;
  tokensPerS: number;
  start: number;
  status: string | null;
  lastPrint: number;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function describe(st: JobState, width: number): string {
  const frac = st.total > 0 ? Math.min(1, st.step / st.total) : 0;
  const elapsed = Date.now() - st.start;
  const eta = st.step > 0 ? (elapsed / st.step) * (st.total - st.step) : NaN;
  const filled = Math.round(frac * width);
  const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
  const loss = Number.isFinite(st.loss) ? st.loss.toFixed(4) : "—";
  const tail = st.status ? st.status : `loss ${loss}  ${Math.round(st.tokensPerS)} tok/s  ETA ${formatDuration(eta)}`;
  return `${st.job.padEnd(24).slice(0, 24)} ${bar} ${String(st.step).padStart(5)}/${st.total}  ${tail}`;
}

/** Live bars for a terminal: redraws the block of job lines in place. */
export class TtyProgress implements ProgressSink {
  private readonly jobs: JobState[] = [];
  private drawn = 0;
  private lastDraw = 0;
  constructor(private readonly out: NodeJS.WriteStream) {}

  begin(job: string, total: number): void {
    this.jobs.push({ job, total, step: 0, loss: NaN, tokensPerS: 0, start: Date.now(), status: null, lastPrint: 0 });
    this.draw(true);
  }
  event(job: string, e: RunEvent): void {
    const st = this.find(job);
    if (!st) return;
    if (e.type === "step") {
      st.step = e.step;
      st.loss = e.loss;
      st.tokensPerS = e.stepMs > 0 ? (e.tokens * 1000) / e.stepMs : 0;
    }
    this.draw(false);
  }
  end(job: string, status: string): void {
    const st = this.find(job);
    if (st) st.status = status;
    this.draw(true);
  }
  note(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    this.drawn = 0;
    this.draw(true);
  }
  private find(job: string): JobState | undefined {
    return this.jobs.find((j) => j.job === job);
  }
  private clear(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
  }
  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.clear();
    // Finished jobs scroll away once there are many; the live ones stay.
    const visible = this.jobs.filter((j, i) => j.status === null || i >= this.jobs.length - 12);
    const width = Math.max(10, Math.min(30, (this.out.columns ?? 100) - 80));
    for (const st of visible) this.out.write(`${describe(st, width)}\n`);
    this.drawn = visible.length;
  }
}

/** Plain lines for logs and pipes: a line every `everyMs` per job, and at the start and end. */
export class LineProgress implements ProgressSink {
  private readonly jobs = new Map<string, JobState>();
  constructor(private readonly write: (line: string) => void, private readonly everyMs = 10_000) {}
  begin(job: string, total: number): void {
    this.jobs.set(job, { job, total, step: 0, loss: NaN, tokensPerS: 0, start: Date.now(), status: null, lastPrint: Date.now() });
    this.write(`${job}: started, ${total} steps`);
  }
  event(job: string, e: RunEvent): void {
    const st = this.jobs.get(job);
    if (!st) return;
    if (e.type === "step") {
      st.step = e.step;
      st.loss = e.loss;
      st.tokensPerS = e.stepMs > 0 ? (e.tokens * 1000) / e.stepMs : 0;
      if (Date.now() - st.lastPrint >= this.everyMs) {
        st.lastPrint = Date.now();
        this.write(describe(st, 20));
      }
    } else if (e.type === "eval") {
      const m = Object.entries(e.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ");
      this.write(`${job}: step ${e.step} ${e.split}: ${m}`);
    } else if (e.type === "beam.prune") {
      this.write(`${job}: step ${e.step} BeamLoRA pruned and re-seeded ${e.totalPruned} rank${e.totalPruned === 1 ? "" : "s"} (p = ${e.p.toFixed(4)})`);
    } else if (e.type === "lightpeft.prune") {
      this.write(`${job}: step ${e.step} Light-PEFT pruned the foundation from ${e.before.foundation} to ${e.after.foundation} parameters, trainable ${e.before.trainable} → ${e.after.trainable}`);
    }
  }
  end(job: string, status: string): void {
    const st = this.jobs.get(job);
    this.write(`${job}: ${status}${st ? ` after ${formatDuration(Date.now() - st.start)}` : ""}`);
  }
  note(line: string): void {
    this.write(line);
  }
}

export class QuietProgress implements ProgressSink {
  begin(): void {}
  event(): void {}
  end(): void {}
  note(): void {}
}
