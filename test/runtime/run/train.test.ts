// train(plan) from code: a .peft text compiled and trained end to end on the default backend.
import { describe, expect, it } from "vitest";
import { compileSource } from "../../../src/dsl/index.js";
import { train } from "../../../src/runtime/run/train.js";
import type { RunEvent } from "../../../src/results/events.js";
import * as tf from "../../../src/runtime/tensor/tf.js";
import { loadAddon } from "../../../src/runtime/tensor/native/index.js";

/** What "auto" picks on this machine: native when the addon loads, else wasm (no GPU in tests). */
function autoBackend(): string {
  try {
    loadAddon();
    return "native";
  } catch {
    return "wasm";
  }
}

const SOURCE = `
model base = decoder { layers 1, width 32, heads 2, context 24 }
data sums = addition { digits 2, train 200, validation 30, test 30 }
adapter lora4 = lora { rank 4, alpha 8, target "q_proj", "v_proj", "up_proj" }
beam beams on lora4 { every 6 steps }
prune light { estimate 4 steps, heads 50% per layer, neurons 25% global, modules 50%, ranks 50% }
train { steps 24, batch 8, lr [1e-3, 3e-3], seeds 1 2, eval every 12 steps on 10 examples }
run lora = base + lora4 on sums
run beam = base + lora4 + beams on sums
run lp = base + lora4 + light on sums
compare lora, beam, lp by accuracy
`;

describe("train(plan)", () => {
  it("trains every run × lr × seed on the default backend and summarises them", async () => {
    const { plan, diagnostics } = compileSource(SOURCE, "api.peft");
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const events: { run: string; e: RunEvent }[] = [];
    const before = { tensors: -1 };
    const out = await train(plan!, {
      onJobStart: () => {
        if (before.tensors < 0) before.tensors = tf.memory().numTensors;
      },
      onEvent: (job, e) => events.push({ run: job.run.name, e }),
    });
    expect(out.backend.name).toBe(process.env.PEFTLAB_BACKEND || autoBackend());
    expect(out.results).toHaveLength(3 * 2 * 2);
    expect(out.results.every((r) => r.status === "finished")).toBe(true);
    // Every job's tensors are released.
    expect(tf.memory().numTensors).toBe(before.tensors);
    // The learning rate is chosen per run on validation; the summary reports it.
    for (const run of out.summary.runs) {
      expect([1e-3, 3e-3]).toContain(run.lr);
      expect(run.lrChoice?.metric).toMatch(/^validation_/);
      expect(run.seeds).toEqual([1, 2]);
    }
    const kinds = (run: string) => new Set(events.filter((x) => x.run === run).map((x) => x.e.type));
    expect(kinds("beam")).toContain("beam.prune");
    expect(kinds("lp")).toContain("lightpeft.prune");
    expect(kinds("lora")).not.toContain("beam.prune");
  }, 120_000);
});

describe("train(plan) resolves the plan's paths against the folder of its source file", () => {
  it("finds a JSONL file next to a .peft file compiled from another directory", async () => {
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-api-paths-"));
    try {
      fs.mkdirSync(path.join(dir, "data"));
      const rows = Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `${i}+1=`, completion: String(i + 1) }));
      fs.writeFileSync(path.join(dir, "data", "sums.jsonl"), `${rows.join("\n")}\n`);
      const text = [
        "model base = decoder { layers 1, width 16, heads 2, context 16 }",
        'data sums = jsonl "data/sums.jsonl" { train 80%, validation 10%, test 10% }',
        'adapter a = lora { rank 2, target "q_proj" }',
        "train { steps 2, batch 4, lr 1e-3, checkpoint off }",
        "run r = base + a on sums",
      ].join("\n");
      const { plan } = compileSource(text, path.join(dir, "exp.peft"), { readFile: (p) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : null) });
      expect(process.cwd()).not.toBe(dir);
      const out = await train(plan!);
      expect(out.results.map((r) => [r.status, r.error ?? null])).toEqual([["finished", null]]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("job order", () => {
  it('"interleaved" puts the runs of one learning rate and seed back to back; "runs" keeps each run together', async () => {
    const { expandJobs } = await import("../../../src/runtime/run/job.js");
    const { plan } = compileSource(SOURCE, "api.peft");
    const key = (j: { run: { name: string }; lr: number; seed: number }) => `${j.run.name}/${j.lr}/${j.seed}`;
    const runs = expandJobs(plan!).map(key);
    const inter = expandJobs(plan!, undefined, "interleaved").map(key);
    expect(runs.slice(0, 4)).toEqual(["lora/0.001/1", "lora/0.001/2", "lora/0.003/1", "lora/0.003/2"]);
    expect(inter.slice(0, 6)).toEqual(["lora/0.001/1", "beam/0.001/1", "lp/0.001/1", "lora/0.001/2", "beam/0.001/2", "lp/0.001/2"]);
    expect([...inter].sort()).toEqual([...runs].sort());
    expect(expandJobs(plan!, ["beam"], "interleaved").map(key)).toEqual(["beam/0.001/1", "beam/0.001/2", "beam/0.003/1", "beam/0.003/2"]);
  });
});
