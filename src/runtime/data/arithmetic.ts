// Arithmetic tasks: "123+45=" → "168". Operands are uniform in [0, 10^digits); subtraction puts
// the larger operand first so answers are never negative. Prompts are distinct across all splits.

import { Rng } from "../rng.js";
import type { GenerationExample } from "./types.js";

export type ArithmeticOp = "+" | "-" | "*";

export const ARITHMETIC_ALPHABET = "0123456789+-*=";

/** The answer of `a op b` as a decimal string (BigInt, so 9-digit products stay exact). */
export function arithmeticAnswer(a: number, op: ArithmeticOp, b: number): string {
  const [x, y] = [BigInt(a), BigInt(b)];
  return String(op === "+" ? x + y : op === "-" ? x - y : x * y);
}

function example(a: number, op: ArithmeticOp, b: number): GenerationExample {
  if (op === "-" && b > a) [a, b] = [b, a];
  return { prompt: `${a}${op}${b}=`, completion: arithmeticAnswer(a, op, b) };
}

/**
 * `count` distinct examples over the operators `ops`. Draws at random while the space is large,
 * enumerates and shuffles it when `count` is a sizeable part of it.
 * @throws when fewer than `count` distinct prompts exist.
 */
export function arithmeticExamples(ops: ArithmeticOp[], digits: number, count: number, rng: Rng): GenerationExample[] {
  if (!Number.isInteger(digits) || digits < 1 || digits > 9) throw new Error(`arithmetic: param digits must be an integer in [1, 9], got ${digits}`);
  const range = 10 ** digits;
  // Distinct prompts: a−b and b−a give the same prompt after ordering.
  const space = ops.reduce((n, op) => n + (op === "-" ? (range * (range + 1)) / 2 : range * range), 0);
  if (count > space) throw new Error(`arithmetic: ${count} distinct examples requested but only ${space} exist with digits=${digits} and ops ${ops.join("")}`);
  if (count > space / 4) {
    const all: GenerationExample[] = [];
    for (const op of ops) {
      for (let a = 0; a < range; a++) for (let b = op === "-" ? a : 0; b < range; b++) all.push(example(op === "-" ? b : a, op, op === "-" ? a : b));
    }
    return rng.shuffle(all).slice(0, count);
  }
  const seen = new Set<string>();
  const out: GenerationExample[] = [];
  while (out.length < count) {
    const ex = example(rng.int(range), rng.pick(ops), rng.int(range));
    if (seen.has(ex.prompt)) continue;
    seen.add(ex.prompt);
    out.push(ex);
  }
  return out;
}
