// Fused ops the models, the loss and the optimiser call. Each runs as one native kernel (with a
// native gradient) where the backend registers one, and as its composite of tfjs ops elsewhere.
export { hasNative } from "./fused.js";
export { ADAMW, type AdamWStep, adamwUpdate, adamwUpdateComposite } from "./adamw.js";
export { ATTENTION, ATTENTION_GRAD, type AttentionCoreOptions, attentionBias, attentionCore, attentionCoreComposite } from "./attention-core.js";
export { type ActKind, GELU, GELU_GRAD, geluAct, geluActComposite, SWIGLU, SWIGLU_GRAD, swiglu, swigluComposite } from "./activations.js";
export { EMBEDDING, embeddingLookup, embeddingLookupComposite } from "./embedding.js";
export { SOFTMAX_CE, SOFTMAX_CE_GRAD, softmaxCrossEntropy, softmaxCrossEntropyComposite } from "./cross-entropy.js";
export { GLOBAL_NORM, globalNorm, globalNormComposite } from "./global-norm.js";
export { LAYER_NORM, LAYER_NORM_GRAD, layerNorm, layerNormComposite } from "./layer-norm.js";
export { LORA, LORA_GRAD, loraAdd, loraDelta, loraDeltaComposite } from "./lora-delta.js";
export { RMS_NORM, RMS_NORM_GRAD, RMS_NORM_GRAD_WEIGHT, rmsNorm, rmsNormComposite } from "./rms-norm.js";
export { ROPE, ROPE_GRAD, rope, ropeComposite } from "./rope.js";
