// The compiled plan: plain, deterministic JSON that the runtime executes.
//
// This file is the contract between the front end (src/dsl) and everything after it
// (src/runtime, src/cli, src/viz). It holds types only. Every default is filled in and every
// unit is normalised by the compiler: ratios are fractions in [0, 1], step counts are integers,
// "% of training" has become a step number. Nothing here is optional unless the absence has a
// meaning of its own (documented on the field).

export const PLAN_VERSION = 1;

export interface Plan {
  version: typeof PLAN_VERSION;
  /** Where the plan came from (file path as given, and a sha256 of the source text).
   *  Every path inside the plan (hf model folders, JSONL files, BPE tokenizer files) is relative
   *  to the directory of `source.path` (or absolute), whichever .peft file it was written in. */
  source: { path: string; sha256: string };
  /** Backend requested by the file (`backend "wasm"`), or "auto". CLI/env override it. */
  backend: BackendName;
  models: Record<string, ModelSpec>;
  data: Record<string, DataSpec>;
  adapters: Record<string, AdapterSpec>;
  beams: Record<string, BeamSpec>;
  prunes: Record<string, PruneSpec>;
  /** Runs in declaration order. */
  runs: RunSpec[];
  comparisons: CompareSpec[];
}

export type BackendName = "auto" | "tensorflow-gpu" | "tensorflow" | "webgpu" | "native" | "wasm" | "cpu";

// ---------------------------------------------------------------- models

export type ModelFamily = "llama" | "gpt2" | "bert";
export type HeadKind = "causal_lm" | "classifier";

export type ModelSpec = BuiltinModelSpec | HfModelSpec | DefaultModelSpec;

/**
 * How the frozen base's linear layers, embedding and lm_head are held: float32 tensors (`f32`), or
 * outside the tensor heap in the native weight store as bf16/f16 (as stored), int8 (per-channel
 * absmax) or nf4 (QLoRA's 4-bit NormalFloat, blocks of 64, double-quantised scales). Adapters,
 * norms and the optimiser stay float32 whatever this says.
 */
export type BasePrecision = "f32" | "bf16" | "f16" | "int8" | "nf4";

/** A randomly initialised model of one of our families, with explicit sizes. */
export interface BuiltinModelSpec {
  kind: "builtin";
  family: ModelFamily;
  head: HeadKind;
  layers: number;
  hidden: number;
  heads: number;
  /** llama only: key/value heads (grouped-query attention); equals `heads` by default. */
  kvHeads: number;
  /** FFN inner size; default 4*hidden (gpt2/bert) or the llama rule round(8/3*hidden) to a multiple of 16. */
  intermediate: number;
  /** Maximum sequence length (positions). */
  context: number;
  /** Vocabulary size, or "auto" = the tokenizer of the data decides. */
  vocab: number | "auto";
  /** Classifier heads only; "auto" = number of labels in the data. */
  labels: number | "auto";
  /** Seed for the base weights (independent of the run seeds). */
  initSeed: number;
  precision: BasePrecision;
}

/** A local Hugging Face-format folder (config.json + model.safetensors [+ tokenizer.json]). */
export interface HfModelSpec {
  kind: "hf";
  path: string;
  head: HeadKind | "auto";
  labels: number | "auto";
  precision: BasePrecision;
}

/** The project's own small pretrained base, built on first use and cached. */
export interface DefaultModelSpec {
  kind: "default";
  family: "llama" | "gpt2";
  /** The base is a causal LM; "classifier" (or "auto" with labelled data) puts a new classifier head on it. */
  head: HeadKind | "auto";
  /** Classes of a classifier head; "auto": the data's labels. */
  labels: number | "auto";
  precision: BasePrecision;
}

// ---------------------------------------------------------------- data

export type DataSpec = TaskDataSpec | JsonlDataSpec;

export type TaskName = "addition" | "subtraction" | "multiplication" | "arithmetic" | "code" | "sort" | "reverse" | "spam";

export interface Splits {
  train: number;
  validation: number;
  test: number;
}

export interface TaskDataSpec {
  kind: "task";
  task: TaskName;
  /** Task parameters, e.g. { digits: 3 } for arithmetic, { lines: 3 } for code. Defaults filled. */
  params: Record<string, number | string | boolean>;
  splits: Splits;
  /** Seed of the generator (independent of the run seeds). */
  seed: number;
  tokenizer: TokenizerSpec;
}

export interface JsonlDataSpec {
  kind: "jsonl";
  /** The training file: every split given as a share is cut from it. */
  path: string;
  /** Generation data uses prompt/completion; classification uses text/label. Names of the JSON keys. */
  format: "generation" | "classification";
  fields: { prompt?: string; completion?: string; text?: string; label?: string };
  /** Where each split comes from: a share of the training file, or a file of its own. */
  splits: { train: JsonlSplit; validation: JsonlSplit; test: JsonlSplit };
  /** Shuffle the training file (seeded by `seed`) before cutting shares; off keeps file order. */
  shuffle: boolean;
  seed: number;
  tokenizer: TokenizerSpec;
}

/** One split of a JSONL data set. `examples` is its size when the compiler could read the
 *  files (null otherwise); the runtime records the size it really used. */
export type JsonlSplit =
  /** `validation 10%`: this share of `file` (the training file), in [0, 1]. */
  | { from: "share"; file: string; share: number; examples: number | null }
  /** `test "test.jsonl"`: every line of a file of its own. */
  | { from: "file"; file: string; examples: number | null };

export type TokenizerSpec =
  | { kind: "char" }
  | { kind: "byte" }
  | { kind: "model" } // the tokenizer.json shipped with an HF model folder
  | { kind: "bpe"; path: string };

// ---------------------------------------------------------------- adapters

/** HF PEFT target semantics: `regex` must full-match the module path; each of `names` matches
 *  the path exactly or as a `.suffix`. `exclude` uses the same rules and wins. */
export interface Selector {
  regex: string | null;
  names: string[];
}

export type AdapterMethod = "lora" | "dora" | "adalora";

export interface AdapterSpec {
  method: AdapterMethod;
  r: number;
  alpha: number;
  dropout: number;
  /** scaling = alpha / sqrt(r) instead of alpha / r. */
  rslora: boolean;
  /** "kaiming" (PEFT default: A kaiming-uniform a=sqrt(5), B=0), "gaussian" (A ~ N(0, 1/r)), "pissa". */
  init: "kaiming" | "gaussian" | "pissa";
  /**
   * PiSSA only: find the leading components by this many iterations of randomized subspace
   * iteration (PEFT's "pissa_niter_N") instead of the exact SVD. Absent: exact.
   */
  pissaNiter?: number;
  target: Selector;
  exclude: Selector;
  /** Module-path suffix → rank / alpha, matched like PEFT's `(.*\.)?(key)$`. */
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  /** AdaLoRA only (null otherwise). */
  adalora: AdaLoraSpec | null;
  /**
   * `adapter old = peft "folder"`: the PEFT adapter folder whose weights the adapter starts from (a
   * plan path, like a model folder's). The fields above are read from its adapter_config.json.
   * Absent: a fresh adapter.
   */
  from?: string;
}

export interface AdaLoraSpec {
  initR: number;
  targetR: number;
  tinit: number;
  tfinal: number;
  deltaT: number;
  beta1: number;
  beta2: number;
  orthRegWeight: number;
}

// ---------------------------------------------------------------- BeamLoRA

export type BeamImportance = "gate" | "first_order" | "activation";

export interface BeamSpec {
  /** Name of the adapter (key of Plan.adapters) the constraint applies to. */
  adapter: string;
  /** Softmax temperature τ; null = automatic (0.05, or 0.03 when the run's lr < 1e-4). */
  tau: number | null;
  /** Prune/expand period T in steps. */
  period: number;
  /** Snapshot taken this many steps after each period boundary (default T/2). */
  snapshotOffset: number;
  /** Dynamic top-p threshold p(t): start → end along `schedule`, reaching `end` at `endStep`. */
  topP: { start: number; end: number; schedule: "cosine" | "linear" | "constant"; endStep: number };
  /** Maximum ranks pruned per module at one step: "half" = floor(r/2), or an explicit count. */
  capPerModule: "half" | number;
  importance: BeamImportance;
  /** Emit the importance of every rank every this many steps (0 = only at prune steps). */
  importanceEvery: number;
}

// ---------------------------------------------------------------- Light-PEFT

export type PruneScope = "layer" | "global";

export interface PruneSpec {
  /** Length of the estimation window in steps (resolved from "10%" etc.). */
  estimateSteps: number;
  heads: { ratio: number; scope: PruneScope };
  neurons: { ratio: number; scope: PruneScope };
  /** L1 coefficient λ on the masks. */
  l1: number;
  /** Mask learning rate = run lr × this factor. */
  maskLrFactor: number;
  /** Fraction of adapter modules removed (global quantile of module importance). */
  moduleRatio: number;
  /** Fraction of ranks removed among surviving modules. */
  rankRatio: number;
  rankScope: PruneScope;
}

// ---------------------------------------------------------------- training

export type LrScheduleKind = "constant" | "linear" | "cosine";

export interface TrainSpec {
  /** Total optimiser steps (epochs are resolved to steps by the compiler). */
  steps: number;
  batch: number;
  /** Examples per forward/backward pass; gradients of batch ÷ microBatch passes are summed into one
   *  optimiser step (equal to `batch` when there is no accumulation). Divides `batch`. */
  microBatch: number;
  /** "blocks": gradient checkpointing, each transformer block's forward is recomputed in the backward
   *  pass instead of keeping its activations; "off": activations are kept. */
  recompute: "off" | "blocks";
  /** Learning rates to try. One entry = no grid. Chosen per run on the validation split. */
  lrs: number[];
  schedule: { kind: LrScheduleKind; warmupSteps: number; minLrRatio: number };
  optimizer: { kind: "adamw"; beta1: number; beta2: number; eps: number; weightDecay: number };
  /** Global gradient-norm clipping; 0 = off. */
  clipNorm: number;
  seeds: number[];
  /** Evaluate every N steps on the validation split (and always at the end); 0 = only at the end. */
  evalEvery: number;
  /** Checkpoint every N steps; 0 = never. */
  checkpointEvery: number;
  /** Log a `step` event every N steps. */
  logEvery: number;
  /** Cap on examples per evaluation (0 = the whole split). */
  evalExamples: number;
  /** Sequence length cap for batches (0 = the model's context). */
  maxLength: number;
}

// ---------------------------------------------------------------- runs and comparisons

export interface RunSpec {
  name: string;
  model: string;
  adapters: string[];
  beam: string | null;
  prune: string | null;
  data: string;
  /** Fully resolved training settings for this run. */
  train: TrainSpec;
}

export type MetricName = "accuracy" | "exact_match" | "loss" | "step_time" | "tokens_per_s" | "peak_memory" | "trainable_params" | "foundation_params" | "wall_time";
export type PlotName = "loss" | "eval" | "importance" | "masks" | "params" | "time" | "memory";

export interface CompareSpec {
  name: string;
  runs: string[];
  metrics: MetricName[];
  plots: PlotName[];
}
