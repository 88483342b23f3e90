// The benchmark harness cannot rot: a smoke run (tiny sizes, every benchmark, the profile too)
// must write every key of the documented JSON with the right types, and its building blocks
// (argument parsing, profile attribution, experiment texts, tables) behave as documented.
// Needs `npm run build` first (the harness imports dist/, like `npm run bench`).

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { compileSource } from "../../src/dsl/index.js";

const ROOT = join(import.meta.dirname, "..", "..");
const BENCH = join(ROOT, "bench", "run.js");

/** Imports a module of bench/ (plain JS) by path, typed by the caller. */
async function benchModule<T>(rel: string): Promise<T> {
  return (await import(pathToFileURL(join(ROOT, "bench", rel)).href)) as T;
}

type Json = Record<string, unknown>;
const temp: string[] = [];
let doc: Json;
let run: { status: number | null; stdout: string; stderr: string };

/** Value at a dotted path ("train_step.config.batch"). */
function at(obj: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Json)[k] : undefined), obj);
}

const isNum = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const isPos = (v: unknown) => isNum(v) && (v as number) > 0;
const numOrNull = (v: unknown) => v === null || isNum(v);
const isObj = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
const isFraction = (v: unknown) => isNum(v) && (v as number) >= 0 && (v as number) <= 1;
const ci95 = (v: unknown) => v === null || (Array.isArray(v) && v.length === 2 && v.every(isNum) && (v[0] as number) <= (v[1] as number));

/** Every documented key, with the check its value must pass. */
const SCHEMA: [string, (v: unknown) => boolean][] = [
  ["machine", isObj],
  ["backend", (v) => v === "native" || v === "wasm"],
  ["versions", isObj],
  ["dsl.lines_per_s", isPos],
  ["matmul.size", isPos],
  ["matmul.ours_gflops", isPos],
  ["matmul.torch_gflops", numOrNull],
  ["matmul.ratio", numOrNull],
  ["train_step.config", isObj],
  ["train_step.ours_tokens_per_s", isPos],
  ["train_step.torch_tokens_per_s", numOrNull],
  ["train_step.ratio", numOrNull],
  ["train_step.ratio_all_cores", numOrNull],
  ["train_step.backend", (v) => v === "native" || v === "wasm"],
  ["train_step.wasm_tokens_per_s", isPos],
  ["train_step.speedup_vs_wasm", numOrNull],
  ["matmul.backend", (v) => v === "native" || v === "wasm"],
  ["matmul.ratio_all_cores", numOrNull],
  ["matmul.wasm_gflops", isPos],
  ["pretrain.native_ms_per_step", numOrNull],
  ["io.load_vs_read", isPos],
  ["io.merge_vs_read", isPos],
  ["io.backends.wasm.tensors_left", (v) => v === 0],
  ["pretrain.wasm_ms_per_step", isPos],
  ["pretrain.speedup_vs_wasm", numOrNull],
  ["beamlora.task", (v) => typeof v === "string" && v.length > 0],
  ["beamlora.seeds", (v) => isNum(v) && (v as number) >= 2],
  ["beamlora.lora.mean", isFraction],
  ["beamlora.lora.std", numOrNull],
  ["beamlora.beamlora.mean", isFraction],
  ["beamlora.beamlora.std", numOrNull],
  ["beamlora.paired_diff.mean", isNum],
  ["beamlora.paired_diff.ci95", ci95],
  ["lightpeft.step_time_ratio", isPos],
  ["lightpeft.peak_memory_ratio", isPos],
  ["lightpeft.foundation_pruned", isFraction],
  ["lightpeft.trainable_vs_lora", isPos],
  ["lightpeft.accuracy_diff", isNum],
  ["leaks.tensors_per_step", isNum],
  ["sweep.speedup_jobs2", isPos],
  ["sweep.same_results", (v) => v === true],
  ["sweep.queue_overhead", numOrNull],
  ["frozen.ratio.nf4", numOrNull],
  ["frozen.ratio.bf16", numOrNull],
  ["frozen.rows", isPos],
  ["profile.by_op", (v) => Array.isArray(v) && v.length > 0],
  ["profile.by_part", (v) => Array.isArray(v) && v.length > 0],
];

describe("npm run bench -- --smoke --profile --json FILE", () => {
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), "peftlab-bench-test-"));
    temp.push(dir);
    const out = join(dir, "out.json");
    const res = spawnSync(process.execPath, [BENCH, "--smoke", "--profile", "--quiet", "--json", out], {
      cwd: ROOT, encoding: "utf8", timeout: 400_000, env: { ...process.env, PEFTLAB_CACHE: join(dir, "cache") },
    });
    run = { status: res.status, stdout: res.stdout, stderr: res.stderr };
    doc = res.status === 0 ? (JSON.parse(readFileSync(out, "utf8")) as Json) : {};
  }, 420_000);

  afterAll(() => temp.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test("exits 0 and prints the summary table", () => {
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/benchmark\s+measure\s+ours\s+reference/);
    expect(run.stdout).toMatch(/^op kind/m);
  });

  test.each(SCHEMA)("%s has the documented type", (path, check) => {
    const value = at(doc, path);
    expect({ path, value, ok: check(value) }).toEqual({ path, value, ok: true });
  });

  test("a missing PyTorch is a null ratio with a reason, never a made-up number", () => {
    for (const section of ["matmul", "train_step"]) {
      const s = doc[section] as Json;
      if (s.ratio === null) expect(typeof s.torch_reason).toBe("string");
      else expect(s.ratio).toBeCloseTo((section === "matmul" ? (s.ours_gflops as number) / (s.torch_gflops as number) : (s.ours_tokens_per_s as number) / (s.torch_tokens_per_s as number)), 2);
    }
  });

  test("when PyTorch runs, it computes the same model: the first losses agree", () => {
    const check = at(doc, "train_step.reference_check") as Json | null;
    if (at(doc, "train_step.torch_tokens_per_s") === null) return;
    expect(check?.same_model).toBe(true);
  });

  test("no tensor is left behind per step or after a job", () => {
    expect(at(doc, "leaks.tensors_per_step")).toBe(0);
    expect(at(doc, "leaks.max_leaked_after_job")).toBe(0);
  });

  test("profile shares are shares of the step: in [0, 1], summing to the kernel share", () => {
    const p = doc.profile as { by_part: { share: number }[]; kernel_share: number };
    const total = p.by_part.reduce((a, r) => a + r.share, 0);
    expect(total).toBeCloseTo(p.kernel_share, 1);
    expect(p.by_part.every((r) => r.share >= 0 && r.share <= 1)).toBe(true);
  });

  test("docs/benchmarks.md is written from the document: every section, the Light-PEFT settings filled in", async () => {
    const { benchmarksMarkdown, pruneSpecOf } = await benchModule<{ benchmarksMarkdown: (d: Json, s: string) => string; pruneSpecOf: (e: string) => Json | null }>("docs/markdown.js");
    const md = benchmarksMarkdown(doc, "out.json");
    for (const h of ["# Benchmarks and evidence", "## Summary", "## Speed", "## Where the time goes", "## How the evidence was obtained", "## BeamLoRA vs LoRA", "## Light-PEFT vs LoRA", "## Leaks"]) expect(md).toContain(h);
    expect(md).toMatch(/Settings \(the language's defaults, which follow the authors' code\): an estimation window at the start of training, then 33\.3 % of the attention heads \(per layer\)/);
    expect(md).toMatch(/- arithmetic: estimation over the first 4 steps, pruned at step 4; on average \d+(\.\d+)? heads/);
    expect(md).not.toMatch(/undefined|NaN/);
    expect(pruneSpecOf("prune light { estimate 10% }\ntrain { steps 400, batch 32 }")).toMatchObject({ estimateSteps: 40, moduleRatio: 0.75, rankRatio: 0.5 });
    expect(pruneSpecOf("train { steps 400 }")).toBeNull();
  });
});

describe("bench building blocks", () => {
  test.each([
    [[], { mode: "full", json: null, only: null, profile: false }],
    [["--quick", "--json", "x.json"], { mode: "quick", json: "x.json" }],
    [["--smoke", "--only", "dsl,train-step"], { mode: "smoke", only: ["dsl", "train_step"] }],
    [["--json=o.json", "--profile"], { json: "o.json", profile: true }],
    [["--parallel", "3"], { parallel: 3 }],
    [["--parallel=1", "--quick"], { parallel: 1, mode: "quick" }],
  ])("parseArgs %j", async (argv, expected) => {
    const { parseArgs } = await benchModule<{ parseArgs: (a: string[]) => Json }>("lib/args.js");
    expect(parseArgs(argv)).toMatchObject(expected);
  });

  test.each([
    [["--only", "nope"], /unknown benchmark "nope"/],
    [["--json"], /--json needs a value/],
    [["--fast"], /unknown argument "--fast"/],
    [["--parallel", "0"], /--parallel needs a whole number of at least 1, got "0"/],
    [["--parallel=two"], /--parallel needs a whole number of at least 1, got "two"/],
  ])("parseArgs rejects %j", async (argv, message) => {
    const { parseArgs } = await benchModule<{ parseArgs: (a: string[]) => Json }>("lib/args.js");
    expect(() => parseArgs(argv)).toThrow(message);
  });

  test.each([
    ["model.layers.0.self_attn.q_proj", "attention core"],
    ["model.layers.1.self_attn.o_proj", "residual adds"],
    ["model.layers.0.mlp.gate_proj", "MLP activation"],
    ["model.layers.0.mlp.down_proj", "residual adds"],
    ["transformer.h.0.attn.c_attn", "attention core"],
    ["transformer.h.0.mlp.c_fc", "MLP activation"],
    ["bert.encoder.layer.0.attention.self.value", "attention core"],
  ])("the profiler attributes what follows %s to %s", async (path, part) => {
    const { partAfterLinear } = await benchModule<{ partAfterLinear: (p: string) => string }>("lib/kernel-profiler.js");
    expect(partAfterLinear(path)).toBe(part);
  });

  test.each(["smoke", "quick", "full"])("every evidence experiment of %s mode compiles", async (mode) => {
    const { evidenceSource, taskNames } = await benchModule<{ evidenceSource: (t: string, m: string, dir: string) => string; taskNames: (m: string) => string[] }>("lib/tasks.js");
    for (const task of taskNames(mode)) {
      const { plan, diagnostics } = compileSource(evidenceSource(task, mode, "/tmp/base"), "/tmp/bench.peft");
      expect({ task, errors: diagnostics.filter((d) => d.severity === "error").map((d) => d.message) }).toEqual({ task, errors: [] });
      expect(plan?.runs.map((r) => r.name)).toEqual(["lora", "beamlora", "lightpeft"]);
      const [lora, beam, light] = plan!.runs;
      expect(beam!.train).toEqual(lora!.train); // equal steps, grid and seeds
      expect(light!.train).toEqual(lora!.train);
      expect(new Set(plan!.runs.map((r) => r.adapters.join()))).toEqual(new Set(["lora8"])); // equal rank
    }
  });

  test("the constant-answer baseline scores the most common training answer on test", async () => {
    const { constantBaseline } = await benchModule<{ constantBaseline: (d: unknown) => { answer: unknown; test_score: number } }>("lib/evidence.js");
    const ds = { kind: "generation", train: ["1", "2", "2"].map((c) => ({ completion: c })), test: ["2", "3", "2", "1"].map((c) => ({ completion: c })) };
    expect(constantBaseline(ds)).toEqual({ answer: "2", test_score: 0.5 });
  });

  test("tables pad columns and format numbers for people", async () => {
    const { layout, num } = await benchModule<{ layout: (h: string[], r: string[][]) => string; num: (x: number | null) => string }>("lib/table.js");
    expect(layout(["a", "bb"], [["ccc", "d"]])).toBe("a    bb\n---  --\nccc  d");
    expect([num(1234567), num(0.000123456), num(null), num(2.5)]).toEqual(["1,234,567", "0.000123", "–", "2.5"]);
  });
});

describe("scripts/gen-benchmarks-doc.js on bad input", () => {
  const GEN = join(ROOT, "scripts", "gen-benchmarks-doc.js");
  test.each([
    ["missing.json", null, /gen-benchmarks-doc: cannot read .*missing\.json: ENOENT/],
    ["broken.json", '{"mode": "full", ', /gen-benchmarks-doc: .*broken\.json is not JSON \(/],
    ["other.json", '{"hello": 1}', /gen-benchmarks-doc: .*other\.json is not a bench document: it has no "mode", "machine", "versions", "started"/],
    ["quick.json", '{"mode": "quick", "machine": {}, "versions": {}, "started": "x"}', /quick\.json is from a quick run; docs\/benchmarks\.md is generated from a full run/],
  ])("%s: exit 1 with a message naming the file, nothing written", (name, content, message) => {
    const dir = mkdtempSync(join(tmpdir(), "peftlab-gen-doc-"));
    temp.push(dir);
    const file = join(dir, name);
    if (content !== null) writeFileSync(file, content);
    const res = spawnSync(process.execPath, [GEN, file, "--out", join(dir, "docs")], { encoding: "utf8" });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(message);
    expect(existsSync(join(dir, "docs"))).toBe(false);
  });
});

describe("the benchmarks page's chance check", () => {
  test.each([
    [{ chance: 0.147, lora: { ci95: [0.133, 0.163] } }, true],
    [{ chance: 0.006, lora: { ci95: [0.68, 0.77] } }, false],
    [{ chance: null, lora: { ci95: [0.1, 0.2] } }, false],
    [{ chance: 0.5, lora: { ci95: null } }, false],
  ])("atChance(%j) is %s", async (task, expected) => {
    const { atChance } = await benchModule<{ atChance: (t: unknown) => boolean }>("docs/markdown.js");
    expect(atChance(task)).toBe(expected);
  });
});

describe("evidence tasks in worker threads", () => {
  type Evidence = { task: string; results: { status: string }[]; jobs: Map<string, { steps: unknown[] }>; summary: { runs: { run: string }[] } };
  type Pool = {
    defaultParallel: (tasks: number, cores?: number) => number;
    runEvidence: (tasks: string[], ctx: Json, parallel: number) => Promise<Evidence[]>;
  };

  test.each([
    [3, 2, 2],
    [1, 16, 1],
    [3, 1, 1],
    [2, 8, 2],
  ])("defaultParallel(%i tasks, %i cores) is %i", async (tasks, cores, expected) => {
    const { defaultParallel } = await benchModule<Pool>("lib/evidence-pool.js");
    expect(defaultParallel(tasks, cores)).toBe(expected);
  });

  test("a failing task rejects with its name, and the other worker is stopped", async () => {
    const { runEvidence } = await benchModule<Pool>("lib/evidence-pool.js");
    const lines: string[] = [];
    const t0 = Date.now();
    await expect(runEvidence(["nope", "arithmetic"], { mode: "smoke", log: (l: string) => lines.push(l) }, 2)).rejects.toThrow(/^evidence nope: /);
    expect(Date.now() - t0).toBeLessThan(30_000);
    const seen = lines.length;
    await new Promise((r) => setTimeout(r, 3000));
    expect(lines.slice(seen), "nothing trains on after the failure").toEqual([]);
  }, 60_000);

  test("two tasks in two workers give the same evidence, in order, as one after the other", async () => {
    const { runEvidence } = await benchModule<Pool>("lib/evidence-pool.js");
    const dir = mkdtempSync(join(tmpdir(), "peftlab-bench-pool-"));
    temp.push(dir);
    const saved = process.env.PEFTLAB_CACHE;
    process.env.PEFTLAB_CACHE = join(dir, "cache");
    try {
      const lines: string[] = [];
      const ctx = { mode: "smoke", log: (l: string) => lines.push(l) };
      const parallel = await runEvidence(["code", "arithmetic"], ctx, 2);
      expect(parallel.map((e) => e.task)).toEqual(["code", "arithmetic"]);
      for (const ev of parallel) {
        expect(ev.results.map((r) => r.status)).toEqual(Array(6).fill("finished"));
        expect(ev.jobs).toBeInstanceOf(Map);
        expect([...ev.jobs.values()].every((j) => j.steps.length === 12)).toBe(true);
        expect(ev.summary.runs.map((r) => r.run)).toEqual(["lora", "beamlora", "lightpeft"]);
      }
      expect(lines.some((l) => /^evidence code \[6\]/.test(l))).toBe(true);
      // The same seeds give the same losses in a worker and in this thread.
      const serial = await runEvidence(["arithmetic"], ctx, 1);
      const losses = (ev: Evidence) => [...ev.jobs.values()].map((j) => j.steps.map((s) => (s as { loss: number }).loss));
      expect(losses(serial[0])).toEqual(losses(parallel[1]));
    } finally {
      if (saved === undefined) delete process.env.PEFTLAB_CACHE;
      else process.env.PEFTLAB_CACHE = saved;
    }
  }, 120_000);
});
