// BeamLoRA (Gu et al., ACL 2025): the trainer plug-in and its pure helpers, one file each in this
// folder: schedule (τ, p(t), caps), select (top-p mask, pairing), importance (criteria), snapshot,
// expand, plugin. Export to PEFT is adapters/peft-io.ts (the gate is folded into A there).
export { BeamLoraPlugin, createBeamLoraPlugin, type BeamLoraOptions, type BeamLoraState } from "./plugin.js";
export { TAU_DEFAULT, TAU_LOW_LR, TAU_LOW_LR_BELOW, capFor, isPruneStep, isSnapshotStep, resolveTau, topPAt, validateBeamSpec } from "./schedule.js";
export { type ModulePlan, capModuleMask, globalTopPMask, pairParents, pairingRand, planPrune, rankOrder } from "./select.js";
export {
  ACTIVATION_BETA, ACTIVATION_TEMPERATURE, FIRST_ORDER_BETA1, FIRST_ORDER_BETA2, type BeamModule, type ImportanceTracker,
  createTracker, meanTemperedSoftmax, scaledSoftmax, sourceIndex,
} from "./importance.js";
export { BeamSnapshot, type ModuleSnapshot, type PlainSnapshot } from "./snapshot.js";
export { averageGatePairs, expandModule, inheritSlices } from "./expand.js";
export type { PlainTensor } from "./plain.js";
