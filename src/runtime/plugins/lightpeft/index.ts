// Light-PEFT (Gu et al., Findings of ACL 2024): early pruning of the foundation model and of the
// PEFT modules, followed from the authors' RoBERTa code and run as one
// trainer plug-in instead of the authors' two runs.
//
// Estimation window (steps 1..E, E = spec.estimateSteps)
// - A trainable scalar mask per attention head (scales that head's attention probabilities) and
//   per FFN neuron (scales the activation before the down projection), initialised to 1, plain
//   real values, trained with lr × spec.maskLrFactor and no weight decay (the authors' masks get
//   the run's weight decay, which is 0 in their scripts). Loss += λ · Σ|m| over all masks.
// - LoRA on every targeted module, and per step: module importance = mean over real tokens of
//   ‖ΔW x‖₂ / ‖W x + b‖₂ (per-token ratio, then the masked mean); rank importance =
//   |mean_j(A_ij ∂L/∂A_ij)| + |mean_k(B_ki ∂L/∂B_ki)| from the raw (unclipped) gradients. Each score
//   is the mean over the second half of the window (steps ⌊E/2⌋+1..E) with NaN/Inf step values
//   set to 0. Only those steps are measured; running sums stand in for the stored records.
//
// Decision (after the optimiser step E, from the final signed mask values)
// - Rule everywhere: threshold = numpy-linear quantile at the ratio, keep score > threshold (so
//   ties at the threshold are pruned). A ratio of 0 prunes nothing (the authors skip that step).
// - Heads: per layer (spec.heads.scope "layer", the authors' choice) or global quantile.
//   FFN neurons: global (the authors' choice) or per layer. Guard (ours): a layer always keeps its
//   best head (group) and its best neuron, so no layer is ever emptied.
// - Adapter modules: global quantile of module importance at spec.moduleRatio; then ranks: global
//   (or per module, spec.rankScope "layer") quantile over the ranks of the surviving modules; a
//   module left with no rank is removed. If nothing survives, the run stops with an error.
// - Base weights are sliced (Block.pruneHeads / pruneNeurons, which slice the adapters to match),
//   ranks are sliced with scaling kept at alpha / r_original, the masks are removed, and the
//   optimiser is reset (all moments and its bias-correction step), as the authors train the
//   pruned model in a fresh run. The learning-rate schedule simply continues.
//
// Family mapping (the encoder rules extended)
// - bert (the authors' model): a head owns its head_dim rows of attention.self.{query,key,value}
//   (weights, biases, lora_B rows) and columns of attention.output.dense (and its lora_A columns);
//   a neuron owns a row of intermediate.dense and a column of output.dense.
// - llama: a head owns rows of q_proj/k_proj/v_proj and columns of o_proj; a neuron owns a row of
//   gate_proj and up_proj (the mask scales silu(gate)·up) and a column of down_proj. With grouped-
//   query attention (kvHeads < heads) a key/value head serves heads/kvHeads query heads, so whole
//   groups are decided: a group's score is the mean mask of its query heads and the quantile runs
//   over group scores (with kvHeads = heads this is the per-head rule).
// - gpt2: a head owns its rows in each third (q, k, v) of the fused attn.c_attn and columns of
//   attn.c_proj; a neuron owns a row of mlp.c_fc and a column of mlp.c_proj. The fused c_attn is
//   one adapter module for module and rank importance, as PEFT adapts it on GPT-2.
// - Any other targeted linear (an untied lm_head, bert's pooler whose rows are the [CLS] tokens)
//   takes part in module and rank pruning only.
export { createLightPeftPlugin, checkPruneSpec, maskVariables } from "./plugin.js";
export type { LightPeftImportance, LightPeftOptions, LightPeftPlugin, LightPeftState } from "./plugin.js";
export { applyLightPeftDecisions, decideHeads, decideLightPeft, decideModules, decideNeurons, decideRanks, loraAdaptersNamed } from "./decide.js";
export type { EstimationResult, LightPeftDecisions } from "./decide.js";
export { averagedSteps, maskedMean, rankImportance, rowMask, tokenRatios, WindowMean } from "./importance.js";
export type { WindowMeanState } from "./importance.js";
export { argmax, finiteOrZero, keepByQuantile, quantile, summarize } from "./quantile.js";
