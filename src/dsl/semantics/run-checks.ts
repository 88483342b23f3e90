// Phase "validate" for runs: what only makes sense once a run's parts and length are known.

import type { BuiltinModelSpec } from "../plan.js";
import type { Spanned } from "../reporter.js";
import type { Analysis, RunInfo } from "./analysis.js";
import { hasValidation, trainSize } from "./data.js";
import { defineCheck } from "./registry.js";

type RunCheck = (run: RunInfo, a: Analysis) => void;

function runCheck(name: string, check: RunCheck): void {
  defineCheck("validate", "RunDecl", name, (decl, a) => {
    const run = a.runs.get(decl);
    if (run) check(run, a);
  });
}

/** The ident in the run's `+ parts` that names `decl`. */
function partRef(run: RunInfo, name: string): Spanned {
  return run.decl.parts.find((p) => p.name === name) ?? run.decl.name;
}

function builtin(run: RunInfo, a: Analysis): BuiltinModelSpec | null {
  const spec = a.models.get(run.model)?.spec;
  return spec?.kind === "builtin" ? spec : null;
}

runCheck("run-beam-adapter", (run, a) => {
  const beam = run.beam && a.beams.get(run.beam);
  if (!beam?.adapter || run.adapters.includes(beam.adapter)) return;
  const note = a.reporter.note(`beam '${run.beam!.name.name}' is declared on '${beam.adapter.name.name}' here`, run.beam!.file, run.beam!.adapter);
  a.reporter.report("beamAdapterMissing", { beam: run.beam!.name.name, adapter: beam.adapter.name.name, run: run.decl.name.name }, run.decl.file, partRef(run, run.beam!.name.name), [note]);
});

runCheck("run-prune-method", (run, a) => {
  if (!run.prune) return;
  const ada = run.adapters.find((d) => a.adapters.get(d)?.spec.method === "adalora");
  if (ada) a.reporter.report("methodConflict", { what: "prune schedule", name: run.prune.name.name, adapter: ada.name.name, method: "AdaLoRA, which reallocates ranks itself" }, run.decl.file, partRef(run, run.prune.name.name));
  if (run.beam) a.reporter.report("beamWithPrune", { run: run.decl.name.name }, run.decl.file, partRef(run, run.prune.name.name));
});

runCheck("run-dense-base", (run, a) => {
  const precision = a.models.get(run.model)?.spec.precision;
  if (!precision || precision === "f32") return;
  for (const decl of run.adapters) {
    const spec = a.adapters.get(decl)?.spec;
    const what = spec?.method === "dora" ? "DoRA (weight norms)" : spec?.method !== "adalora" && spec?.init === "pissa" ? "PiSSA (an SVD of the weight, and a residual base)" : null;
    if (!what) continue;
    a.reporter.report("denseBaseForAdapter", { adapter: decl.name.name, what, run: run.decl.name.name, model: run.model.name.name, precision }, run.decl.file, partRef(run, decl.name.name));
  }
});

runCheck("run-head-task", (run, a) => {
  const spec = a.models.get(run.model)!.spec;
  const data = a.data.get(run.data)!;
  const head = spec.head;
  if (head === "auto" || (head === "classifier") === (data.format === "classification")) return;
  const hint = head === "classifier" ? ": generation needs a decoder with a causal_lm head" : ": classification needs an encoder model or 'head classifier'";
  a.reporter.report("headTaskMismatch", { model: run.model.name.name, head, data: run.data.name.name, format: data.format, hint }, run.decl.file, run.decl.data);
});

runCheck("run-tokenizer", (run, a) => {
  const data = a.data.get(run.data)!;
  const spec = a.models.get(run.model)!.spec;
  if (data.tokenizerSet && data.spec.tokenizer.kind === "model" && spec.kind === "builtin") {
    a.reporter.report("tokenizerNeedsHf", { data: run.data.name.name, run: run.decl.name.name, model: run.model.name.name }, run.decl.file, run.decl.model);
  }
});

runCheck("run-train-length", (run, a) => {
  const t = run.train;
  if (!t) return;
  const f = run.trainFields;
  const name = run.decl.name.name;
  if (t.schedule.warmupSteps >= t.steps && t.schedule.warmupSteps > 0) {
    const at = f.lr?.value.value.warmup;
    a.reporter.report("warmupTooLong", { warmup: t.schedule.warmupSteps, run: name, steps: t.steps }, at ? f.lr!.file : run.decl.file, at?.node ?? run.decl.name);
  }
  const hooks = run.beam ? { what: "beam", name: run.beam.name.name } : run.prune ? { what: "prune schedule", name: run.prune.name.name } : null;
  if (hooks && t.recompute === "blocks" && f.recompute) {
    a.reporter.report("memorySaverWithHooks", { run: name, ...hooks, setting: "recompute blocks" }, f.recompute.file, f.recompute.value.node);
  }
  if (hooks && t.microBatch < t.batch && f.microBatch) {
    a.reporter.report("memorySaverWithHooks", { run: name, ...hooks, setting: `micro_batch ${t.microBatch}` }, f.microBatch.file, f.microBatch.value.node);
  }
  if (t.batch % t.microBatch !== 0) {
    const at = f.microBatch ?? f.batch;
    a.reporter.report("microBatchDoesNotDivide", { micro: t.microBatch, batch: t.batch, run: name }, at ? at.file : run.decl.file, at?.value.node ?? run.decl.name);
  }
  const intervals = [
    ["evaluation", t.evalEvery, f.eval && { file: f.eval.file, node: f.eval.value.value.every.node }],
    ["checkpoint", t.checkpointEvery, f.checkpoint && { file: f.checkpoint.file, node: f.checkpoint.value.node }],
  ] as const;
  for (const [what, every, at] of intervals) {
    if (at && every > t.steps) a.reporter.report("neverBeforeEnd", { what, every, run: name, steps: t.steps }, at.file, at.node);
  }
  for (const rate of f.lr?.value.value.rates ?? []) {
    if (rate.value > 0.1) a.reporter.report("highLearningRate", { lr: rate.value }, f.lr!.file, rate.node);
  }
});

runCheck("run-validation", (run, a) => {
  const t = run.train;
  const data = a.data.get(run.data)!;
  if (!t || hasValidation(data)) return;
  const f = run.trainFields;
  if (t.lrs.length > 1) {
    a.reporter.report("gridWithoutValidation", { run: run.decl.name.name, count: t.lrs.length, data: run.data.name.name }, f.lr!.file, f.lr!.value.node);
  } else if (t.evalEvery > 0) {
    a.reporter.report("noValidation", { data: run.data.name.name, run: run.decl.name.name }, run.decl.file, run.decl.data);
  }
});

runCheck("run-max-length", (run, a) => {
  const spec = builtin(run, a);
  const entry = run.trainFields.maxLength;
  if (spec && entry && entry.value.value > spec.context) {
    a.reporter.report("longerThanContext", { length: entry.value.value, context: spec.context, model: run.model.name.name }, entry.file, entry.value.node);
  }
});

runCheck("run-beam-length", (run, a) => {
  const beam = run.beamSpec;
  const t = run.train;
  if (!beam || !t || !run.beam) return;
  const f = a.beams.get(run.beam)!.fields;
  const file = run.beam.file;
  const name = run.decl.name.name;
  const runNote = [a.reporter.note(`run '${name}' trains for ${t.steps} steps`, run.decl.file, run.decl.name)];
  if (beam.period > t.steps) {
    a.reporter.report("periodTooLong", { period: beam.period, run: name, steps: t.steps }, file, f.every?.value.node ?? run.beam.name, runNote);
    return;
  }
  if (f.every && beam.period % 2 === 1) a.reporter.report("oddPeriod", { period: beam.period, half: Math.floor(beam.period / 2) }, file, f.every.value.node);
  if (beam.snapshotOffset >= beam.period) {
    a.reporter.report("snapshotAfterPeriod", { offset: beam.snapshotOffset, period: beam.period }, file, f.snapshot?.value.node ?? run.beam.name);
  }
  const until = f.topP?.value.value.until;
  if (until && beam.topP.endStep > t.steps) a.reporter.report("endAfterTraining", { step: beam.topP.endStep, run: name, steps: t.steps }, file, until.node, runNote);
  const adapter = a.adapters.get(a.beams.get(run.beam)!.adapter!);
  const cap = f.cap?.value;
  if (adapter && cap && typeof cap.value === "number" && cap.value > Math.floor(adapter.spec.r / 2)) {
    a.reporter.report("capAboveHalf", { cap: cap.value, half: Math.floor(adapter.spec.r / 2) }, file, cap.node);
  }
});

runCheck("run-prune-length", (run, a) => {
  const prune = run.pruneSpec;
  const t = run.train;
  if (!prune || !t || !run.prune) return;
  const f = a.prunes.get(run.prune)!.fields;
  const name = run.decl.name.name;
  if (prune.estimateSteps >= t.steps) {
    const note = [a.reporter.note(`run '${name}' trains for ${t.steps} steps`, run.decl.file, run.decl.name)];
    a.reporter.report("estimateTooLong", { estimate: prune.estimateSteps, run: name, steps: t.steps }, run.prune.file, f.estimate?.value.node ?? run.prune.name, note);
  }
  const spec = builtin(run, a);
  const heads = f.heads?.value.value;
  if (spec && heads && heads.ratio.value > 0 && prune.heads.scope === "layer" && Math.floor(heads.ratio.value * spec.heads) === 0) {
    a.reporter.report("prunesNothing", { prop: "'heads'", ratio: `${Math.round(heads.ratio.value * 1000) / 10}%`, count: spec.heads, unit: "heads per layer", model: run.model.name.name }, run.prune.file, heads.ratio.node);
  }
});

runCheck("run-adalora-window", (run, a) => {
  const t = run.train;
  if (!t) return;
  for (const decl of run.adapters) {
    const info = a.adapters.get(decl);
    const ada = info?.spec.adalora;
    if (ada && ada.tinit + ada.tfinal >= t.steps) {
      const at = info!.fields.tfinal?.value.node ?? info!.fields.tinit?.value.node ?? decl.method;
      a.reporter.report("adaloraWindow", { sum: ada.tinit + ada.tfinal, run: run.decl.name.name, steps: t.steps }, decl.file, at);
    }
  }
});

runCheck("run-rank-width", (run, a) => {
  const spec = builtin(run, a);
  if (!spec) return;
  for (const decl of run.adapters) {
    const info = a.adapters.get(decl);
    const rank = info?.fields.rank;
    if (info && rank && info.spec.r >= spec.hidden) {
      a.reporter.report("rankAboveWidth", { rank: info.spec.r, width: spec.hidden, model: run.model.name.name }, decl.file, rank.value.node);
    }
  }
});


runCheck("run-batch-size", (run, a) => {
  const t = run.train;
  const data = a.data.get(run.data);
  const size = data ? trainSize(data) : null;
  if (!t || size === null || t.batch <= size) return;
  const entry = run.trainFields.batch;
  a.reporter.report("batchAboveTrainSplit", { batch: t.batch, data: run.data.name.name, size }, entry ? entry.file : run.decl.file, entry ? entry.value.node : run.decl.data);
});
