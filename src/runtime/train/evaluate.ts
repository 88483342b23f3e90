// Evaluation: loss over batches, exact match with greedy decoding for generation tasks, and
// accuracy for classification. Everything runs in inference mode (no dropout, no tape).
import * as tf from "../tensor/tf.js";
import type { Batch } from "../data/types.js";
import { disposeBatch, taskLoss, toTensors } from "./batch.js";
import { inferenceCtx } from "../tensor/nn.js";
import type { FamilyModel } from "../models/model.js";

/** What decoding needs of a tokenizer. */
export interface DecodingTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  bosId: number;
  eosId: number;
  padId: number;
}

/** Mean loss over batches, weighted by the number of scored targets. */
export function evaluateLoss(model: FamilyModel, batches: Iterable<Batch>): number {
  let total = 0;
  let weight = 0;
  for (const b of batches) {
    const t = toTensors(b);
    const [loss, w] = tf.tidy(() => {
      const logits = model.forward(t.ids, t.mask, inferenceCtx());
      return [taskLoss(logits, t), tf.sum(t.weights)];
    });
    const wv = w.dataSync()[0];
    total += loss.dataSync()[0] * wv;
    weight += wv;
    loss.dispose();
    w.dispose();
    disposeBatch(t);
  }
  return weight > 0 ? total / weight : NaN;
}

/** The argmax class of every classification example, in batch order. */
export function classify(model: FamilyModel, batches: Iterable<Batch>): number[] {
  const out: number[] = [];
  for (const b of batches) {
    const t = toTensors(b);
    const pred = tf.tidy(() => tf.argMax(model.forward(t.ids, t.mask, inferenceCtx()), -1));
    const p = pred.dataSync();
    for (let i = 0; i < b.size; i++) out.push(p[i]!);
    pred.dispose();
    disposeBatch(t);
  }
  return out;
}

/** Fraction of classification examples whose argmax matches the label. */
export function evaluateAccuracy(model: FamilyModel, batches: Iterable<Batch>): number {
  const list = [...batches];
  const labels = list.flatMap((b) => Array.from(b.labels.slice(0, b.size)));
  const predicted = classify(model, list);
  return labels.length > 0 ? predicted.filter((p, i) => p === labels[i]).length / labels.length : NaN;
}

export interface GenerationResult {
  exactMatch: number;
  predictions: { prompt: string; expected: string; predicted: string }[];
}

/**
 * Greedy decoding of `completion` after `bos + prompt`, scored by exact match. Sequences are
 * padded on the right, so each example reads the logits at its own last position.
 */
export function greedyExactMatch(
  model: FamilyModel,
  examples: { prompt: string; completion: string }[],
  tok: DecodingTokenizer,
  opts: { batch: number; maxNewTokens?: number } = { batch: 32 },
): GenerationResult {
  const context = model.config.maxPositions;
  const predictions: GenerationResult["predictions"] = [];
  let right = 0;
  for (let start = 0; start < examples.length; start += opts.batch) {
    const group = examples.slice(start, start + opts.batch);
    const seqs = group.map((e) => [tok.bosId, ...tok.encode(e.prompt)]);
    const generated: number[][] = group.map(() => []);
    const done = group.map(() => false);
    const limit = opts.maxNewTokens ?? Math.max(...group.map((e) => tok.encode(e.completion).length)) + 1;
    for (let step = 0; step < limit && done.some((d) => !d); step++) {
      const len = Math.min(context, Math.max(...seqs.map((s) => s.length)));
      const b = seqs.length;
      const ids = new Int32Array(b * len).fill(tok.padId);
      const mask = new Float32Array(b * len);
      const last = new Int32Array(b);
      seqs.forEach((s, i) => {
        const view = s.slice(-len); // keep the most recent tokens if the context is exceeded
        view.forEach((id, j) => {
          ids[i * len + j] = id;
          mask[i * len + j] = 1;
        });
        last[i] = i * len + view.length - 1;
      });
      const next = tf.tidy(() => {
        const logits = model.forward(tf.tensor2d(ids, [b, len], "int32"), tf.tensor2d(mask, [b, len]), inferenceCtx());
        const v = logits.shape[2]!;
        return tf.argMax(tf.gather(logits.reshape([b * len, v]), tf.tensor1d(last, "int32")), -1);
      });
      const nv = next.dataSync();
      next.dispose();
      seqs.forEach((s, i) => {
        if (done[i]) return;
        if (nv[i] === tok.eosId) {
          done[i] = true;
          return;
        }
        s.push(nv[i]);
        generated[i].push(nv[i]);
      });
    }
    group.forEach((e, i) => {
      const predicted = tok.decode(generated[i]);
      if (predicted === e.completion) right++;
      predictions.push({ prompt: e.prompt, expected: e.completion, predicted });
    });
  }
  return { exactMatch: examples.length ? right / examples.length : NaN, predictions };
}

/**
 * The answer a model that learnt nothing but the training split's majority would give: its most
 * common label (classification) or completion (generation), the first seen on a tie. Returns that
 * answer's accuracy on `scored` (a fraction, NaN when nothing is scored).
 */
export function majorityScore<E>(train: readonly E[], scored: readonly E[], answerOf: (e: E) => string | number): number {
  const counts = new Map<string | number, number>();
  for (const e of train) counts.set(answerOf(e), (counts.get(answerOf(e)) ?? 0) + 1);
  let best: string | number | undefined;
  let bestCount = 0;
  for (const [answer, c] of counts) if (c > bestCount) [best, bestCount] = [answer, c];
  if (scored.length === 0) return NaN;
  return best === undefined ? 0 : scored.filter((e) => answerOf(e) === best).length / scored.length;
}
