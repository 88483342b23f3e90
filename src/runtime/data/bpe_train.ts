// Byte-level BPE training (GPT-2 style) with incremental pair counts; the result is a standard
// Hugging Face tokenizer.json, loaded like any other (src/tokenizers/hf-tokenizer.ts).
//
// Text → pre-tokens (the GPT-2 regex, as Hugging Face's ByteLevel pre-tokenizer splits) → UTF-8
// bytes, each shown as one printable character (the GPT-2 bytes↔unicode map, so a space is "Ġ").
// Words (pre-tokens) are counted once; each merge only revisits the words that contain the merged
// pair, subtracting their old pair counts and adding their new ones. The best pair comes from a
// lazy max-heap: entries whose count is out of date are skipped when popped.
//
// With `splitDigits` every digit is a pre-token of its own (Hugging Face's `Digits
// { individual_digits: true }` before `ByteLevel`, as in StarCoder's tokenizer.json), so no merge
// joins digits and numbers are spelled digit by digit.

/** The parts of a tokenizer.json the trainer writes. */
export interface HfTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: HfAddedToken[];
  normalizer: null;
  pre_tokenizer: Record<string, unknown>;
  post_processor: Record<string, unknown>;
  decoder: Record<string, unknown>;
  model: { type: "BPE"; vocab: Record<string, number>; merges: string[]; [key: string]: unknown };
}

export interface HfAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** GPT-2's pre-tokeniser pattern (contractions, letters, numbers, other, whitespace). */
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** byte → printable character, as GPT-2 defines it (printable Latin-1 bytes map to themselves). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) out.push(String.fromCharCode(keep(b) ? b : next++));
  return out;
})();

const utf8 = new TextEncoder();
const DIGIT_SPLIT = { individual: /(\p{N})/u, runs: /(\p{N}+)/u } as const;

/**
 * Splits text into pre-tokens with the GPT-2 pattern; with `digits` "individual" (or "runs") the
 * digits (Unicode \p{N}, Rust's `char::is_numeric`) are first isolated one by one (or run by run),
 * as Hugging Face's `Digits` pre-tokenizer does before `ByteLevel`.
 */
export function preTokenize(text: string, digits: "individual" | "runs" | "none" = "none"): string[] {
  if (digits === "none") return text.match(GPT2_PATTERN) ?? [];
  const out: string[] = [];
  text.split(DIGIT_SPLIT[digits]).forEach((piece, i) => {
    if (i % 2 === 1) out.push(piece);
    else if (piece) for (const p of piece.match(GPT2_PATTERN) ?? []) out.push(p);
  });
  return out;
}

/** A pre-token as byte-level characters. */
export function toByteChars(word: string): string {
  let out = "";
  for (const b of utf8.encode(word)) out += BYTE_TO_CHAR[b];
  return out;
}

/**
 * The standard tokenizer.json wrapper for a byte-level BPE vocabulary and merges; with `splitDigits`
 * the pre-tokenizer is `Sequence [Digits { individual_digits: true }, ByteLevel]`.
 */
function bpeJson(vocab: Record<string, number>, merges: [string, string][], special: { id: number; content: string }[], splitDigits: boolean): HfTokenizerJson {
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({ type: "ByteLevel", add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: special.map((s) => ({ id: s.id, content: s.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: splitDigits ? { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, byteLevel(false, true)] } : byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** Options of {@link trainBpeJson}. */
export interface TrainBpeOptions {
  /** Added tokens placed first (ids 0…); default `<pad>`, `<bos>`, `<eos>`. */
  specialTokens?: string[];
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
  /**
   * Every digit is a pre-token of its own, so no merge joins digits (default false). The file's
   * pre-tokenizer is then `Sequence [Digits { individual_digits: true }, ByteLevel]`.
   */
  splitDigits?: boolean;
}

const SHIFT = 2 ** 21; // pair key = a * SHIFT + b; symbol ids stay below 2^21

/** Max-heap of [count, key]; ties go to the smaller key so training is deterministic. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size(): number {
    return this.keys.length;
  }
  private above(i: number, j: number): boolean {
    const [ci, cj] = [this.counts[i]!, this.counts[j]!];
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }
  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.keys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0]!, this.keys[0]!];
    const last = this.keys.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    let i = 0;
    for (;;) {
      const [l, r] = [2 * i + 1, 2 * i + 2];
      let m = i;
      if (l < this.keys.length && this.above(l, m)) m = l;
      if (r < this.keys.length && this.above(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

/** Training state: distinct words as symbol-id arrays with their frequencies. */
class Corpus {
  readonly pairCount = new Map<number, number>();
  readonly pairWords = new Map<number, Set<number>>();

  constructor(
    readonly words: number[][],
    readonly freqs: number[],
  ) {
    words.forEach((w, i) => this.addPairs(w, i, freqs[i]!, null));
  }

  /** Adds `sign·freq` for every adjacent pair of `word`; records changed keys. */
  private addPairs(word: number[], index: number, delta: number, changed: Set<number> | null): void {
    for (let k = 0; k < word.length - 1; k++) {
      const key = word[k]! * SHIFT + word[k + 1]!;
      this.pairCount.set(key, (this.pairCount.get(key) ?? 0) + delta);
      if (delta > 0) {
        let set = this.pairWords.get(key);
        if (!set) this.pairWords.set(key, (set = new Set()));
        set.add(index);
      }
      changed?.add(key);
    }
  }

  /** Replaces every (a, b) in the words that hold it by `c`; returns the pair keys that changed. */
  merge(a: number, b: number, c: number): Set<number> {
    const key = a * SHIFT + b;
    const changed = new Set<number>();
    for (const index of this.pairWords.get(key) ?? []) {
      const word = this.words[index]!;
      const merged: number[] = [];
      for (let k = 0; k < word.length; k++) {
        if (k < word.length - 1 && word[k] === a && word[k + 1] === b) {
          merged.push(c);
          k++;
        } else {
          merged.push(word[k]!);
        }
      }
      if (merged.length === word.length) continue; // stale entry: the pair left this word earlier
      const freq = this.freqs[index]!;
      this.addPairs(word, index, -freq, changed);
      this.addPairs(merged, index, freq, changed);
      this.words[index] = merged;
    }
    this.pairWords.delete(key);
    return changed;
  }
}

/** Counts byte-level pre-tokens over all texts. */
function countWords(texts: Iterable<string>, splitDigits: boolean): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of preTokenize(text, splitDigits ? "individual" : "none")) {
      const w = toByteChars(piece);
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * Learns byte-level BPE merges until the vocabulary (specials + 256 bytes + merged tokens) has
 * `vocabSize` entries or no pair occurs `minFrequency` times. Returns a complete tokenizer.json.
 */
export function trainBpeJson(texts: Iterable<string>, vocabSize: number, opts: TrainBpeOptions = {}): HfTokenizerJson {
  const specials = opts.specialTokens ?? ["<pad>", "<bos>", "<eos>"];
  const minFrequency = opts.minFrequency ?? 2;
  const floor = specials.length + 256;
  if (!Number.isInteger(vocabSize) || vocabSize < floor || vocabSize >= SHIFT) {
    throw new Error(`trainBpe: vocabSize must be an integer in [${floor}, ${SHIFT}) (specials + 256 bytes), got ${vocabSize}`);
  }
  const symbols: string[] = [...specials, ...BYTE_TO_CHAR];
  const ids = new Map(symbols.map((s, i) => [s, i]));
  if (ids.size !== symbols.length) throw new Error(`trainBpe: special tokens must be distinct and not single byte characters: ${JSON.stringify(specials)}`);

  const counted = [...countWords(texts, opts.splitDigits === true)];
  const corpus = new Corpus(
    counted.map(([w]) => Array.from(w, (ch) => ids.get(ch)!)),
    counted.map(([, n]) => n),
  );
  const heap = new PairHeap();
  for (const [key, n] of corpus.pairCount) heap.push(n, key);

  const merges: [string, string][] = [];
  while (symbols.length < vocabSize && heap.size > 0) {
    const [count, key] = heap.pop();
    if (corpus.pairCount.get(key) !== count) continue; // out of date
    if (count < minFrequency) break;
    const [a, b] = [Math.floor(key / SHIFT), key % SHIFT];
    const text = symbols[a]! + symbols[b]!;
    let c = ids.get(text);
    if (c === undefined) {
      c = symbols.length;
      symbols.push(text);
      ids.set(text, c);
    }
    merges.push([symbols[a]!, symbols[b]!]);
    for (const changed of corpus.merge(a, b, c)) {
      const n = corpus.pairCount.get(changed) ?? 0;
      if (n > 0) heap.push(n, changed);
    }
  }
  const vocab = Object.fromEntries(symbols.map((s, i) => [s, i]));
  return bpeJson(vocab, merges, specials.map((content, id) => ({ id, content })), opts.splitDigits === true);
}
