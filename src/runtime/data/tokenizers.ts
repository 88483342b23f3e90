// Tokenizers: character, byte, and byte-level BPE (Hugging Face tokenizer.json).
//
// Every tokenizer has pad/bos/eos ids and round-trips through toJSON() → tokenizerFromJSON().
// A BPE tokenizer's toJSON() is its tokenizer.json, so saving it gives a file that Hugging Face
// `tokenizers` loads.

import fs from "node:fs";
import { bpeWord, fromByteChars, type HfTokenizerJson, parseMerges, preTokenize, preTokenizerOptions, type PreTokenizerOptions, toByteChars, validateBpeJson } from "./bpe.js";
import { trainBpeJson, type TrainBpeOptions } from "./bpe_train.js";

export type TokenizerKind = "char" | "byte" | "bpe";

/** What the models and the batcher need from a tokenizer. */
export interface Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly sepId?: number;
  /** Text → ids, without bos/eos (the batcher adds them). */
  encode(text: string): number[];
  /** Ids → text; special tokens (pad, bos, eos, …) are left out. */
  decode(ids: readonly number[]): string;
  /** Plain JSON from which {@link tokenizerFromJSON} rebuilds the same tokenizer. */
  toJSON(): TokenizerJSON;
}

export type TokenizerJSON = { kind: "char"; chars: string[] } | { kind: "byte" } | HfTokenizerJson;

const SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"] as const;

/**
 * One id per character (Unicode code point): ids 0–3 are `<pad>`, `<bos>`, `<eos>`, `<unk>`, then
 * the alphabet in code-point order. Unknown characters encode to `<unk>`.
 */
export class CharTokenizer implements Tokenizer {
  readonly kind = "char";
  readonly padId = 0;
  readonly bosId = 1;
  readonly eosId = 2;
  readonly unkId = 3;
  readonly chars: readonly string[];
  private readonly index: Map<string, number>;

  constructor(chars: Iterable<string>) {
    const unique = [...new Set(chars)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    for (const c of unique) {
      if ([...c].length !== 1) throw new Error(`CharTokenizer: ${JSON.stringify(c)} is not a single character`);
    }
    this.chars = unique;
    this.index = new Map(unique.map((c, i) => [c, i + SPECIALS.length]));
  }

  /** The alphabet of `texts` (and `extra`), deterministic. */
  static fromTexts(texts: Iterable<string>, extra = ""): CharTokenizer {
    const set = new Set<string>(extra);
    for (const t of texts) for (const c of t) set.add(c);
    return new CharTokenizer(set);
  }

  get vocabSize(): number {
    return SPECIALS.length + this.chars.length;
  }

  encode(text: string): number[] {
    return Array.from(text, (c) => this.index.get(c) ?? this.unkId);
  }

  decode(ids: readonly number[]): string {
    let out = "";
    for (const id of ids) {
      if (id === this.unkId) out += "\uFFFD";
      else if (id >= SPECIALS.length && id < this.vocabSize) out += this.chars[id - SPECIALS.length];
    }
    return out;
  }

  toJSON(): TokenizerJSON {
    return { kind: "char", chars: [...this.chars] };
  }
}

/** UTF-8 bytes 0–255 are ids 0–255; `<pad>` 256, `<bos>` 257, `<eos>` 258. */
export class ByteTokenizer implements Tokenizer {
  readonly kind = "byte";
  readonly vocabSize = 259;
  readonly padId = 256;
  readonly bosId = 257;
  readonly eosId = 258;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });

  encode(text: string): number[] {
    return Array.from(this.encoder.encode(text));
  }

  decode(ids: readonly number[]): string {
    return this.decoder.decode(new Uint8Array(ids.filter((i) => i >= 0 && i < 256)));
  }

  toJSON(): TokenizerJSON {
    return { kind: "byte" };
  }
}

/** Which added token plays which role, by the names tokenizers commonly use. */
const ROLE_NAMES = {
  eos: ["</s>", "<|endoftext|>", "<eos>", "<|end_of_text|>", "[SEP]"],
  bos: ["<s>", "<bos>", "<|startoftext|>", "<|begin_of_text|>", "[CLS]"],
  pad: ["<pad>", "[PAD]", "<|pad|>"],
  sep: ["[SEP]", "<sep>", "</s>"],
};

/** Byte-level BPE from a Hugging Face tokenizer.json (GPT-2 style). */
export class BpeTokenizer implements Tokenizer {
  readonly kind = "bpe";
  readonly vocabSize: number;
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly sepId?: number;
  private readonly json: HfTokenizerJson;
  private readonly vocab: Map<string, number>;
  private readonly idToToken: Map<number, string>;
  private readonly ranks: Map<string, number>;
  private readonly added: Map<string, { id: number; special: boolean }>;
  private readonly addedPattern: RegExp | null;
  private readonly preTokenizer: PreTokenizerOptions;
  private readonly cache = new Map<string, number[]>();

  /** @param source file name (or other label) used in error messages. */
  constructor(json: unknown, source = "tokenizer.json") {
    this.json = validateBpeJson(json, source);
    const model = this.json.model;
    this.vocab = new Map(Object.entries(model.vocab));
    this.preTokenizer = preTokenizerOptions(this.json.pre_tokenizer, source);
    this.ranks = new Map(parseMerges(this.json, source).map(([a, b], i) => [`${a} ${b}`, i]));
    this.added = new Map((this.json.added_tokens ?? []).map((t) => [t.content, { id: t.id, special: t.special === true }]));
    this.idToToken = new Map([...this.vocab].map(([t, id]) => [id, t]));
    for (const [content, { id }] of this.added) this.idToToken.set(id, content);
    this.vocabSize = Math.max(-1, ...this.idToToken.keys()) + 1;
    const escaped = [...this.added.keys()].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    this.addedPattern = escaped.length ? new RegExp(`(${escaped.join("|")})`) : null;
    const role = (names: string[]) => names.map((n) => this.added.get(n)?.id ?? this.vocab.get(n)).find((id) => id !== undefined);
    const eos = role(ROLE_NAMES.eos);
    if (eos === undefined) throw new Error(`${source}: added_tokens: no end-of-sequence token (looked for ${ROLE_NAMES.eos.join(", ")})`);
    this.eosId = eos;
    this.bosId = role(ROLE_NAMES.bos) ?? eos;
    this.padId = role(ROLE_NAMES.pad) ?? eos;
    const sep = role(ROLE_NAMES.sep);
    if (sep !== undefined) this.sepId = sep;
  }

  /** Reads and validates a tokenizer.json file. */
  static fromFile(path: string): BpeTokenizer {
    return new BpeTokenizer(readJsonFile(path), path);
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    const pieces = this.addedPattern ? text.split(this.addedPattern) : [text];
    pieces.forEach((piece, i) => {
      if (i % 2 === 1) ids.push(this.added.get(piece)!.id);
      else if (piece) this.encodePlain(piece, ids);
    });
    return ids;
  }

  private encodePlain(text: string, out: number[]): void {
    let t = this.json.normalizer ? text.normalize(this.json.normalizer.type as "NFC" | "NFKC") : text;
    if (this.preTokenizer.addPrefixSpace && !/^\s/.test(t)) t = ` ${t}`;
    for (const word of preTokenize(t, this.preTokenizer.digits)) {
      let ids = this.cache.get(word);
      if (!ids) {
        const chars = toByteChars(word);
        const direct = this.json.model.ignore_merges ? this.vocab.get(chars) : undefined;
        const parts = direct !== undefined ? [chars] : bpeWord(chars, this.ranks);
        ids = parts.map((p) => {
          const id = this.vocab.get(p);
          if (id === undefined) throw new Error(`BpeTokenizer: token ${JSON.stringify(p)} (from ${JSON.stringify(word)}) is not in the vocabulary`);
          return id;
        });
        if (this.cache.size < 100_000) this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id); // no spread: a 10 MB word has millions of ids
    }
  }

  decode(ids: readonly number[]): string {
    let text = "";
    let chars = "";
    for (const id of ids) {
      const tok = this.idToToken.get(id);
      if (tok === undefined) continue;
      const added = this.added.get(tok);
      if (added) {
        text += fromByteChars(chars);
        chars = "";
        if (!added.special) text += tok;
      } else {
        chars += tok;
      }
    }
    return text + fromByteChars(chars);
  }

  toJSON(): TokenizerJSON {
    return structuredClone(this.json);
  }
}

/** Reads a JSON file; errors name the file. */
function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`${path}: cannot read tokenizer file: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Learns a byte-level BPE tokenizer from `texts` (a few seconds for ~1 MB at vocabSize 1024).
 * Save it with {@link saveTokenizer}; the file is a standard tokenizer.json.
 */
export function trainBpe(texts: Iterable<string>, vocabSize: number, opts: TrainBpeOptions = {}): BpeTokenizer {
  return new BpeTokenizer(trainBpeJson(texts, vocabSize, opts), "trainBpe");
}

/** Rebuilds a tokenizer from {@link Tokenizer.toJSON} output (or a Hugging Face tokenizer.json). */
export function tokenizerFromJSON(json: unknown, source = "tokenizer JSON"): Tokenizer {
  const j = json as { kind?: unknown; chars?: unknown };
  const hfKeys = ["model", "added_tokens", "pre_tokenizer", "version"];
  if (j && typeof j === "object" && hfKeys.some((k) => k in j)) return new BpeTokenizer(json, source);
  if (j?.kind === "byte") return new ByteTokenizer();
  if (j?.kind === "char") {
    if (!Array.isArray(j.chars) || !j.chars.every((c) => typeof c === "string")) throw new Error(`${source}: chars must be an array of strings`);
    return new CharTokenizer(j.chars as string[]);
  }
  throw new Error(`${source}: not a tokenizer (expected kind "char" or "byte", or a tokenizer.json with "model")`);
}

/** Reads a tokenizer file: a Hugging Face tokenizer.json or our char/byte JSON. */
export function loadTokenizer(path: string): Tokenizer {
  return tokenizerFromJSON(readJsonFile(path), path);
}

/** Writes `tokenizer.toJSON()` to `path` (a tokenizer.json for BPE). */
export function saveTokenizer(tokenizer: Tokenizer, path: string): void {
  fs.writeFileSync(path, `${JSON.stringify(tokenizer.toJSON(), null, 2)}\n`);
}
