// Examples → padded int32 batches (plain typed arrays; the trainer makes the tensors).
//
// Causal LM:       ids    = <bos> prompt completion <eos> <pad>…
//                  labels = IGNORE_INDEX for <bos>, prompt and padding; the token itself for completion
//                           and <eos> (aligned with ids: the loss predicts labels[t+1] at t)
// Classification:  ids    = <bos> text <eos> <pad>…, labels = [label] per row
// mask is 1 on real tokens. Rows are right-padded to the longest row of the batch.
//
// Too long: a causal example loses prompt tokens from the left (just after <bos>) so the whole
// completion stays; if even the completion does not fit, its end is cut. Classification text is
// cut at the right. Either way the batcher counts it and reports once through `log`.

import { Rng } from "../rng.js";
import type { Tokenizer } from "./tokenizers.js";
import { type Batch, type Dataset, type Example, IGNORE_INDEX } from "./types.js";

/** Options of {@link Batcher} and {@link batchesOf}. */
export interface BatchOptions {
  /** Rows per batch. */
  batch: number;
  /** Longest sequence in tokens, <bos> and <eos> included (at least 3). */
  maxLength: number;
  /** Receives one line when examples had to be truncated. */
  log?: (line: string) => void;
}

/** How much truncation the encoded examples needed. */
export interface TruncationReport {
  examples: number;
  promptTokensDropped: number;
  completionsCut: number;
}

interface Encoded {
  ids: number[];
  /** causal: labels aligned with ids; classification: [label]. */
  labels: number[];
}

function checkOptions(opts: BatchOptions): void {
  if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new Error(`batching: batch must be a positive integer, got ${opts.batch}`);
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 3) throw new Error(`batching: maxLength must be an integer >= 3, got ${opts.maxLength}`);
}

function encodeGeneration(tok: Tokenizer, prompt: string, completion: string, maxLength: number, report: TruncationReport): Encoded {
  let p = tok.encode(prompt);
  let scored = [...tok.encode(completion), tok.eosId];
  const room = maxLength - 1; // after <bos>
  if (p.length + scored.length > room) {
    report.examples++;
    const keep = Math.max(0, room - scored.length);
    report.promptTokensDropped += p.length - keep;
    p = p.slice(p.length - keep);
    if (scored.length > room) {
      report.completionsCut++;
      scored = scored.slice(0, room);
    }
  }
  const ids = [tok.bosId, ...p, ...scored];
  const labels = [IGNORE_INDEX, ...p.map(() => IGNORE_INDEX), ...scored];
  return { ids, labels };
}

function encodeClassification(tok: Tokenizer, text: string, label: number, maxLength: number, report: TruncationReport): Encoded {
  let t = tok.encode(text);
  if (t.length + 2 > maxLength) {
    report.examples++;
    report.promptTokensDropped += t.length - (maxLength - 2);
    t = t.slice(0, maxLength - 2);
  }
  return { ids: [tok.bosId, ...t, tok.eosId], labels: [label] };
}

/** Encodes every example once; reports truncation through `log`. */
function encodeAll(examples: readonly Example[], dataset: Dataset, opts: BatchOptions): { rows: Encoded[]; report: TruncationReport } {
  checkOptions(opts);
  const report: TruncationReport = { examples: 0, promptTokensDropped: 0, completionsCut: 0 };
  const tok = dataset.tokenizer;
  const rows = examples.map((e, i) => {
    if (dataset.kind === "generation") {
      if (!("prompt" in e)) throw new Error(`batching: example ${i} has no prompt/completion but the dataset is for generation`);
      return encodeGeneration(tok, e.prompt, e.completion, opts.maxLength, report);
    }
    if (!("text" in e)) throw new Error(`batching: example ${i} has no text/label but the dataset is for classification`);
    return encodeClassification(tok, e.text, e.label, opts.maxLength, report);
  });
  if (report.examples > 0) {
    const what = dataset.kind === "generation" ? `${report.promptTokensDropped} prompt tokens dropped from the left, ${report.completionsCut} completions cut` : `${report.promptTokensDropped} tokens cut from the end`;
    opts.log?.(`data: ${report.examples} of ${examples.length} examples longer than maxLength ${opts.maxLength}: ${what}`);
  }
  return { rows, report };
}

/** Pads the given rows into one batch. */
function collate(rows: Encoded[], kind: Dataset["kind"], padId: number): Batch {
  const size = rows.length;
  const length = Math.max(...rows.map((r) => r.ids.length));
  const ids = new Int32Array(size * length).fill(padId);
  const mask = new Float32Array(size * length);
  const labels = kind === "generation" ? new Int32Array(size * length).fill(IGNORE_INDEX) : new Int32Array(size);
  let tokens = 0;
  rows.forEach((r, i) => {
    ids.set(r.ids, i * length);
    mask.fill(1, i * length, i * length + r.ids.length);
    if (kind === "generation") labels.set(r.labels, i * length);
    else labels[i] = r.labels[0]!;
    tokens += r.ids.length;
  });
  return { kind: kind === "generation" ? "causal" : "classification", size, length, ids, mask, labels, tokens };
}

/** One pass over `examples` in order (evaluation); the last batch may be smaller. */
export function batchesOf(examples: readonly Example[], dataset: Dataset, opts: BatchOptions): Batch[] {
  const { rows } = encodeAll(examples, dataset, opts);
  const out: Batch[] = [];
  for (let i = 0; i < rows.length; i += opts.batch) out.push(collate(rows.slice(i, i + opts.batch), dataset.kind, dataset.tokenizer.padId));
  return out;
}

/** Where a {@link Batcher} is: epoch and position in that epoch's order. */
export interface BatcherState {
  epoch: number;
  position: number;
  /** Guards against restoring into a batcher over different data. */
  examples: number;
}

/**
 * Endless training batches: each epoch visits every example once in a seeded order (epoch e's
 * order depends only on the seed and e), and a batch that reaches the end of an epoch continues
 * with the next one, so every batch is full. {@link state}/{@link restore} resume exactly.
 */
export class Batcher {
  private readonly rows: Encoded[];
  private readonly kind: Dataset["kind"];
  private readonly padId: number;
  private order: number[] = [];
  private epoch = 0;
  private position = 0;
  /** Truncation needed by the examples (see {@link BatchOptions.log}). */
  readonly truncation: TruncationReport;

  constructor(
    examples: readonly Example[],
    dataset: Dataset,
    private readonly opts: BatchOptions & { seed: number },
  ) {
    if (examples.length === 0) throw new Error("Batcher: no examples to batch (the split is empty)");
    const { rows, report } = encodeAll(examples, dataset, opts);
    this.rows = rows;
    this.truncation = report;
    this.kind = dataset.kind;
    this.padId = dataset.tokenizer.padId;
    this.order = this.orderOf(0);
  }

  private orderOf(epoch: number): number[] {
    const rng = new Rng(this.opts.seed).fork(`batcher/epoch/${epoch}`);
    return rng.shuffle(Array.from({ length: this.rows.length }, (_, i) => i));
  }

  /** The next training batch. */
  next(): Batch {
    const picked: Encoded[] = [];
    while (picked.length < this.opts.batch) {
      if (this.position === this.rows.length) {
        this.epoch++;
        this.position = 0;
        this.order = this.orderOf(this.epoch);
      }
      picked.push(this.rows[this.order[this.position++]!]!);
    }
    return collate(picked, this.kind, this.padId);
  }

  state(): BatcherState {
    return { epoch: this.epoch, position: this.position, examples: this.rows.length };
  }

  restore(state: BatcherState): void {
    const ok = Number.isInteger(state?.epoch) && Number.isInteger(state.position) && state.position >= 0 && state.position <= this.rows.length;
    if (!ok || state.examples !== this.rows.length) {
      throw new Error(`Batcher.restore: state ${JSON.stringify(state)} does not fit ${this.rows.length} examples`);
    }
    this.epoch = state.epoch;
    this.position = state.position;
    this.order = this.orderOf(state.epoch);
  }
}
