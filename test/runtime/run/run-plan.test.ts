// runPlan, the one job loop behind the CLI, the notebook and train(): sinks see every job in order,
// the run folder gets its layout, an aborted run leaves a checkpoint, and --resume-style runs skip
// finished jobs and continue the stopped one to the same results as an uninterrupted run.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSource } from "../../../src/dsl/index.js";
import type { Plan } from "../../../src/dsl/plan.js";
import type { RunResult } from "../../../src/results/events.js";
import { acquireLock } from "../../../src/runtime/run/folder-io.js";
import { runPlan } from "../../../src/runtime/run/run-plan.js";
import type { JobEnding, PlannedJob, RunSink } from "../../../src/runtime/run/sink.js";

const SOURCE = `backend cpu
model base = decoder { layers 1, width 16, heads 2, context 16 }
data sums = addition { digits 1, train 32, validation 8, test 8 }
adapter a = lora { rank 2, alpha 4, target "q_proj", "v_proj" }
train { steps 8, batch 4, lr 3e-3, seeds 1, eval every 4 steps on 8 examples, log every 1 steps, checkpoint off }
run one = base + a on sums
run two = base + a on sums
`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-runplan-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function plan(): Plan {
  const { plan, diagnostics } = compileSource(SOURCE, "runplan.peft");
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return plan!;
}

/** A sink that records what it is told, as "hook:job" strings. */
function recorder(): RunSink & { calls: string[]; endings: [string, JobEnding][] } {
  const calls: string[] = [];
  const endings: [string, JobEnding][] = [];
  return {
    calls,
    endings,
    planStart: (_p, jobs) => void calls.push(`planStart:${jobs.map((j) => j.folder).join(",")}`),
    jobStart: (j) => void calls.push(`jobStart:${j.folder}`),
    jobTrained: (j, o) => void calls.push(`jobTrained:${j.folder}:${o.model ? "model" : "none"}`),
    jobEnd: (j: PlannedJob, r: RunResult, e: JobEnding) => {
      calls.push(`jobEnd:${j.folder}:${e}`);
      endings.push([j.folder, e]);
      expect(r.run).toBe(j.spec.run.name);
    },
    planEnd: (o) => void calls.push(`planEnd:${o.results.length}:${o.interrupted}`),
  };
}

const metricsOf = (dir: string, job: string) => JSON.parse(fs.readFileSync(path.join(dir, job, "result.json"), "utf8")).metrics as Record<string, number>;

describe("runPlan", () => {
  const full = path.join(tmp, "full");
  let fullResults: RunResult[] = [];

  it("tells its sinks every job in order and writes the run folder", async () => {
    const rec = recorder();
    const out = await runPlan(plan(), { folder: full, source: SOURCE, sinks: [rec] });
    fullResults = out.results;
    expect(out.interrupted).toBe(false);
    expect(out.folder).toBe(path.resolve(full));
    expect(out.results.map((r) => [r.run, r.status])).toEqual([["one", "finished"], ["two", "finished"]]);
    expect(rec.calls.filter((c) => !c.startsWith("event"))).toEqual([
      "planStart:one/1,two/1",
      "jobStart:one/1", "jobTrained:one/1:model", "jobEnd:one/1:finished",
      "jobStart:two/1", "jobTrained:two/1:model", "jobEnd:two/1:finished",
      "planEnd:2:false",
    ]);
    for (const f of ["plan.json", "source.peft", "summary.json", "report.html"]) expect(fs.existsSync(path.join(full, f)), f).toBe(true);
    for (const f of ["config.json", "metrics.jsonl", "events.jsonl", "result.json", "adapter/adapter_config.json"]) {
      expect(fs.existsSync(path.join(full, "one", "1", f)), f).toBe(true);
    }
    expect(fs.existsSync(path.join(full, "one", "1", "checkpoint"))).toBe(false);
    expect(fs.existsSync(path.join(full, ".lock"))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(full, "summary.json"), "utf8"))).toEqual(out.summary);
  }, 60_000);

  it("stops when its signal aborts (after a checkpoint), and a resume skips what finished and ends where an uninterrupted run ends", async () => {
    const dir = path.join(tmp, "stopped");
    const stop = new AbortController();
    const aborter: RunSink = {
      event: (job, e) => {
        if (job.spec.run.name === "two" && e.type === "step" && e.step === 3) stop.abort();
      },
    };
    const first = await runPlan(plan(), { folder: dir, source: SOURCE, signal: stop.signal, sinks: [aborter] });
    expect(first.interrupted).toBe(true);
    expect(first.results.map((r) => r.run)).toEqual(["one"]);
    const state = JSON.parse(fs.readFileSync(path.join(dir, "two", "1", "checkpoint", "state.json"), "utf8"));
    expect(state.step).toBe(3);
    expect(fs.existsSync(path.join(dir, "summary.json"))).toBe(false);
    expect(fs.existsSync(path.join(dir, "two", "1", "result.json"))).toBe(false);

    const rec = recorder();
    const notes: string[] = [];
    const second = await runPlan(plan(), { folder: dir, source: SOURCE, resume: true, sinks: [rec, { note: (l) => void notes.push(l) }] });
    expect(second.interrupted).toBe(false);
    expect(rec.endings).toEqual([["one/1", "skipped"], ["two/1", "finished"]]);
    expect(notes).toContain("two/1: resuming from the checkpoint at step 3");
    expect(metricsOf(dir, "two/1")).toEqual(metricsOf(full, "two/1"));
    expect(second.results.map((r) => r.metrics)).toEqual(fullResults.map((r) => r.metrics));
    // The step log holds each step once, as an uninterrupted run's does.
    const steps = fs.readFileSync(path.join(dir, "two", "1", "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === "step").map((e) => e.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 60_000);

  it("refuses a run folder another live process holds, before training anything", async () => {
    const dir = path.join(tmp, "locked");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, ".lock"), `${process.ppid}\n`); // a live process that is not this one
    const rec = recorder();
    await expect(runPlan(plan(), { folder: dir, sinks: [rec] })).rejects.toThrow(`in use by another peftlab run (pid ${process.ppid})`);
    expect(rec.calls).toEqual([]);
    expect(fs.readFileSync(path.join(dir, ".lock"), "utf8")).toBe(`${process.ppid}\n`);
  });

  it("a process that exits while holding a run folder leaves no lock behind", () => {
    const dir = path.join(tmp, "exits");
    const before = process.listeners("exit");
    const release = acquireLock(dir);
    const added = process.listeners("exit").filter((l) => !before.includes(l));
    expect(added).toHaveLength(1);
    expect(fs.existsSync(path.join(dir, ".lock"))).toBe(true);
    (added[0] as () => void)(); // what process.exit() runs
    expect(fs.existsSync(path.join(dir, ".lock"))).toBe(false);
    expect(process.listeners("exit").filter((l) => !before.includes(l))).toEqual([]);
    release(); // a second release is harmless
    const again = acquireLock(dir);
    again();
    expect(process.listeners("exit")).toEqual(before);
  });

  it("without a folder writes nothing; `only` picks runs and names a run the plan lacks", async () => {
    const out = await runPlan(plan(), { only: ["two"] });
    expect(out.folder).toBeNull();
    expect(out.results.map((r) => r.run)).toEqual(["two"]);
    expect(out.results[0]!.metrics).toEqual(fullResults[1]!.metrics);
    await expect(runPlan(plan(), { only: ["three"] })).rejects.toThrow(/only names "three", not a run of runplan\.peft \(runs: one, two\)/);
  }, 60_000);
});
