// Training settings: train blocks, their merge for a run (global → named → `with { … }`), and
// the resolved TrainSpec (epochs → steps, shares of training → step numbers).

import { fractionToSteps, TRAIN_DEFAULTS } from "../defaults.js";
import { readBlock } from "../fields.js";
import type { TrainSpec } from "../plan.js";
import { TRAIN_SCHEMA, type Interval } from "../schema-train.js";
import type { Analysis, DataInfo, TrainFields } from "./analysis.js";
import { amountSteps } from "./constraints.js";
import { trainSize } from "./data.js";
import { defineCheck } from "./registry.js";

defineCheck("interpret", "TrainDecl", "train-block", (decl, a) => {
  const title = decl.name ? `train block '${decl.name.name}'` : "the train block";
  a.trains.set(decl, readBlock(decl.block, TRAIN_SCHEMA, title, decl.file, a.reporter));
});

/** Overlay `layer` on `base`: later layers win field by field. */
export function overlayTrain(base: TrainFields, layer: TrainFields | undefined): TrainFields {
  if (!layer) return base;
  const out: Record<string, unknown> = { ...base };
  for (const slot in layer) {
    const entry = layer[slot as keyof TrainFields];
    if (entry) out[slot] = entry;
  }
  return out as TrainFields;
}

function intervalSteps(interval: Interval | undefined, steps: number, fraction: number): number {
  if (!interval) return fractionToSteps(fraction, steps);
  return interval.kind === "off" ? 0 : amountSteps(interval, steps);
}

/**
 * Resolve a run's training settings. Epochs need the training-split size; when it is unknown
 * (a JSONL file that cannot be read) this reports and returns null.
 */
export function resolveTrain(f: TrainFields, data: DataInfo, dataName: string, a: Analysis): TrainSpec | null {
  const batch = f.batch?.value.value ?? TRAIN_DEFAULTS.batch;
  const length = f.length?.value.value ?? { kind: "steps" as const, steps: TRAIN_DEFAULTS.steps };
  let steps: number;
  if (length.kind === "steps") {
    steps = length.steps;
  } else {
    const size = trainSize(data);
    if (size === null) {
      const reason = a.canReadFiles ? `the size of data '${dataName}' is unknown because its file cannot be read` : `the size of data '${dataName}' needs file access (give compile a readFile)`;
      a.reporter.report("epochsUnknownSize", { epochs: length.epochs, reason }, f.length!.file, f.length!.value.node);
      return null;
    }
    steps = Math.max(1, Math.ceil((length.epochs * size) / batch));
  }
  const lr = f.lr?.value.value;
  const optimizer = f.optimizer?.value.value;
  const evalValue = f.eval?.value.value;
  return {
    steps,
    batch,
    microBatch: f.microBatch?.value.value ?? batch,
    recompute: f.recompute?.value.value ?? TRAIN_DEFAULTS.recompute,
    lrs: lr ? lr.rates.map((r) => r.value) : [TRAIN_DEFAULTS.lr],
    schedule: {
      kind: lr?.schedule?.value ?? TRAIN_DEFAULTS.schedule,
      warmupSteps: lr?.warmup ? amountSteps(lr.warmup.value, steps) : Math.round(TRAIN_DEFAULTS.warmupFraction * steps),
      minLrRatio: lr?.min?.value ?? TRAIN_DEFAULTS.minLrRatio,
    },
    optimizer: {
      kind: "adamw",
      beta1: optimizer?.beta1?.value ?? TRAIN_DEFAULTS.beta1,
      beta2: optimizer?.beta2?.value ?? TRAIN_DEFAULTS.beta2,
      eps: optimizer?.eps?.value ?? TRAIN_DEFAULTS.eps,
      weightDecay: f.weightDecay?.value.value ?? TRAIN_DEFAULTS.weightDecay,
    },
    clipNorm: f.clip?.value.value ?? TRAIN_DEFAULTS.clipNorm,
    seeds: f.seeds ? f.seeds.value.value.map((s) => s.value) : [...TRAIN_DEFAULTS.seeds],
    evalEvery: intervalSteps(evalValue?.every.value, steps, TRAIN_DEFAULTS.evalFraction),
    checkpointEvery: intervalSteps(f.checkpoint?.value.value, steps, TRAIN_DEFAULTS.checkpointFraction),
    logEvery: f.log ? intervalSteps(f.log.value.value, steps, 0) : TRAIN_DEFAULTS.logEvery,
    evalExamples: evalValue?.examples?.value ?? TRAIN_DEFAULTS.evalExamples,
    maxLength: f.maxLength?.value.value ?? TRAIN_DEFAULTS.maxLength,
  };
}
