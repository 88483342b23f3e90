// The run events now live in src/results/events.ts (tensor-free, shared with viz and the CLI).
// This re-export serves trainer.ts only, until trainer.ts moves into the fine-tuning core folder.
export type * from "../results/events.js";
