// Two generation tasks on sequences, scored by exact match like arithmetic:
//
//   sort:     "sort(503184)=" → "013458"            the digits of a random string, in ascending order
//   reverse:  "reverse(w-h-a-l-e)=" → "e-l-a-h-w"   a word of "Moby-Dick" spelled backwards
//
// The reverse task spells words letter by letter with hyphens so that every letter is one token of
// a byte-level BPE tokenizer (whose merges would otherwise cut words into pieces that share no
// letters with the reversed word's pieces), as digits are single tokens for the arithmetic tasks.
// Prompts are distinct across all splits.

import { mobyDickParts, wordsOf } from "./package-text.js";
import type { Rng } from "../rng.js";
import type { GenerationExample } from "./types.js";

export const SORT_ALPHABET = "0123456789sort()=";
export const REVERSE_ALPHABET = "abcdefghijklmnopqrstuvwxyz-reverse()=";

/** Shortest word of the reverse task. */
export const REVERSE_MIN_LETTERS = 3;

/** The sort task's example for a digit string. */
export function sortExample(digitString: string): GenerationExample {
  return { prompt: `sort(${digitString})=`, completion: [...digitString].sort().join("") };
}

/** `word` spelled with a hyphen between letters: "whale" → "w-h-a-l-e". */
export function spelled(word: string): string {
  return [...word].join("-");
}

/** The reverse task's example for a word. */
export function reverseExample(word: string): GenerationExample {
  return { prompt: `reverse(${spelled(word)})=`, completion: spelled([...word].reverse().join("")) };
}

/**
 * `count` distinct strings of `digits` random digits (leading zeros allowed), as sort examples.
 * @throws when fewer than `count` distinct strings exist.
 */
export function sortExamples(digits: number, count: number, rng: Rng): GenerationExample[] {
  if (!Number.isInteger(digits) || digits < 2 || digits > 12) throw new Error(`sort: param digits must be an integer in [2, 12], got ${digits}`);
  const space = 10 ** digits;
  if (count > space / 2) throw new Error(`sort: ${count} distinct examples requested but digits=${digits} allows at most ${space / 2} (half of the ${space} strings, so that drawing stays fast)`);
  const seen = new Set<string>();
  const out: GenerationExample[] = [];
  while (out.length < count) {
    const s = Array.from({ length: digits }, () => String(rng.int(10))).join("");
    if (seen.has(s)) continue;
    seen.add(s);
    out.push(sortExample(s));
  }
  return out;
}

let mobyWords: string[] | null = null;

/** The words of "Moby-Dick" (a–z only, lower case, sorted) with 3 to `letters` letters. */
export function reverseWords(letters: number): string[] {
  mobyWords ??= wordsOf(mobyDickParts());
  return mobyWords.filter((w) => w.length >= REVERSE_MIN_LETTERS && w.length <= letters);
}

/**
 * `count` distinct words of 3 to `letters` letters from "Moby-Dick", in a random order, as reverse
 * examples. @throws when the book has fewer such words.
 */
export function reverseExamples(letters: number, count: number, rng: Rng): GenerationExample[] {
  if (!Number.isInteger(letters) || letters < REVERSE_MIN_LETTERS || letters > 20) throw new Error(`reverse: param letters must be an integer in [${REVERSE_MIN_LETTERS}, 20], got ${letters}`);
  const pool = reverseWords(letters);
  if (count > pool.length) throw new Error(`reverse: ${count} distinct examples requested but "Moby-Dick" has only ${pool.length} words of ${REVERSE_MIN_LETTERS} to ${letters} letters`);
  return rng.shuffle([...pool]).slice(0, count).map(reverseExample);
}
