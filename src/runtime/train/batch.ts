// The tensor side of a batch: plain typed arrays from the data layer become tensors here,
// and the two losses (causal LM with prompt tokens masked out, classification) live here.
import * as tf from "../tensor/tf.js";
import { softmaxCrossEntropy } from "../tensor/ops/index.js";
import { type Batch, IGNORE_INDEX } from "../data/types.js";

export interface BatchTensors {
  ids: tf.Tensor2D;
  mask: tf.Tensor2D;
  /** causal: shifted targets [size·length] (IGNORE_INDEX → 0) and weights; classification: [size]. */
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
      if (label !== IGNORE_INDEX) {
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
