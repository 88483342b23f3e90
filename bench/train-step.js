// Tokens per second of one LoRA training step (forward, cross-entropy, backward, clipping, AdamW)
// of the standard small configuration on each backend variant (native on one thread and on every
// core, wasm, cpu; see lib/backends.js), and of the same model and step in PyTorch
// (bench/reference/train_step.py) on one thread and on every core, in the same run.
//
// The reference starts from peftlab's own initial weights and batch, and every variant reports the
// losses of its first steps from those weights: equal losses show that they implement the same
// model and update. The headline ratio is native on one thread against PyTorch on one thread;
// `ratio_all_cores` is native against PyTorch, both on every core.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CORES, DEFAULT_VARIANTS, headline, useVariant } from "./lib/backends.js";
import { buildStepFixture, fixtureWeights, stepConfig } from "./lib/fixture.js";
import { runReference } from "./lib/reference.js";
import { median, ratio, sig, summarizeMs, timeCalls } from "./lib/timing.js";

/** Warm-up and timed steps per backend and mode (the cpu backend is ~10x slower than wasm). */
const BUDGET = {
  smoke: { native: { warmup: 1, repeats: 3 }, wasm: { warmup: 1, repeats: 3 }, cpu: { warmup: 1, repeats: 2 }, torch: { warmup: 1, repeats: 3 }, check: 2, rounds: 1 },
  quick: { native: { warmup: 5, repeats: 20 }, wasm: { warmup: 3, repeats: 8 }, cpu: { warmup: 1, repeats: 2 }, torch: { warmup: 3, repeats: 20 }, check: 3, rounds: 2 },
  full: { native: { warmup: 10, repeats: 40 }, wasm: { warmup: 5, repeats: 20 }, cpu: { warmup: 2, repeats: 6 }, torch: { warmup: 5, repeats: 40 }, check: 3, rounds: 3 },
};

/** Writes spec.json + weights.bin for the reference: the configuration, the batch and every weight. */
export function writeReferenceSpec(dir, c, fx) {
  const weights = fixtureWeights(fx);
  const tensors = [];
  let offset = 0;
  const chunks = [];
  for (const [name, t] of Object.entries(weights)) {
    tensors.push({ name, shape: t.shape, offset });
    chunks.push(Buffer.from(new Float32Array(t.data).buffer));
    offset += t.data.length;
  }
  fs.writeFileSync(path.join(dir, "weights.bin"), Buffer.concat(chunks));
  fs.writeFileSync(path.join(dir, "spec.json"), JSON.stringify({ config: c, ids: Array.from(fx.batch.ids), tensors }));
}

/** Losses of the first `check` steps, then the timed steps: one backend's measurement. */
function measureOurs(c, budget, { check, writeSpecTo }) {
  const fx = buildStepFixture(c);
  try {
    if (writeSpecTo) writeReferenceSpec(writeSpecTo, c, fx);
    const losses = [];
    // Every variant starts from the same seeded weights (those written for the reference).
    for (let i = 0; i < check; i++) losses.push(fx.trainer.trainStep(fx.batch).loss);
    const ms = timeCalls(() => fx.trainer.trainStep(fx.batch), budget);
    return { ms, losses };
  } finally {
    fx.dispose();
  }
}

function torchRun(dir, threads, budget, check) {
  return runReference("train_step.py", ["--spec", dir, "--warmup", String(budget.warmup), "--repeats", String(budget.repeats), "--check", String(check)], { threads });
}

/** Largest |ours − reference| over the first losses; same_model: within 1e-3 of the reference's first loss. */
function lossAgreement(ours, ref, refName = "torch") {
  if (!ours || !ref || ours.length === 0 || ref.length === 0) return null;
  const n = Math.min(ours.length, ref.length);
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(ours[i] - ref[i]));
  return { steps: n, ours: ours.slice(0, n).map((x) => sig(x, 7)), [refName]: ref.slice(0, n).map((x) => sig(x, 7)), max_abs_diff: sig(worst, 3), same_model: worst <= 1e-3 * Math.max(1, Math.abs(ref[0])) };
}

/**
 * Runs the step benchmark. `ctx.mode` is smoke | quick | full; `ctx.backends` the tfjs backends to
 * measure (default wasm and cpu). Returns the `train_step` JSON section.
 */
export async function runTrainStep(ctx) {
  const c = stepConfig(ctx.mode);
  const budget = BUDGET[ctx.mode];
  const variants = ctx.backends ?? DEFAULT_VARIANTS;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-bench-step-"));
  const samples = Object.fromEntries(variants.map((b) => [b, { ms: [], losses: null, reason: null, detail: null }]));
  const torchThreads = [...new Set([1, 2, CORES])];
  const torch = Object.fromEntries(torchThreads.map((t) => [t, []]));
  const torchInfo = Object.fromEntries(torchThreads.map((t) => [t, null]));
  let specWritten = false;
  try {
    // Rounds interleave ours and the reference so that load from other processes hits both alike.
    for (let round = 0; round < budget.rounds; round++) {
      for (const name of variants) {
        const s = samples[name];
        if (s.reason) continue;
        if (name === "cpu" && round > 0) continue; // the slow backend is measured once
        try {
          s.detail = (await useVariant(name)).detail;
        } catch (err) {
          s.reason = err instanceof Error ? err.message : String(err);
          continue;
        }
        ctx.log?.(`train-step: ${name}, round ${round + 1}`);
        const m = measureOurs(c, budget[name] ?? budget.native, { check: round === 0 ? budget.check : 0, writeSpecTo: specWritten ? null : dir });
        specWritten = true;
        s.ms.push(...m.ms);
        if (m.losses.length) s.losses ??= m.losses;
      }
      if (!specWritten) break;
      for (const threads of torchThreads) {
        if (torchInfo[threads] && !torchInfo[threads].available) continue;
        ctx.log?.(`train-step: torch, ${threads} thread(s), round ${round + 1}`);
        const r = torchRun(dir, threads, budget.torch, budget.check);
        if (!torchInfo[threads]?.available) torchInfo[threads] = r;
        if (r.available) torch[threads].push(r.ms_median);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const tokens = c.batch * c.seq;
  const backends = {};
  for (const [name, s] of Object.entries(samples)) {
    if (s.reason || s.ms.length === 0) {
      backends[name] = { available: false, reason: s.reason ?? "not measured" };
      continue;
    }
    const sum = summarizeMs(s.ms);
    backends[name] = { available: true, ms_median: sig(sum.ms_median), ms_best: sig(sum.ms_best), steps_timed: sum.n, tokens_per_s: sig((tokens / sum.ms_median) * 1000), detail: s.detail };
  }
  const torchOut = {};
  for (const threads of torchThreads) {
    const info = torchInfo[threads];
    if (!info || !info.available) {
      torchOut[threads] = { available: false, reason: info?.reason ?? "not run: no tfjs backend could be measured" };
      continue;
    }
    const ms = median(torch[threads]);
    torchOut[threads] = { available: true, ms_median: sig(ms), tokens_per_s: sig((tokens / ms) * 1000), versions: info.versions };
  }
  const main = headline(backends);
  const tps = (name) => (backends[name]?.available ? backends[name].tokens_per_s : null);
  const ref = (threads) => (torchOut[threads]?.available ? torchOut[threads].tokens_per_s : null);
  const ours = tps(main);
  const refLosses = torchInfo[1]?.available ? torchInfo[1].check_losses : null;
  return {
    config: { ...c, tokens_per_step: tokens },
    backend: main,
    ours_tokens_per_s: ours,
    torch_tokens_per_s: ref(1),
    torch_threads: 1,
    ratio: sig(ratio(ours, ref(1))),
    ratio_all_cores: sig(ratio(tps("native_all_cores"), ref(CORES))),
    cores: CORES,
    ratio_vs_torch_2_threads: sig(ratio(ours, ref(2))),
    wasm_tokens_per_s: tps("wasm"),
    ratio_wasm: sig(ratio(tps("wasm"), ref(1))),
    speedup_vs_wasm: sig(ratio(ours, tps("wasm"))),
    torch_reason: ref(1) === null ? torchOut[1].reason : null,
    backends,
    torch: torchOut,
    reference_check: lossAgreement(samples[main]?.losses ?? null, refLosses),
    wasm_check: main === "wasm" ? null : lossAgreement(samples[main]?.losses ?? null, samples.wasm?.losses ?? null, "wasm"),
  };
}
