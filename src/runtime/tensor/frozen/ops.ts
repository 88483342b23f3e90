// The ops that read frozen weights: a Linear layer's product and an embedding lookup.
//
// On the native backend each is one kernel that reads the weight where the addon keeps it
// (PeftlabFrozenMatMul, with PeftlabFrozenMatMulGrad for dx = dy·W; PeftlabFrozenEmbedding).
// Elsewhere (pure wasm, cpu, GPUs) they use the weight's dequantised float32 tensor, made once
// and kept with the weight: the results are the same, but the memory savings of 16-bit and 4-bit
// weights need the native backend.
import * as tf from "../tf.js";
import { hasNative, registerFusedGradient, runBackward, runFused } from "../ops/fused.js";
import { nativeStore, type FrozenWeight } from "./weight.js";

/** Native kernel: inputs {x [N, in]}, attrs {weight: the store's id, out, in} → x·Wᵀ [N, out]. */
export const FROZEN_MATMUL = "PeftlabFrozenMatMul";
/** Its gradient: inputs {dy [N, out]}, attrs {weight, out, in} → dy·W [N, in]. */
export const FROZEN_MATMUL_GRAD = "PeftlabFrozenMatMulGrad";
/** Native kernel: inputs {ids int32 [...]}, attrs {weight, cols: C} → [..., C]. */
export const FROZEN_EMBEDDING = "PeftlabFrozenEmbedding";

/**
 * True when weights in the store are read where the addon keeps them: the store is native and the
 * current backend has the frozen kernels (the native backend). Elsewhere each op makes a float32
 * tensor of its weight.
 */
export function frozenOpsNative(): boolean {
  return nativeStore() !== null && hasNative(FROZEN_MATMUL) && hasNative(FROZEN_MATMUL_GRAD) && hasNative(FROZEN_EMBEDDING);
}

function live(op: string, w: FrozenWeight): void {
  if (w.disposed) throw new Error(`Error in ${op}: the frozen weight [${w.shape.join(", ")}] (${w.precision}) was disposed`);
}

/**
 * x [..., in] · Wᵀ for a frozen W [out, in] → [..., out]. The gradient flows to x (dy·W); W has
 * none.
 */
export function frozenLinear(x: tf.Tensor, w: FrozenWeight): tf.Tensor {
  live("frozenLinear", w);
  const [out, inF] = w.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF || x.dtype !== "float32") {
    throw new Error(`Error in frozenLinear: x must be float32 [..., ${inF}] for W [${out}, ${inF}], got ${x.dtype} [${x.shape.join(", ")}]`);
  }
  const outShape = [...x.shape.slice(0, -1), out];
  return tf.tidy(() => {
    const x2 = x.reshape([-1, inF]) as tf.Tensor2D;
    const y = w.native && hasNative(FROZEN_MATMUL)
      ? runFused(FROZEN_MATMUL, { x: x2 }, { weight: w.id, out, in: inF })[0]!
      : tf.matMul(x2, w.cachedTensor(), false, true);
    return y.reshape(outShape);
  });
}

/** Rows of a frozen table [V, C] picked by int32 ids of any shape → [...ids.shape, C]. No gradient. */
export function frozenEmbedding(table: FrozenWeight, ids: tf.Tensor): tf.Tensor {
  live("frozenEmbedding", table);
  if (ids.dtype !== "int32") throw new Error(`Error in frozenEmbedding: ids must be int32, got ${ids.dtype} [${ids.shape.join(", ")}]`);
  const [, c] = table.shape;
  if (table.native && hasNative(FROZEN_EMBEDDING)) return runFused(FROZEN_EMBEDDING, { ids }, { weight: table.id, cols: c })[0]!;
  return tf.tidy(() => tf.gather(table.cachedTensor(), ids.reshape([-1])).reshape([...ids.shape, c]));
}

registerFusedGradient({
  kernelName: FROZEN_MATMUL,
  inputsToSave: [],
  gradFunc: (dy, _saved, attrs) => {
    const { weight, out, in: inF } = attrs as unknown as { weight: number; out: number; in: number };
    const g = (Array.isArray(dy) ? dy[0] : dy) as tf.Tensor;
    return { x: () => runBackward("frozenLinear", FROZEN_MATMUL_GRAD, { dy: g }, { weight, out, in: inF })[0]! };
  },
});

registerFusedGradient({
  kernelName: FROZEN_EMBEDDING,
  inputsToSave: ["ids"],
  gradFunc: (_dy, saved) => {
    const [ids] = saved as [tf.Tensor];
    return { ids: () => tf.zerosLike(ids).cast("float32") };
  },
});
