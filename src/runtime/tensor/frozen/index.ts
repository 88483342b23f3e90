// Frozen base weights outside the tensors (native memory where the addon loads), in float32,
// bfloat16, float16, int8 or nf4, and the ops that read them.
export { bytesPerParam, dequantise, dynamicMap, NF4_BLOCK, NF4_BLOCK2, NF4_LEVELS, PRECISIONS, quantise, storageBytes, type Precision, type Quantised } from "./formats.js";
export { FrozenWeight, FrozenWeightWriter, frozenMemory, nativeStore, resetFrozenPeak, type FrozenMemory, type SourceDtype } from "./weight.js";
export { FROZEN_EMBEDDING, FROZEN_MATMUL, FROZEN_MATMUL_GRAD, frozenEmbedding, frozenLinear, frozenOpsNative } from "./ops.js";
