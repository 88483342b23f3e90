// runPlan with `jobs` > 1: jobs train in worker threads with the same results as one at a time
// (result metrics, adapter bytes, summary), a stopped run resumes, a failing job fails alone and a
// worker that dies fails its job instead of hanging. Worker threads load compiled JavaScript, so
// this test drives the package in dist/ (build with `npx tsc -p tsconfig.json` first).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dist = path.resolve(__dirname, "../../../dist");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-jobs-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Mod = Record<string, any>;
let runPlan: (plan: unknown, opts: Record<string, unknown>) => Promise<Mod>;
let compileSource: (text: string, file: string) => { plan: unknown; diagnostics: { severity: string }[] };
let JobPool: new (size: number, opts: Record<string, unknown>) => Mod;
let plannedJobs: (plan: unknown) => Mod[];

beforeAll(async () => {
  if (!fs.existsSync(path.join(dist, "runtime/run/job-worker.js"))) throw new Error(`${dist} lacks runtime/run/job-worker.js: run npx tsc -p tsconfig.json first`);
  ({ runPlan, plannedJobs } = await import(path.join(dist, "runtime/run/run-plan.js")));
  ({ compileSource } = await import(path.join(dist, "dsl/index.js")));
  ({ JobPool } = await import(path.join(dist, "runtime/run/job-pool.js")));
});

const source = (backend: string, extra = "") => `backend ${backend}
model base = decoder { layers 1, width 16, heads 2, context 16 }
data sums = addition { digits 1, train 32, validation 8, test 8 }
adapter a = lora { rank 2, alpha 4, target "q_proj", "v_proj" }
train { steps 40, batch 4, lr 3e-3, seeds 1 2, eval every 4 steps on 8 examples, log every 1 steps, checkpoint every 2 steps }
run one = base + a on sums
run two = base + a on sums
${extra}`;

function compile(text: string): unknown {
  const { plan, diagnostics } = compileSource(text, "jobs.peft");
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return plan;
}

const JOBS = ["one/1", "one/2", "two/1", "two/2"];

/** Every file of a job's adapter folder, as bytes by name. */
function adapterFiles(dir: string, job: string): Record<string, Buffer> {
  const a = path.join(dir, job, "adapter");
  return Object.fromEntries(fs.readdirSync(a, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).map((f) => [path.relative(a, path.join(f.parentPath, f.name)), fs.readFileSync(path.join(f.parentPath, f.name))]));
}

const resultOf = (dir: string, job: string) => JSON.parse(fs.readFileSync(path.join(dir, job, "result.json"), "utf8"));

/** The steps and evaluations a job logged, without their times and the process's memory. */
function metricsLog(dir: string, job: string): unknown[] {
  return fs.readFileSync(path.join(dir, job, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => {
    const { time: _t, stepMs: _s, tokensPerS: _k, rssBytes: _m, ...rest } = JSON.parse(l);
    return rest;
  });
}

/** A summary without what depends on the clock. */
function timeless(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(timeless);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !/time|ms$|per_s|tokens_per|wall/i.test(k)).map(([k, x]) => [k, timeless(x)]));
  }
  return v;
}

// native: each worker's kernels run on a share of the cores (job-pool.ts); a product gives the same bits on any thread count.
const backends = ["wasm", "native"];

describe.each(backends)("runPlan jobs 2 on %s", (backend) => {
  const one = path.join(tmp, `${backend}-jobs1`);
  const two = path.join(tmp, `${backend}-jobs2`);

  it("gives the results, logs, adapter bytes and summary of jobs 1", async () => {
    const a = await runPlan(compile(source(backend)), { folder: one, jobs: 1 });
    const b = await runPlan(compile(source(backend)), { folder: two, jobs: 2 });
    expect([a.backend.name, b.backend.name]).toEqual([backend, backend]);
    expect(b.results.map((r: Mod) => r.backend)).toEqual([backend, backend, backend, backend]);
    expect(b.results.map((r: Mod) => r.status)).toEqual(["finished", "finished", "finished", "finished"]);
    expect(b.results.map((r: Mod) => `${r.run}/${r.seed}`)).toEqual(JOBS);
    for (const job of JOBS) {
      expect(resultOf(two, job).metrics, job).toEqual(resultOf(one, job).metrics);
      expect(resultOf(two, job).params, job).toEqual(resultOf(one, job).params);
      const bytes = adapterFiles(two, job);
      expect(Object.keys(bytes).length, job).toBeGreaterThan(0);
      expect(bytes, job).toEqual(adapterFiles(one, job));
      expect(metricsLog(two, job), job).toEqual(metricsLog(one, job));
      expect(fs.readFileSync(path.join(two, job, "config.json"), "utf8")).toBe(fs.readFileSync(path.join(one, job, "config.json"), "utf8"));
    }
    expect(timeless(JSON.parse(fs.readFileSync(path.join(two, "summary.json"), "utf8")))).toEqual(timeless(JSON.parse(fs.readFileSync(path.join(one, "summary.json"), "utf8"))));
    expect(fs.existsSync(path.join(two, "report.html"))).toBe(true);
  }, 240_000);

  it("stops on abort leaving checkpoints, and a resume with jobs 2 skips what finished and ends as jobs 1 did", async () => {
    const dir = path.join(tmp, `${backend}-stopped`);
    const stop = new AbortController();
    const firstEndings: [string, string][] = [];
    const aborter = {
      event: (job: Mod, e: Mod) => {
        if (job.folder === "two/1" && e.type === "step" && e.step === 3) stop.abort();
      },
      jobEnd: (j: Mod, _r: Mod, e: string) => void firstEndings.push([j.folder, e]),
    };
    const first = await runPlan(compile(source(backend)), { folder: dir, jobs: 2, signal: stop.signal, sinks: [aborter] });
    expect(first.interrupted).toBe(true);
    // two/1 and any job running beside it stop after a checkpoint; no job starts after the abort.
    expect(firstEndings).toContainEqual(["two/1", "interrupted"]);
    // Results come in job order, endings in the order the jobs finished (either, with two at once).
    const finished = firstEndings.filter(([, e]) => e === "finished").map(([f]) => f).sort();
    expect(first.results.map((r: Mod) => `${r.run}/${r.seed}`).sort()).toEqual(finished);
    expect(fs.existsSync(path.join(dir, "summary.json"))).toBe(false);
    expect(fs.existsSync(path.join(dir, "two", "1", "checkpoint", "state.json"))).toBe(true);
    expect(fs.existsSync(path.join(dir, "two", "1", "result.json"))).toBe(false);

    const endings: [string, string][] = [];
    const notes: string[] = [];
    const second = await runPlan(compile(source(backend)), { folder: dir, jobs: 2, resume: true, sinks: [{ jobEnd: (j: Mod, _r: Mod, e: string) => void endings.push([j.folder, e]), note: (l: string) => void notes.push(l) }] });
    expect(second.interrupted).toBe(false);
    expect(endings.filter(([, e]) => e === "skipped").map(([f]) => f).sort()).toEqual(finished);
    expect(notes.some((n) => /^two\/1: resuming from the checkpoint at step [2-8]$/.test(n))).toBe(true);
    for (const job of JOBS) {
      expect(resultOf(dir, job).metrics, job).toEqual(resultOf(one, job).metrics);
      expect(adapterFiles(dir, job), job).toEqual(adapterFiles(one, job));
      expect(metricsLog(dir, job), job).toEqual(metricsLog(one, job));
    }
  }, 240_000);
});

describe("how many jobs at once", () => {
  it("auto: one per core on wasm and cpu (at most one per job), 1 elsewhere; native workers share the threads", async () => {
    const { defaultJobs, nativeThreadsPerWorker } = await import(path.join(dist, "runtime/run/job-pool.js"));
    expect([defaultJobs("wasm", 6, 2), defaultJobs("cpu", 6, 8), defaultJobs("wasm", 3, 8), defaultJobs("native", 6, 8), defaultJobs("tensorflow", 6, 8)]).toEqual([2, 6, 3, 1, 1]);
    expect([nativeThreadsPerWorker(2, { PEFTLAB_THREADS: "8" }), nativeThreadsPerWorker(3, { PEFTLAB_THREADS: "8" }), nativeThreadsPerWorker(4, { PEFTLAB_THREADS: "2" })]).toEqual([4, 2, 1]);
  });
});

describe("train(plan, { jobs: 2 })", () => {
  it("returns the results of jobs 1, and refuses onModel, whose models stay in the workers", async () => {
    const { train } = await import(path.join(dist, "runtime/run/train.js"));
    const started: string[] = [];
    const a = await train(compile(source("wasm")), { jobs: 1 });
    const b = await train(compile(source("wasm")), { jobs: 2, onJobStart: (spec: Mod) => void started.push(`${spec.run.name}/${spec.seed}`) });
    expect([...started].sort()).toEqual(JOBS);
    expect(b.results.map((r: Mod) => r.metrics)).toEqual(a.results.map((r: Mod) => r.metrics));
    await expect(train(compile(source("wasm")), { jobs: 2, onModel: () => {} })).rejects.toThrow(/jobTrained cannot see their models \(train\(\)'s onModel/);
  }, 240_000);
});

describe("runPlan jobs 2: failures", () => {
  it("a job that fails (its data file is missing) is reported with its error while the others finish", async () => {
    const dir = path.join(tmp, "failing");
    const extra = 'data gone = jsonl "missing.jsonl" { prompt "q", completion "a" }\nrun wild = base + a on gone';
    const out = await runPlan(compile(source("wasm", extra)), { folder: dir, jobs: 2, baseDir: tmp });
    const byJob = Object.fromEntries(out.results.map((r: Mod) => [`${r.run}/${r.seed}`, r]));
    expect(Object.keys(byJob)).toEqual([...JOBS, "wild/1", "wild/2"]);
    for (const job of JOBS) expect(byJob[job].status, job).toBe("finished");
    for (const job of ["wild/1", "wild/2"]) {
      expect(byJob[job].status, job).toBe("failed");
      expect(byJob[job].error, job).toMatch(/missing\.jsonl/);
      expect(resultOf(dir, job).status).toBe("failed");
    }
    expect(fs.existsSync(path.join(dir, "summary.json"))).toBe(true);
  }, 240_000);

  it("a worker that exits mid-job fails that job with an error naming it; a fresh worker takes the next", async () => {
    const plan = compile(source("wasm"));
    const [job] = plannedJobs(plan);
    const crashing = new JobPool(1, { baseDir: tmp, backendName: "wasm", script: new URL(`file://${path.resolve(__dirname, "../../fixtures/crashing-job-worker.mjs")}`) });
    const t0 = Date.now();
    const crashed = await crashing.run(job, { checkpointDir: null, jobDir: null, resume: false }, { event: () => {}, resumed: () => {} });
    await crashing.close();
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(crashed.interrupted).toBe(false);
    expect(crashed.result.status).toBe("failed");
    expect(crashed.result.error).toBe("the worker thread training one/1 exited with code 3 before the job ended");

    const pool = new JobPool(1, { baseDir: tmp, backendName: "wasm" });
    const events: string[] = [];
    const fine = await pool.run(job, { checkpointDir: null, jobDir: null, resume: false }, { event: (e: Mod) => void events.push(e.type), resumed: () => {} });
    await pool.close();
    expect(fine.result.status).toBe("finished");
    expect(events[0]).toBe("start");
    expect(events.at(-1)).toBe("end");
  }, 120_000);
});

describe("peftlab run --jobs", () => {
  const bin = path.resolve(__dirname, "../../../bin/peftlab.js");
  const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: tmp, encoding: "utf8", timeout: 120_000 });

  it("trains two jobs at once with one progress log and the closing table of --jobs 1", () => {
    const file = path.join(tmp, "cli.peft");
    fs.writeFileSync(file, source("wasm"));
    const a = cli(["run", file, "--out", path.join(tmp, "cli1"), "--jobs", "1"]);
    const b = cli(["run", file, "--out", path.join(tmp, "cli2"), "--jobs", "2"]);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    for (const job of JOBS) {
      expect(b.stderr).toContain(`${job}: started, 40 steps`);
      expect(resultOf(path.join(tmp, "cli2"), job).metrics).toEqual(resultOf(path.join(tmp, "cli1"), job).metrics);
    }
    // The closing table differs only in the folder and the times.
    const table = (s: string) => s.replace(/cli[12]/g, "DIR").replace(/step [\d.]+ ms/g, "step T").replace(/time [^)]*\)/g, "time T)");
    expect(table(b.stdout)).toBe(table(a.stdout));
  }, 240_000);

  it("refuses a --jobs that is not a whole number of at least 1", () => {
    const r = cli(["run", "x.peft", "--jobs", "0"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--jobs: expected a whole number of at least 1, got "0"');
    expect(cli(["run", "--help"]).stdout).toMatch(/--jobs N\s+train N jobs at once/);
  });
});
