// Models: what `model NAME = FORM ["path"] { … }` means, and checks of its sizes.

import type * as Ast from "../ast.js";
import { defaultIntermediate, MODEL_DEFAULTS } from "../defaults.js";
import { readBlock, type Fields } from "../fields.js";
import { planPath } from "../paths.js";
import type { BuiltinModelSpec, ModelSpec } from "../plan.js";
import type { Spanned } from "../reporter.js";
import { BUILTIN_MODEL_SCHEMA, HF_MODEL_SCHEMA, LLAMA_MODEL_SCHEMA, MODEL_FORMS, PRETRAINED_MODEL_SCHEMA, type ModelForm } from "../schema-models.js";
import { didYouMean, quoteList } from "../suggest.js";
import { tokenizerProblem } from "../../tokenizers/hf-tokenizer.js";
import type { Analysis, ModelInfo } from "./analysis.js";
import { defineCheck } from "./registry.js";
import { resolvedTokenizer } from "./tokenizer.js";

const FORMS = Object.keys(MODEL_FORMS) as ModelForm[];

defineCheck("interpret", "ModelDecl", "model-form", (decl, a) => {
  const form = decl.form.name;
  if (!(FORMS as string[]).includes(form)) {
    a.reporter.report("unknownKind", { what: "model kind", name: form, allowed: quoteList(FORMS), hint: didYouMean(form, FORMS) }, decl.file, decl.form);
    return;
  }
  const info = form === "hf" ? hfModel(decl, a) : form === "pretrained" ? pretrainedModel(decl, a) : builtinModel(decl, form as keyof typeof MODEL_FORMS, a);
  if (info) a.models.set(decl, info);
});

/** A path after a form that takes none is an error at the path. */
function rejectPath(decl: Ast.ModelDecl, a: Analysis): void {
  if (decl.path) a.reporter.report("extraValue", { found: `string "${decl.path.value}"`, prop: `'${decl.form.name}'`, hint: ": only 'hf' models take a folder path" }, decl.file, decl.path);
}

function builtinModel(decl: Ast.ModelDecl, form: keyof typeof MODEL_FORMS, a: Analysis): ModelInfo | null {
  rejectPath(decl, a);
  const base = MODEL_FORMS[form]!;
  const family = base.family;
  const title = `a ${form} model`;
  const f: Fields<typeof LLAMA_MODEL_SCHEMA> = family === "llama"
    ? readBlock(decl.block, LLAMA_MODEL_SCHEMA, title, decl.file, a.reporter)
    : readBlock(decl.block, BUILTIN_MODEL_SCHEMA, title, decl.file, a.reporter);
  const hidden = f.width?.value.value ?? MODEL_DEFAULTS.width;
  const heads = f.heads?.value.value ?? MODEL_DEFAULTS.heads;
  const head = f.head?.value.value ?? base.head;
  const kvHeads = f.kvHeads?.value.value ?? heads;
  const spec: BuiltinModelSpec = {
    kind: "builtin",
    family,
    head,
    layers: f.layers?.value.value ?? MODEL_DEFAULTS.layers,
    hidden,
    heads,
    kvHeads,
    intermediate: f.intermediate?.value.value ?? defaultIntermediate(family, hidden),
    context: f.context?.value.value ?? MODEL_DEFAULTS.context,
    vocab: f.vocab?.value.value ?? "auto",
    labels: f.labels?.value.value ?? "auto",
    initSeed: f.seed?.value.value ?? MODEL_DEFAULTS.initSeed,
    precision: f.precision?.value.value ?? MODEL_DEFAULTS.precision,
  };
  return { spec, fields: f };
}

function hfModel(decl: Ast.ModelDecl, a: Analysis): ModelInfo | null {
  const f = readBlock(decl.block, HF_MODEL_SCHEMA, "an hf model", decl.file, a.reporter);
  if (!decl.path) {
    a.reporter.report("missingValue", { prop: "'hf'", expected: 'the path of a Hugging Face model folder in quotes, e.g. hf "models/tiny"' }, decl.file, decl.form);
    return null;
  }
  const path = planPath(decl.file, decl.path.value, a.mainFile);
  const spec: ModelSpec = { kind: "hf", path: path.record, head: f.head?.value.value ?? "auto", labels: f.labels?.value.value ?? "auto", precision: f.precision?.value.value ?? MODEL_DEFAULTS.precision };
  return { spec, fields: {}, readPath: path.read };
}

function pretrainedModel(decl: Ast.ModelDecl, a: Analysis): ModelInfo | null {
  rejectPath(decl, a);
  const f = readBlock(decl.block, PRETRAINED_MODEL_SCHEMA, "a pretrained model", decl.file, a.reporter);
  return { spec: { kind: "default", family: f.family?.value.value ?? "llama", head: f.head?.value.value ?? "auto", labels: f.labels?.value.value ?? "auto", precision: f.precision?.value.value ?? MODEL_DEFAULTS.precision }, fields: {} };
}

defineCheck("validate", "ModelDecl", "model-sizes", (decl, a) => {
  const info = a.models.get(decl);
  if (!info || info.spec.kind !== "builtin") return;
  const { spec, fields: f } = info;
  const at = (node: Spanned | undefined): Spanned => node ?? decl.form;
  if (spec.hidden % spec.heads !== 0) {
    a.reporter.report("headsDoNotDivide", { what: "width", a: spec.hidden, by: "heads", b: spec.heads }, decl.file, at(f.width?.value.node ?? f.heads?.value.node));
  }
  if (spec.heads % spec.kvHeads !== 0) {
    a.reporter.report("headsDoNotDivide", { what: "heads", a: spec.heads, by: "kv_heads", b: spec.kvHeads }, decl.file, at(f.kvHeads?.value.node ?? f.heads?.value.node));
  }
  if (spec.family === "bert" && spec.head !== "classifier") {
    a.reporter.report("wrongHeadForFamily", { family: "bert (encoder)", allowed: "a classifier head", head: `'${spec.head}'` }, decl.file, at(f.head?.value.node));
  }
  if (spec.head === "causal_lm" && f.labels) {
    a.reporter.report("ignoredProperty", { prop: "'labels'", reason: "on a causal_lm head (labels are for classifier heads)" }, decl.file, f.labels.prop.key);
  }
});

defineCheck("validate", "ModelDecl", "hf-folder", (decl, a) => {
  const info = a.models.get(decl);
  if (!info || info.spec.kind !== "hf" || !a.canReadFiles || !decl.path) return;
  if (a.readFile(`${info.readPath}/config.json`) === null) a.reporter.report("hfNoConfig", { path: decl.path.value }, decl.file, decl.path);
  // The folder's tokenizer is loaded only by runs whose data uses the model's tokenizer: an error
  // there, a warning when no run does (the model still works with another tokenizer).
  const reason = tokenizerProblem((name) => a.readFile(`${info.readPath}/${name}`));
  if (reason === null) return;
  const user = [...a.runs.values()].find((run) => run.model === decl && resolvedTokenizer(run.data, a).kind === "model");
  if (user) a.reporter.report("hfBadTokenizer", { path: decl.path.value, data: user.data.name.name, reason }, decl.file, decl.path);
  else a.reporter.report("hfUnusedBadTokenizer", { path: decl.path.value, reason }, decl.file, decl.path);
});
