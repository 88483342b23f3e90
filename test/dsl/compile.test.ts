// compile: checked AST → plan. Snapshots of every example, and the normalisation rules.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile, sha256, type Plan } from "../../src/dsl/index.js";
import { BASE, ROOT, exampleFiles, fsReader, run } from "./helpers.js";

const fromRoot = (path: string) => fsReader(join(ROOT, path));

function plan(text: string, files: Record<string, string> = {}): Plan {
  const r = run(text, files);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.plan!;
}

describe("example plans", () => {
  it.each(exampleFiles().filter((f) => !f.includes("shared/")))("%s compiles to its snapshot", async (file) => {
    const r = compile({ path: file, text: fromRoot(file)! }, { readFile: fromRoot });
    expect(r.diagnostics).toEqual([]);
    await expect(`${JSON.stringify(r.plan, null, 2)}\n`).toMatchFileSnapshot(join("__snapshots__", "plans", `${file.replace(/^examples\//, "").replace(/\//g, "_")}.json`));
  });
});

describe("normalisation", () => {
  it("fills every default (algorithms.md settings) into a minimal program", () => {
    const p = plan(`${BASE}run r = base + lora8 on sums\n`);
    expect(p.backend).toBe("auto");
    expect(p.models.base).toEqual({ kind: "builtin", family: "llama", head: "causal_lm", layers: 2, hidden: 64, heads: 4, kvHeads: 4, intermediate: 176, context: 32, vocab: "auto", labels: "auto", initSeed: 0, precision: "f32" });
    expect(p.data.sums).toEqual({ kind: "task", task: "addition", params: { digits: 2 }, splits: { train: 2000, validation: 200, test: 200 }, seed: 0, tokenizer: { kind: "char" } });
    expect(p.adapters.lora8).toMatchObject({ method: "lora", r: 8, alpha: 16, dropout: 0.05, rslora: false, init: "kaiming", exclude: { regex: null, names: [] }, adalora: null });
    expect(p.runs[0]!.train).toEqual({
      steps: 1000, batch: 32, microBatch: 32, recompute: "off", lrs: [3e-4],
      schedule: { kind: "cosine", warmupSteps: 30, minLrRatio: 0 },
      optimizer: { kind: "adamw", beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
      clipNorm: 1, seeds: [1], evalEvery: 100, checkpointEvery: 250, logEvery: 10, evalExamples: 200, maxLength: 0,
    });
  });

  it("reads PiSSA's randomized SVD as `init pissa niter N` or PEFT's `pissa_niter_N`; exact PiSSA has no niter", () => {
    const spec = (init: string) => plan(`${BASE}adapter p = lora { rank 4, init ${init} }\nrun r = base + p on sums\n`).adapters.p!;
    expect(spec("pissa niter 4")).toMatchObject({ init: "pissa", pissaNiter: 4 });
    expect(spec("pissa_niter_16")).toMatchObject({ init: "pissa", pissaNiter: 16 });
    expect(spec("pissa")).toMatchObject({ init: "pissa" });
    expect(spec("pissa").pissaNiter).toBeUndefined();
    const errors = (init: string) => run(`${BASE}adapter p = lora { rank 4, init ${init} }\nrun r = base + p on sums\n`).diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
    expect(errors("pissa niter 0")).toEqual([expect.stringMatching(/'init'.*from 1 to 100/)]);
    expect(errors("pissa_niter_0")).toEqual([expect.stringMatching(/pissa_niter_N with N from 1 to 100.*'pissa_niter_0'|'pissa_niter_0'.*pissa_niter_N with N from 1 to 100/)]);
    expect(errors("kaiming niter 4")).toEqual([expect.stringMatching(/'niter'/)]);
  });

  it("turns percentages into fractions and shares of training into step numbers", () => {
    const p = plan(`${BASE}beam b on lora8 { top_p 95% -> 100% until 66% }
prune l { estimate 10%, heads 25%, neurons 0.5 }
train { steps 300, lr 1e-3 warmup 3% min 10% }
run rb = base + lora8 + b on sums
run rl = base + lora8 + l on sums
`);
    expect(p.beams.b).toEqual({ adapter: "lora8", tau: null, period: 26, snapshotOffset: 13, topP: { start: 0.95, end: 1, schedule: "cosine", endStep: 198 }, capPerModule: "half", importance: "gate", importanceEvery: 13 });
    expect(p.prunes.l).toMatchObject({ estimateSteps: 30, heads: { ratio: 0.25, scope: "layer" }, neurons: { ratio: 0.5, scope: "global" } });
    expect(p.runs[0]!.train.schedule).toEqual({ kind: "cosine", warmupSteps: 9, minLrRatio: 0.1 });
  });

  it("resolves epochs with the training split: task sizes and JSONL line counts", () => {
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ prompt: `${i}`, completion: "x" })).join("\n");
    const p = plan(`${BASE}data j = jsonl "d/x.jsonl" { train 80%, validation 20%, test 0% }
run task = base + lora8 on sums with { epochs 1.5, batch 64 }
run file = base + lora8 on j with { epochs 2, batch 8 }
`, { "d/x.jsonl": lines });
    expect(p.runs.map((r) => r.train.steps)).toEqual([Math.ceil((1.5 * 2000) / 64), Math.ceil((2 * 40) / 8)]);
    expect(p.data.j).toMatchObject({ kind: "jsonl", path: "d/x.jsonl", format: "generation", fields: { prompt: "prompt", completion: "completion" }, splits: {
      train: { from: "share", file: "d/x.jsonl", share: 0.8, examples: 40 },
      validation: { from: "share", file: "d/x.jsonl", share: 0.2, examples: 10 },
      test: { from: "share", file: "d/x.jsonl", share: 0, examples: 0 },
    }, shuffle: true });
  });

  it("layers train settings: global, then named, then the run's own", () => {
    const p = plan(`${BASE}train { steps 500, batch 16, seeds 1 2 }
train fast { steps 100, lr [1e-4, 1e-3] }
run a = base + lora8 on sums
run b = base + lora8 on sums with fast
run c = base + lora8 on sums with fast { batch 8, seeds 3..5 }
`);
    expect(p.runs.map((r) => [r.train.steps, r.train.batch, r.train.lrs, r.train.seeds])).toEqual([
      [500, 16, [3e-4], [1, 2]],
      [100, 16, [1e-4, 1e-3], [1, 2]],
      [100, 8, [1e-4, 1e-3], [3, 4, 5]],
    ]);
  });

  it("gives a beam one entry per run when runs of different lengths share it", () => {
    const p = plan(`${BASE}beam b on lora8 { every 10% }
run short = base + lora8 + b on sums with { steps 100 }
run long = base + lora8 + b on sums with { steps 400 }
run long2 = base + lora8 + b on sums with { steps 400 }
`);
    expect(Object.keys(p.beams)).toEqual(["b@short", "b@long", "b@long2"]);
    expect(p.runs.map((r) => r.beam)).toEqual(["b@short", "b@long", "b@long2"]);
    expect([p.beams["b@short"]!.period, p.beams["b@long"]!.period]).toEqual([10, 40]);
    const same = plan(`${BASE}beam b on lora8 { every 10 steps }\nrun x = base + lora8 + b on sums\nrun y = base + lora8 + b on sums with { batch 8 }\n`);
    expect(Object.keys(same.beams)).toEqual(["b"]);
  });

  it("chooses the tokenizer from the models using the data", () => {
    const p = plan(`${BASE}model h = hf "m"\nrun r = h + lora8 on sums\n`, { "m/config.json": "{}" });
    expect(p.data.sums!.tokenizer).toEqual({ kind: "model" });
    expect(p.models.h).toEqual({ kind: "hf", path: "m", head: "auto", labels: "auto", precision: "f32" });
  });

  it("names comparisons and fills their metrics and plots", () => {
    const p = plan(`${BASE}beam b on lora8 {}\nrun x = base + lora8 on sums\nrun y = base + lora8 + b on sums\ncompare x, y\ncompare x, y by loss plot loss\n`);
    expect(p.comparisons).toEqual([
      { name: "x_vs_y", runs: ["x", "y"], metrics: ["accuracy", "loss", "trainable_params", "step_time"], plots: ["loss", "eval", "importance"] },
      { name: "x_vs_y_2", runs: ["x", "y"], metrics: ["loss"], plots: ["loss"] },
    ]);
  });

  it("is deterministic plain JSON with the source hash", () => {
    const text = `${BASE}run r = base + lora8 on sums\n`;
    const a = JSON.stringify(run(text).plan);
    const b = JSON.stringify(run(text).plan);
    expect(a).toBe(b);
    expect(JSON.parse(a)).toEqual(run(text).plan);
    expect(run(text).plan!.source).toEqual({ path: "t.peft", sha256: sha256(text) });
    expect(sha256("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("compiles nothing when there is an error", () => {
    const r = run(`${BASE}run r = base + nope on sums\n`);
    expect(r.plan).toBeNull();
  });
});
