// Data: built-in task generators and JSONL files.

import type * as Ast from "../ast.js";
import { DATA_SEED, JSONL_FIELDS, JSONL_SPLITS, TASK_PARAMS, TASK_SPLITS, taskSpace } from "../defaults.js";
import { readBlock, type Fields, type Read } from "../fields.js";
import { SPLIT_NAMES, shareCounts } from "../jsonl-splits.js";
import { planPath } from "../paths.js";
import type { JsonlDataSpec, JsonlSplit, TaskDataSpec, TaskName, TokenizerSpec } from "../plan.js";
import { JSONL_DATA_SCHEMA, taskDataSchema, type SplitSource } from "../schema-models.js";
import { didYouMean, quoteList } from "../suggest.js";
import type { Spanned } from "../reporter.js";
import type { Analysis, DataInfo } from "./analysis.js";
import { defineCheck } from "./registry.js";

const TASKS = Object.keys(TASK_PARAMS) as TaskName[];
const DATA_FORMS = [...TASKS, "jsonl"];
/** Tasks whose examples are (text, label) pairs; the others are prompt → completion. */
const CLASSIFICATION_TASKS: readonly string[] = ["spam"];
/** JSONL lines read to check the named fields. */
const LINES_CHECKED = 5;

defineCheck("interpret", "DataDecl", "data-form", (decl, a) => {
  const form = decl.form.name;
  if (!DATA_FORMS.includes(form)) {
    a.reporter.report("unknownKind", { what: "data kind", name: form, allowed: quoteList(DATA_FORMS), hint: didYouMean(form, DATA_FORMS) }, decl.file, decl.form);
    return;
  }
  const info = form === "jsonl" ? jsonlData(decl, a) : taskData(decl, form as TaskName, a);
  if (info) a.data.set(decl, info);
});

function taskData(decl: Ast.DataDecl, task: TaskName, a: Analysis): DataInfo {
  if (decl.path) a.reporter.report("extraValue", { found: `string "${decl.path.value}"`, prop: `'${task}'`, hint: ": only 'jsonl' data takes a file path" }, decl.file, decl.path);
  const f = readBlock(decl.block, taskDataSchema(task), `the ${task} task`, decl.file, a.reporter) as Record<string, { value: { value: unknown; node: Spanned } } | undefined>;
  const params: Record<string, number> = {};
  for (const [name, p] of Object.entries(TASK_PARAMS[task]!)) params[name] = (f[name]?.value.value as number | undefined) ?? p.default;
  const num = (key: string, dflt: number) => (f[key]?.value.value as number | undefined) ?? dflt;
  const tokenizer = withResolvedPath(f.tokenizer?.value.value as TokenizerSpec | undefined, decl.file, a.mainFile);
  const spec: TaskDataSpec = {
    kind: "task",
    task,
    params,
    splits: { train: num("train", TASK_SPLITS.train), validation: num("validation", TASK_SPLITS.validation), test: num("test", TASK_SPLITS.test) },
    seed: num("seed", DATA_SEED),
    tokenizer: tokenizer ?? { kind: "char" },
  };
  checkTaskSpace(decl, spec, f, a);
  return { spec, tokenizerSet: tokenizer !== undefined, format: CLASSIFICATION_TASKS.includes(task) ? "classification" : "generation", node: decl.form };
}

/** The splits of an arithmetic task must fit in its space of distinct prompts. */
function checkTaskSpace(decl: Ast.DataDecl, spec: TaskDataSpec, f: Record<string, { value: { node: Spanned } } | undefined>, a: Analysis): void {
  const space = taskSpace(spec.task, spec.params as Record<string, number>);
  const count = spec.splits.train + spec.splits.validation + spec.splits.test;
  if (space === null || count <= space) return;
  const at = f.digits?.value.node ?? f.train?.value.node ?? decl.form;
  a.reporter.report("tooManyExamples", { data: decl.name.name, count, task: spec.task, param: `digits ${spec.params.digits}`, space }, decl.file, at);
}

function jsonlData(decl: Ast.DataDecl, a: Analysis): DataInfo | null {
  const f = readBlock(decl.block, JSONL_DATA_SCHEMA, "jsonl data", decl.file, a.reporter);
  const trainFile = f.train?.value.value.kind === "file" ? (f.train.value as Read<Extract<SplitSource, { kind: "file" }>>) : null;
  if (decl.path && trainFile) {
    const note = a.reporter.note("the training file is named here", decl.file, decl.path);
    a.reporter.report("conflictingProperties", { a: `jsonl "${decl.path.value}"`, b: "train", hint: ": the file after 'jsonl' is the training file; give it once" }, decl.file, f.train!.prop.key, [note]);
    return null;
  }
  const written: Read<string> | null = decl.path ? { value: decl.path.value, node: decl.path } : trainFile && { value: trainFile.value.path, node: trainFile.node };
  if (!written) {
    a.reporter.report("missingValue", { prop: "'jsonl'", expected: 'the path of the training file in quotes, e.g. jsonl "data/train.jsonl"' }, decl.file, decl.form);
    return null;
  }
  const generationSet = f.prompt ?? f.completion;
  const classificationSet = f.text ?? f.label;
  if (generationSet && classificationSet) {
    const note = a.reporter.note("a generation field is set here", decl.file, generationSet.prop.key);
    a.reporter.report("jsonlFields", { reason: "a JSONL data set is either generation (prompt, completion) or classification (text, label), not both" }, decl.file, classificationSet.prop.key, [note]);
    return null;
  }
  const given = classificationSet ? "classification" : generationSet ? "generation" : null;
  if (f.format && given && f.format.value.value !== given) {
    a.reporter.report("jsonlFields", { reason: `format '${f.format.value.value}' does not fit the ${given} fields given` }, decl.file, f.format.value.node);
    return null;
  }
  const trainPath = planPath(decl.file, written.value, a.mainFile);
  const splits = jsonlSplits(decl, f, trainPath.record, a);
  if (!splits) return null;
  let format = f.format?.value.value ?? given;
  if (!format) {
    const inferred = a.canReadFiles ? inferFormat(decl, written, trainPath.read, a) : "generation";
    if (!inferred) return null;
    format = inferred;
  }
  const fields = format === "generation"
    ? { prompt: f.prompt?.value.value ?? JSONL_FIELDS.generation.prompt, completion: f.completion?.value.value ?? JSONL_FIELDS.generation.completion }
    : { text: f.text?.value.value ?? JSONL_FIELDS.classification.text, label: f.label?.value.value ?? JSONL_FIELDS.classification.label };
  const tokenizer = withResolvedPath(f.tokenizer?.value.value, decl.file, a.mainFile);
  const anyShare = SPLIT_NAMES.some((name) => splits[name].from === "share");
  if (f.shuffle && !anyShare) {
    a.reporter.report("ignoredProperty", { prop: "'shuffle'", reason: "when every split is a file of its own: only shares of the training file are shuffled" }, decl.file, f.shuffle.prop.key);
  }
  const spec: JsonlDataSpec = {
    kind: "jsonl",
    path: trainPath.record,
    format,
    fields,
    splits,
    shuffle: f.shuffle?.value.value ?? true,
    seed: f.seed?.value.value ?? DATA_SEED,
    tokenizer: tokenizer ?? { kind: "char" },
  };
  if (a.canReadFiles) countExamples(decl, f, written, trainPath.read, spec, a);
  return { spec, tokenizerSet: tokenizer !== undefined, format, node: written.node };
}

type JsonlFields = Fields<typeof JSONL_DATA_SCHEMA>;

/** Each split's source: shares default to 10% for validation and test, and training takes
 *  what they leave of the training file (the whole file when nothing else is cut from it). */
function jsonlSplits(decl: Ast.DataDecl, f: JsonlFields, trainRecord: string, a: Analysis): JsonlDataSpec["splits"] | null {
  const source = (name: "validation" | "test"): JsonlSplit => {
    const v = f[name]?.value.value;
    if (!v) return { from: "share", file: trainRecord, share: JSONL_SPLITS[name], examples: null };
    return v.kind === "file" ? { from: "file", file: planPath(decl.file, v.path, a.mainFile).record, examples: null } : { from: "share", file: trainRecord, share: v.share, examples: null };
  };
  const validation = source("validation");
  const test = source("test");
  const others = [validation, test].reduce((sum, s) => sum + (s.from === "share" ? s.share : 0), 0);
  const written = f.train?.value.value;
  let train: JsonlSplit;
  if (written?.kind === "share") train = { from: "share", file: trainRecord, share: written.share, examples: null };
  else if (others === 0) train = { from: "file", file: trainRecord, examples: null };
  else train = { from: "share", file: trainRecord, share: Math.max(0, Math.round((1 - others) * 1e9) / 1e9), examples: null };
  const sum = (train.from === "share" ? train.share : 0) + others;
  if (sum > 1 + 1e-9) {
    const at = [f.test, f.validation, f.train].find((x) => x?.value.value.kind === "share");
    a.reporter.report("splitsOver100", { sum: `${Math.round(sum * 1000) / 10}%` }, decl.file, at ? at.prop : decl.form);
    return null;
  }
  if (train.from === "share" && train.share === 0) {
    const at = f.train?.value.node ?? [f.validation, f.test].find((x) => x?.value.value.kind === "share")?.prop ?? decl.form;
    a.reporter.report("outOfRange", { prop: "'train'", allowed: "a share above 0% (validation and test shares leave nothing to train on)", value: "0%" }, decl.file, at);
    return null;
  }
  return { train, validation, test };
}

/** The format of a file whose block names neither a format nor fields: from its first line's keys. */
function inferFormat(decl: Ast.DataDecl, written: Read<string>, readPath: string, a: Analysis): "generation" | "classification" | null {
  const text = a.readFile(readPath);
  if (text === null) return "generation"; // reported by countExamples
  const first = firstLine(text);
  if (!first) return "generation";
  const record = jsonObject(first.text);
  if (!record) return "generation"; // its line is reported by countExamples
  const keys = Object.keys(record);
  const has = (...names: string[]) => names.every((k) => k in record);
  if (has("prompt", "completion")) return "generation";
  if (has("text", "label")) return "classification";
  a.reporter.report("jsonlNoFormat", { line: first.no, path: written.value, keys: keyList(keys), hint: fieldHint(record) }, decl.file, written.node);
  return null;
}

/** Settings that would read a line with these keys, e.g. `prompt "question", completion "answer"`. */
function fieldHint(record: Record<string, unknown>): string {
  const keys = Object.keys(record);
  const strings = keys.filter((k) => typeof record[k] === "string");
  const labelKey = keys.find((k) => Number.isInteger(record[k])) ?? strings[1];
  const hints: string[] = [];
  if (strings.length >= 2) hints.push(`for generation set \`prompt "${strings[0]}", completion "${strings[1]}"\``);
  if (strings.length >= 1 && labelKey && labelKey !== strings[0]) hints.push(`for classification set \`text "${strings[0]}", label "${labelKey}"\``);
  if (hints.length === 0) return "name the keys with `prompt` and `completion` (generation) or `text` and `label` (classification)";
  return `${hints.join("; ")} (with \`format\` if the file may start with other keys)`;
}

function keyList(keys: string[]): string {
  if (keys.length === 0) return "none (an empty object)";
  const shown = keys.slice(0, 8).map((k) => `"${k}"`).join(", ");
  return keys.length > 8 ? `${shown} and ${keys.length - 8} more` : shown;
}

function firstLine(text: string): { no: number; text: string } | null {
  let start = 0;
  for (let no = 1; start <= text.length; no++) {
    const nl = text.indexOf("\n", start);
    const line = text.slice(start, nl === -1 ? text.length : nl);
    if (line.trim() !== "") return { no, text: line };
    if (nl === -1) return null;
    start = nl + 1;
  }
  return null;
}

function jsonObject(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Read every file of the data set: count its examples, check its first lines, and record each
 *  split's size in the spec. */
function countExamples(decl: Ast.DataDecl, f: JsonlFields, written: Read<string>, trainRead: string, spec: JsonlDataSpec, a: Analysis): void {
  const trainLines = checkJsonlFile(decl, written, trainRead, spec, a);
  const counts = trainLines === null ? null : shareCounts(trainLines, spec.splits);
  for (const name of SPLIT_NAMES) {
    const split = spec.splits[name];
    if (split.from === "share" || name === "train") {
      split.examples = counts === null ? null : split.from === "share" ? counts[name] : trainLines;
      continue;
    }
    const v = f[name]!.value as Read<Extract<SplitSource, { kind: "file" }>>;
    split.examples = checkJsonlFile(decl, { value: v.value.path, node: v.node }, planPath(decl.file, v.value.path, a.mainFile).read, spec, a);
  }
}

/** Read one file: count its examples and check the first lines hold the named fields. */
function checkJsonlFile(decl: Ast.DataDecl, written: Read<string>, readPath: string, spec: JsonlDataSpec, a: Analysis): number | null {
  const text = a.readFile(readPath);
  if (text === null) {
    a.reporter.report("cannotRead", { what: "data file", path: written.value, reason: readPath !== written.value ? ` (looked for '${readPath}')` : "" }, decl.file, written.node);
    return null;
  }
  const keys = Object.values(spec.fields) as string[];
  let count = 0;
  let checked = 0;
  let reported = false;
  let replacementSeen = false;
  let start = 0;
  for (let no = 1; start <= text.length; no++) {
    const nl = text.indexOf("\n", start);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === "") continue;
    count++;
    // The reader decodes bad bytes as U+FFFD, which a UTF-8 file may also hold on purpose: a warning
    // here; the run reads the bytes and stops at the first line that is not UTF-8.
    if (!replacementSeen && line.includes("\uFFFD")) {
      a.reporter.report("jsonlReplacementChar", { line: no, path: written.value }, decl.file, written.node);
      replacementSeen = true;
    }
    if (checked >= LINES_CHECKED || reported) continue;
    checked++;
    const problem = lineProblem(line, keys, spec.format);
    if (problem) {
      a.reporter.report("jsonlBadLine", { line: no, path: written.value, problem }, decl.file, written.node);
      reported = true;
    }
  }
  if (count === 0) a.reporter.report("jsonlBadLine", { line: 1, path: written.value, problem: "is empty: the file holds no examples" }, decl.file, written.node);
  return count;
}

function lineProblem(line: string, keys: string[], format: JsonlDataSpec["format"]): string | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "is not valid JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "is not a JSON object";
  const record = value as Record<string, unknown>;
  const missing = keys.filter((k) => !(k in record));
  if (missing.length === 0) return null;
  const [a, b] = format === "generation" ? ["prompt", "completion"] : ["text", "label"];
  return `has no key ${missing.map((k) => `"${k}"`).join(" or ")} (its keys: ${keyList(Object.keys(record))}); name the keys this ${format} data reads with \`${a} "…", ${b} "…"\``;
}

/** A BPE tokenizer file is written relative to its .peft file, like every other path. */
function withResolvedPath(tokenizer: TokenizerSpec | undefined, file: string, mainFile: string): TokenizerSpec | undefined {
  return tokenizer?.kind === "bpe" ? { kind: "bpe", path: planPath(file, tokenizer.path, mainFile).record } : tokenizer;
}

/** Training examples of a data set, or null when unknown (no reader, unreadable file). */
export function trainSize(info: DataInfo): number | null {
  if (info.spec.kind === "task") return info.spec.splits.train;
  return info.spec.splits.train.examples;
}

/** Whether the data has validation examples. */
export function hasValidation(info: DataInfo): boolean {
  if (info.spec.kind === "task") return info.spec.splits.validation > 0;
  const v = info.spec.splits.validation;
  return v.from === "file" ? v.examples !== 0 : v.share > 0 && v.examples !== 0;
}
