// Data: built-in task generators and JSONL files.

import type * as Ast from "../ast.js";
import { DATA_SEED, JSONL_FIELDS, JSONL_SPLITS, TASK_PARAMS, TASK_SPLITS, taskSpace } from "../defaults.js";
import { readBlock } from "../fields.js";
import { planPath } from "../paths.js";
import type { JsonlDataSpec, TaskDataSpec, TaskName, TokenizerSpec } from "../plan.js";
import { JSONL_DATA_SCHEMA, taskDataSchema } from "../schema-models.js";
import { didYouMean, quoteList } from "../suggest.js";
import type { Spanned } from "../report.js";
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
  return { spec, tokenizerSet: tokenizer !== undefined, format: CLASSIFICATION_TASKS.includes(task) ? "classification" : "generation", node: decl.form, lineCount: null };
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
  if (!decl.path) {
    a.reporter.report("missingValue", { prop: "'jsonl'", expected: 'the path of a .jsonl file in quotes, e.g. jsonl "data/train.jsonl"' }, decl.file, decl.form);
    return null;
  }
  const generationSet = f.prompt ?? f.completion;
  const classificationSet = f.text ?? f.label;
  if (generationSet && classificationSet) {
    const note = a.reporter.note("a generation field is set here", decl.file, generationSet.prop.key);
    a.reporter.report("jsonlFields", { reason: "a JSONL data set is either generation (prompt, completion) or classification (text, label), not both" }, decl.file, classificationSet.prop.key, [note]);
    return null;
  }
  const inferred = classificationSet ? "classification" : "generation";
  const format = f.format?.value.value ?? inferred;
  if (f.format && (generationSet || classificationSet) && format !== inferred) {
    a.reporter.report("jsonlFields", { reason: `format '${format}' does not fit the ${inferred} fields given` }, decl.file, f.format.value.node);
    return null;
  }
  const fields = format === "generation"
    ? { prompt: f.prompt?.value.value ?? JSONL_FIELDS.generation.prompt, completion: f.completion?.value.value ?? JSONL_FIELDS.generation.completion }
    : { text: f.text?.value.value ?? JSONL_FIELDS.classification.text, label: f.label?.value.value ?? JSONL_FIELDS.classification.label };
  const splitFractions = { train: f.train?.value.value ?? JSONL_SPLITS.train, validation: f.validation?.value.value ?? JSONL_SPLITS.validation, test: f.test?.value.value ?? JSONL_SPLITS.test };
  const sum = splitFractions.train + splitFractions.validation + splitFractions.test;
  if (sum > 1 + 1e-9) {
    const at = f.test ?? f.validation ?? f.train;
    a.reporter.report("splitsOver100", { sum: `${Math.round(sum * 1000) / 10}%` }, decl.file, at ? at.prop : decl.form);
  }
  if (splitFractions.train === 0 && f.train) a.reporter.report("outOfRange", { prop: "'train'", allowed: "a share above 0%", value: "0" }, decl.file, f.train.value.node);
  const tokenizer = withResolvedPath(f.tokenizer?.value.value, decl.file, a.mainFile);
  const path = planPath(decl.file, decl.path.value, a.mainFile);
  const spec: JsonlDataSpec = {
    kind: "jsonl",
    path: path.record,
    format,
    fields,
    splitFractions,
    seed: f.seed?.value.value ?? DATA_SEED,
    tokenizer: tokenizer ?? { kind: "char" },
  };
  const lineCount = a.canReadFiles ? checkJsonlFile(decl, path.read, spec, a) : null;
  return { spec, tokenizerSet: tokenizer !== undefined, format, node: decl.path, lineCount };
}

/** A BPE tokenizer file is written relative to its .peft file, like every other path. */
function withResolvedPath(tokenizer: TokenizerSpec | undefined, file: string, mainFile: string): TokenizerSpec | undefined {
  return tokenizer?.kind === "bpe" ? { kind: "bpe", path: planPath(file, tokenizer.path, mainFile).record } : tokenizer;
}

/** Read the file: count its examples and check the first lines hold the named fields. */
function checkJsonlFile(decl: Ast.DataDecl, readPath: string, spec: JsonlDataSpec, a: Analysis): number | null {
  const path = decl.path!;
  const text = a.readFile(readPath);
  if (text === null) {
    a.reporter.report("cannotRead", { what: "data file", path: path.value, reason: readPath !== path.value ? ` (looked for '${readPath}')` : "" }, decl.file, path);
    return null;
  }
  const lines = text.split("\n");
  const keys = Object.values(spec.fields) as string[];
  let count = 0;
  let checked = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() === "") continue;
    count++;
    if (checked >= LINES_CHECKED) continue;
    checked++;
    const problem = lineProblem(lines[i]!, keys);
    if (problem) {
      a.reporter.report("jsonlBadLine", { line: i + 1, path: path.value, problem }, decl.file, path);
      checked = LINES_CHECKED;
    }
  }
  if (count === 0) a.reporter.report("jsonlBadLine", { line: 1, path: path.value, problem: "is empty: the file holds no examples" }, decl.file, path);
  return count;
}

function lineProblem(line: string, keys: string[]): string | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "is not valid JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "is not a JSON object";
  const record = value as Record<string, unknown>;
  const missing = keys.filter((k) => !(k in record));
  return missing.length === 0 ? null : `has no key ${missing.map((k) => `"${k}"`).join(" or ")}`;
}

/** Training examples of a data set, or null when unknown (no reader, unreadable file). */
export function trainSize(info: DataInfo): number | null {
  if (info.spec.kind === "task") return info.spec.splits.train;
  return info.lineCount === null ? null : Math.floor(info.lineCount * info.spec.splitFractions.train);
}

/** Whether the data has validation examples. */
export function hasValidation(info: DataInfo): boolean {
  return info.spec.kind === "task" ? info.spec.splits.validation > 0 : info.spec.splitFractions.validation > 0;
}
