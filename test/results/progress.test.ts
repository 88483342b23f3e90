// The one progress reducer, and the terminal's rendering of it (bars on a terminal, lines in a log).
import { describe, expect, it } from "vitest";
import { TerminalProgress } from "../../src/cli/progress.js";
import type { Plan, RunSpec } from "../../src/dsl/plan.js";
import type { RunEvent, RunResult } from "../../src/results/events.js";
import { eventLine, headline, ProgressState } from "../../src/results/progress.js";
import type { PlannedJob } from "../../src/runtime/run/sink.js";

const step = (n: number, loss = 1 / n): RunEvent => ({ type: "step", step: n, loss, lr: 1e-3, gradNorm: 1, tokens: 100, stepMs: 50, time: 0 });
const result = (over: Partial<RunResult> = {}): RunResult => ({
  run: "lora", seed: 1, lr: 1e-3, backend: "cpu", steps: 10, metrics: { test_accuracy: 0.415, test_loss: 1.2345 },
  params: { foundation: 10, trainable: 2 }, stepMs: 50, tokensPerS: 2000, peakBytes: 1, wallMs: 500, status: "finished", ...over,
});

describe("ProgressState", () => {
  it("folds events into each job's step, loss, speed and note", () => {
    const p = new ProgressState([{ label: "a", total: 10 }, { label: "b", total: 10 }], 0);
    p.start(0, 0);
    expect(p.event(0, step(3, 0.5))).toBeNull();
    expect(p.jobs[0]).toMatchObject({ state: "running", step: 3, loss: 0.5, stepMs: 50, tokensPerS: 2000, startedAt: 0 });
    expect(p.jobs[0]!.rssBytes).toBeUndefined();
    p.event(0, { ...step(4, 0.4), rssBytes: 3 * 2 ** 30 });
    expect(p.jobs[0]).toMatchObject({ step: 4, rssBytes: 3 * 2 ** 30 });
    const line = p.event(0, { type: "beam.prune", step: 5, p: 0.9, modules: [], totalPruned: 1 });
    expect(line).toBe("step 5 BeamLoRA pruned and re-seeded 1 rank (p = 0.9000)");
    expect(p.jobs[0]!.note).toBe(line);
    expect(p.event(0, { type: "eval", step: 5, split: "validation", metrics: { validation_loss: 2 } })).toBe("step 5 validation: validation_loss 2.0000");
    expect(p.jobs[0]!.note).toBe(line); // evaluations are logged, not kept as the note
    p.end(0, result());
    expect(p.jobs[0]).toMatchObject({ state: "finished", step: 10, note: "test accuracy 41.5% · test loss 1.234" });
    p.end(1, result({ status: "failed", error: "boom", steps: 2 }));
    expect(p.jobs[1]).toMatchObject({ state: "failed", note: "boom" });
    expect(p.done()).toBe(2);
  });

  it("knows interrupted and skipped jobs", () => {
    const p = new ProgressState([{ label: "a", total: 10 }, { label: "b", total: 10 }]);
    p.end(0, result({ steps: 4, status: "failed", error: "interrupted" }), true);
    expect(p.jobs[0]).toMatchObject({ state: "interrupted", step: 4, note: "interrupted at step 4; checkpoint written" });
    p.skip(1, result());
    expect(p.jobs[1]).toMatchObject({ state: "skipped", step: 10 });
  });

  it("says a result in a few words, and only notable events in a line", () => {
    expect(headline(result({ metrics: { test_exact_match: 0.5 } }))).toBe("test exact match 50.0%");
    expect(eventLine(step(1))).toBeNull();
  });
});

describe("TerminalProgress", () => {
  const job: PlannedJob = { spec: { plan: {} as Plan, run: { name: "lora", train: { steps: 10 } } as RunSpec, seed: 1, lr: 1e-3 }, index: 0, folder: "lora/1" };

  it("in a log: a line when a job starts, for notable events, at the end, and for skipped jobs", () => {
    const lines: string[] = [];
    const t = new TerminalProgress({ write: (s) => void lines.push(s), tty: false, columns: null });
    t.planStart({} as Plan, [job, { ...job, index: 1, folder: "lora/2" }]);
    t.jobStart(job);
    t.event(job, step(1));
    t.event(job, { type: "eval", step: 5, split: "validation", metrics: { validation_accuracy: 0.5 } });
    t.jobEnd(job, result(), "finished");
    t.jobEnd({ ...job, index: 1, folder: "lora/2" }, result(), "skipped");
    expect(lines.join("")).toMatch(/^lora\/1: started, 10 steps\nlora\/1: step 5 validation: validation_accuracy 0\.5000\nlora\/1: finished: test accuracy 41\.5% · test loss 1\.234 after \d+s\nlora\/2: already finished, skipped\n$/);
  });

  it("on a terminal: redraws the bars in place; quiet prints only notes", () => {
    let out = "";
    const t = new TerminalProgress({ write: (s) => void (out += s), tty: true, columns: 100 });
    t.planStart({} as Plan, [job]);
    t.jobStart(job);
    t.jobEnd(job, result(), "finished");
    expect(out).toContain("\x1b[1A\x1b[0J");
    expect(out).toMatch(/lora\/1 +█+ +10\/10 {2}finished: test accuracy 41\.5%/);
    let quiet = "";
    const q = new TerminalProgress({ write: (s) => void (quiet += s), tty: false, columns: null }, { quiet: true });
    q.planStart({} as Plan, [job]);
    q.jobStart(job);
    q.jobEnd(job, result(), "finished");
    q.note("backend: cpu");
    expect(quiet).toBe("backend: cpu\n");
  });
});
