// Pretraining speed of the default base: a fixed number of optimiser steps of the default llama
// spec (model, batch, context and corpus of `peftlab pretrain --default`) on native (every core,
// what a user gets) and on wasm, in the same run. `speedup_vs_wasm` is the ratio of the median
// step times; the tokenizer, data preparation and the first steps (warm-up) are not timed.
import { pretraining } from "../dist/index.js";
import { headline, useVariant } from "./lib/backends.js";
import { median, ratio, sig } from "./lib/timing.js";

const { DEFAULT_BASE_SPEC, defaultCorpus, pretrain } = pretraining;

const BUDGET = { smoke: { steps: 3, warmup: 1 }, quick: { steps: 12, warmup: 2 }, full: { steps: 30, warmup: 3 } };
/** Characters the tokenizer is trained on (its speed is not what is measured). */
const TOKENIZER_CHARS = 200_000;

/** Median ms per timed step and the losses of `steps` pretraining steps on the current backend. */
function measure(texts, steps, warmup) {
  const spec = { ...DEFAULT_BASE_SPEC.llama, steps, warmup: 1, evalWindows: 4 };
  const ms = [];
  const losses = [];
  const r = pretrain(texts, spec, {
    tokenizerChars: TOKENIZER_CHARS,
    onStep: (s) => {
      losses.push(s.loss);
      if (s.step > warmup) ms.push(s.stepMs);
    },
  });
  r.model.dispose();
  return { ms_per_step: median(ms), losses };
}

/** Runs the pretraining benchmark; returns the `pretrain` JSON section. */
export async function runPretrainBench(ctx) {
  const budget = BUDGET[ctx.mode];
  const texts = defaultCorpus().texts;
  const variants = {};
  for (const name of ["native_all_cores", "wasm"]) {
    let info;
    try {
      info = await useVariant(name);
    } catch (err) {
      variants[name] = { available: false, reason: err instanceof Error ? err.message : String(err) };
      continue;
    }
    ctx.log?.(`pretrain: ${name}, ${budget.steps} steps`);
    const m = measure(texts, budget.steps, budget.warmup);
    variants[name] = { available: true, ms_per_step: sig(m.ms_per_step), first_losses: m.losses.slice(0, 3).map((x) => sig(x, 7)), detail: info.detail };
  }
  const ms = (name) => (variants[name]?.available ? variants[name].ms_per_step : null);
  const a = variants.native_all_cores?.first_losses;
  const b = variants.wasm?.first_losses;
  const spec = DEFAULT_BASE_SPEC.llama;
  return {
    spec: { family: spec.family, layers: spec.layers, hidden: spec.hidden, heads: spec.heads, context: spec.context, vocab: spec.vocab, batch: spec.batch },
    steps: budget.steps,
    steps_timed: budget.steps - budget.warmup,
    backend: headline({ native: variants.native_all_cores }) === "native" ? "native" : "wasm",
    native_ms_per_step: ms("native_all_cores"),
    wasm_ms_per_step: ms("wasm"),
    speedup_vs_wasm: sig(ratio(ms("wasm"), ms("native_all_cores"))),
    first_losses_max_abs_diff: a && b ? sig(Math.max(...a.map((x, i) => Math.abs(x - b[i]))), 3) : null,
    variants,
  };
}
