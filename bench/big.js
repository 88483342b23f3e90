// Large models: a Llama folder of TinyLlama-1.1B's configuration (random bfloat16 weights, written
// to a temporary folder and deleted afterwards) loaded with each base precision and trained with
// LoRA r16 on every linear layer, one sequence of 256 tokens, gradient checkpointing on. Each
// precision runs in a process of its own (bench/lib/big-worker.js) so that its peak resident memory
// is its own. The baseline is PyTorch float32 on the same folder, batch and cores
// (bench/reference/big_step.py, activations kept as PyTorch keeps them by default).
//
//   big.peak_rss_gb[p]    peak resident memory of the process (goal: nf4 ≤ 2.5, bf16 ≤ 4)
//   big.step_s[p]         median seconds per training step
//   big.step_vs_torch[p]  PyTorch's step time ÷ peftlab's (goal ≥ 1 for bf16 and nf4)
//   big.load_s[p]         seconds to load the folder at that precision
//   big.cores_used[p]     CPU seconds ÷ seconds of the timed steps: below the core count, other work
//                         took the rest, and the step time (and its ratio) is inflated by as much
//   big.load_avg[p]       the one-minute load average when that precision's steps began
// The quick and smoke modes use smaller models of the same shape family (they finish in minutes).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { llamaTensors, TINYLLAMA_CONFIG, writeRandomLlama } from "./lib/big-model.js";
import { CORES } from "./lib/backends.js";
import { runReference } from "./lib/reference.js";
import { median } from "./lib/timing.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GB = 1e9;

const BUDGET = {
  smoke: { config: { ...TINYLLAMA_CONFIG, hidden_size: 256, intermediate_size: 704, num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 2, vocab_size: 1000 }, tokens: 32, steps: 2, precisions: ["nf4", "bf16", "f32"] },
  quick: { config: { ...TINYLLAMA_CONFIG, num_hidden_layers: 2 }, tokens: 128, steps: 3, precisions: ["nf4", "bf16", "f32"] },
  full: { config: TINYLLAMA_CONFIG, tokens: 256, steps: 3, precisions: ["nf4", "bf16", "int8", "f32"] },
};

/** CPU seconds per second over the timed steps (the first, the warm-up, left out as in step_s). */
function coresUsed(r) {
  const from = r.step_s.length > 1 ? 1 : 0;
  const sum = (a) => a.slice(from).reduce((x, y) => x + y, 0);
  return sum(r.step_cpu_s) / sum(r.step_s);
}

/** One precision in a fresh process: its worker's JSON, or {error}. */
function measure(dir, precision, b) {
  const res = spawnSync(process.execPath, [path.join(HERE, "lib", "big-worker.js"), JSON.stringify({ dir, precision, steps: b.steps, tokens: b.tokens, rank: 16, recompute: true, backend: "auto" })], {
    encoding: "utf8", maxBuffer: 1 << 20, timeout: 3_600_000,
  });
  const last = (res.stdout ?? "").trim().split("\n").pop();
  if (res.status !== 0 || !last) {
    const why = (res.stderr ?? "").split("\n").find((l) => /Error/.test(l)) ?? (res.stderr ?? "").trim().split("\n").pop();
    return { error: `${precision}: exited with ${res.status ?? res.signal}: ${why}` };
  }
  return JSON.parse(last);
}

export async function runBigBench(ctx) {
  const b = BUDGET[ctx.mode];
  const params = llamaTensors(b.config).reduce((n, [, shape]) => n + shape.reduce((x, y) => x * y, 1), 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-bench-big-"));
  try {
    ctx.log(`big: writing a ${(params / 1e9).toFixed(2)}B-parameter llama folder (bf16)`);
    writeRandomLlama(dir, b.config);
    const out = { params, layers: b.config.num_hidden_layers, hidden: b.config.hidden_size, tokens: b.tokens, rank: 16, recompute: true, cores: CORES, goal: { nf4_peak_rss_gb: 2.5, bf16_peak_rss_gb: 4, step_vs_torch: 1 } };
    const runs = {};
    for (const p of b.precisions) {
      ctx.log(`big: ${p}`);
      runs[p] = measure(dir, p, b); // f32 beyond the wasm memory: the weight store on native, else refused (the error says why)
    }
    ctx.log("big: PyTorch float32");
    const torch = runReference("big_step.py", ["--dir", dir, "--tokens", String(b.tokens), "--rank", "16", "--warmup", "1", "--repeats", String(Math.max(1, b.steps - 1))], { threads: CORES, timeoutMs: 3_600_000 });
    const ok = Object.entries(runs).filter(([, r]) => !r.error);
    // The first step warms up (kernels, allocations); the median of the rest is the step time.
    const stepS = Object.fromEntries(ok.map(([p, r]) => [p, median(r.step_s.length > 1 ? r.step_s.slice(1) : r.step_s)]));
    return {
      ...out,
      backend: ok[0]?.[1].backend ?? null,
      peak_rss_gb: Object.fromEntries(ok.map(([p, r]) => [p, r.peak_rss_bytes / GB])),
      step_s: stepS,
      step_vs_torch: Object.fromEntries(ok.map(([p]) => [p, torch.available ? torch.step_s_median / stepS[p] : null])),
      load_s: Object.fromEntries(ok.map(([p, r]) => [p, r.load_s])),
      cores_used: Object.fromEntries(ok.map(([p, r]) => [p, coresUsed(r)])),
      load_avg: Object.fromEntries(ok.map(([p, r]) => [p, r.load_avg])),
      store_gb: Object.fromEntries(ok.map(([p, r]) => [p, r.store_bytes / GB])),
      first_loss: Object.fromEntries(ok.map(([p, r]) => [p, r.losses[0]])),
      errors: Object.fromEntries(Object.entries(runs).filter(([, r]) => r.error).map(([p, r]) => [p, r.error])),
      torch: torch.available ? { step_s: torch.step_s_median, load_s: torch.load_s, peak_rss_gb: torch.peak_rss_bytes / GB, first_loss: torch.losses[0], threads: torch.threads, versions: torch.versions } : { available: false, reason: torch.reason },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
