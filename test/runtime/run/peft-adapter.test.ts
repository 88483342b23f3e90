// Existing adapters in the language: `adapter old = peft "folder"`. A run trains an adapter and writes
// it; a second file evaluates that folder with zero training steps and gets the first run's final test
// metrics; a third trains it further, starting from the trained weights. The checks on the declaration
// (unreadable folder, another model family) are diagnostics.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileSource } from "../../../src/dsl/index.js";
import type { RunEvent } from "../../../src/results/events.js";
import { train } from "../../../src/runtime/run/train.js";

let dir: string;
const readFile = (p: string) => (fs.existsSync(p) && fs.statSync(p).isFile() ? fs.readFileSync(p, "utf8") : null);

const COMMON = [
  "model base = decoder { layers 1, width 32, heads 2, context 24, seed 5 }",
  "data sums = addition { digits 2, train 200, validation 24, test 24, seed 9 }",
];

function compile(name: string, lines: string[]) {
  const file = path.join(dir, name);
  const text = [...COMMON, ...lines].join("\n");
  fs.writeFileSync(file, text);
  return compileSource(text, file, { readFile });
}

async function runFile(name: string, lines: string[]) {
  const { plan, diagnostics } = compile(name, lines);
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const losses: number[] = [];
  const out = await train(plan!, {
    backend: "cpu", folder: path.join(dir, name.replace(".peft", "")),
    onEvent: (_job, e: RunEvent) => void (e.type === "step" && losses.push((e as { loss: number }).loss)),
  });
  expect(out.results.map((r) => [r.status, r.error ?? null])).toEqual([["finished", null]]);
  return { result: out.results[0]!, losses };
}

let trained: Awaited<ReturnType<typeof runFile>>;
let adapterDir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-peft-adapter-"));
  trained = await runFile("first.peft", [
    'adapter fresh = lora { rank 4, alpha 8, target "q_proj", "v_proj", "up_proj" }',
    "train { steps 80, batch 16, lr 1e-2, seeds 1, eval end, log every 1 steps, checkpoint off }",
    "run first = base + fresh on sums",
  ]);
  adapterDir = path.join(dir, "first", "first", "1", "adapter");
  expect(fs.existsSync(path.join(adapterDir, "adapter_config.json"))).toBe(true);
}, 300_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("adapter NAME = peft \"folder\"", () => {
  it("the plan records the folder's settings and the folder", () => {
    const { plan, diagnostics } = compile("plan.peft", [
      'adapter old = peft "first/first/1/adapter"',
      "train { steps 0, batch 16, seeds 1 }",
      "run again = base + old on sums",
    ]);
    expect(diagnostics).toEqual([]);
    expect(plan!.adapters["old"]).toMatchObject({ method: "lora", r: 4, alpha: 8, from: "first/first/1/adapter", target: { regex: null, names: ["q_proj", "up_proj", "v_proj"] } });
    expect(plan!.runs[0]!.train.steps).toBe(0);
  });

  it("evaluated with zero steps, it gives the first run's final test metrics", async () => {
    const again = await runFile("again.peft", [
      'adapter old = peft "first/first/1/adapter"',
      "train { steps 0, batch 16, seeds 1, checkpoint off }",
      "run again = base + old on sums",
    ]);
    expect(again.result.steps).toBe(0);
    expect(again.losses).toEqual([]);
    const pick = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith("test_")));
    expect(Object.keys(pick(trained.result.metrics)).length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(pick(trained.result.metrics))) expect(again.result.metrics[k], k).toBeCloseTo(v, 5);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, "again", "summary.json"), "utf8"));
    expect(JSON.stringify(summary)).toContain("again");
  }, 300_000);

  it("trained further, it starts from the folder's weights", async () => {
    const more = await runFile("more.peft", [
      'adapter old = peft "first/first/1/adapter"',
      "train { steps 5, batch 16, lr 5e-3, seeds 1, eval end, log every 1 steps, checkpoint off }",
      "run more = base + old on sums",
    ]);
    expect(more.result.steps).toBe(5);
    expect(more.losses).toHaveLength(5);
    // Same seed, so the same first batch as the first run: with the trained adapter its loss is near
    // where the first run ended, far below the fresh adapter's.
    const freshStart = trained.losses[0]!;
    const trainedEnd = trained.losses.slice(-10).reduce((a, b) => a + b, 0) / 10;
    expect(freshStart - trainedEnd).toBeGreaterThan(0.1);
    expect(more.losses[0]!).toBeLessThan(trainedEnd + 0.5 * (freshStart - trainedEnd));
  }, 300_000);

  it("an unreadable folder and an adapter of another family are diagnostics on the declaration", () => {
    const missing = compile("missing.peft", ['adapter old = peft "nowhere"', "run r = base + old on sums"]);
    expect(missing.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ["PEFT5010", "'nowhere' is not a usable PEFT adapter folder: it has no readable adapter_config.json (does the folder exist?)"],
    ]);
    const gptDir = path.join(dir, "gpt2-adapter");
    fs.mkdirSync(gptDir, { recursive: true });
    fs.writeFileSync(path.join(gptDir, "adapter_config.json"), JSON.stringify({ peft_type: "LORA", r: 8, lora_alpha: 16, target_modules: ["c_attn"], fan_in_fan_out: true }));
    const other = compile("other.peft", ['adapter old = peft "gpt2-adapter"', "run r = base + old on sums"]);
    expect(other.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ["PEFT5011", "adapter 'old' targets 'c_attn', modules of GPT-2 models, but run 'r' uses model 'base' (Llama-style (llama, mistral, qwen2))"],
    ]);
    const src = fs.readFileSync(path.join(dir, "other.peft"), "utf8");
    const d = other.diagnostics.find((x) => x.code === "PEFT5011")!;
    expect(src.slice(d.span.start, d.span.end)).toBe('"gpt2-adapter"');
    const noPath = compile("nopath.peft", ["adapter old = peft", "run r = base + old on sums"]);
    expect(noPath.diagnostics.map((x) => x.code)).toContain("PEFT3006");
  });
});
