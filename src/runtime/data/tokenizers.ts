// Tokenizers: character, byte, and Hugging Face tokenizer.json files (any kind, through
// @huggingface/tokenizers; see src/tokenizers/hf-tokenizer.ts).
//
// Every tokenizer has pad/bos/eos ids and round-trips through toJSON() → tokenizerFromJSON().
// A Hugging Face tokenizer's toJSON() is its tokenizer.json, and the BPE tokenizers peftlab trains
// (for pretraining) are such files, loaded through the same path.

import fs from "node:fs";
import { HfTokenizer, readJsonFile, TOKENIZER_JSON } from "../../tokenizers/hf-tokenizer.js";
import type { Tokenizer } from "../../tokenizers/types.js";
import { trainBpeJson, type TrainBpeOptions } from "./bpe_train.js";

export type { Tokenizer, TokenizerKind } from "../../tokenizers/types.js";
export { HfTokenizer, type TokenizerConfig } from "../../tokenizers/hf-tokenizer.js";

/** What {@link Tokenizer.toJSON} gives: our char/byte JSON or a Hugging Face tokenizer.json. */
export type TokenizerJSON = { kind: "char"; chars: string[] } | { kind: "byte" } | Record<string, unknown>;

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

/**
 * Learns a byte-level BPE tokenizer from `texts` (a few seconds for ~1 MB at vocabSize 1024). Its
 * toJSON() is a standard tokenizer.json; <pad>, <bos>, <eos> are its first ids.
 */
export function trainBpe(texts: Iterable<string>, vocabSize: number, opts: TrainBpeOptions = {}): HfTokenizer {
  return new HfTokenizer(trainBpeJson(texts, vocabSize, opts), {}, "trainBpe");
}

/** Rebuilds a tokenizer from {@link Tokenizer.toJSON} output (or a Hugging Face tokenizer.json). */
export function tokenizerFromJSON(json: unknown, source = "tokenizer JSON"): Tokenizer {
  const j = json as { kind?: unknown; chars?: unknown };
  if (j && typeof j === "object" && "model" in j) return new HfTokenizer(json, {}, source);
  if (j?.kind === "byte") return new ByteTokenizer();
  if (j?.kind === "char") {
    if (!Array.isArray(j.chars) || !j.chars.every((c) => typeof c === "string")) throw new Error(`${source}: chars must be an array of strings`);
    return new CharTokenizer(j.chars as string[]);
  }
  throw new Error(`${source}: not a tokenizer (expected kind "char" or "byte", or a tokenizer.json with "model")`);
}

/**
 * Reads a tokenizer: a model folder (its tokenizer.json and tokenizer_config.json), a Hugging Face
 * tokenizer.json (with the tokenizer_config.json next to it, if any) or our char/byte JSON.
 */
export function loadTokenizer(file: string): Tokenizer {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) return HfTokenizer.fromDir(file);
  const json = readJsonFile(file);
  if (json && typeof json === "object" && "model" in json) return HfTokenizer.fromFile(file);
  return tokenizerFromJSON(json, file);
}

/**
 * A model folder's tokenizer, read on first use: a run that encodes its data with another
 * tokenizer never reads the folder's tokenizer.json, so one that cannot be loaded does not stop it.
 */
export class FolderTokenizer implements Tokenizer {
  private loaded: Tokenizer | null = null;
  constructor(readonly dir: string) {}
  get file(): string {
    return `${this.dir}/${TOKENIZER_JSON}`;
  }
  private get t(): Tokenizer {
    return (this.loaded ??= HfTokenizer.fromDir(this.dir));
  }
  get kind() {
    return this.t.kind;
  }
  get vocabSize() {
    return this.t.vocabSize;
  }
  get padId() {
    return this.t.padId;
  }
  get bosId() {
    return this.t.bosId;
  }
  get eosId() {
    return this.t.eosId;
  }
  get sepId() {
    return this.t.sepId;
  }
  encode(text: string): number[] {
    return this.t.encode(text);
  }
  decode(ids: readonly number[]): string {
    return this.t.decode(ids);
  }
  toJSON(): unknown {
    return this.t.toJSON();
  }
}

/** Writes `tokenizer.toJSON()` to `path` (a tokenizer.json for Hugging Face tokenizers). */
export function saveTokenizer(tokenizer: Tokenizer, path: string): void {
  fs.writeFileSync(path, `${JSON.stringify(tokenizer.toJSON(), null, 2)}\n`);
}
