// LayerNorm and its gradient on the native addon (native/src/kernels/PeftlabLayerNorm.c); the op
// and its contract are in src/runtime/tensor/ops/layer-norm.ts.
import { rowNormKernel } from "./fused-util.js";

export const layerNormKernel = rowNormKernel("PeftlabLayerNorm", ["x", "weight", "bias"]);

export const layerNormGradKernel = rowNormKernel("PeftlabLayerNormGrad", ["dy", "x", "weight"]);
