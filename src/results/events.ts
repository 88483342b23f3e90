// Events the training loop and its plug-ins emit, and the result of a run.
// Plain JSON only (no tensors): progress displays, metrics.jsonl, events.jsonl, plots and reports
// subscribe to these. This file imports nothing.

export interface ParamCounts {
  /** Parameters of the frozen foundation model. */
  foundation: number;
  /** Trainable parameters (adapters, gates, masks, heads). */
  trainable: number;
}

export interface StartEvent {
  type: "start";
  run: string;
  seed: number;
  lr: number;
  backend: string;
  totalSteps: number;
  params: ParamCounts;
  time: number;
}

export interface StepEvent {
  type: "step";
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  stepMs: number;
  /** Peak resident memory of the process so far (bytes: tensors, the weight store, everything else). */
  rssBytes?: number;
  time: number;
}

export interface EvalEvent {
  type: "eval";
  step: number;
  split: "validation" | "test";
  metrics: Record<string, number>;
}

export interface CheckpointEvent {
  type: "checkpoint";
  step: number;
  path: string;
}

/** BeamLoRA: one prune-and-expand step. */
export interface BeamPruneEvent {
  type: "beam.prune";
  step: number;
  p: number;
  /** For every module: pruned slots and the parent each took its snapshot from. */
  modules: { module: string; pruned: number[]; parents: number[] }[];
  totalPruned: number;
}

/** BeamLoRA: the importance of every rank of every module. */
export interface BeamImportanceEvent {
  type: "beam.importance";
  step: number;
  criterion: string;
  modules: { module: string; scores: number[] }[];
}

/** Light-PEFT: mask values during estimation. */
export interface MaskEvent {
  type: "lightpeft.masks";
  step: number;
  /** heads[layer][head] */
  heads: number[][];
  /** neurons[layer] summary: the sorted mask values are too many; we give quantiles + mean. */
  neurons: { mean: number; min: number; max: number; q25: number; q50: number; q75: number }[];
}

/** Light-PEFT: the structural pruning decision. */
export interface LightPruneEvent {
  type: "lightpeft.prune";
  step: number;
  /** Kept head indices per layer, and neuron counts kept per layer. */
  heads: { layer: number; kept: number[]; removed: number[] }[];
  neurons: { layer: number; kept: number; removed: number }[];
  modulesRemoved: string[];
  ranks: { module: string; kept: number[]; before: number }[];
  before: ParamCounts;
  after: ParamCounts;
}

export interface EndEvent {
  type: "end";
  step: number;
  metrics: Record<string, number>;
}

export type RunEvent =
  | StartEvent
  | StepEvent
  | EvalEvent
  | CheckpointEvent
  | BeamPruneEvent
  | BeamImportanceEvent
  | MaskEvent
  | LightPruneEvent
  | EndEvent;

/** Memory high-water marks of a training job, in bytes. */
export interface MemoryPeaks {
  /** Resident memory of the process (everything: tensor heap, weight store, JavaScript, code). */
  rssBytes: number;
  /** Tensors (tf.memory().numBytes). */
  tensorBytes: number;
  /** Frozen base weights held in the weight store (outside the tensors). */
  storeBytes: number;
}

/** result.json of one run × seed × lr. */
export interface RunResult {
  run: string;
  seed: number;
  lr: number;
  backend: string;
  steps: number;
  /** Final metrics: validation_* and test_* keys, e.g. test_accuracy, validation_loss. */
  metrics: Record<string, number>;
  params: ParamCounts;
  /** Mean milliseconds per optimiser step (after the first few warm-up steps). */
  stepMs: number;
  tokensPerS: number;
  /** Peak bytes held by tensors (tf.memory().numBytes high-water mark). */
  peakBytes: number;
  /** Peak memory of the job's process: resident memory, tensors, the weight store. Absent in results of older versions. */
  memory?: MemoryPeaks;
  wallMs: number;
  status: "finished" | "failed";
  error?: string;
  /**
   * Examples each split really had in this job: the whole training split, and the validation and
   * test examples scored (after any `eval_examples` cap). Absent in results of older versions.
   */
  examples?: SplitSizes;
  /**
   * Scores of the trivial predictor on the same scored examples, keyed like `metrics`
   * (e.g. test_accuracy): always answer the training split's most common label (classification)
   * or most common completion (generation). Absent in results of older versions.
   */
  baselines?: Record<string, number>;
}

/** Number of examples per split. */
export interface SplitSizes {
  train: number;
  validation: number;
  test: number;
}

/** One line of a job's predictions.jsonl: a scored test example and what the model answered. */
export interface Prediction {
  /** The prompt (generation) or the text (classification). */
  input: string;
  /** The expected completion or label name. */
  target: string;
  /** The greedy completion or the predicted label name. */
  prediction: string;
  correct: boolean;
}
