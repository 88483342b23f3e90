/*
 * The kernels the addon exports, one line each: PL_KERNEL(Name) exports the C function
 * pl_kernel_Name (defined in kernels/<file>.c) to JavaScript as `Name`. A kernel file may define
 * several functions (a forward and its gradient); each gets its own line.
 */
PL_KERNEL(BatchMatMul)
PL_KERNEL(PeftlabRMSNorm)
PL_KERNEL(PeftlabRMSNormGrad)
PL_KERNEL(PeftlabLayerNorm)
PL_KERNEL(PeftlabLayerNormGrad)
PL_KERNEL(PeftlabRope)
PL_KERNEL(PeftlabRopeGrad)
PL_KERNEL(PeftlabAttention)
PL_KERNEL(PeftlabAttentionGrad)
PL_KERNEL(PeftlabSwiGLU)
PL_KERNEL(PeftlabSwiGLUGrad)
PL_KERNEL(PeftlabGelu)
PL_KERNEL(PeftlabGeluGrad)
PL_KERNEL(PeftlabSoftmaxCrossEntropy)
PL_KERNEL(PeftlabSoftmaxCrossEntropyGrad)
PL_KERNEL(PeftlabLora)
PL_KERNEL(PeftlabLoraGrad)
PL_KERNEL(PeftlabAdamW)
PL_KERNEL(PeftlabEmbedding)
PL_KERNEL(Add)
PL_KERNEL(PeftlabGlobalNorm)
PL_KERNEL(PeftlabRMSNormGradWeight)
