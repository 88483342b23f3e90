// Example and dataset types shared by the task generators, the JSONL reader and the batcher.

import type { DataSpec } from "../../dsl/plan.js";
import type { Tokenizer } from "./tokenizers.js";

/** Causal-LM data: the model reads `prompt` and is scored on `completion`. */
export interface GenerationExample {
  prompt: string;
  completion: string;
}

/** Classification data: `label` indexes `labelNames`. */
export interface ClassificationExample {
  text: string;
  label: number;
}

export type Example = GenerationExample | ClassificationExample;

export type DataKind = "generation" | "classification";

/** The three splits of a dataset. */
export interface SplitExamples<E> {
  train: E[];
  validation: E[];
  test: E[];
}

interface DatasetBase {
  spec: DataSpec;
  tokenizer: Tokenizer;
  /** sha256 (hex) of the canonical JSON of all examples, split by split. */
  checksum: string;
  /** Where the examples came from, for run records (e.g. "task addition", "file data.jsonl"). */
  source: string;
}

export interface GenerationDataset extends DatasetBase, SplitExamples<GenerationExample> {
  kind: "generation";
  labelNames?: undefined;
}

export interface ClassificationDataset extends DatasetBase, SplitExamples<ClassificationExample> {
  kind: "classification";
  labelNames: string[];
}

export type Dataset = GenerationDataset | ClassificationDataset;

/** What a built-in task produces before tokenisation. */
export type TaskExamples =
  | ({ kind: "generation"; alphabet: string } & SplitExamples<GenerationExample>)
  | ({ kind: "classification"; alphabet: string; labelNames: string[] } & SplitExamples<ClassificationExample>);

/** Label of positions the loss ignores (prompt tokens, padding): the PyTorch convention. */
export const IGNORE_INDEX = -100;

/** A batch as the data layer produces it: no tensors. */
export interface Batch {
  kind: "causal" | "classification";
  size: number;
  length: number;
  /** [size·length] token ids. */
  ids: Int32Array;
  /** [size·length]: 1 for real tokens, 0 for padding. */
  mask: Float32Array;
  /**
   * causal: [size·length] aligned with ids — labels[t] is the token at position t when it is
   * scored (completion and eos), IGNORE_INDEX otherwise; the loss predicts labels[t+1] from position t.
   * classification: [size] class indices.
   */
  labels: Int32Array;
  /** Number of real (non-padding) tokens. */
  tokens: number;
}
