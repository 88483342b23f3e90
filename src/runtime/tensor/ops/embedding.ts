// Embedding lookup: rows of a table [V, C] picked by integer ids of any shape.
import * as tf from "../tf.js";
import { expectRank, hasNative, registerFusedGradient, runFused } from "./fused.js";

/**
 * Native kernel: inputs {table [V, C] float32, ids int32 (any shape)} → [...ids.shape, C]. An id
 * outside [0, V) is an error that names it.
 */
export const EMBEDDING = "PeftlabEmbedding";

/** table [V, C], ids int32 [...] → [..., C]. */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  expectRank("embeddingLookup", "table", table, 2, "[V, C]");
  if (ids.dtype !== "int32") throw new Error(`Error in embeddingLookup: ids must be int32, got ${ids.dtype} [${ids.shape.join(", ")}]`);
  if (hasNative(EMBEDDING)) return runFused(EMBEDDING, { table, ids }, {})[0]!;
  return embeddingLookupComposite(table, ids);
}

/** The same op from stock tfjs ops. */
export function embeddingLookupComposite(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  return tf.gather(table, ids.reshape([-1])).reshape([...ids.shape, table.shape[1]]);
}

registerFusedGradient({
  kernelName: EMBEDDING,
  inputsToSave: ["table", "ids"],
  gradFunc: (dy, saved) => {
    const [table, ids] = saved as [tf.Tensor2D, tf.Tensor];
    const [v, c] = table.shape;
    return {
      // Tables are frozen in fine-tuning, so this rarely runs: each row gets the sum of its lookups' gradients.
      table: () => tf.unsortedSegmentSum((dy as tf.Tensor).reshape([-1, c]), ids.reshape([-1]) as tf.Tensor1D, v),
      ids: () => tf.zerosLike(ids).cast("float32"),
    };
  },
});
