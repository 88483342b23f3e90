// Fast encoding for @huggingface/tokenizers 0.2.0: the library's own steps (added-token split,
// normalizer, pre-tokenizer, model, id lookup), with the model's ids kept per pre-tokenized word in a
// Map so that a word seen before costs one lookup. The library calls its model on a whole section at
// once and keeps only 10,000 words in an LRU cache, so a corpus of e-mails spent most of its time
// splitting words again.
//
// Results are those of Hugging Face's Rust library, which runs the model per pre-tokenized word:
// - unknown pieces are fused per word (`fuse_unk`), as in Rust (the JS library fuses across words);
// - a BPE model without a pre-tokenizer (Llama-2's tokenizer.json: the whole text is one word) gets
//   its word cut before each "▁" that follows another character, when no merge of the vocabulary
//   can join a character to a following "▁" (then no token can span the cut, and BPE on the pieces
//   equals BPE on the whole; see `safeMetaspaceCuts`);
// - BPE merge ranks are looked up in nested Maps instead of JSON-encoded pairs.
// Special tokens that the post-processor adds are found once by running it on a marker token.

import type { Tokenizer as JsTokenizer } from "@huggingface/tokenizers";

/** The parts of the library's Tokenizer object this file uses (its fields are not in its typings). */
interface Impl {
  normalizer: ((text: string) => string) | null;
  pre_tokenizer: ((text: string, options: { section_index: number }) => string[]) | null;
  model: ModelImpl;
  post_processor: ((a: string[], b: null, addSpecial: boolean) => { tokens: string[] }) | null;
  added_tokens_map: Map<string, { id: number; lstrip: boolean; rstrip: boolean }>;
  splitter_unnormalized: { split(text: string): string[] };
  splitter_normalized: { split(text: string): string[] };
  remove_space?: boolean;
  do_lowercase_and_remove_accent?: boolean;
}

interface ModelImpl {
  (words: string[]): string[];
  config: { type?: string; dropout?: unknown; ignore_merges?: boolean; end_of_word_suffix?: unknown; continuing_subword_suffix?: unknown };
  tokens_to_ids: Map<string, number>;
  unk_token_id: number | undefined;
  fuse_unk: boolean;
  merges?: [string, string][];
  bpe_ranks?: Map<string, number>;
  add_node?: (queue: { push(n: unknown): void }, node: { token: string; next: { token: string }; bias: number; score?: number }) => void;
}

/** Words longer than this are split every time (they are rarely repeated). */
const MAX_CACHED_WORD = 256;
/** The cache is emptied when it holds this many words. */
const MAX_WORDS = 500_000;
const MARKER = "\u0000peftlab-sequence\u0000";

/** Encodes text as the wrapped library tokenizer does, with a per-word cache; `ids` returns null when it cannot (the caller then uses the library). */
export class WordCache {
  private readonly impl: Impl;
  private readonly words = new Map<string, readonly number[]>();
  /** Ids the post-processor puts before and after a single sequence; null when it does something else. */
  private readonly specials: { before: number[]; after: number[] } | null;
  /** Whether the model's word may be cut before "▁" (see the file comment). */
  private readonly metaspaceCuts: boolean;
  /** False when the tokenizer uses options this file does not reproduce. */
  readonly usable: boolean;

  constructor(lib: JsTokenizer) {
    this.impl = lib as unknown as Impl;
    const m = this.impl.model;
    this.usable = this.impl.remove_space !== true && this.impl.do_lowercase_and_remove_accent !== true && typeof m === "function"
      && m.tokens_to_ids instanceof Map && (m.config.type !== "BPE" || m.config.dropout == null);
    fasterMergeRanks(m);
    this.metaspaceCuts = this.impl.pre_tokenizer === null && safeMetaspaceCuts(m);
    this.specials = this.findSpecials();
  }

  /** Ids without special tokens, or null when this tokenizer is not supported here. */
  ids(text: string): number[] | null {
    if (!this.usable) return null;
    const out: number[] = [];
    const { impl } = this;
    const sections = stripAround(impl, impl.splitter_unnormalized.split(text));
    sections.forEach((section, sectionIndex) => {
      if (section.length === 0) return;
      const added = impl.added_tokens_map.get(section);
      if (added) return void out.push(added.id);
      const normalized = impl.normalizer ? impl.normalizer(section) : section;
      if (normalized.length === 0) return;
      for (const sub of stripAround(impl, impl.splitter_normalized.split(normalized))) {
        if (sub.length === 0) continue;
        const addedSub = impl.added_tokens_map.get(sub);
        if (addedSub) {
          out.push(addedSub.id);
          continue;
        }
        const words = impl.pre_tokenizer ? impl.pre_tokenizer(sub, { section_index: sectionIndex }) : [sub];
        for (const w of words) this.wordIds(w, out);
      }
    });
    return out;
  }

  /** Ids with the post-processor's special tokens around them, or null when not supported here. */
  idsWithSpecials(text: string): number[] | null {
    if (!this.specials) return null;
    const ids = this.ids(text);
    return ids === null ? null : [...this.specials.before, ...ids, ...this.specials.after];
  }

  /** Appends the model's ids of one pre-tokenized word to `out`. */
  private wordIds(word: string, out: number[]): void {
    if (word.length === 0) return;
    const hit = this.words.get(word);
    if (hit) {
      for (let i = 0; i < hit.length; i++) out.push(hit[i]!);
      return;
    }
    const ids = this.metaspaceCuts && word.length > 1 ? this.cutWordIds(word) : this.modelIds([word]);
    if (word.length <= MAX_CACHED_WORD) {
      if (this.words.size >= MAX_WORDS) this.words.clear();
      this.words.set(word, ids);
    }
    for (const id of ids) out.push(id);
  }

  /** The model's ids of a word cut before each "▁" that follows another character, unknown runs fused across cuts. */
  private cutWordIds(word: string): number[] {
    const m = this.impl.model;
    const out: number[] = [];
    for (const piece of word.split(/(?<=[^\u2581])(?=\u2581)/u)) {
      let ids = this.words.get(piece) as number[] | undefined;
      if (!ids) {
        ids = this.modelIds([piece]);
        if (piece.length <= MAX_CACHED_WORD && this.words.size < MAX_WORDS) this.words.set(piece, ids);
      }
      const fuse = m.fuse_unk && m.unk_token_id !== undefined && out.length > 0 && out[out.length - 1] === m.unk_token_id && ids[0] === m.unk_token_id;
      for (let i = fuse ? 1 : 0; i < ids.length; i++) out.push(ids[i]!);
    }
    return out;
  }

  /** The library's model on `words`, its tokens turned into ids as the library does (pieces with no id dropped, as Rust does). */
  private modelIds(words: string[]): number[] {
    const { impl } = this;
    const m = impl.model;
    const out: number[] = [];
    for (const t of m(words)) {
      const id = impl.added_tokens_map.get(t)?.id ?? m.tokens_to_ids.get(t) ?? m.unk_token_id;
      if (id !== undefined && id !== null) out.push(id);
    }
    return out;
  }

  /** Runs the post-processor on a marker: the ids it adds before and after one sequence. */
  private findSpecials(): { before: number[]; after: number[] } | null {
    const post = this.impl.post_processor;
    if (!this.usable) return null;
    if (!post) return { before: [], after: [] };
    let tokens: string[];
    try {
      tokens = post([MARKER], null, true).tokens;
    } catch {
      return null;
    }
    const at = tokens.indexOf(MARKER);
    if (at < 0 || tokens.indexOf(MARKER, at + 1) >= 0) return null;
    const m = this.impl.model;
    const toIds = (ts: string[]) => ts.map((t) => this.impl.added_tokens_map.get(t)?.id ?? m.tokens_to_ids.get(t) ?? m.unk_token_id);
    const before = toIds(tokens.slice(0, at));
    const after = toIds(tokens.slice(at + 1));
    if ([...before, ...after].some((id) => id === undefined || id === null)) return null;
    return { before: before as number[], after: after as number[] };
  }
}

/** The library's lstrip / rstrip of the text beside added tokens, in place; returns the sections. */
function stripAround(impl: Impl, sections: string[]): string[] {
  for (let i = 0; i < sections.length; i++) {
    const added = impl.added_tokens_map.get(sections[i]!);
    if (!added) continue;
    if (added.lstrip && i > 0) sections[i - 1] = sections[i - 1]!.trimEnd();
    if (added.rstrip && i < sections.length - 1) sections[i + 1] = sections[i + 1]!.trimStart();
  }
  return sections;
}

/**
 * True when cutting a BPE word before a "▁" that follows another character cannot change its tokens:
 * a plain BPE (no suffixes, dropout or whole-word lookup) none of whose merges yields a token with a
 * character other than "▁" directly before a "▁". Tokens only grow by merges, so no token can then
 * span such a cut, and merges on either side never compete (ties go to the leftmost pair on each side).
 */
export function safeMetaspaceCuts(m: Pick<ModelImpl, "config" | "merges">): boolean {
  const c = m.config;
  if (c.type !== "BPE" || !Array.isArray(m.merges) || c.dropout != null || c.ignore_merges || c.end_of_word_suffix || c.continuing_subword_suffix) return false;
  return !m.merges.some(([a, b]) => /[^\u2581]\u2581/u.test(a + b));
}

/**
 * The library looks up each candidate pair's merge rank with JSON.stringify([a, b]) as the key; this
 * gives the BPE model the same ranks from nested Maps (first token, then second).
 */
function fasterMergeRanks(m: ModelImpl): void {
  if (m.config.type !== "BPE" || !Array.isArray(m.merges) || typeof m.add_node !== "function") return;
  const ranks = new Map<string, Map<string, number>>();
  m.merges.forEach(([a, b], i) => {
    let inner = ranks.get(a);
    if (!inner) ranks.set(a, (inner = new Map()));
    // The library's Map keeps the last rank of a pair listed twice.
    inner.set(b, i);
  });
  m.add_node = (queue, node) => {
    const rank = ranks.get(node.token)?.get(node.next.token);
    if (rank !== undefined) {
      node.score = rank + node.bias;
      queue.push(node);
    }
  };
}
