// Built-in tasks: seeded, deterministic generators with disjoint splits.
//
// All examples of a task are drawn as one list of distinct items and cut into train, validation
// and test in that order, so no prompt (or e-mail text) is in two splits.

import { TASK_PARAMS } from "../../dsl/defaults.js";
import type { Splits, TaskDataSpec, TaskName } from "../../dsl/plan.js";
import { Rng } from "../rng.js";
import { ARITHMETIC_ALPHABET, type ArithmeticOp, arithmeticExamples } from "./arithmetic.js";
import { CODE_ALPHABET, codeExamples } from "./code_task.js";
import { REVERSE_ALPHABET, reverseExamples, SORT_ALPHABET, sortExamples } from "./sequence_tasks.js";
import { SPAM_LABELS, spamExamples } from "./spam.js";
import type { SplitExamples, TaskExamples } from "./types.js";

type Params = Record<string, number | string | boolean>;

/** Every task's parameters and their defaults, taken from the language's table (src/dsl/defaults.ts). */
export const TASK_DEFAULTS = Object.fromEntries(
  Object.entries(TASK_PARAMS).map(([task, params]) => [task, Object.fromEntries(Object.entries(params).map(([name, p]) => [name, p.default]))]),
) as Record<TaskName, Params>;

const OPS: Partial<Record<TaskName, ArithmeticOp[]>> = {
  addition: ["+"],
  subtraction: ["-"],
  multiplication: ["*"],
  arithmetic: ["+", "-", "*"],
};

/** Defaults filled in; unknown or mistyped parameters are errors naming the task. */
export function resolveTaskParams(task: TaskName, params: Params): Params {
  const defaults = TASK_DEFAULTS[task];
  if (!defaults) throw new Error(`unknown task "${task}"; expected one of ${Object.keys(TASK_DEFAULTS).join(", ")}`);
  for (const [key, value] of Object.entries(params)) {
    if (!(key in defaults)) throw new Error(`task ${task}: unknown param "${key}"; allowed: ${Object.keys(defaults).join(", ")}`);
    if (typeof value !== typeof defaults[key]) throw new Error(`task ${task}: param ${key} must be a ${typeof defaults[key]}, got ${JSON.stringify(value)}`);
  }
  return { ...defaults, ...params };
}

function checkSplits(task: TaskName, splits: Splits): number {
  for (const [name, n] of Object.entries(splits)) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`task ${task}: split ${name} must be a non-negative integer count, got ${n}`);
  }
  return splits.train + splits.validation + splits.test;
}

/** Cuts a list of distinct items into the three splits, in order. */
export function cutSplits<E>(items: E[], splits: Splits): SplitExamples<E> {
  const a = splits.train;
  const b = a + splits.validation;
  return { train: items.slice(0, a), validation: items.slice(a, b), test: items.slice(b, b + splits.test) };
}

/** Generates the examples of a built-in task. */
export function generateTask(spec: TaskDataSpec): TaskExamples {
  const params = resolveTaskParams(spec.task, spec.params);
  const total = checkSplits(spec.task, spec.splits);
  const rng = new Rng(spec.seed).fork(`task/${spec.task}`);
  const ops = OPS[spec.task];
  if (ops) {
    const items = arithmeticExamples(ops, Number(params["digits"]), total, rng);
    return { kind: "generation", alphabet: ARITHMETIC_ALPHABET, ...cutSplits(items, spec.splits) };
  }
  if (spec.task === "code") {
    const items = codeExamples(Number(params["lines"]), total, rng);
    return { kind: "generation", alphabet: CODE_ALPHABET, ...cutSplits(items, spec.splits) };
  }
  if (spec.task === "sort") {
    const items = sortExamples(Number(params["digits"]), total, rng);
    return { kind: "generation", alphabet: SORT_ALPHABET, ...cutSplits(items, spec.splits) };
  }
  if (spec.task === "reverse") {
    const items = reverseExamples(Number(params["letters"]), total, rng);
    return { kind: "generation", alphabet: REVERSE_ALPHABET, ...cutSplits(items, spec.splits) };
  }
  const all = spamExamples(Number(params["maxChars"]));
  if (total > all.length) throw new Error(`task spam: ${total} examples requested (train+validation+test) but the corpus has ${all.length} distinct messages`);
  const items = rng.shuffle(all.map((e) => ({ ...e }))).slice(0, total);
  return { kind: "classification", alphabet: "", labelNames: [...SPAM_LABELS], ...cutSplits(items, spec.splits) };
}
