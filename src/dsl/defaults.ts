// Every default of the .peft language, in one place. The compiler fills these into the plan; the
// grammar document prints them. The method defaults are the settings of the methods' papers and
// official code, scaled down where those assume multi-day runs (each block says how).

import type { BeamImportance, LrScheduleKind, MetricName, PlotName, PruneScope, Splits } from "./plan.js";

/** Built-in model sizes when a block leaves them out (a tiny model that trains in seconds). */
export const MODEL_DEFAULTS = { layers: 2, width: 64, heads: 4, context: 64, initSeed: 0, precision: "f32" } as const;

/** Layers of the default pretrained base (`pretrained { family … }`); the runtime builds it with this many. */
export const DEFAULT_BASE_LAYERS = 4;

/** FFN inner size: 4·hidden for gpt2 and bert; for llama round(8/3·hidden) rounded up to a multiple of 16. */
export function defaultIntermediate(family: "llama" | "gpt2" | "bert", hidden: number): number {
  if (family !== "llama") return 4 * hidden;
  return 16 * Math.ceil(Math.round((8 * hidden) / 3) / 16);
}

/** One parameter of a task generator: its key in the .peft block, default and range. The plan
 *  names it as the runtime's generator does (the record key). */
export interface TaskParam {
  key: string;
  default: number;
  min: number;
  max: number;
  summary: string;
}

const digits = (dflt: number): TaskParam => ({ key: "digits", default: dflt, min: 1, max: 9, summary: "digits per operand" });

/** Task generators and their parameters (the ranges the runtime's generators accept). */
export const TASK_PARAMS: Record<string, Record<string, TaskParam>> = {
  addition: { digits: digits(3) },
  subtraction: { digits: digits(3) },
  multiplication: { digits: digits(2) },
  arithmetic: { digits: digits(3) },
  code: { lines: { key: "lines", default: 3, min: 1, max: 26, summary: "assignments per generated program" } },
  sort: { digits: { key: "digits", default: 6, min: 2, max: 12, summary: "digits to sort" } },
  reverse: { letters: { key: "letters", default: 5, min: 3, max: 20, summary: "longest word in letters; words of 3 to this many letters from \"Moby-Dick\"" } },
  spam: { maxChars: { key: "max_chars", default: 400, min: 20, max: 100_000, summary: "longest message kept, in characters" } },
};

/** Operators of the arithmetic tasks. */
const TASK_OPS: Record<string, ("+" | "-" | "*")[]> = { addition: ["+"], subtraction: ["-"], multiplication: ["*"], arithmetic: ["+", "-", "*"] };

/**
 * How many distinct examples an arithmetic task can generate (operands in [0, 10^digits); a−b and
 * b−a are one prompt) or the sort task may draw, or null when the task's space is not counted here
 * (the reverse task's words are counted by its generator).
 */
export function taskSpace(task: string, params: Record<string, number>): number | null {
  if (task === "sort") return 10 ** (params.digits ?? 0) / 2; // the generator draws at most half of the digit strings
  const ops = TASK_OPS[task];
  if (!ops) return null;
  const range = 10 ** (params.digits ?? 0);
  return ops.reduce((n, op) => n + (op === "-" ? (range * (range + 1)) / 2 : range * range), 0);
}

/** Example counts of the built-in tasks. */
export const TASK_SPLITS: Splits = { train: 2000, validation: 200, test: 200 };
/** Seed of data generators and JSONL shuffles. */
export const DATA_SEED = 0;
/** Shares of a JSONL training file taken for validation and test when the block names neither
 *  a share nor a file for them; training takes what they leave. */
export const JSONL_SPLITS = { validation: 0.1, test: 0.1 } as const;
/** JSON keys read from JSONL lines, per format. */
export const JSONL_FIELDS = {
  generation: { prompt: "prompt", completion: "completion" },
  classification: { text: "text", label: "label" },
} as const;

/** LoRA: PEFT defaults, with alpha = 2·rank as in the BeamLoRA authors' runs. */
export const ADAPTER_DEFAULTS = {
  r: 8,
  alphaPerRank: 2,
  dropout: 0.05,
  rslora: false,
  init: "kaiming",
  /** The query and value projections of every family (PEFT's per-model defaults). */
  targetNames: ["q_proj", "v_proj", "c_attn", "query", "value"],
} as const;

/** AdaLoRA: HF PEFT's AdaLoraConfig defaults. */
export const ADALORA_DEFAULTS = { initR: 12, targetR: 8, tinit: 0, tfinal: 0, deltaT: 1, beta1: 0.85, beta2: 0.85, orthRegWeight: 0.5 } as const;

/** BeamLoRA: the official code's settings, scaled to short runs. */
export const BEAM_DEFAULTS = {
  /** The official run prunes about 12 times (every 3000 of ~37,000 steps): period ≈ steps/12, even. */
  periodsPerRun: 12,
  minPeriod: 2,
  topPStart: 0.95,
  topPEnd: 1.0,
  schedule: "cosine" as "cosine" | "linear" | "constant",
  /** p reaches its end at 2/3 of training (24,688 of ~37,000 steps). */
  endFraction: 2 / 3,
  cap: "half" as const,
  importance: "gate" as BeamImportance,
};

/** The beam period when none is given: max(2, steps/12 rounded to an even number). */
export function defaultBeamPeriod(steps: number): number {
  return Math.max(BEAM_DEFAULTS.minPeriod, 2 * Math.round(steps / (2 * BEAM_DEFAULTS.periodsPerRun)));
}

/** Light-PEFT: the settings of the authors' official estimate/train scripts. */
export const PRUNE_DEFAULTS = {
  /** 800 steps in the official script; here a fraction of training. */
  estimateFraction: 0.1,
  heads: { ratio: 0.3333, scope: "layer" as PruneScope },
  neurons: { ratio: 0.3333, scope: "global" as PruneScope },
  l1: 1e-4,
  maskLrFactor: 1,
  moduleRatio: 0.75,
  rankRatio: 0.5,
  rankScope: "global" as PruneScope,
};

/** Training (BeamLoRA's math runs: lr 3e-4, cosine, 3% warm-up, AdamW, no weight decay). */
export const TRAIN_DEFAULTS = {
  steps: 1000,
  batch: 32,
  lr: 3e-4,
  schedule: "cosine" as LrScheduleKind,
  warmupFraction: 0.03,
  minLrRatio: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  clipNorm: 1.0,
  seeds: [1],
  /** Evaluate ten times per run, checkpoint four times. */
  evalFraction: 0.1,
  checkpointFraction: 0.25,
  logEvery: 10,
  evalExamples: 200,
  maxLength: 0,
  /** No gradient accumulation (micro-batch = batch) and no recomputation. */
  recompute: "off" as "off" | "blocks",
};

/** What a comparison reports when it names no metrics or plots. */
export const COMPARE_DEFAULTS = {
  metrics: ["accuracy", "loss", "trainable_params", "step_time"] as MetricName[],
  plots: ["loss", "eval"] as PlotName[],
};

/** Steps for a fraction of training: at least 1. */
export function fractionToSteps(fraction: number, steps: number): number {
  return Math.max(1, Math.round(fraction * steps));
}
