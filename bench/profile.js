// `--profile`: the share of a training step's time per op kind and per model part, forward and
// backward, on the standard small configuration (see lib/kernel-profiler.js for how parts are
// attributed). What is not inside any kernel is JavaScript around them: tape bookkeeping, tidy,
// tensor creation and the trainer's own work.
import { useVariant } from "./lib/backends.js";
import { buildStepFixture, stepConfig } from "./lib/fixture.js";
import { installProfiler } from "./lib/kernel-profiler.js";
import { median, sig, timeCalls } from "./lib/timing.js";

const BUDGET = { smoke: { warmup: 1, steps: 2 }, quick: { warmup: 3, steps: 5 }, full: { warmup: 5, steps: 15 } };

/** Sums records into rows keyed by `keyOf`, with forward/backward columns, sorted by total time. */
export function aggregate(records, keyOf, totalMs) {
  const rows = new Map();
  for (const r of records) {
    const key = keyOf(r);
    const row = rows.get(key) ?? { name: key, forward_ms: 0, backward_ms: 0, calls: 0 };
    if (r.dir === "backward") row.backward_ms += r.ms;
    else row.forward_ms += r.ms;
    row.calls += r.calls;
    rows.set(key, row);
  }
  return [...rows.values()]
    .map((row) => ({ ...row, ms: row.forward_ms + row.backward_ms }))
    .sort((a, b) => b.ms - a.ms)
    .map((row) => ({
      name: row.name,
      ms_per_step: sig(row.ms, 3),
      share: sig(row.ms / totalMs, 3),
      forward_share: sig(row.forward_ms / totalMs, 3),
      backward_share: sig(row.backward_ms / totalMs, 3),
      calls_per_step: row.calls,
    }));
}

/** Profiles `steps` training steps on `backend`; returns the `profile` JSON section. */
export async function runProfile(ctx) {
  // Native on one thread (the headline of train_step) when the addon loads, else wasm.
  let backend = ctx.profileBackend ?? "native";
  try {
    await useVariant(backend);
  } catch (err) {
    if (ctx.profileBackend) throw err;
    backend = "wasm";
    await useVariant(backend);
  }
  const c = stepConfig(ctx.mode);
  const budget = BUDGET[ctx.mode];
  const fx = buildStepFixture(c);
  try {
    const plainMs = median(timeCalls(() => fx.trainer.trainStep(fx.batch), { warmup: budget.warmup, repeats: budget.steps }));
    const prof = installProfiler(fx.model, fx.trainer.optimizer);
    const stepMs = [];
    try {
      for (let i = 0; i < budget.steps; i++) {
        prof.start();
        const t0 = performance.now();
        fx.trainer.trainStep(fx.batch);
        stepMs.push(performance.now() - t0);
        prof.stop();
      }
    } finally {
      prof.uninstall();
    }
    const n = budget.steps;
    const records = [...prof.records().values()].map((r) => ({ ...r, ms: r.ms / n, calls: r.calls / n }));
    const total = stepMs.reduce((a, b) => a + b, 0) / n;
    const kernelMs = records.reduce((a, r) => a + r.ms, 0);
    const calls = records.reduce((a, r) => a + r.calls, 0);
    return {
      backend,
      config: c,
      steps: n,
      step_ms: sig(total),
      step_ms_unprofiled: sig(plainMs),
      kernel_calls_per_step: Math.round(calls),
      kernel_share: sig(kernelMs / total, 3),
      outside_kernels_share: sig(1 - kernelMs / total, 3),
      by_op: aggregate(records, (r) => r.op, total),
      by_part: aggregate(records, (r) => r.part, total),
      by_part_and_op: aggregate(records, (r) => `${r.part} · ${r.op}`, total).slice(0, 25),
    };
  } finally {
    fx.dispose();
  }
}
