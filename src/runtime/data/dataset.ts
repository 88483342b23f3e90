// loadDataset: a DataSpec from the plan → examples in three splits + the tokenizer + a checksum.

import { createHash } from "node:crypto";
import path from "node:path";
import type { DataSpec, TokenizerSpec } from "../../dsl/plan.js";
import { readClassificationJsonl, readGenerationJsonl, splitByFractions } from "./jsonl.js";
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
  const file = path.resolve(opts.baseDir, spec.path);
  const source = `file ${spec.path}`;
  if (spec.format === "generation") {
    const splits = splitByFractions(readGenerationJsonl(file, spec.fields), spec.splitFractions, spec.seed, file);
    const tokenizer = buildTokenizer(spec.tokenizer, textsOf(splits.train), "", opts);
    return { spec, tokenizer, source, kind: "generation", ...splits, checksum: datasetChecksum(splits) };
  }
  const { examples, labelNames } = readClassificationJsonl(file, spec.fields);
  const splits = splitByFractions(examples, spec.splitFractions, spec.seed, file);
  const tokenizer = buildTokenizer(spec.tokenizer, textsOf(splits.train), "", opts);
  return { spec, tokenizer, source, kind: "classification", ...splits, labelNames, checksum: datasetChecksum(splits, labelNames) };
}
