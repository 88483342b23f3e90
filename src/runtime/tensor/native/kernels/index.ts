// The registry of native kernels, one line per kernel (by tfjs kernel name, like the C side's
// native/src/registry.h). A kernel's JavaScript side lives in ./<KernelName>.ts.
import { batchMatMul } from "./BatchMatMul.js";
import { rmsNormKernel, rmsNormGradKernel, rmsNormGradWeightKernel } from "./PeftlabRMSNorm.js";
import { layerNormKernel, layerNormGradKernel } from "./PeftlabLayerNorm.js";
import { ropeKernel, ropeGradKernel } from "./PeftlabRope.js";
import { attentionKernel, attentionGradKernel } from "./PeftlabAttention.js";
import { swigluKernel, swigluGradKernel } from "./PeftlabSwiGLU.js";
import { geluKernel, geluGradKernel } from "./PeftlabGelu.js";
import { softmaxCrossEntropyKernel, softmaxCrossEntropyGradKernel } from "./PeftlabSoftmaxCrossEntropy.js";
import { loraKernel, loraGradKernel } from "./PeftlabLora.js";
import { adamWKernel } from "./PeftlabAdamW.js";
import { identity } from "./Identity.js";
import { embeddingKernel } from "./PeftlabEmbedding.js";
import { add } from "./Add.js";
import { globalNormKernel } from "./PeftlabGlobalNorm.js";
import { frozenMatMulKernel, frozenMatMulGradKernel } from "./PeftlabFrozenMatMul.js";
import { frozenEmbeddingKernel } from "./PeftlabFrozenEmbedding.js";
import type { NativeKernel } from "./types.js";

export type { NativeKernel } from "./types.js";

export const NATIVE_KERNELS: readonly NativeKernel[] = [
  batchMatMul,
  rmsNormKernel,
  rmsNormGradKernel,
  rmsNormGradWeightKernel,
  layerNormKernel,
  layerNormGradKernel,
  ropeKernel,
  ropeGradKernel,
  attentionKernel,
  attentionGradKernel,
  swigluKernel,
  swigluGradKernel,
  geluKernel,
  geluGradKernel,
  softmaxCrossEntropyKernel,
  softmaxCrossEntropyGradKernel,
  loraKernel,
  loraGradKernel,
  adamWKernel,
  identity,
  embeddingKernel,
  add,
  globalNormKernel,
  frozenMatMulKernel,
  frozenMatMulGradKernel,
  frozenEmbeddingKernel,
];
