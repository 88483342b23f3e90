// Byte-level BPE (GPT-2 style): a loader for Hugging Face `tokenizer.json` files and a trainer
// that writes such files.
//
// Text → split on added tokens → pre-tokenise with the GPT-2 regex → UTF-8 bytes → each byte
// shown as one printable character (the GPT-2 bytes↔unicode map, so a space is "Ġ") → merges
// applied by rank → vocabulary ids. Decoding maps the characters back to bytes and UTF-8.
//
// Pre-tokenisers: plain `ByteLevel`, or a `Sequence` of `Digits` then `ByteLevel` (as in StarCoder's
// tokenizer.json): `Digits { individual_digits: true }` makes every digit a pre-token of its own, so
// no merge ever joins digits and numbers are always spelled digit by digit (better for arithmetic).

/** The parts of a Hugging Face tokenizer.json that byte-level BPE uses. */
export interface HfTokenizerJson {
  version?: string;
  truncation?: unknown;
  padding?: unknown;
  added_tokens?: HfAddedToken[];
  normalizer?: { type: string } | null;
  pre_tokenizer?: HfPreTokenizer | null;
  post_processor?: unknown;
  decoder?: unknown;
  model: {
    type: string;
    vocab: Record<string, number>;
    merges: (string | [string, string])[];
    ignore_merges?: boolean;
    byte_fallback?: boolean;
    continuing_subword_prefix?: string | null;
    end_of_word_suffix?: string | null;
    [key: string]: unknown;
  };
}

/** The pre-tokenizer entries of a tokenizer.json that byte-level BPE uses. */
export interface HfPreTokenizer {
  type: string;
  add_prefix_space?: boolean;
  trim_offsets?: boolean;
  use_regex?: boolean;
  /** Digits: true = one pre-token per digit, false = one per run of digits. */
  individual_digits?: boolean;
  /** Sequence: applied in order, each to the pieces of the one before. */
  pretokenizers?: HfPreTokenizer[];
}

/** How a tokenizer.json splits text before BPE (see {@link preTokenizerOptions}). */
export interface PreTokenizerOptions {
  /** "individual": every digit alone; "runs": digit runs apart from other text; "none": GPT-2 regex only. */
  digits: "individual" | "runs" | "none";
  addPrefixSpace: boolean;
}

export interface HfAddedToken {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
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

const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

const DIGIT_SPLIT = { individual: /(\p{N})/u, runs: /(\p{N}+)/u } as const;

/**
 * Splits text into pre-tokens with the GPT-2 pattern; with `digits` "individual" (or "runs") the
 * digits (Unicode \p{N}, Rust's `char::is_numeric`) are first isolated one by one (or run by run),
 * as Hugging Face's `Digits` pre-tokenizer does before `ByteLevel`.
 */
export function preTokenize(text: string, digits: PreTokenizerOptions["digits"] = "none"): string[] {
  if (digits === "none") return text.match(GPT2_PATTERN) ?? [];
  const out: string[] = [];
  text.split(DIGIT_SPLIT[digits]).forEach((piece, i) => {
    if (i % 2 === 1) out.push(piece);
    else if (piece) for (const p of piece.match(GPT2_PATTERN) ?? []) out.push(p);
  });
  return out;
}

/** The ByteLevel entry of a Sequence must be last and without a prefix space; Digits must come first. */
function sequenceOptions(seq: HfPreTokenizer, source: string): PreTokenizerOptions {
  const parts = Array.isArray(seq.pretokenizers) ? seq.pretokenizers : fail(source, "pre_tokenizer.pretokenizers", "must be an array");
  const [digits, byteLevel] = parts;
  if (parts.length !== 2 || digits?.type !== "Digits" || byteLevel?.type !== "ByteLevel") {
    fail(source, "pre_tokenizer.pretokenizers", `only [Digits, ByteLevel] is supported, got [${parts.map((p) => JSON.stringify(p?.type)).join(", ")}]`);
  }
  if (byteLevel.use_regex === false) fail(source, "pre_tokenizer.pretokenizers[1].use_regex", "false is not supported");
  if (byteLevel.add_prefix_space) fail(source, "pre_tokenizer.pretokenizers[1].add_prefix_space", "true is not supported after Digits");
  return { digits: digits.individual_digits === true ? "individual" : "runs", addPrefixSpace: false };
}

/** Reads the pre-tokenizer of a tokenizer.json; errors name the file and key. */
export function preTokenizerOptions(pre: HfPreTokenizer | null | undefined, source: string): PreTokenizerOptions {
  if (pre?.type === "Sequence") return sequenceOptions(pre, source);
  if (pre?.type !== "ByteLevel") {
    fail(source, "pre_tokenizer.type", `must be "ByteLevel" (GPT-2 style byte-level BPE) or a "Sequence" of Digits and ByteLevel, got ${JSON.stringify(pre?.type ?? null)}`);
  }
  if (pre.use_regex === false) fail(source, "pre_tokenizer.use_regex", "false is not supported");
  return { digits: "none", addPrefixSpace: pre.add_prefix_space === true };
}

/** A pre-token as byte-level characters. */
export function toByteChars(word: string): string {
  let out = "";
  for (const b of utf8.encode(word)) out += BYTE_TO_CHAR[b];
  return out;
}

/** Byte-level characters back to text (invalid UTF-8 becomes U+FFFD). */
export function fromByteChars(chars: string): string {
  const bytes: number[] = [];
  for (const c of chars) {
    const b = CHAR_TO_BYTE.get(c);
    if (b !== undefined) bytes.push(b);
    else bytes.push(...utf8.encode(c));
  }
  return utf8Decoder.decode(new Uint8Array(bytes));
}

function fail(source: string, key: string, why: string): never {
  throw new Error(`${source}: ${key}: ${why}`);
}

/** Checks the structure of a tokenizer.json for byte-level BPE; errors name the file and key. */
export function validateBpeJson(json: unknown, source: string): HfTokenizerJson {
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail(source, "(root)", "expected a JSON object");
  const j = json as Record<string, unknown>;
  const model = j["model"] as Record<string, unknown> | undefined;
  if (typeof model !== "object" || model === null) fail(source, "model", "missing");
  if (model["type"] !== "BPE") fail(source, "model.type", `must be "BPE", got ${JSON.stringify(model["type"])}`);
  const vocab = model["vocab"];
  if (typeof vocab !== "object" || vocab === null || Array.isArray(vocab)) fail(source, "model.vocab", "must be an object of token → id");
  for (const [tok, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) fail(source, `model.vocab[${JSON.stringify(tok)}]`, `id must be a non-negative integer, got ${JSON.stringify(id)}`);
  }
  if (!Array.isArray(model["merges"])) fail(source, "model.merges", "must be an array");
  if (model["byte_fallback"] === true) fail(source, "model.byte_fallback", "byte fallback is not supported (only byte-level BPE)");
  for (const key of ["continuing_subword_prefix", "end_of_word_suffix"]) {
    if (model[key]) fail(source, `model.${key}`, `must be null for byte-level BPE, got ${JSON.stringify(model[key])}`);
  }
  preTokenizerOptions(j["pre_tokenizer"] as HfPreTokenizer | null | undefined, source);
  const norm = j["normalizer"] as { type?: unknown } | null | undefined;
  if (norm != null && norm.type !== "NFC" && norm.type !== "NFKC") fail(source, "normalizer.type", `only null, NFC or NFKC are supported, got ${JSON.stringify(norm.type)}`);
  const added = j["added_tokens"] ?? [];
  if (!Array.isArray(added)) fail(source, "added_tokens", "must be an array");
  added.forEach((t: unknown, i: number) => {
    const a = t as Partial<HfAddedToken>;
    if (typeof a?.content !== "string" || a.content === "") fail(source, `added_tokens[${i}].content`, "must be a non-empty string");
    if (!Number.isInteger(a.id) || (a.id as number) < 0) fail(source, `added_tokens[${i}].id`, `must be a non-negative integer, got ${JSON.stringify(a.id)}`);
  });
  return json as HfTokenizerJson;
}

/** Parses model.merges (either "a b" strings or [a, b] pairs) into pairs, checking the vocab. */
export function parseMerges(json: HfTokenizerJson, source: string): [string, string][] {
  const vocab = json.model.vocab;
  return json.model.merges.map((m, i) => {
    let pair: string[];
    if (typeof m === "string") pair = m.split(" ");
    else if (Array.isArray(m)) pair = m;
    else fail(source, `model.merges[${i}]`, `must be "a b" or ["a", "b"], got ${JSON.stringify(m)}`);
    if (pair.length !== 2 || pair.some((p) => typeof p !== "string" || p === "")) {
      fail(source, `model.merges[${i}]`, `must name exactly two tokens, got ${JSON.stringify(m)}`);
    }
    const [a, b] = pair as [string, string];
    for (const tok of [a, b, a + b]) {
      if (!(tok in vocab)) fail(source, `model.merges[${i}]`, `${JSON.stringify(tok)} is not in model.vocab`);
    }
    return [a, b];
  });
}

/** Applies ranked merges to one byte-level word (GPT-2: lowest rank first, all occurrences). */
export function bpeWord(word: string, ranks: Map<string, number>): string[] {
  let parts = Array.from(word);
  while (parts.length > 1) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i < parts.length - 1; i++) {
      const r = ranks.get(`${parts[i]} ${parts[i + 1]}`);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) break;
    const [a, b] = [parts[best]!, parts[best + 1]!];
    const merged: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (i < parts.length - 1 && parts[i] === a && parts[i + 1] === b) {
        merged.push(a + b);
        i++;
      } else {
        merged.push(parts[i]!);
      }
    }
    parts = merged;
  }
  return parts;
}

/**
 * The standard tokenizer.json wrapper for a byte-level BPE vocabulary and merges; with `splitDigits`
 * the pre-tokenizer is `Sequence [Digits { individual_digits: true }, ByteLevel]`.
 */
export function bpeJson(vocab: Record<string, number>, merges: [string, string][], special: { id: number; content: string }[], splitDigits = false): HfTokenizerJson {
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({
    type: "ByteLevel",
    add_prefix_space: addPrefixSpace,
    trim_offsets: trimOffsets,
    use_regex: true,
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: special.map((s) => ({ id: s.id, content: s.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: splitDigits
      ? { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, byteLevel(false, true)] }
      : byteLevel(false, true),
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
