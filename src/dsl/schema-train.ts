// Block schema of `train` blocks (global, named, or `with { … }` overrides of a run).

import type { NumberArg } from "./ast.js";
import { TRAIN_DEFAULTS } from "./defaults.js";
import { describeArg, field, type Amount, type ArgCursor, type Read } from "./fields.js";
import type { LrScheduleKind } from "./plan.js";

const MAX_SEED = 2 ** 31 - 1;
const MAX_SEEDS = 1000;

/** Training length as written. */
export type Length = { kind: "steps"; steps: number } | { kind: "epochs"; epochs: number };

function readLength(c: ArgCursor): Read<Length> | undefined {
  if (c.key === "epochs") {
    const n = c.number({ min: 0, max: 1e6, above: true, allowed: "a number of epochs above 0" });
    return n && { value: { kind: "epochs", epochs: n.value }, node: n.node };
  }
  const n = c.int(0, 1e9, "a number of steps (0: evaluate only, no training)");
  return n && { value: { kind: "steps", steps: n.value }, node: n.node };
}

/** What `lr` says: one rate or a grid, then schedule, warm-up and floor. */
export interface LrValue {
  rates: Read<number>[];
  schedule: Read<LrScheduleKind> | null;
  warmup: Read<Amount> | null;
  min: Read<number> | null;
}

const LR_RANGE = { min: 0, max: 10, above: true, allowed: "a learning rate above 0, at most 10" };

/** Read `3e-4 cosine warmup 3% min 10%` or `[1e-4, 3e-4, 1e-3] linear`. */
function readLr(c: ArgCursor): Read<LrValue> | undefined {
  const first = c.peek();
  const rates: Read<number>[] = [];
  if (first?.kind === "List") {
    c.next();
    if (first.items.length === 0) return c.fail("missingValue", { prop: "'lr'", expected: "at least one learning rate in the list" }, first);
    for (const item of first.items) {
      if (item.kind !== "Number") return c.fail("wrongType", { prop: "'lr'", expected: "learning rates", found: describeArg(item) }, item);
      if (item.unit !== null) return c.fail("badUnit", { prop: "'lr'", unit: `'${item.unit}'`, expected: LR_RANGE.allowed }, item);
      if (!c.checkRange(item as NumberArg, item.value, LR_RANGE)) return undefined;
      if (rates.some((r) => r.value === item.value)) {
        // Two equal rates would train the same jobs twice into one folder: run it once.
        c.reporter.report("duplicateLr", { lr: item.text }, c.file, item);
        continue;
      }
      rates.push({ value: item.value, node: item });
    }
  } else {
    const rate = c.number(LR_RANGE);
    if (!rate) return undefined;
    rates.push(rate);
  }
  const value: LrValue = { rates, schedule: null, warmup: null, min: null };
  for (;;) {
    const schedule = c.optionalWord(["constant", "linear", "cosine"] as const);
    if (schedule) {
      value.schedule = schedule;
      continue;
    }
    if (c.optionalWord(["warmup"])) {
      const warmup = c.amount(0);
      if (!warmup) return undefined;
      value.warmup = warmup;
      continue;
    }
    if (c.optionalWord(["min"])) {
      const min = c.ratio(false, "a floor as a share of the peak rate");
      if (!min) return undefined;
      value.min = min;
      continue;
    }
    break;
  }
  return { value, node: c.prop };
}

/** What `optimizer` says. */
export interface OptimizerValue {
  beta1: Read<number> | null;
  beta2: Read<number> | null;
  eps: Read<number> | null;
}

function readOptimizer(c: ArgCursor): Read<OptimizerValue> | undefined {
  if (!c.word(["adamw"] as const, "an optimiser")) return undefined;
  const value: OptimizerValue = { beta1: null, beta2: null, eps: null };
  const beta = { min: 0, max: 1, allowed: "a number from 0 to below 1" };
  for (;;) {
    if (c.optionalWord(["betas"])) {
      value.beta1 = c.number(beta) ?? null;
      value.beta2 = value.beta1 && (c.number(beta) ?? null);
      if (!value.beta2) return undefined;
      continue;
    }
    if (c.optionalWord(["eps"])) {
      value.eps = c.number({ min: 0, max: 1, above: true, allowed: "a small number above 0" }) ?? null;
      if (!value.eps) return undefined;
      continue;
    }
    break;
  }
  return { value, node: c.prop };
}

/** Read `1 2 3`, `1..5`, `[1, 2]` or a mix. */
function readSeeds(c: ArgCursor): Read<Read<number>[]> | undefined {
  const seeds: Read<number>[] = [];
  const range = { min: 0, max: MAX_SEED, integer: true, allowed: `a whole number from 0 to ${MAX_SEED}` };
  if (c.done()) return c.missing("one or more seeds, e.g. 1 2 3 or 1..3");
  while (!c.done()) {
    const arg = c.next()!;
    const scalars = arg.kind === "List" ? arg.items : [arg];
    if (arg.kind === "Range") {
      if (arg.op !== ".." || arg.from.kind !== "Number" || arg.to.kind !== "Number") return c.fail("wrongType", { prop: `'${c.label}'`, expected: "seeds like 1..3", found: describeArg(arg) }, arg);
      if (!c.checkRange(arg.from, arg.from.value, range) || !c.checkRange(arg.to, arg.to.value, range)) return undefined;
      const count = arg.to.value - arg.from.value + 1;
      if (count < 1 || count > MAX_SEEDS) return c.fail("outOfRange", { prop: `'${c.label}'`, allowed: `an increasing range of at most ${MAX_SEEDS} seeds`, value: `${arg.from.text}..${arg.to.text}` }, arg);
      for (let s = arg.from.value; s <= arg.to.value; s++) seeds.push({ value: s, node: arg });
      continue;
    }
    for (const item of scalars) {
      if (item.kind !== "Number") return c.fail("wrongType", { prop: `'${c.label}'`, expected: "whole-number seeds", found: describeArg(item) }, item);
      if (item.unit !== null) return c.fail("badUnit", { prop: `'${c.label}'`, unit: `'${item.unit}'`, expected: range.allowed }, item);
      if (!c.checkRange(item, item.value, range)) return undefined;
      seeds.push({ value: item.value, node: item });
    }
  }
  if (seeds.length > MAX_SEEDS) return c.fail("outOfRange", { prop: `'${c.label}'`, allowed: `at most ${MAX_SEEDS} seeds`, value: `${seeds.length} seeds` }, c.prop);
  const seen = new Set<number>();
  const unique: Read<number>[] = [];
  for (const seed of seeds) {
    if (seen.has(seed.value)) c.reporter.report("duplicateSeed", { seed: seed.value }, c.file, seed.node);
    else unique.push(seed);
    seen.add(seed.value);
  }
  return { value: unique, node: c.prop };
}

/** An interval: `every 100 steps`, `every 10%`, or `off` (0 = never / only at the end). */
export type Interval = Amount | { kind: "off" };

function readInterval(c: ArgCursor, offWords: readonly string[]): Read<Interval> | undefined {
  const off = c.optionalWord(offWords);
  if (off) return { value: { kind: "off" }, node: off.node };
  if (!c.optionalWord(["every"])) {
    const arg = c.peek();
    const expected = ["'every N steps'", "'every 10%'", ...offWords.map((w) => `'${w}'`)].join(", ");
    return arg ? c.fail("wrongType", { prop: `'${c.label}'`, expected, found: describeArg(arg) }, arg) : c.missing(expected);
  }
  return c.amount(1);
}

/** What `eval` says. */
export interface EvalValue {
  every: Read<Interval>;
  examples: Read<number> | null;
}

function readEval(c: ArgCursor): Read<EvalValue> | undefined {
  const every = readInterval(c, ["end", "off"]);
  if (!every) return undefined;
  let examples: Read<number> | null = null;
  if (c.optionalWord(["on"])) {
    const all = c.optionalWord(["all"]);
    examples = all ? { value: 0, node: all.node } : c.int(1, 10_000_000, "a number of examples") ?? null;
    if (!examples) return undefined;
    c.optionalWord(["examples"]);
  }
  return { value: { every, examples }, node: c.prop };
}

/** train blocks. */
export const TRAIN_SCHEMA = {
  length: field(["steps", "epochs"], "INT (steps) | NUMBER (epochs)", `${TRAIN_DEFAULTS.steps} steps`, "training length (epochs use the data's training split)", readLength),
  batch: field(["batch"], "INT", String(TRAIN_DEFAULTS.batch), "examples per step", (c) => c.int(1, 65536, "a batch size")),
  microBatch: field(["micro_batch"], "INT", "batch", "examples per forward/backward pass; their gradients are accumulated into one step of `batch` examples (divides batch)", (c) => c.int(1, 65536, "a micro-batch size")),
  recompute: field(["recompute"], "blocks | off", TRAIN_DEFAULTS.recompute, "gradient checkpointing: `blocks` recomputes each transformer block's forward in the backward pass (less memory, about one more forward of time)", (c) => c.word(["blocks", "off"] as const, "what to recompute")),
  lr: field(["lr"], "NUMBER | [NUMBER, …] [constant | linear | cosine] [warmup STEPS | RATIO] [min RATIO]", `${TRAIN_DEFAULTS.lr} ${TRAIN_DEFAULTS.schedule} warmup ${TRAIN_DEFAULTS.warmupFraction * 100}% min 0`, "learning rate (a list is a grid, chosen on validation)", readLr),
  optimizer: field(["optimizer"], "adamw [betas NUMBER NUMBER] [eps NUMBER]", `adamw betas ${TRAIN_DEFAULTS.beta1} ${TRAIN_DEFAULTS.beta2} eps ${TRAIN_DEFAULTS.eps}`, "optimiser", readOptimizer),
  weightDecay: field(["weight_decay", "wd"], "NUMBER", String(TRAIN_DEFAULTS.weightDecay), "decoupled weight decay", (c) => c.number({ min: 0, max: 10, allowed: "a number from 0 to 10" })),
  clip: field(["clip"], "NUMBER | off", String(TRAIN_DEFAULTS.clipNorm), "global gradient-norm clipping", (c) => {
    const off = c.optionalWord(["off"]);
    return off ? { value: 0, node: off.node } : c.number({ min: 0, max: 1e6, allowed: "a norm from 0 to 1e6" });
  }),
  seeds: field(["seeds", "seed"], "INT … | INT..INT", TRAIN_DEFAULTS.seeds.join(" "), "run seeds (one run each)", readSeeds),
  eval: field(["eval"], "every STEPS | RATIO | end [on INT examples | on all]", `every ${TRAIN_DEFAULTS.evalFraction * 100}% on ${TRAIN_DEFAULTS.evalExamples} examples`, "evaluation on the validation split", readEval),
  checkpoint: field(["checkpoint"], "every STEPS | RATIO | off", `every ${TRAIN_DEFAULTS.checkpointFraction * 100}%`, "checkpoint interval", (c) => readInterval(c, ["off"])),
  log: field(["log"], "every STEPS", String(TRAIN_DEFAULTS.logEvery), "step-event interval", (c) => readInterval(c, [])),
  maxLength: field(["max_length"], "INT", "the model's context", "sequence length cap", (c) => c.int(1, 65536, "a length")),
};
