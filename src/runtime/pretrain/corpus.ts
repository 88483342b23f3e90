// The default base's pretraining corpus: English prose (the built-in corpus) mixed with synthetic
// arithmetic and code documents, so that the base already has the skills of the built-in tasks and
// fine-tuning only has to teach their prompt format.
//
// The synthetic documents come from the task generators' own logic (the answer of `a op b`, the
// straight-line programs of the code task) but are written in layouts the tasks never use:
//
//   task:    "17+25=" → "42"                 corpus:  "17 plus 25 is 42."  "the sum of 17 and 25 is 42."
//                                                     "42 = 17 + 25"       "42=17+25"
//   task:    "a=3;b=a*2+1;print(b-a)\n" → "4"  corpus:  "a = 3\nb = a * 2 + 1\nprint(b - a)\n# prints 4"
//                                                     "a=3\nb=a*2+1\nprint(b-a)\noutput: 4"
//
// The unspaced layouts matter: byte-level BPE makes " +" and "+" different tokens, and a fine-tuned
// adapter cannot retrain an embedding, so the base should know the tokens the tasks use.
//
// The sorting and spelling documents do the same for the sort and reverse tasks:
//
//   task:    "sort(503184)=" → "013458"        corpus:  "sorting 503184 gives 013458."
//                                                       "the digits 5 0 3 1 8 4 in order are 0 1 3 4 5 8."
//   task:    "reverse(w-h-a-l-e)=" → "e-l-a-h-w"   corpus:  "nation is spelled n-a-t-i-o-n, backwards n-o-i-t-a-n."
//                                                       "n-a-t-i-o-n read from the end is n-o-i-t-a-n."
//
// and the spelled words are never words of the reverse task (the corpus spells words of the State of
// the Union addresses that "Moby-Dick" does not use).
//
// They are drawn from a stream of their own (seed label "pretrain-corpus/…"), never from a task's, so
// no fine-tuning split is targeted. Small-number facts still overlap: there are only 10,000 pairs of
// 2-digit operands, and the corpus states many of them, as a real base model has seen arithmetic.

import { arithmeticAnswer, type ArithmeticOp } from "../data/arithmetic.js";
import { codeExample } from "../data/code_task.js";
import { spelled } from "../data/sequence_tasks.js";
import { Rng } from "../rng.js";

/** Sizes of the synthetic part, as shares of the characters of the whole corpus. */
export interface CorpusMix {
  /** Share of characters in arithmetic statements (0–1). */
  arithmetic: number;
  /** Share of characters in code documents (0–1): real sources first, then synthetic programs. */
  code: number;
  /** Share of characters in digit-sorting statements (0–1). */
  sorting: number;
  /** Share of characters in spelling and reversed-spelling statements (0–1); the rest is English prose. */
  spelling: number;
  /** Seed of the synthetic stream. */
  seed: number;
}

/** Statement layouts per operator; `{a}`, `{b}` are the operands and `{c}` the answer. */
export const ARITHMETIC_FORMATS: Record<ArithmeticOp, readonly string[]> = {
  "+": ["{a} plus {b} is {c}.", "the sum of {a} and {b} is {c}.", "{a} + {b} = {c}", "{c}={a}+{b}"],
  "-": ["{a} minus {b} is {c}.", "the difference of {a} and {b} is {c}.", "{a} - {b} = {c}", "{c}={a}-{b}"],
  "*": ["{a} times {b} is {c}.", "the product of {a} and {b} is {c}.", "{a} * {b} = {c}", "{c}={a}*{b}"],
};

/**
 * Operand sizes in digits with their weights: mostly 2 digits (the addition task's usual size),
 * some 1 and 3; multiplication only of one-digit numbers (the tables), which a small model can
 * learn, rather than longer products it cannot and that would take its share of the corpus.
 */
const DIGIT_WEIGHTS: Record<ArithmeticOp, readonly [number, number][]> = {
  "+": [[1, 0.15], [2, 0.7], [3, 0.15]],
  "-": [[1, 0.15], [2, 0.7], [3, 0.15]],
  "*": [[1, 1]],
};

function weighted(rng: Rng, items: readonly [number, number][]): number {
  let u = rng.next() * items.reduce((s, [, w]) => s + w, 0);
  for (const [v, w] of items) if ((u -= w) < 0) return v;
  return items[items.length - 1]![0];
}

function operand(rng: Rng, op: ArithmeticOp): number {
  return rng.int(10 ** weighted(rng, DIGIT_WEIGHTS[op]));
}

/** One statement of `a op b` in layout `format` (subtraction puts the larger operand first). */
export function arithmeticStatement(a: number, op: ArithmeticOp, b: number, format: string): string {
  if (op === "-" && b > a) [a, b] = [b, a];
  const c = arithmeticAnswer(a, op, b);
  return format.replace("{a}", String(a)).replace("{b}", String(b)).replace("{c}", c);
}

/** A document of 1–6 statements of one operator and one layout, one per line. */
export function arithmeticDocument(rng: Rng): string {
  const op = rng.pick<ArithmeticOp>(["+", "+", "+", "-", "*"]); // addition three times as often
  const format = rng.pick(ARITHMETIC_FORMATS[op]);
  const lines = Array.from({ length: 1 + rng.int(6) }, () => arithmeticStatement(operand(rng, op), op, operand(rng, op), format));
  return lines.join("\n");
}

/** "b=a*2+1" → "b = a * 2 + 1". */
function spaced(statement: string): string {
  return statement.replace(/([+\-*=])/g, " $1 ");
}

/**
 * A program of the code task's kind (1–4 assignments and a print), one statement per line (half of
 * them with spaces around operators), followed by what it prints.
 */
export function codeDocument(rng: Rng): string {
  const ex = codeExample(rng, 1 + rng.int(4));
  const statements = ex.prompt.trim().split(";");
  const lines = rng.next() < 0.5 ? statements.map(spaced) : statements;
  const shown = rng.next() < 0.5 ? `# prints ${ex.completion}` : `output: ${ex.completion}`;
  return [...lines, shown].join("\n");
}

/** Sorting statement layouts; `{s}` is the digit string, `{o}` its digits in order, `{S}`/`{O}` the same spaced. */
export const SORTING_FORMATS: readonly string[] = [
  "sorting {s} gives {o}.",
  "the digits {S} in order are {O}.",
  "{s} with its digits from smallest to largest: {o}",
];

/** One sorting statement of the digit string `s` in layout `format`. */
export function sortingStatement(s: string, format: string): string {
  const o = [...s].sort().join("");
  const spaced = (x: string) => [...x].join(" ");
  return format.replace("{s}", s).replace("{o}", o).replace("{S}", spaced(s)).replace("{O}", spaced(o));
}

/** A document of 1–6 sorting statements of one layout, strings of 3–8 digits. */
export function sortingDocument(rng: Rng): string {
  const format = rng.pick(SORTING_FORMATS);
  const line = () => sortingStatement(Array.from({ length: 3 + rng.int(6) }, () => String(rng.int(10))).join(""), format);
  return Array.from({ length: 1 + rng.int(6) }, line).join("\n");
}

/** Spelling layouts; `{w}` is the word, `{f}` it spelled with hyphens, `{b}` its reverse spelled, `{F}`/`{B}` spelled with spaces. */
export const SPELLING_FORMATS: readonly string[] = [
  "{w} is spelled {f}, backwards {b}.",
  "{f} read from the end is {b}.",
  "the letters of {w} are {F}, and in reverse {B}.",
  "{w}: {f}",
];

/** One spelling statement of `word` in layout `format`. */
export function spellingStatement(word: string, format: string): string {
  const back = [...word].reverse().join("");
  return format.replace("{w}", word).replace("{f}", spelled(word)).replace("{b}", spelled(back))
    .replace("{F}", [...word].join(" ")).replace("{B}", [...back].join(" "));
}

/** A document of 1–6 spelling statements of one layout, words drawn from `words`. */
export function spellingDocument(rng: Rng, words: readonly string[]): string {
  const format = rng.pick(SPELLING_FORMATS);
  return Array.from({ length: 1 + rng.int(6) }, () => spellingStatement(rng.pick(words), format)).join("\n");
}

function checkMix(mix: CorpusMix): void {
  const ok = (x: number) => Number.isFinite(x) && x >= 0 && x < 1;
  const shares = [mix.arithmetic, mix.code, mix.sorting, mix.spelling];
  if (!shares.every(ok) || shares.reduce((a, b) => a + b, 0) >= 1) {
    throw new Error(`pretrain corpus: arithmetic (${mix.arithmetic}), code (${mix.code}), sorting (${mix.sorting}) and spelling (${mix.spelling}) shares must be in [0, 1) and sum to less than 1`);
  }
}

/** `first`, then synthetic documents from `make`, until they hold `chars` characters. */
function documents(chars: number, rng: Rng, make: (rng: Rng) => string, first: readonly string[] = []): string[] {
  const out: string[] = [...first];
  for (let n = out.reduce((k, t) => k + t.length, 0); n < chars; ) {
    const doc = make(rng);
    out.push(doc);
    n += doc.length;
  }
  return out;
}

/** What {@link mixedCorpus} returns: the documents in training order and the characters of each part. */
export interface MixedCorpus {
  texts: string[];
  chars: { english: number; arithmetic: number; code: number; sorting: number; spelling: number };
}

/** Real text besides the English documents: source files (part of the code share) and the words the spelling statements use. */
export interface CorpusExtras {
  sources?: readonly string[];
  spellingWords?: readonly string[];
}

/**
 * The English documents plus synthetic arithmetic, code, sorting and spelling documents sized so
 * that each part holds its share of the characters, all shuffled together (so the held-out tail of
 * the token stream holds every kind). Deterministic in `mix.seed`. Without `spellingWords` the
 * spelling share must be 0.
 */
export function mixedCorpus(english: string[], mix: CorpusMix, extras: CorpusExtras = {}): MixedCorpus {
  checkMix(mix);
  const words = extras.spellingWords ?? [];
  if (mix.spelling > 0 && words.length === 0) throw new Error("pretrain corpus: a spelling share needs words to spell");
  const englishChars = english.reduce((n, t) => n + t.length, 0);
  const total = englishChars / (1 - mix.arithmetic - mix.code - mix.sorting - mix.spelling);
  const root = new Rng(`pretrain-corpus/${mix.seed}`);
  const arithmetic = documents(total * mix.arithmetic, root.fork("arithmetic"), arithmeticDocument);
  const code = documents(total * mix.code, root.fork("code"), codeDocument, mix.code > 0 ? extras.sources : []);
  const sorting = documents(total * mix.sorting, root.fork("sorting"), sortingDocument);
  const spelling = documents(total * mix.spelling, root.fork("spelling"), (r) => spellingDocument(r, words));
  const texts = root.fork("order").shuffle([...english, ...arithmetic, ...code, ...sorting, ...spelling]);
  const sum = (docs: string[]) => docs.reduce((n, t) => n + t.length, 0);
  return { texts, chars: { english: englishChars, arithmetic: sum(arithmetic), code: sum(code), sorting: sum(sorting), spelling: sum(spelling) } };
}
