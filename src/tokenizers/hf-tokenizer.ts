// Hugging Face tokenizers: a tokenizer.json (any model type, normalizer, pre-tokenizer,
// post-processor, decoder and added tokens) run by @huggingface/tokenizers, Hugging Face's pure
// JS implementation, plus the parts of tokenizer_config.json that transformers reads on top of it:
// which added token plays which role (bos, eos, pad, …), add_bos_token / add_eos_token, the padding
// side and whether decoding cleans up spaces.
//
// No tensors here: the language checks load a model folder's tokenizer with the same code.

import fs from "node:fs";
import path from "node:path";
import { Tokenizer as JsTokenizer } from "@huggingface/tokenizers";
import type { Tokenizer } from "./types.js";
import { WordCache } from "./word-cache.js";

export const TOKENIZER_JSON = "tokenizer.json";
export const TOKENIZER_CONFIG = "tokenizer_config.json";

/** The keys of tokenizer_config.json that peftlab reads (the file holds more; they are kept as read). */
export interface TokenizerConfig {
  bos_token?: TokenValue;
  eos_token?: TokenValue;
  pad_token?: TokenValue;
  unk_token?: TokenValue;
  sep_token?: TokenValue;
  cls_token?: TokenValue;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  padding_side?: "left" | "right";
  clean_up_tokenization_spaces?: boolean;
  [key: string]: unknown;
}

/** A token in tokenizer_config.json: its text, or an AddedToken object with `content`. */
type TokenValue = string | { content: string } | null;

/** Which added token plays which role when tokenizer_config.json does not say, by common names. */
const ROLE_NAMES = {
  eos: ["</s>", "<|endoftext|>", "<eos>", "<|end_of_text|>", "[SEP]"],
  bos: ["<s>", "<bos>", "<|startoftext|>", "<|begin_of_text|>", "[CLS]"],
  pad: ["<pad>", "[PAD]", "<|pad|>"],
  sep: ["[SEP]", "<sep>", "</s>"],
};

/** The tokenizer models @huggingface/tokenizers implements. */
const MODEL_TYPES = ["BPE", "WordPiece", "Unigram"];

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
}

/** A tokenizer.json (with its tokenizer_config.json) run by @huggingface/tokenizers. */
export class HfTokenizer implements Tokenizer {
  readonly kind = "hf";
  readonly vocabSize: number;
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly sepId?: number;
  readonly unkId?: number;
  /** Which side the batch padding goes (tokenizer_config.json `padding_side`, default right). */
  readonly paddingSide: "left" | "right";
  private readonly json: Record<string, unknown>;
  private readonly config: TokenizerConfig;
  private readonly impl: JsTokenizer;
  private readonly fast: WordCache;
  private readonly specialIds: Set<number>;
  private readonly cleanUp: boolean;

  /**
   * @param json a parsed tokenizer.json
   * @param config a parsed tokenizer_config.json ({} when the folder has none)
   * @param source file name used in error messages
   */
  constructor(json: unknown, config: unknown = {}, source = TOKENIZER_JSON) {
    const fail = (key: string, why: string): never => {
      throw new Error(`${source}: ${key}: ${why}`);
    };
    if (!isObject(json)) fail("(root)", "expected a JSON object");
    const j = json as Record<string, unknown>;
    if (!isObject(j["model"])) fail("model", "missing");
    const type = (j["model"] as { type?: unknown }).type;
    if (!MODEL_TYPES.includes(type as string)) fail("model.type", `must be one of ${MODEL_TYPES.join(", ")}, got ${JSON.stringify(type ?? null)}`);
    if (!isObject(config)) fail(TOKENIZER_CONFIG, "expected a JSON object");
    const added = Array.isArray(j["added_tokens"]) ? (j["added_tokens"] as unknown[]) : j["added_tokens"] == null ? [] : fail("added_tokens", "must be an array");
    added.forEach((t, i) => {
      const a = t as Partial<AddedTokenJson>;
      if (typeof a?.content !== "string" || a.content === "") fail(`added_tokens[${i}].content`, "must be a non-empty string");
      if (!Number.isInteger(a.id) || (a.id as number) < 0) fail(`added_tokens[${i}].id`, `must be a non-negative integer, got ${JSON.stringify(a.id)}`);
    });
    this.json = { ...j, added_tokens: added, normalizer: j["normalizer"] ?? null, pre_tokenizer: j["pre_tokenizer"] ?? null, post_processor: j["post_processor"] ?? null, decoder: j["decoder"] ?? null };
    this.config = config as TokenizerConfig;
    try {
      this.impl = new JsTokenizer(this.json, this.config);
    } catch (err) {
      throw new Error(`${source}: cannot load this tokenizer: ${(err as Error).message}`);
    }
    fasterWordCache(this.impl);
    fasterByteLevel(this.impl.pre_tokenizer);
    this.fast = new WordCache(this.impl);
    const vocab = this.impl.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) if (id > max) max = id;
    this.vocabSize = max + 1;
    this.specialIds = new Set((added as AddedTokenJson[]).filter((t) => t.special === true).map((t) => t.id));

    const idOf = (v: TokenValue | undefined): number | undefined => {
      const text = typeof v === "string" ? v : v && typeof v === "object" ? v.content : undefined;
      return text === undefined ? undefined : vocab.get(text);
    };
    const byName = (names: string[]) => names.map((n) => vocab.get(n)).find((id) => id !== undefined);
    const c = this.config;
    const eos = idOf(c.eos_token) ?? idOf(c.sep_token) ?? byName(ROLE_NAMES.eos);
    if (eos === undefined) {
      throw new Error(`${source}: no end-of-sequence token (tokenizer_config.json names none, and none of ${ROLE_NAMES.eos.join(", ")} is in the vocabulary)`);
    }
    this.eosId = eos;
    this.bosId = idOf(c.bos_token) ?? idOf(c.cls_token) ?? byName(ROLE_NAMES.bos) ?? eos;
    this.padId = idOf(c.pad_token) ?? byName(ROLE_NAMES.pad) ?? eos;
    const sep = idOf(c.sep_token) ?? byName(ROLE_NAMES.sep);
    if (sep !== undefined) this.sepId = sep;
    const model = j["model"] as { unk_token?: unknown; unk_id?: unknown };
    const unk = idOf(c.unk_token) ?? (typeof model.unk_token === "string" ? vocab.get(model.unk_token) : typeof model.unk_id === "number" ? model.unk_id : undefined);
    if (unk !== undefined) this.unkId = unk;
    this.paddingSide = c.padding_side === "left" ? "left" : "right";
    this.cleanUp = c.clean_up_tokenization_spaces === true;
  }

  /** Reads `<dir>/tokenizer.json` and, when present, `<dir>/tokenizer_config.json`. Errors name the file. */
  static fromDir(dir: string): HfTokenizer {
    return HfTokenizer.fromFile(path.join(dir, TOKENIZER_JSON));
  }

  /** Reads a tokenizer.json and the tokenizer_config.json next to it (when there is one). */
  static fromFile(file: string): HfTokenizer {
    const configFile = path.join(path.dirname(file), TOKENIZER_CONFIG);
    const config = path.basename(file) === TOKENIZER_JSON && fs.existsSync(configFile) ? readJsonFile(configFile) : {};
    return new HfTokenizer(readJsonFile(file), config, file);
  }

  /** Text → ids without any special token (the batcher adds bos/eos itself). */
  encode(text: string): number[] {
    return this.ids(text, false);
  }

  /**
   * Text → ids with the special tokens Hugging Face adds by default (`tokenizer(text)` in
   * transformers): tokenizer_config.json's add_bos_token / add_eos_token when it sets either (as
   * transformers does for Llama-style tokenizers), else tokenizer.json's post-processor.
   */
  encodeWithSpecialTokens(text: string): number[] {
    const { add_bos_token: bos, add_eos_token: eos } = this.config;
    if (typeof bos !== "boolean" && typeof eos !== "boolean") return this.ids(text, true);
    const ids = this.ids(text, false);
    if (bos === true) ids.unshift(this.bosId);
    if (eos === true) ids.push(this.eosId);
    return ids;
  }

  private ids(text: string, addSpecialTokens: boolean): number[] {
    const fast = addSpecialTokens ? this.fast.idsWithSpecials(text) : this.fast.ids(text);
    if (fast !== null) return fast;
    const raw = this.impl.encode(text, { add_special_tokens: addSpecialTokens }).ids;
    // A piece that is in no vocabulary (BPE without unk token or byte fallback) has no id: Hugging
    // Face's Rust library drops it, and so do we.
    const out: number[] = [];
    for (const id of raw) if (id !== undefined && id !== null) out.push(id);
    return out;
  }

  /** Ids → text with special tokens left out (spaces cleaned up when tokenizer_config.json says so). */
  decode(ids: readonly number[]): string {
    const kept = ids.filter((id) => Number.isInteger(id) && id >= 0 && id < this.vocabSize && !this.specialIds.has(id));
    if (kept.length === 0) return "";
    return this.impl.decode(kept, { skip_special_tokens: true, clean_up_tokenization_spaces: this.cleanUp });
  }

  /** The token text of an id (undefined when no token has it). */
  idToToken(id: number): string | undefined {
    return this.impl.id_to_token(id);
  }

  /** The id of a token text (undefined when it is not in the vocabulary). */
  tokenToId(token: string): number | undefined {
    return this.impl.token_to_id(token);
  }

  /** The tokenizer.json this tokenizer was built from (a copy). */
  toJSON(): Record<string, unknown> {
    return structuredClone(this.json);
  }

  /** The tokenizer_config.json it was built with (a copy; {} when there was none). */
  tokenizerConfig(): TokenizerConfig {
    return structuredClone(this.config);
  }
}

/**
 * @huggingface/tokenizers 0.2.0 keeps a BPE model's word → pieces results in an LRU cache of 10,000
 * words that moves every hit to the back (a Map delete and set). A pretraining corpus or the spam
 * e-mails have more distinct words than that, so most words were split again: encoding was 5–10×
 * slower than a plain cache. The model's cache is replaced by a plain Map of up to 200,000 words,
 * emptied when full (same results; only how long they are kept differs).
 */
function fasterWordCache(impl: JsTokenizer): void {
  const model = impl.model as unknown as { cache?: { get(k: string): unknown; put(k: string, v: unknown): void; clear(): void } } | null;
  if (!model?.cache || typeof model.cache.get !== "function" || typeof model.cache.put !== "function") return;
  const map = new Map<string, unknown>();
  model.cache = {
    get: (k) => map.get(k),
    put: (k, v) => {
      if (map.size >= 200_000) map.clear();
      map.set(k, v);
    },
    clear: () => map.clear(),
  };
}

interface ByteLevelLike {
  config?: { type?: string };
  byte_encoder?: Record<number, string>;
  text_encoder?: { encode(s: string): Uint8Array };
  tokenizers?: unknown[];
  pre_tokenize_text?: (text: string, options: unknown) => string[];
}

/**
 * The ByteLevel pre-tokenizer of @huggingface/tokenizers 0.2.0 turns every pre-token into bytes
 * with a TextEncoder call, an array and a join, most of the encoding time for English text. This
 * gives ASCII pre-tokens (one byte per character) a direct table lookup and leaves the rest to the
 * library's own code; the characters are the same.
 */
function fasterByteLevel(pre: unknown): void {
  const p = pre as ByteLevelLike | null;
  if (!p) return;
  if (Array.isArray(p.tokenizers)) for (const child of p.tokenizers) fasterByteLevel(child);
  if (p.config?.type !== "ByteLevel" || !p.byte_encoder || typeof p.pre_tokenize_text !== "function") return;
  const original = p.pre_tokenize_text.bind(p);
  const table = Array.from({ length: 128 }, (_, b) => p.byte_encoder![b]!);
  const encoder = p.byte_encoder;
  const enc = p.text_encoder ?? new TextEncoder();
  p.pre_tokenize_text = (text: string, options: unknown): string[] => {
    const pieces = splitOnly(p, text);
    if (!pieces) return original(text, options);
    const out = new Array<string>(pieces.length);
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      let ascii = "";
      let k = 0;
      for (; k < piece.length; k++) {
        const c = piece.charCodeAt(k);
        if (c >= 128) break;
        ascii += table[c];
      }
      if (k === piece.length) out[i] = ascii;
      else {
        let chars = "";
        for (const b of enc.encode(piece)) chars += encoder[b];
        out[i] = chars;
      }
    }
    return out;
  };
}

/** ByteLevel's own split (prefix space, then its regex or the whole text), as the library does it. */
function splitOnly(p: ByteLevelLike, text: string): string[] | null {
  const q = p as ByteLevelLike & { add_prefix_space?: boolean; use_regex?: boolean; pattern?: RegExp };
  if (typeof q.add_prefix_space !== "boolean" || typeof q.use_regex !== "boolean" || !(q.pattern instanceof RegExp)) return null;
  if (q.add_prefix_space && !text.startsWith(" ")) text = ` ${text}`;
  return q.use_regex ? (text.match(q.pattern) ?? []) : [text];
}

function isObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads a JSON file; errors name the file. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`${file}: cannot read tokenizer file: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Why a model folder's tokenizer cannot be used, or null when it loads: for the language checks,
 * which read files through their own `readFile` (null = the file is absent).
 */
export function tokenizerProblem(readFile: (name: string) => string | null): string | null {
  const text = readFile(TOKENIZER_JSON);
  if (text === null) return null;
  try {
    const configText = readFile(TOKENIZER_CONFIG);
    const parse = (t: string, name: string) => {
      try {
        return JSON.parse(t) as unknown;
      } catch (err) {
        throw new Error(`${name}: not valid JSON: ${(err as Error).message}`);
      }
    };
    new HfTokenizer(parse(text, TOKENIZER_JSON), configText === null ? {} : parse(configText, TOKENIZER_CONFIG));
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
