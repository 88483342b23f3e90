// `peftlab run` end to end, through the built CLI (npm test builds dist/ first).
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapterFolder } from "../../src/runtime/io/peft-format.js";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(ROOT, "bin/peftlab.js");
let tmp: string;

const EXPERIMENT = `
model base = decoder { layers 1, width 32, heads 2, context 24 }
data sums = addition { digits 2, train 300, validation 40, test 40 }
adapter lora4 = lora { rank 4, alpha 8, dropout 0.1, target "q_proj", "v_proj", "up_proj" }
beam beams on lora4 { every 10 steps }
prune light { estimate 10%, heads 50% per layer, neurons 33% global, modules 50%, ranks 50% }
train { steps STEPS, batch 16, lr 3e-3, seeds 1 2, checkpoint every 10 steps, eval every 20 steps on 20 examples }
run lora = base + lora4 on sums
run beam = base + lora4 + beams on sums
run lp = base + lora4 + light on sums
compare methods = lora, beam, lp by accuracy, step_time
`;

function write(name: string, steps: number): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, EXPERIMENT.replace("STEPS", String(steps)));
  return file;
}

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
}

function readJsonl(file: string): Record<string, unknown>[] {
  return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

function finalMetrics(dir: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const run of ["lora", "beam", "lp"]) {
    for (const seed of ["1", "2"]) {
      const r = JSON.parse(fs.readFileSync(path.join(dir, run, seed, "result.json"), "utf8"));
      expect(r.status, `${run}/${seed}`).toBe("finished");
      out[`${run}/${seed}`] = r.metrics;
    }
  }
  return out;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-run-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("peftlab run", () => {
  let out: string;
  beforeAll(() => {
    out = path.join(tmp, "full");
    const r = cli(["run", write("exp.peft", 40), "--out", out]);
    expect(r.stderr).toMatch(/^backend: \w+/m);
    expect(r.status, r.stderr).toBe(0);
  }, 120_000);

  it("writes the resolved plan and source", () => {
    const plan = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8"));
    expect(plan.runs.map((r: { name: string }) => r.name)).toEqual(["lora", "beam", "lp"]);
    expect(fs.readFileSync(path.join(out, "source.peft"), "utf8")).toContain("run beam = base + lora4 + beams on sums");
  });

  it("writes config.json, metrics.jsonl, events.jsonl, result.json and a PEFT adapter per job", () => {
    const job = path.join(out, "beam", "1");
    const config = JSON.parse(fs.readFileSync(path.join(job, "config.json"), "utf8"));
    expect(config).toMatchObject({ run: "beam", seed: 1, lr: 0.003 });
    expect(config.data.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(config.versions["@tensorflow/tfjs-core"]).toMatch(/^\d+\.\d+/);
    const metrics = readJsonl(path.join(job, "metrics.jsonl"));
    const steps = metrics.filter((m) => m.type === "step");
    expect(steps.length).toBeGreaterThan(3);
    expect(steps.every((s) => Number.isFinite(s.loss as number))).toBe(true);
    const evals = metrics.filter((m) => m.type === "eval");
    expect(evals.map((e) => `${e.step}:${e.split}`)).toEqual(["20:validation", "40:validation", "40:test"]);
    const events = readJsonl(path.join(job, "events.jsonl"));
    expect(events[0]!.type).toBe("start");
    expect(events.at(-1)!.type).toBe("end");
    const prunes = events.filter((e) => e.type === "beam.prune");
    // Step 30 is skipped: p reaches 1.0 at two thirds of training (step 27), so nothing is pruned.
    expect(prunes.map((p) => p.step)).toEqual([10, 20]);
    const result = JSON.parse(fs.readFileSync(path.join(job, "result.json"), "utf8"));
    expect(result.status).toBe("finished");
    expect(result.metrics.test_accuracy).toBeGreaterThanOrEqual(0);
    expect(result.metrics.test_accuracy).toBeLessThanOrEqual(1);
    expect(result.params.trainable).toBeGreaterThan(0);
    expect(result.stepMs).toBeGreaterThan(0);
    expect(result.peakBytes).toBeGreaterThan(0);
    const adapter = readAdapterFolder(path.join(job, "adapter"));
    expect(adapter.config.peft_type).toBe("LORA");
    expect(adapter.modules.size).toBe(3);
    expect(fs.existsSync(path.join(job, "checkpoint"))).toBe(false); // removed once finished
  });

  it("records Light-PEFT's pruning and writes an adapter with per-module ranks", () => {
    const events = readJsonl(path.join(out, "lp", "1", "events.jsonl"));
    const prune = events.find((e) => e.type === "lightpeft.prune") as { before: { foundation: number }; after: { foundation: number } };
    expect(prune.after.foundation).toBeLessThan(prune.before.foundation);
    const adapter = readAdapterFolder(path.join(out, "lp", "1", "adapter"));
    expect(adapter.modules.size).toBeGreaterThan(0);
    expect(adapter.modules.size).toBeLessThan(3);
  });

  it("summarises every run over seeds and compares them, and writes the report", () => {
    const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
    expect(summary.runs.map((r: { run: string }) => r.run)).toEqual(["lora", "beam", "lp"]);
    const beam = summary.runs[1];
    expect(beam.seeds).toEqual([1, 2]);
    expect(beam.metrics.test_accuracy.n).toBe(2);
    expect(summary.comparisons[0].pairs.length).toBeGreaterThan(0);
    const html = fs.readFileSync(path.join(out, "report.html"), "utf8");
    expect(html).toContain("BeamLoRA");
    expect(html).toContain("Light-PEFT");
    expect(html).not.toMatch(/<script[^>]+src=/);
  });

  it("reproduces an uninterrupted run after SIGKILL and --resume", async () => {
    const file = write("kill.peft", 40);
    const dir = path.join(tmp, "killed");
    const child = spawn(process.execPath, [BIN, "run", file, "--out", dir], { cwd: tmp, stdio: "ignore" });
    // Kill as soon as a mid-run checkpoint of the second BeamLoRA job exists.
    const target = path.join(dir, "beam", "2", "checkpoint", "state.json");
    const deadline = Date.now() + 90_000;
    while (!fs.existsSync(target) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    expect(fs.existsSync(target)).toBe(true);
    expect(fs.existsSync(path.join(dir, "summary.json"))).toBe(false);
    const resumed = cli(["run", file, "--out", dir, "--resume"]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/lora\/1: already finished, skipped/);
    expect(finalMetrics(dir)).toEqual(finalMetrics(out));
    // The logs after resume hold no duplicated steps.
    const steps = readJsonl(path.join(dir, "beam", "2", "metrics.jsonl")).filter((m) => m.type === "step").map((m) => m.step);
    expect(steps).toEqual([...new Set(steps)]);
    expect(steps).toEqual(readJsonl(path.join(out, "beam", "2", "metrics.jsonl")).filter((m) => m.type === "step").map((m) => m.step));
  }, 180_000);

  it("writes a checkpoint on Ctrl-C and exits cleanly", async () => {
    const file = write("int.peft", 400);
    const dir = path.join(tmp, "interrupted");
    const child = spawn(process.execPath, [BIN, "run", file, "--out", dir, "--only", "lora"], { cwd: tmp, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const first = path.join(dir, "lora", "1", "metrics.jsonl");
    const deadline = Date.now() + 60_000;
    while (!(fs.existsSync(first) && fs.statSync(first).size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    const code = await new Promise((r) => child.on("exit", r));
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/--resume/);
    const state = JSON.parse(fs.readFileSync(path.join(dir, "lora", "1", "checkpoint", "state.json"), "utf8"));
    expect(state.step).toBeGreaterThan(0);
    expect(state.step).toBeLessThan(400);
    expect(fs.existsSync(path.join(dir, ".lock"))).toBe(false);
  }, 120_000);

  it("refuses a second run on the same directory", () => {
    const dir = path.join(tmp, "locked");
    fs.mkdirSync(dir, { recursive: true });
    const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 20000)"]);
    try {
      fs.writeFileSync(path.join(dir, ".lock"), `${sleeper.pid}\n`);
      const r = cli(["run", write("lock.peft", 10), "--out", dir]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`in use by another peftlab run (pid ${sleeper.pid})`);
    } finally {
      sleeper.kill();
    }
  });

  it("reports a failed run, runs the others, and exits 1", () => {
    // A model folder with a config but no weights passes the checks and fails when loaded.
    const folder = path.join(tmp, "no-weights");
    fs.mkdirSync(folder, { recursive: true });
    fs.copyFileSync(path.join(ROOT, "test/fixtures/models/config-only/config.json"), path.join(folder, "config.json"));
    const file = path.join(tmp, "fail.peft");
    fs.writeFileSync(file, EXPERIMENT.replace("STEPS", "10") + 'model mine = hf "no-weights"\nrun bad = mine + lora4 on sums\n');
    const r = cli(["run", file, "--out", path.join(tmp, "failing"), "--only", "lora,bad"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAILED bad seed 1 .*no-weights/);
    const good = JSON.parse(fs.readFileSync(path.join(tmp, "failing", "lora", "2", "result.json"), "utf8"));
    expect(good.status).toBe("finished");
    const bad = JSON.parse(fs.readFileSync(path.join(tmp, "failing", "bad", "1", "result.json"), "utf8"));
    expect(bad.status).toBe("failed");
    expect(fs.existsSync(path.join(tmp, "failing", "report.html"))).toBe(true);
  });

  it("exits 1 with diagnostics on a malformed file and 2 on bad usage", () => {
    const bad = path.join(tmp, "bad.peft");
    fs.writeFileSync(bad, "model base = decoder { layers 0 }\n");
    const r = cli(["run", bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.peft:1:\d+: error PEFT\d{4}/);
    expect(cli(["run"]).status).toBe(2);
    expect(cli(["run", bad, "--frobnicate"]).status).toBe(2);
  });
});

describe("examples/byo-model.peft (a local HF folder and JSONL files)", () => {
  it("its own-model runs train from the shipped tiny-llama folder and its tokenizer", () => {
    const out = path.join(tmp, "byo");
    const res = spawnSync(process.execPath, [BIN, "run", path.join(ROOT, "examples/byo-model.peft"), "--only", "own_model,stars", "--out", out, "--quiet"], {
      cwd: ROOT, encoding: "utf8", env: { ...process.env }, timeout: 120_000,
    });
    expect(res.stderr + res.stdout).not.toMatch(/FAILED|error/i);
    expect(res.status).toBe(0);
    // The closing table lists only the runs that ran.
    expect(res.stdout).toMatch(/^ {2}own_model +test accuracy/m);
    expect(res.stdout).not.toMatch(/pretrained_base/);
    for (const run of ["own_model", "stars"]) {
      const r = JSON.parse(fs.readFileSync(path.join(out, run, "1", "result.json"), "utf8"));
      expect(r.status, run).toBe("finished");
      expect(Number.isFinite(r.metrics.test_loss), run).toBe(true);
    }
    expect(fs.existsSync(path.join(out, "pretrained_base"))).toBe(false);
  }, 130_000);
});
