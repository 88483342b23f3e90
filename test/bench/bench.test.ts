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
  ["beamlora.rank", isPos],
  ["beamlora.paired_diff.detectable_effect", numOrNull],
  ["beamlora.by_task", (v) => Array.isArray(v) && v.length > 0],
  ["beamlora.by_task.0.task", (v) => typeof v === "string"],
  ["beamlora.by_task.0.rank", isPos],
  ["beamlora.by_task.0.seeds", (v) => isNum(v) && (v as number) >= 2],
  ["beamlora.by_task.0.diff", isNum],
  ["beamlora.by_task.0.ci95", ci95],
  ["beamlora.by_task.0.detectable_effect", numOrNull],
  ["beamlora.by_task.0.beamlora.tau", isPos],
  ["beamlora.verdict", (v) => ["supported", "contradicted", "not decidable"].includes(v as string)],
  ["lightpeft.frontier", (v) => Array.isArray(v) && v.length >= 2],
  ["lightpeft.frontier.0.settings", isObj],
  ["lightpeft.frontier.0.step_time_ratio", isPos],
  ["lightpeft.frontier.0.peak_memory_ratio", isPos],
  ["lightpeft.frontier.0.trainable_vs_lora", isPos],
  ["lightpeft.frontier.0.accuracy_diff", isNum],
  ["lightpeft.headline", (v) => v === null || isObj(v)],
  ["lightpeft.verdict", (v) => ["supported", "contradicted", "not decidable"].includes(v as string)],
  ["baselines", (v) => Array.isArray(v) && v.length === 4],
  ["baselines.0.method", (v) => v === "rslora"],
  ["baselines.0.diff", isNum],
  ["baselines.0.ci95", ci95],
  ["evidence_units", (v) => Array.isArray(v) && v.length > 0],
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
  ["pissa.ratio", isPos],
  ["pissa.shapes", (v) => Array.isArray(v) && v.length >= 2],
  ["pissa.default_base.exact_s", isPos],
  ["pissa.default_base.fast_s", isPos],
  ["pissa.default_base.energy_captured_min", isFraction],
  ["big.params", isPos],
  ["big.peak_rss_gb.nf4", isPos],
  ["big.peak_rss_gb.bf16", isPos],
  ["big.step_s.nf4", isPos],
  ["big.step_s.bf16", isPos],
  ["big.step_vs_torch.nf4", numOrNull],
  ["big.step_vs_torch.bf16", numOrNull],
  ["big.load_s.nf4", isPos],
  ["big.store_gb.nf4", isPos],
  ["big.cores_used.nf4", isPos],
  ["big.load_avg.nf4", isNum],
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
    for (const h of ["# Benchmarks and evidence", "## Summary", "## Verdicts", "## Speed", "## Where the time goes", "## How the evidence was obtained", "## BeamLoRA vs LoRA where rank is the bottleneck", "## Light-PEFT: the trade-off curve", "## LoRA variants vs LoRA (the counter-claim)", "## Leaks"]) expect(md).toContain(h);
    expect(md).toMatch(/\| authors \| 33\.3 % \/ 33\.3 % \/ 75\.0 % \/ 50\.0 % \| 2 \|/);
    expect(md).toMatch(/Estimation window: the first 4 steps/);
    expect(md).toMatch(/\| BeamLoRA: better than LoRA at equal rank \| (supported|contradicted|not decidable) \|/);
    expect(md).not.toMatch(/undefined|NaN/);
    expect(pruneSpecOf("prune light { estimate 10% }\ntrain { steps 400, batch 32 }")).toMatchObject({ estimateSteps: 40, moduleRatio: 0.75, rankRatio: 0.5 });
    expect(pruneSpecOf("prune a { estimate 10% }\nprune b { estimate 20 steps, modules 0 }\ntrain { steps 400 }", "b")).toMatchObject({ estimateSteps: 20, moduleRatio: 0 });
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
    [["--base", "default", "--evidence-backend=wasm"], { base: "default", evidenceBackend: "wasm" }],
    [["--base=models/x"], { base: "models/x", evidenceBackend: null }],
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

  type Unit = { id: string; experiment: string; rank: number; seeds: number[]; source: (dir: string) => string };
  type Experiments = { experimentUnits: (m: string) => Unit[]; methodRuns: (e: string, m: string) => Record<string, string[]>; tauFor: (lr: number) => number; EXPERIMENT_SIZES: Record<string, { lrs: number[]; seeds: number[]; lightSeeds: number[] }> };

  test.each(["smoke", "quick", "full"])("every experiment unit of %s mode compiles, at equal rank, steps, data and seeds", async (mode) => {
    const { experimentUnits, methodRuns, tauFor, EXPERIMENT_SIZES } = await benchModule<Experiments>("lib/experiments.js");
    const sizes = EXPERIMENT_SIZES[mode]!;
    const units = experimentUnits(mode);
    expect(new Set(units.map((u) => u.experiment))).toEqual(new Set(["rank", "baselines", "lightpeft"]));
    for (const unit of units) {
      const { plan, diagnostics } = compileSource(unit.source("/tmp/base"), "/tmp/bench.peft");
      expect({ unit: unit.id, errors: diagnostics.filter((d) => d.severity === "error").map((d) => d.message) }).toEqual({ unit: unit.id, errors: [] });
      const runs = plan!.runs;
      expect(runs.map((r) => r.name).sort()).toEqual(Object.values(methodRuns(unit.experiment, mode)).flat().sort());
      const lora = runs.find((r) => r.name === "lora")!;
      for (const r of runs) {
        expect({ run: r.name, steps: r.train.steps, seeds: r.train.seeds, data: r.data }).toEqual({ run: r.name, steps: lora.train.steps, seeds: unit.seeds, data: lora.data });
        // The grid of every method is the same: LoRA's lrs, or one of them per BeamLoRA run.
        expect(r.train.lrs.every((lr) => lora.train.lrs.includes(lr))).toBe(true);
      }
      expect(lora.train.lrs).toEqual(sizes.lrs);
      if (unit.experiment === "rank") {
        const beams = runs.filter((r) => r.name.startsWith("beamlora_"));
        expect(beams.flatMap((r) => r.train.lrs).sort()).toEqual([...sizes.lrs].sort()); // every lr once
        for (const r of beams) {
          expect(r.adapters).toEqual(lora.adapters); // equal rank
          expect(plan!.beams[r.beam!]!.tau).toBeCloseTo(tauFor(r.train.lrs[0]!), 6);
        }
        expect(plan!.adapters[lora.adapters[0]!]!.r).toBe(unit.rank);
      }
    }
    // Seeds: every seed of the mode in exactly one unit per (experiment, task, rank).
    const first = units.find((u) => u.experiment === "rank")!;
    const rank = units.filter((u) => u.experiment === "rank" && u.id.startsWith(`rank/${first.id.split("/")[1]}/r${first.rank}/`));
    expect(rank.flatMap((u) => u.seeds).sort()).toEqual([...sizes.seeds].sort());
    expect(units.filter((u) => u.experiment === "lightpeft").flatMap((u) => u.seeds).sort()).toEqual([...sizes.lightSeeds].sort());
  });

  test("LoRA at rank 8 is the same run in every experiment (adapter name and settings: its initial weights follow them)", async () => {
    const { experimentUnits } = await benchModule<Experiments>("lib/experiments.js");
    const loraLines = (u: Unit) => {
      const text = u.source("/tmp/base").split("\n");
      const run = text.find((l) => l.startsWith("run lora = "))!;
      const name = run.match(/\+ (\w+) on/)![1];
      return [text.find((l) => l.startsWith(`adapter ${name} = `)), run];
    };
    const r8 = experimentUnits("full").filter((u) => u.rank === 8 && u.id.includes("/addition/"));
    expect(new Set(r8.map((u) => u.experiment))).toEqual(new Set(["rank", "baselines", "lightpeft"]));
    expect(new Set(r8.map((u) => JSON.stringify(loraLines(u)))).size).toBe(1);
  });

  test("full mode: on the default base, ranks 2, 4 and 8, at least 8 seeds, a learning-rate grid, the authors' Light-PEFT setting last", async () => {
    type Sizes = { base: string; ranks: number[]; seeds: number[]; baselineSeeds: number[]; lrs: number[]; light: string[] };
    const { EXPERIMENT_SIZES, experimentUnits } = await benchModule<{ EXPERIMENT_SIZES: Record<string, Sizes>; experimentUnits: (m: string) => Unit[] }>("lib/experiments.js");
    const full = EXPERIMENT_SIZES.full!;
    expect(full.base).toBe("default");
    expect(EXPERIMENT_SIZES.quick!.base).toBe(full.base); // the quick run's seconds per job estimate the full run's
    expect(EXPERIMENT_SIZES.smoke!.base).toBe("bench");
    expect(full.ranks).toEqual([2, 4, 8]);
    expect(full.seeds.length).toBeGreaterThanOrEqual(8);
    expect(full.lrs.length).toBeGreaterThanOrEqual(2);
    expect(full.light.at(-1)).toBe("authors");
    const baselineSeeds = experimentUnits("full").filter((u) => u.experiment === "baselines").flatMap((u) => u.seeds);
    expect(baselineSeeds.sort()).toEqual([...full.baselineSeeds].sort());
  });

  type Decide = {
    chooseConfig: (results: Json[], runs: string[]) => { run: string; lr: number } | null;
    compare: (a: { seed: number; value: number }[], b: { seed: number; value: number }[]) => { mean: number; ci95: [number, number] | null; detectable_effect: number | null; verdict: string; n: number };
    detectableEffect: (sd: number, n: number) => number | null;
    verdictForGain: (ci: [number, number] | null, delta: number) => string;
    equivalence: (ci: [number, number] | null, margin: number) => string;
  };
  const result = (run: string, lr: number, seed: number, val: number, test: number, status = "finished") => ({ run, lr, seed, status, metrics: { validation_accuracy: val, validation_loss: 1 - val, test_accuracy: test } });

  test("each method's learning rate is chosen on validation only, over its runs", async () => {
    const { chooseConfig } = await benchModule<Decide>("lib/decide.js");
    // The best test score sits at lr 0.01, the best validation at 0.02: validation decides.
    const rs = [result("lora", 0.01, 1, 0.5, 0.9), result("lora", 0.01, 2, 0.5, 0.9), result("lora", 0.02, 1, 0.6, 0.1), result("lora", 0.02, 2, 0.6, 0.1),
      result("beamlora_1", 0.01, 1, 0.7, 0.2), result("beamlora_2", 0.02, 1, 0.4, 0.3), result("beamlora_2", 0.02, 2, 0.99, 0.3, "failed")];
    expect(chooseConfig(rs, ["lora"])).toMatchObject({ run: "lora", lr: 0.02 });
    expect(chooseConfig(rs, ["beamlora_1", "beamlora_2"])).toMatchObject({ run: "beamlora_1", lr: 0.01 }); // a failed job counts for nothing
    expect(chooseConfig(rs, ["nope"])).toBeNull();
  });

  test("paired comparison: difference, interval, power and verdict", async () => {
    const { compare, detectableEffect } = await benchModule<Decide>("lib/decide.js");
    const a = [1, 2, 3, 4].map((seed) => ({ seed, value: 0.5 }));
    const b = [0.6, 0.62, 0.58, 0.6].map((value, i) => ({ seed: i + 1, value }));
    const c = compare(a, b);
    expect(c.mean).toBeCloseTo(0.1, 6);
    expect(c.verdict).toBe("better");
    expect(c.ci95![0]).toBeGreaterThan(0);
    // sd of the differences 0.01633; (t.975,3 + t.80,3) · sd / 2 = (3.182 + 0.978) · 0.008165
    expect(c.detectable_effect).toBeCloseTo(0.03397, 3);
    expect(detectableEffect(0.1, 8)!).toBeCloseTo((2.365 + 0.896) * 0.1 / Math.sqrt(8), 2);
    expect(detectableEffect(0.1, 1)).toBeNull();
    expect(compare(b, a).verdict).toBe("worse");
  });

  test.each([
    [[0.01, 0.05], "supported"],
    [[-0.05, 0.01], "contradicted"],
    [[-0.01, 0.03], "not decidable"],
    [null, "not decidable"],
  ])("an interval %j against a claimed gain of 0.0157 is %s", async (ci, verdict) => {
    const { verdictForGain } = await benchModule<Decide>("lib/decide.js");
    expect(verdictForGain(ci as [number, number] | null, 0.0157)).toBe(verdict);
  });

  test.each([
    [[-0.01, 0.015], "within"],
    [[0.025, 0.06], "outside"],
    [[-0.08, -0.03], "outside"],
    [[-0.03, 0.01], "not decidable"],
  ])("an interval %j against the counter-claim's ±0.02 is %s", async (ci, verdict) => {
    const { equivalence } = await benchModule<Decide>("lib/decide.js");
    expect(equivalence(ci as [number, number], 0.02)).toBe(verdict);
  });

  test("the Light-PEFT frontier: Pareto points and the paper's headline", async () => {
    const { paretoFlags, meetsHeadline, lightVerdict } = await benchModule<{ paretoFlags: (p: Json[]) => boolean[]; meetsHeadline: (p: Json) => boolean; lightVerdict: (f: Json[], learned?: boolean) => string }>("lightpeft.js");
    const p = (s: number, m: number, a: number, ci: [number, number] = [a - 0.01, a + 0.01]) => ({ step_time_ratio: s, peak_memory_ratio: m, accuracy_diff: a, accuracy_ci95: ci });
    const pts = [p(0.9, 0.9, 0), p(0.7, 0.7, -0.3), p(0.95, 0.95, -0.01), p(0.6, 0.6, -0.01), p(0.5, 0.7, -0.3)];
    expect(paretoFlags(pts)).toEqual([true, false, false, true, true]); // the last is the fastest
    expect(pts.map(meetsHeadline)).toEqual([false, false, false, true, false]); // the last uses too much memory
    expect(lightVerdict(pts)).toBe("supported");
    expect(lightVerdict([p(0.9, 0.9, 0)])).toBe("contradicted"); // nothing reaches the headline
    expect(lightVerdict([p(0.5, 0.5, -0.3)])).toBe("contradicted");
    expect(lightVerdict([p(0.5, 0.5, -0.02, [-0.05, 0.01])])).toBe("not decidable");
    expect(lightVerdict([p(0.5, 0.5, 0)], false)).toBe("not decidable"); // LoRA learned nothing
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
  type Evidence = { unit: string; results: { status: string }[]; jobs: Map<string, { steps: unknown[] }> };
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

  test("the evidence backend: $PEFTLAB_BENCH_BACKEND, else native where the addon loads, else wasm", async () => {
    const { evidenceBackend } = await benchModule<{ evidenceBackend: (mode: string, log?: (line: string) => void) => Promise<string> }>("lib/evidence-pool.js");
    const saved = { bench: process.env.PEFTLAB_BENCH_BACKEND, path: process.env.PEFTLAB_NATIVE_PATH };
    const restore = (k: string, v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));
    try {
      process.env.PEFTLAB_BENCH_BACKEND = "cpu";
      expect(await evidenceBackend("full")).toBe("cpu");
      delete process.env.PEFTLAB_BENCH_BACKEND;
      process.env.PEFTLAB_NATIVE_PATH = join(tmpdir(), "peftlab-no-such-addon.node");
      const lines: string[] = [];
      expect(await evidenceBackend("full", (l: string) => lines.push(l))).toBe("wasm");
      expect(lines).toEqual([expect.stringMatching(/^evidence: native kernels unavailable \(PEFTLAB_NATIVE_PATH=.*no such file\); the jobs run on wasm$/)]);
      restore("PEFTLAB_NATIVE_PATH", saved.path);
      const { loadAddon } = (await import(pathToFileURL(join(ROOT, "dist", "internal.js")).href)) as { loadAddon: () => unknown };
      let loads = true;
      try {
        loadAddon();
      } catch {
        loads = false;
      }
      expect(await evidenceBackend("full")).toBe(loads ? "native" : "wasm");
    } finally {
      restore("PEFTLAB_BENCH_BACKEND", saved.bench);
      restore("PEFTLAB_NATIVE_PATH", saved.path);
    }
  });

  test("a failing task rejects with its name, and the other worker is stopped", async () => {
    const { runEvidence } = await benchModule<Pool>("lib/evidence-pool.js");
    const lines: string[] = [];
    const t0 = Date.now();
    await expect(runEvidence(["nope", "rank/addition/r2/1"], { mode: "smoke", log: (l: string) => lines.push(l) }, 2)).rejects.toThrow(/^evidence nope: no experiment unit "nope"/);
    expect(Date.now() - t0).toBeLessThan(30_000);
    const seen = lines.length;
    await new Promise((r) => setTimeout(r, 3000));
    expect(lines.slice(seen), "nothing trains on after the failure").toEqual([]);
  }, 60_000);

  test("two units in two workers give the same evidence, in order, as one after the other", async () => {
    const { runEvidence } = await benchModule<Pool>("lib/evidence-pool.js");
    const dir = mkdtempSync(join(tmpdir(), "peftlab-bench-pool-"));
    temp.push(dir);
    const saved = process.env.PEFTLAB_CACHE;
    process.env.PEFTLAB_CACHE = join(dir, "cache");
    try {
      const lines: string[] = [];
      const ctx = { mode: "smoke", log: (l: string) => lines.push(l) };
      const parallel = await runEvidence(["lightpeft/addition/1", "rank/addition/r2/1"], ctx, 2);
      expect(parallel.map((e) => e.unit)).toEqual(["lightpeft/addition/1", "rank/addition/r2/1"]);
      expect(parallel[0]!.results.map((r) => r.status)).toEqual(Array(6).fill("finished")); // (LoRA + 2 settings) × 2 seeds
      expect(parallel[1]!.results.map((r) => r.status)).toEqual(Array(4).fill("finished")); // (LoRA + BeamLoRA) × 2 seeds
      for (const ev of parallel) {
        expect(ev.jobs).toBeInstanceOf(Map);
        expect([...ev.jobs.values()].every((j) => j.steps.length === 12)).toBe(true);
      }
      expect(lines.some((l) => /^evidence lightpeft\/addition\/1 \[6\]/.test(l))).toBe(true);
      // The same seeds give the same losses in a worker and in this thread.
      const serial = await runEvidence(["rank/addition/r2/1"], ctx, 1);
      const losses = (ev: Evidence) => [...ev.jobs.values()].map((j) => j.steps.map((s) => (s as { loss: number }).loss));
      expect(losses(serial[0])).toEqual(losses(parallel[1]));
    } finally {
      if (saved === undefined) delete process.env.PEFTLAB_CACHE;
      else process.env.PEFTLAB_CACHE = saved;
    }
  }, 300_000);
});
