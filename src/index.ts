// peftlab's public API: the experiment language, the runtime, the weight formats and the figures.
//
//   import { compileSource, train, lossCurves } from "peftlab";
//
// `peftlab/dsl` gives the language alone (no TensorFlow.js).
export * from "./dsl/index.js";

// Hugging Face folders in six calls: loadModel, saveModel, loadTokenizer, loadAdapter, saveAdapter, mergeAndUnload.
export {
  loadModel, saveModel, loadTokenizer, loadAdapter, saveAdapter, mergeAndUnload, adapterNames,
  type LoadModelOptions, type SavedModel, type PublicTokenizer, type LoadedAdapter, type SaveAdapterOptions,
} from "./api.js";

export { train, type TrainOptions, type TrainResults } from "./runtime/run/train.js";
export { runPlan, plannedJobs, type RunPlanOptions } from "./runtime/run/run-plan.js";
export type { RunSink, PlannedJob, PlanOutcome, JobEnding } from "./runtime/run/sink.js";
export { ProgressState, headline, type JobProgress } from "./results/progress.js";
export { executeJob, expandJobs, evaluateSplit, disposeJob, type JobSpec, type JobOptions, type JobOrder, type JobOutcome } from "./runtime/run/job.js";
export { initBackend, resolveBackendRequest, BACKEND_NAMES, type BackendInfo } from "./runtime/tensor/backend.js";
export type * from "./results/events.js";
export { buildSummary, type Summary } from "./results/summary.js";
export { chooseLearningRates } from "./results/learning-rate.js";
export { describe, pairedDiff } from "./results/statistics.js";
export { Trainer, NonFiniteLossError, type TrainerPlugin, type TrainContext } from "./runtime/train/trainer.js";
export { AdamW, learningRateAt, clipByGlobalNorm } from "./runtime/train/optim.js";
export { Linear, type Adapter, type ForwardCtx } from "./runtime/tensor/nn.js";
export { LoraAdapter, loraScaling } from "./runtime/adapters/lora.js";
export { injectAdapter, loraAdapters, SelectorError } from "./runtime/adapters/inject.js";
export { createModel, LlamaModel, Gpt2Model, BertModel, type FamilyModel, type Block } from "./runtime/models/index.js";
export { familyConfigFromSpec, type FamilyConfig } from "./runtime/models/config.js";
export { createBeamLoraPlugin } from "./runtime/plugins/beamlora/index.js";
export { createLightPeftPlugin, applyLightPeftDecisions } from "./runtime/plugins/lightpeft/index.js";
export { loadDataset, Batcher, batchesOf, type Dataset, type Tokenizer } from "./runtime/data/index.js";
export { Rng } from "./runtime/rng.js";
// Base-model pretraining and the cached default base (`peftlab pretrain`).
export * as pretraining from "./runtime/pretrain/index.js";
export { exportAdapter, exportAsLora, importAdapter } from "./runtime/adapters/peft-io.js";
export * as safetensors from "./runtime/io/safetensors.js";
export { readAdapterFolder, writeAdapterFolder } from "./runtime/io/peft-format.js";
export * as tf from "./runtime/tensor/tf.js";
/** Frozen base weights (f32, bf16, f16, int8, nf4) in native memory and the ops that read them. */
export * as frozen from "./runtime/tensor/frozen/index.js";

export * from "./viz/figures.js";
export { mimeBundle, figureHtml } from "./viz/display.js";
export { renderReport } from "./viz/report.js";
export { loadRunDir } from "./results/run-folder.js";

// The notebook API (tslab): `import { peft, run, show } from "peftlab"`; everything else under `notebook`.
export {
  peft, peftFile, run, show, showHtml, showText, showSummary, showAdapter, figuresFor, Experiment,
  type NotebookRun, type NotebookRunOptions, type ExportedAdapter,
} from "./notebook/index.js";
export * as notebook from "./notebook/index.js";
