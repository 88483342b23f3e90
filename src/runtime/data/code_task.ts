// The "code" task: predict what a short straight-line program prints.
//
//   prompt     "a=3;b=a*2+1;print(b-a)\n"     completion "4"
//
// `lines` assignments (variables a, b, c, … in order), each an expression of 1–3 terms joined by
// + - * over earlier variables and digits 0–9, then one print of such an expression. Usual
// precedence (* before + and -), no parentheses. Every intermediate value stays within ±999 so
// answers are short. The generator tracks values as it writes; tests re-run the text with an
// interpreter of their own.

import type { Rng } from "../rng.js";
import type { GenerationExample } from "./types.js";

export const CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789+-*=;()\nprint";

const LIMIT = 999;
const OPS = ["+", "-", "*"] as const;

interface Term {
  text: string;
  value: number;
}

/** Value of t0 op1 t1 op2 t2 … with * binding tighter than + and -. */
function evaluateFlat(terms: number[], ops: string[]): number {
  let total = 0;
  let sign = 1;
  let product = terms[0]!;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op === "*") {
      product *= terms[i + 1]!;
    } else {
      total += sign * product;
      sign = op === "+" ? 1 : -1;
      product = terms[i + 1]!;
    }
  }
  return total + sign * product;
}

function digit(rng: Rng): Term {
  const d = rng.int(10);
  return { text: String(d), value: d };
}

function variable(rng: Rng, names: string[], vars: Map<string, number>): Term {
  const name = rng.pick(names);
  return { text: name, value: vars.get(name)! };
}

/** A random expression over `vars` (name → value) whose value and partial products stay small. */
function expression(rng: Rng, vars: Map<string, number>, mustUseVar: boolean): Term {
  const names = [...vars.keys()];
  for (;;) {
    const n = 1 + rng.int(3);
    const terms: Term[] = [];
    for (let i = 0; i < n; i++) {
      const useVar = names.length > 0 && (rng.next() < 0.6 || (mustUseVar && i === 0));
      terms.push(useVar ? variable(rng, names, vars) : digit(rng));
    }
    const ops = Array.from({ length: n - 1 }, () => rng.pick(OPS));
    if (mustUseVar && !terms.some((t) => /[a-z]/.test(t.text))) continue;
    const value = evaluateFlat(terms.map((t) => t.value), ops);
    // Partial products too: a*b*c may overflow the limit before a later "-" brings it back.
    let product = terms[0]!.value;
    let small = Math.abs(value) <= LIMIT;
    ops.forEach((op, i) => {
      product = op === "*" ? product * terms[i + 1]!.value : terms[i + 1]!.value;
      small &&= Math.abs(product) <= LIMIT;
    });
    if (!small) continue;
    const text = terms.map((t, i) => (i === 0 ? t.text : `${ops[i - 1]}${t.text}`)).join("");
    return { text, value };
  }
}

/** One program with `lines` assignments and a print. */
export function codeExample(rng: Rng, lines: number): GenerationExample {
  if (!Number.isInteger(lines) || lines < 1 || lines > 26) throw new Error(`code: param lines must be an integer in [1, 26], got ${lines}`);
  const vars = new Map<string, number>();
  const statements: string[] = [];
  for (let i = 0; i < lines; i++) {
    const name = String.fromCharCode(97 + i);
    const expr = i === 0 ? digit(rng) : expression(rng, vars, true);
    statements.push(`${name}=${expr.text}`);
    vars.set(name, expr.value);
  }
  const out = expression(rng, vars, true);
  statements.push(`print(${out.text})`);
  return { prompt: `${statements.join(";")}\n`, completion: String(out.value) };
}

/** `count` programs with distinct prompts. */
export function codeExamples(lines: number, count: number, rng: Rng): GenerationExample[] {
  const seen = new Set<string>();
  const out: GenerationExample[] = [];
  let attempts = 0;
  while (out.length < count) {
    if (++attempts > count * 50 + 1000) throw new Error(`code: could not draw ${count} distinct programs with lines=${lines}`);
    const ex = codeExample(rng, lines);
    if (seen.has(ex.prompt)) continue;
    seen.add(ex.prompt);
    out.push(ex);
  }
  return out;
}
