// BeamLoRA constraints (`beam NAME on ADAPTER { … }`) and Light-PEFT schedules (`prune NAME { … }`):
// what the blocks say, checks that need no run, and their resolution for a run's length.

import { BEAM_DEFAULTS, defaultBeamPeriod, fractionToSteps, PRUNE_DEFAULTS } from "../defaults.js";
import { readBlock, type Amount } from "../fields.js";
import type { BeamSpec, PruneSpec } from "../plan.js";
import { BEAM_SCHEMA, PRUNE_SCHEMA } from "../schema-adapters.js";
import type { BeamInfo, PruneInfo } from "./analysis.js";
import { defineCheck } from "./registry.js";

/** Steps of an amount in a run of `steps` steps. */
export function amountSteps(amount: Amount, steps: number): number {
  return amount.kind === "steps" ? amount.steps : fractionToSteps(amount.fraction, steps);
}

defineCheck("interpret", "BeamDecl", "beam-block", (decl, a) => {
  const adapter = a.lookup(decl.adapter, decl.file, ["AdapterDecl"], "adapter");
  const fields = readBlock(decl.block, BEAM_SCHEMA, "a beam", decl.file, a.reporter);
  a.beams.set(decl, { adapter, fields });
});

defineCheck("interpret", "BeamDecl", "beam-top-p", (decl, a) => {
  const topP = a.beams.get(decl)?.fields.topP?.value.value;
  if (!topP) return;
  const end = topP.end?.value ?? BEAM_DEFAULTS.topPEnd;
  if (topP.start.value > end) {
    a.reporter.report("topPDecreasing", { start: topP.start.value, end }, decl.file, topP.end?.node ?? topP.start.node);
  }
  if (topP.schedule?.value === "constant" && topP.end && topP.end.value !== topP.start.value) {
    a.reporter.report("constantRange", { start: topP.start.value, end: topP.end.value }, decl.file, topP.schedule.node);
  }
});

defineCheck("validate", "BeamDecl", "beam-adapter-method", (decl, a) => {
  const adapter = a.beams.get(decl)?.adapter;
  const method = adapter && a.adapters.get(adapter)?.spec.method;
  if (method === "adalora") a.reporter.report("methodConflict", { what: "beam", name: decl.name.name, adapter: decl.adapter.name, method: "AdaLoRA, which reallocates ranks itself" }, decl.file, decl.adapter);
});

/** The BeamLoRA settings for a run of `steps` steps (defaults: BEAM_DEFAULTS in defaults.ts). */
export function resolveBeam(info: BeamInfo, adapterName: string, steps: number): BeamSpec {
  const f = info.fields;
  const period = f.every ? amountSteps(f.every.value.value, steps) : defaultBeamPeriod(steps);
  const topP = f.topP?.value.value;
  const start = topP?.start.value ?? BEAM_DEFAULTS.topPStart;
  const schedule = topP?.schedule?.value ?? BEAM_DEFAULTS.schedule;
  const end = topP?.end?.value ?? (schedule === "constant" && topP ? start : BEAM_DEFAULTS.topPEnd);
  const endStep = topP?.until ? amountSteps(topP.until.value, steps) : Math.round(BEAM_DEFAULTS.endFraction * steps);
  const importance = f.importance?.value.value;
  const temperature = f.temperature?.value.value;
  return {
    adapter: adapterName,
    tau: temperature === undefined || temperature === "auto" ? null : temperature,
    period,
    snapshotOffset: f.snapshot ? amountSteps(f.snapshot.value.value, steps) : Math.floor(period / 2),
    topP: { start, end, schedule, endStep },
    capPerModule: f.cap?.value.value ?? BEAM_DEFAULTS.cap,
    importance: importance?.criterion?.value ?? BEAM_DEFAULTS.importance,
    importanceEvery: importance?.every ? amountSteps(importance.every.value, steps) : Math.max(1, Math.floor(period / 2)),
  };
}

defineCheck("interpret", "PruneDecl", "prune-block", (decl, a) => {
  a.prunes.set(decl, { fields: readBlock(decl.block, PRUNE_SCHEMA, "a prune schedule", decl.file, a.reporter) });
});

/** The Light-PEFT settings for a run of `steps` steps (defaults: PRUNE_DEFAULTS in defaults.ts). */
export function resolvePrune(info: PruneInfo, steps: number): PruneSpec {
  const f = info.fields;
  const heads = f.heads?.value.value;
  const neurons = f.neurons?.value.value;
  const ranks = f.ranks?.value.value;
  return {
    estimateSteps: f.estimate ? amountSteps(f.estimate.value.value, steps) : fractionToSteps(PRUNE_DEFAULTS.estimateFraction, steps),
    heads: { ratio: heads?.ratio.value ?? PRUNE_DEFAULTS.heads.ratio, scope: heads?.scope?.value ?? PRUNE_DEFAULTS.heads.scope },
    neurons: { ratio: neurons?.ratio.value ?? PRUNE_DEFAULTS.neurons.ratio, scope: neurons?.scope?.value ?? PRUNE_DEFAULTS.neurons.scope },
    l1: f.l1?.value.value ?? PRUNE_DEFAULTS.l1,
    maskLrFactor: f.maskLr?.value.value ?? PRUNE_DEFAULTS.maskLrFactor,
    moduleRatio: f.modules?.value.value ?? PRUNE_DEFAULTS.moduleRatio,
    rankRatio: ranks?.ratio.value ?? PRUNE_DEFAULTS.rankRatio,
    rankScope: ranks?.scope?.value ?? PRUNE_DEFAULTS.rankScope,
  };
}
