// Scale: a model with TinyLlama-1.1B's configuration (random bfloat16 weights written into a
// Hugging Face folder, 2.2 GB, deleted afterwards) loads with a 4-bit and a 16-bit base and takes
// LoRA training steps on every linear layer, each precision in a process of its own (so its peak
// memory is its own); in float32 it is refused on pure wasm and held in the weight store on the
// native backend. Uses the build (dist/) and the native addon when it is built.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { llamaTensors, TINYLLAMA_CONFIG, writeRandomLlama } from "../../bench/lib/big-model.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-big-"));
const GiB = 2 ** 30;
const params = llamaTensors(TINYLLAMA_CONFIG).reduce((n, [, shape]) => n + (shape as number[]).reduce((a, b) => a * b, 1), 0);

interface Measured {
  backend: string;
  load_s: number;
  step_s: number[];
  losses: number[];
  adapters_moved: boolean;
  modules: number;
  peak_rss_bytes: number;
  store_bytes: number;
  store_native: boolean;
  foundation_params: number;
}

function measure(precision: string): Measured {
  const out = execFileSync(process.execPath, [path.join(ROOT, "bench/lib/big-worker.js"), JSON.stringify({ dir, precision, steps: 2, tokens: 16, backend: "auto" })], {
    encoding: "utf8", maxBuffer: 1 << 20, timeout: 600_000,
  });
  return JSON.parse(out.trim().split("\n").pop()!) as Measured;
}

beforeAll(() => {
  const bytes = writeRandomLlama(dir);
  expect(bytes).toBeGreaterThan(2 * params);
}, 300_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("a 1.1B-parameter Llama folder", () => {
  const runs: Record<string, Measured> = {};

  it.each(["nf4", "bf16"])("loads in %s and trains LoRA on every linear layer", (precision) => {
    const m = measure(precision);
    runs[precision] = m;
    expect(params).toBeGreaterThan(1.09e9);
    expect(m.foundation_params).toBe(params);
    expect(m.modules).toBe(22 * 7);
    expect(m.losses.every(Number.isFinite)).toBe(true);
    expect(m.losses[0]).toBeGreaterThan(Math.log(32000) - 1); // random weights: about ln(vocab)
    expect(m.adapters_moved).toBe(true);
    const perParam = precision === "nf4" ? 0.55 : 2.01;
    expect(m.store_bytes).toBeLessThan(perParam * params);
    // Far below the 4.4 GB the base alone needs in float32.
    expect(m.peak_rss_bytes).toBeLessThan(4.4e9);
  }, 600_000);

  it("in f32 on pure wasm is refused at once, naming the precisions that fit and the native backend", () => {
    const res = spawnSync(process.execPath, [path.join(ROOT, "bench/lib/big-worker.js"), JSON.stringify({ dir, precision: "f32", steps: 1, tokens: 4, backend: "wasm" })], { encoding: "utf8", timeout: 120_000 });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toMatch(/1\.10B weights take 4\.4 GB in float32, more than the wasm memory holds \(4 GiB\).*`precision bf16`, `int8` or `nf4`.*or run it on the native backend/);
  });

  it("in f32 on the native backend loads into the weight store and trains (refused without the addon)", () => {
    const res = spawnSync(process.execPath, [path.join(ROOT, "bench/lib/big-worker.js"), JSON.stringify({ dir, precision: "f32", steps: 2, tokens: 16, backend: "auto" })], { encoding: "utf8", timeout: 600_000 });
    if (res.status !== 0) return expect(res.stderr).toMatch(/more than the wasm memory holds \(4 GiB\)/);
    const m = JSON.parse(res.stdout.trim().split("\n").pop()!) as Measured;
    expect(m.backend).toBe("native");
    expect(m.store_native).toBe(true);
    expect(m.store_bytes).toBe(4 * (params - (2 * 22 + 1) * 2048)); // every matrix in float32; the norms stay tensors
    expect(m.losses.every(Number.isFinite)).toBe(true);
    expect(m.adapters_moved).toBe(true);
  }, 600_000);

  it("nf4 needs less memory than bf16", () => {
    if (!runs.nf4 || !runs.bf16) return expect.fail("the two precisions did not both run");
    expect(runs.nf4.store_bytes).toBeLessThan(runs.bf16.store_bytes / 3);
    if (runs.nf4.store_native) expect(runs.nf4.peak_rss_bytes).toBeLessThan(runs.bf16.peak_rss_bytes - 0.5 * GiB);
  });
});
