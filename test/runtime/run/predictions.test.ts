// What a finished job records for a reader to check its numbers: every test prediction
// (predictions.jsonl), the examples each split really had, and the majority-answer baseline; the
// summary and report show them. A training file + held-out test file pair (examples/jsonl-splits)
// and a generation task.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSource } from "../../../src/dsl/index.js";
import type { Prediction, RunResult } from "../../../src/results/events.js";
import type { Summary } from "../../../src/results/summary.js";
import { loadDataset, type GenerationDataset } from "../../../src/runtime/data/index.js";
import { runPlan } from "../../../src/runtime/run/run-plan.js";

const EXAMPLE = path.join(import.meta.dirname, "..", "..", "..", "examples", "jsonl-splits");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-predictions-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SOURCE = `backend cpu
model enc = encoder { layers 1, width 16, heads 2, context 48 }
model dec = decoder { layers 1, width 16, heads 2, context 16 }
data topics = jsonl "train.jsonl" { validation 20%, test "test.jsonl", shuffle no }
data sums = addition { digits 1, train 32, validation 8, test 8 }
adapter a = lora { rank 2, target "query", "value" }
adapter b = lora { rank 2, target "q_proj", "v_proj" }
train { steps 4, batch 8, lr 3e-3, seeds 1 2, checkpoint off }
run topic = enc + a on topics
run sum = dec + b on sums
`;

const readJsonl = <T>(file: string): T[] => fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as T);

describe("predictions, split sizes and baselines of a finished job", () => {
  const dir = path.join(tmp, "run");
  let results: RunResult[] = [];
  let summary: Summary;

  it("trains the held-out pair and the generation task", async () => {
    const { plan, diagnostics } = compileSource(SOURCE, path.join(EXAMPLE, "h9.peft"), { readFile: (p) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : null) });
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const out = await runPlan(plan!, { folder: dir, source: SOURCE, baseDir: EXAMPLE });
    results = out.results;
    summary = out.summary;
    expect(results.map((r) => `${r.run}/${r.seed}:${r.status}`)).toEqual(["topic/1:finished", "topic/2:finished", "sum/1:finished", "sum/2:finished"]);
  }, 120_000);

  it("classification: predictions.jsonl holds every line of the test file, in order, with label names", () => {
    const test = readJsonl<{ text: string; label: string }>(path.join(EXAMPLE, "test.jsonl"));
    const preds = readJsonl<Prediction>(path.join(dir, "topic", "1", "predictions.jsonl"));
    expect(preds.map((p) => [p.input, p.target])).toEqual(test.map((t) => [t.text, t.label]));
    for (const p of preds) {
      expect(["food", "sport", "weather"]).toContain(p.prediction);
      expect(p.correct).toBe(p.prediction === p.target);
    }
    const r = results[0]!;
    expect(r.metrics.test_accuracy).toBeCloseTo(preds.filter((p) => p.correct).length / preds.length, 12);
  });

  it("classification: the sizes really used and the majority label's score on the test file", () => {
    const train = readJsonl<{ text: string; label: string }>(path.join(EXAMPLE, "train.jsonl")).slice(0, 120);
    const test = readJsonl<{ text: string; label: string }>(path.join(EXAMPLE, "test.jsonl"));
    const counts = new Map<string, number>();
    for (const t of train) counts.set(t.label, (counts.get(t.label) ?? 0) + 1);
    const majority = [...counts].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    const r = results[0]!;
    expect(r.examples).toEqual({ train: 120, validation: 30, test: test.length });
    expect(r.baselines!.test_accuracy).toBeCloseTo(test.filter((t) => t.label === majority).length / test.length, 12);
    const s = summary.runs.find((x) => x.run === "topic")!;
    expect(s.examples).toEqual(r.examples);
    expect(s.baselines).toEqual(r.baselines);
  });

  it("generation: predictions are the greedy completions; the baseline is the commonest training completion", () => {
    const preds = readJsonl<Prediction>(path.join(dir, "sum", "1", "predictions.jsonl"));
    expect(preds).toHaveLength(8);
    for (const p of preds) {
      const [x, y] = p.input.replace(/=$/, "").split("+").map(Number);
      expect(p.target).toBe(String(x! + y!));
      expect(p.correct).toBe(p.prediction === p.target);
    }
    const r = results.find((x) => x.run === "sum")!;
    expect(r.examples).toEqual({ train: 32, validation: 8, test: 8 });
    const { plan } = compileSource(SOURCE, path.join(EXAMPLE, "h9.peft"), { readFile: (p) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : null) });
    const ds = loadDataset(plan!.data.sums!, { baseDir: EXAMPLE }) as GenerationDataset;
    const counts = new Map<string, number>();
    for (const e of ds.train) counts.set(e.completion, (counts.get(e.completion) ?? 0) + 1);
    const commonest = [...counts].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    expect(preds.map((p) => p.target)).toEqual(ds.test.map((e) => e.completion));
    expect(r.baselines!.test_exact_match).toBe(ds.test.filter((e) => e.completion === commonest).length / 8);
    expect(r.baselines!.test_accuracy).toBe(r.baselines!.test_exact_match);
    expect(r.metrics.test_exact_match).toBeCloseTo(preds.filter((p) => p.correct).length / 8, 12);
  });

  it("summary: bounded intervals and the two-seed warning; report: sizes, baselines and sample predictions", () => {
    const acc = summary.runs.find((x) => x.run === "topic")!.metrics.test_accuracy!;
    if (acc.ci95) {
      expect(acc.ci95[0]).toBeGreaterThanOrEqual(0);
      expect(acc.ci95[1]).toBeLessThanOrEqual(1);
    }
    expect(summary.warnings.some((w) => /^run topic: only 2 finished seeds/.test(w))).toBe(true);
    const html = fs.readFileSync(path.join(dir, "report.html"), "utf8");
    expect(html).toContain('<section id="predictions"><h2>Predictions</h2>');
    expect(html).toMatch(/seed 1 · first 5 of 42 test examples · \d+ of 42 correct/);
    expect(html).toContain("<th>examples train / validation / test</th>");
    expect(html).toContain('<td class="num">120 / 30 / 42</td>');
    expect(html).toContain("of the majority answer</th>");
    expect(html).toContain("only 2 finished seeds at the chosen learning rate");
  });
});
