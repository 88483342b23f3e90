// The tensor side of a batch: plain typed arrays from the data layer become tensors here,
// and the two losses (causal LM with prompt tokens masked out, classification) live here.
import * as tf from "./tf.js";
import { softmaxCrossEntropy } from "./ops/index.js";

/** Ignored target (prompt tokens, padding) — the PyTorch convention. */
export const IGNORE = -100;

/** A batch as the data layer produces it: no tensors. */
export interface Batch {
  kind: "causal" | "classification";
  size: number;
  length: number;
  /** [size·length] token ids. */
  ids: Int32Array;
  /** [size·length]: 1 for real tokens, 0 for padding. */
  mask: Float32Array;
  /**
   * causal: [size·length] aligned with ids — labels[t] is the token at position t when it is
   * scored (completion and eos), IGNORE otherwise; the loss predicts labels[t+1] from position t.
   * classification: [size] class indices.
   */
  labels: Int32Array;
  /** Number of real (non-padding) tokens. */
  tokens: number;
}

export interface BatchTensors {
  ids: tf.Tensor2D;
  mask: tf.Tensor2D;
  /** causal: shifted targets [size·length] (IGNORE → 0) and weights; classification: [size]. */
  targets: tf.Tensor1D;
  weights: tf.Tensor1D;
}

/** Builds the tensors of a batch (caller disposes with disposeBatch). */
export function toTensors(b: Batch): BatchTensors {
  const ids = tf.tensor2d(b.ids, [b.size, b.length], "int32");
  const mask = tf.tensor2d(b.mask, [b.size, b.length], "float32");
  if (b.kind === "classification") {
    return { ids, mask, targets: tf.tensor1d(b.labels, "int32"), weights: tf.ones([b.size]) as tf.Tensor1D };
  }
  const n = b.size * b.length;
  const t = new Int32Array(n);
  const w = new Float32Array(n);
  for (let i = 0; i < b.size; i++) {
    for (let j = 0; j < b.length - 1; j++) {
      const label = b.labels[i * b.length + j + 1];
      if (label !== IGNORE) {
        t[i * b.length + j] = label;
        w[i * b.length + j] = 1;
      }
    }
  }
  return { ids, mask, targets: tf.tensor1d(t, "int32"), weights: tf.tensor1d(w, "float32") };
}

export function disposeBatch(t: BatchTensors): void {
  t.ids.dispose();
  t.mask.dispose();
  t.targets.dispose();
  t.weights.dispose();
}

/** Mean cross-entropy of logits [N, C] against targets [N], weighted by weights [N]. */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  return softmaxCrossEntropy(logits, targets, weights);
}

/** The task loss for model logits: causal [B, T, V] or classification [B, L]. */
export function taskLoss(logits: tf.Tensor, bt: BatchTensors): tf.Scalar {
  const c = logits.shape[logits.shape.length - 1];
  return crossEntropy(logits.reshape([-1, c]) as tf.Tensor2D, bt.targets, bt.weights);
}
