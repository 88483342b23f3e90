// loadDataset: a DataSpec from the plan → examples in three splits + the tokenizer + a checksum.

import { createHash } from "node:crypto";
import path from "node:path";
import type { DataSpec, JsonlDataSpec, TokenizerSpec } from "../../dsl/plan.js";
import { jsonlSplits, readClassificationFiles, readGenerationJsonl } from "./jsonl.js";
import { describeSplit } from "../../dsl/jsonl-splits.js";
import { generateTask } from "./tasks.js";
import { ByteTokenizer, CharTokenizer, loadTokenizer, type Tokenizer } from "./tokenizers.js";
import type { ClassificationExample, Dataset, GenerationExample, SplitExamples } from "./types.js";

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** Relative paths in the spec (JSONL file, tokenizer.json) are resolved against this folder. */
  baseDir: string;
  /** The model's own tokenizer, required by `tokenizer: {kind: "model"}`. */
  modelTokenizer?: Tokenizer;
}

/** JSON with object keys sorted at every level, so equal data always gives equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** sha256 (hex) of the canonical JSON of the three splits (and label names, if any). */
export function datasetChecksum(splits: SplitExamples<unknown>, labelNames?: string[]): string {
  const body = { train: splits.train, validation: splits.validation, test: splits.test, labelNames };
  return createHash("sha256").update(canonicalJson(body)).digest("hex");
}

function textsOf(examples: (GenerationExample | ClassificationExample)[]): string[] {
  return examples.map((e) => ("text" in e ? e.text : e.prompt + e.completion));
}

/** The tokenizer a spec asks for; a char vocabulary comes from the training texts (+ alphabet). */
export function buildTokenizer(spec: TokenizerSpec, trainTexts: string[], alphabet: string, opts: LoadDatasetOptions): Tokenizer {
  switch (spec.kind) {
    case "char":
      return CharTokenizer.fromTexts(trainTexts, alphabet);
    case "byte":
      return new ByteTokenizer();
    case "bpe":
      return loadTokenizer(path.resolve(opts.baseDir, spec.path));
    case "model":
      if (!opts.modelTokenizer) throw new Error(`tokenizer "model" needs the model's tokenizer.json, but the model has none`);
      return opts.modelTokenizer;
  }
}

/** "file train.jsonl" when every split comes from one file, else each split's source:
 *  "train 90% of train.jsonl, validation 10% of train.jsonl, test test.jsonl". */
export function jsonlSource(spec: JsonlDataSpec): string {
  const { train, validation, test } = spec.splits;
  if (train.from === "share" && validation.from === "share" && test.from === "share") return `file ${spec.path}`;
  return `train ${describeSplit(train)}, validation ${describeSplit(validation)}, test ${describeSplit(test)}`;
}

/** Loads (or generates) the data a plan names and tokenizer for it. */
export function loadDataset(spec: DataSpec, opts: LoadDatasetOptions): Dataset {
  if (spec.kind === "task") {
    const ex = generateTask(spec);
    const tokenizer = buildTokenizer(spec.tokenizer, textsOf(ex.train), ex.alphabet, opts);
    const source = `task ${spec.task} ${canonicalJson(spec.params)} seed ${spec.seed}`;
    if (ex.kind === "generation") {
      return { spec, tokenizer, source, kind: "generation", train: ex.train, validation: ex.validation, test: ex.test, checksum: datasetChecksum(ex) };
    }
    const { train, validation, test, labelNames } = ex;
    return { spec, tokenizer, source, kind: "classification", train, validation, test, labelNames, checksum: datasetChecksum(ex, labelNames) };
  }
  const fileOf = (p: string) => path.resolve(opts.baseDir, p);
  const source = jsonlSource(spec);
  if (spec.format === "generation") {
    const splits = jsonlSplits(spec, fileOf, (files) => files.map((f) => readGenerationJsonl(f, spec.fields)));
    const tokenizer = buildTokenizer(spec.tokenizer, textsOf(splits.train), "", opts);
    return { spec, tokenizer, source, kind: "generation", ...splits, checksum: datasetChecksum(splits) };
  }
  let labelNames: string[] = [];
  const splits = jsonlSplits(spec, fileOf, (files) => {
    const read = readClassificationFiles(files, spec.fields);
    labelNames = read.labelNames;
    return read.examples;
  });
  const tokenizer = buildTokenizer(spec.tokenizer, textsOf(splits.train), "", opts);
  return { spec, tokenizer, source, kind: "classification", ...splits, labelNames, checksum: datasetChecksum(splits, labelNames) };
}
