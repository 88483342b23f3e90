// Documents generated from the parser itself: the grammar as Markdown (EBNF rules, tokens, and the
// properties of every block from the schemas), the railroad-diagram page, and the typed CST.
// scripts/gen-grammar.js writes them; test/dsl/grammar.test.ts fails when they drift.

import {
  Alternation, Alternative, NonTerminal, Option, Repetition, RepetitionMandatory, RepetitionMandatoryWithSeparator,
  Lexer, RepetitionWithSeparator, Terminal, createSyntaxDiagramsCode, generateCstDts, type IProduction, type TokenType,
} from "chevrotain";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { BEAM_DEFAULTS, TASK_PARAMS } from "./defaults.js";
import type { Schema } from "./fields.js";
import { ALL_TOKENS, KEYWORDS, Key, Name, Stray, StringLit, keywordText } from "./lexer.js";
import { parser } from "./parser.js";
import { ADALORA_SCHEMA, BEAM_SCHEMA, LORA_SCHEMA, PRUNE_SCHEMA } from "./schema-adapters.js";
import { BUILTIN_MODEL_SCHEMA, HF_MODEL_SCHEMA, JSONL_DATA_SCHEMA, LLAMA_MODEL_SCHEMA, MODEL_FORMS, PRETRAINED_MODEL_SCHEMA, taskDataSchema } from "./schema-models.js";
import { TRAIN_SCHEMA } from "./schema-train.js";
import { BACKENDS, METRICS, PLOTS } from "./semantics/compare.js";

/** The example at the top of the grammar document (a test checks that it compiles cleanly). */
export const GRAMMAR_EXAMPLE = `# LoRA, BeamLoRA and Light-PEFT on one small model
model base = decoder { layers 2, width 64, heads 4, context 32 }
data sums = addition { digits 2, train 2000, validation 200, test 200 }
adapter lora8 = lora { rank 8, alpha 16, dropout 0.05, target "q_proj", "v_proj" }
beam beams on lora8 { every 50 steps, top_p 0.95 -> 1.0 cosine until 66% }
prune light { estimate 10%, heads 25% per layer, neurons 33% global, modules 50%, ranks 50% }
train { steps 300, batch 32, lr 1e-3 cosine warmup 3%, seeds 1 2 }
run lora = base + lora8 on sums
run beam = base + lora8 + beams on sums
run lightpeft = base + lora8 + light on sums
compare lora, beam, lightpeft by accuracy, step_time
`;

/** One sentence per grammar rule; every rule must have one (the generator throws otherwise, and a
 *  test checks there are no entries for rules that no longer exist). */
const RULE_DOCS: Record<string, string> = {
  program: "A file is a sequence of statements; each starts with a keyword.",
  stray: "Tokens that cannot start a statement. The grammar accepts them only so that parsing resumes at the next statement; each run of them is reported as an error (PEFT1004).",
  modelDecl: "A base model: a built-in architecture (`decoder`/`llama`, `gpt2`, `encoder`/`bert`), a Hugging Face folder (`hf \"path\"`), or the project's pretrained base (`pretrained`).",
  dataDecl: "A data set: a built-in task generator (`addition`, `subtraction`, `multiplication`, `arithmetic`, `code`, `sort`, `reverse`, `spam`) or a JSONL file (`jsonl \"path\"`).",
  adapterDecl: "An adapter: `lora`, `dora` or `adalora`, or `peft \"folder\"` for an existing PEFT adapter folder.",
  beamDecl: "A BeamLoRA constraint on an adapter.",
  pruneDecl: "A Light-PEFT pruning schedule.",
  trainDecl: "Training settings: unnamed, they are the defaults of every run; named, a run picks them with `with NAME`.",
  runDecl: "A run: a model, one or more adapters, at most one beam and one prune schedule, and data; `with` adds training settings (a named block, inline overrides, or both).",
  compareDecl: "A comparison of runs: which metrics to tabulate (`by`) and which plots to draw (`plot`).",
  includeDecl: "Include another .peft file (relative to this one); its declarations join this file's.",
  backendDecl: "The backend to run on (the CLI may override it).",
  block: "Properties, separated by commas or line breaks.",
  property: "A key and the values on the same line. A comma followed by a string, a number, a list or `matching` continues the property (`target \"q_proj\", matching \".*v_proj\"`); a comma followed by another word starts the next property. `%`, `->` and `..` bind to the numbers around them.",
  list: "A bracketed list, e.g. a learning-rate grid `[1e-4, 3e-4]`.",
};

function terminalName(type: TokenType): string {
  const kw = keywordText(type);
  if (kw !== undefined) return `'${kw}'`;
  if (type === Name) return "NAME";
  if (type === Key) return "WORD";
  if (type === Stray) return "TOKEN";
  if (type === StringLit) return "STRING";
  if (type.name === "NumberLit") return "NUMBER";
  return typeof type.LABEL === "string" ? type.LABEL : type.name;
}

/** EBNF text of a production: `[x]` optional, `(x)*` any number, `(x)+` at least one. */
function ebnf(prods: IProduction[]): string {
  return prods.map(ebnfOne).join(" ");
}

/** `( … )` around a sequence; a lone alternation already has its parentheses. */
function group(prods: IProduction[], suffix: string): string {
  if (prods.length === 1 && prods[0] instanceof Alternation) return `${ebnfOne(prods[0])}${suffix}`;
  return `( ${ebnf(prods)} )${suffix}`;
}

function ebnfOne(p: IProduction): string {
  if (p instanceof Terminal) return terminalName(p.terminalType);
  if (p instanceof NonTerminal) return p.nonTerminalName;
  if (p instanceof Option) return `[ ${ebnf(p.definition)} ]`;
  if (p instanceof Repetition) return group(p.definition, "*");
  if (p instanceof RepetitionMandatory) return group(p.definition, "+");
  if (p instanceof RepetitionWithSeparator) return `[ ${ebnf(p.definition)} ( ${terminalName(p.separator)} ${ebnf(p.definition)} )* ]`;
  if (p instanceof RepetitionMandatoryWithSeparator) return `${ebnf(p.definition)} ( ${terminalName(p.separator)} ${ebnf(p.definition)} )*`;
  if (p instanceof Alternation) return `( ${p.definition.map((alt) => ebnf((alt as Alternative).definition)).join(" | ")} )`;
  if (p instanceof Alternative) return ebnf(p.definition);
  throw new Error(`grammar-doc: unknown production ${p.constructor.name}`);
}

function rulesSection(): string {
  const lines: string[] = [];
  const stale = Object.keys(RULE_DOCS).filter((name) => !(name in parser.getGAstProductions()));
  if (stale.length > 0) throw new Error(`grammar-doc: RULE_DOCS describes rules the parser does not have: ${stale.join(", ")}`);
  for (const [name, rule] of Object.entries(parser.getGAstProductions())) {
    const doc = RULE_DOCS[name];
    if (!doc) throw new Error(`grammar-doc: rule '${name}' has no description in RULE_DOCS`);
    lines.push(`### ${name}`, "", doc, "", "```ebnf", `${name} ::= ${ebnf(rule.definition)}`, "```", "");
  }
  return lines.join("\n");
}

function tokensSection(): string {
  const rows = ALL_TOKENS.filter((t) => t.PATTERN instanceof RegExp && t.PATTERN !== Lexer.NA && keywordText(t) === undefined).map((t) => {
    const skipped = t.GROUP === "SKIPPED" ? " (skipped)" : "";
    return `| ${t.name}${skipped} | \`${String(t.PATTERN).replace(/\|/g, "\\|")}\` |`;
  });
  const keywords = KEYWORDS.map((k) => `\`${keywordText(k)}\``).join(", ");
  return [
    "| Token | Pattern |", "|---|---|", ...rows, "",
    `Keywords: ${keywords}. Any keyword may also be used as a name (\`run beam = …\`).`,
    "`NAME` is any word; `WORD` is any word except the statement keywords other than `train`.",
    "Strings hold no line breaks; only `\\\"`, `\\\\`, `\\n` and `\\t` are escapes (other backslashes stay, so regexes need no doubling).",
    "Numbers may use `_` between digits (`10_000`) and an exponent (`3e-4`).",
    "",
  ].join("\n");
}

function table(schema: Schema): string {
  const rows = Object.values(schema).map((f) => `| ${f.keys.map((k) => `\`${k}\``).join(", ")} | \`${f.form.replace(/\|/g, "\\|")}\` | ${f.default} | ${f.summary} |`);
  return ["| Property | Value | Default | Meaning |", "|---|---|---|---|", ...rows, ""].join("\n");
}

function blocksSection(): string {
  const builtinForms = Object.entries(MODEL_FORMS).filter(([, v]) => v !== null).map(([k, v]) => `\`${k}\` (${v!.family}, ${v!.head})`).join(", ");
  const parts = [
    "Values: `INT` a whole number; `NUMBER` any number; `RATIO` a percentage (`33%`) or a fraction (`0.33`);",
    "`STEPS` a number of steps (`200` or `200 steps`); `STEPS | RATIO` also accepts a share of training (`10%`),",
    "which the compiler turns into a step number for each run.",
    "",
    `### model: built-in architectures`, "", `Forms: ${builtinForms}. \`decoder\`/\`llama\` also take \`kv_heads\`.`, "", table(LLAMA_MODEL_SCHEMA),
    "gpt2 and bert blocks take the same properties except `kv_heads`.", "",
    "### model: `hf \"folder\"`", "", table(HF_MODEL_SCHEMA),
    "### model: `pretrained`", "", table(PRETRAINED_MODEL_SCHEMA),
    "### data: tasks", "",
    ...Object.entries(TASK_PARAMS).map(([task, params]) => `- \`${task}\`: ${Object.keys(params).length === 0 ? "no parameters" : Object.values(params).map((p) => `\`${p.key}\` (default ${p.default}, ${p.min}–${p.max}: ${p.summary})`).join(", ")}`),
    "", "Every task block also takes:", "", table(Object.fromEntries(Object.entries(taskDataSchema("spam")))),
    "### data: `jsonl \"file\"`", "",
    "The file after `jsonl` is the training file. Each split is a share of it (`validation 10%`) or a file of its",
    "own (`test \"test.jsonl\"`, read whole, in order): `jsonl \"train.jsonl\" { validation 10%, test \"test.jsonl\" }`.",
    "Shares are cut after a seeded shuffle (`shuffle no` keeps the file order); training takes what the other shares",
    "leave. With neither `format` nor field names, the keys of the first line decide: prompt/completion or text/label.",
    "The plan records each split's file and number of examples.", "", table(JSONL_DATA_SCHEMA),
    "### adapter: `lora`, `dora`", "", table(LORA_SCHEMA),
    "### adapter: `adalora` (adds to the lora properties)", "",
    table(Object.fromEntries(Object.entries(ADALORA_SCHEMA).filter(([k]) => !(k in LORA_SCHEMA)))),
    `### beam NAME on ADAPTER`, "", table(BEAM_SCHEMA),
    `The period defaults to steps/${BEAM_DEFAULTS.periodsPerRun} rounded to an even number (at least ${BEAM_DEFAULTS.minPeriod}).`, "",
    "### prune NAME", "", table(PRUNE_SCHEMA),
    "### train", "", table(TRAIN_SCHEMA),
    "### compare", "",
    `Metrics: ${METRICS.map((m) => `\`${m}\``).join(", ")}.`, "",
    `Plots: ${PLOTS.map((m) => `\`${m}\``).join(", ")}.`, "",
    "### backend", "", `Backends: ${BACKENDS.map((m) => `\`${m}\``).join(", ")}.`, "",
  ];
  void BUILTIN_MODEL_SCHEMA;
  return parts.join("\n");
}

/** The grammar document (Markdown), generated from the parser and the block schemas. */
export function grammarMarkdown(): string {
  return [
    "<!-- Generated by scripts/gen-grammar.js from src/dsl/parser.ts and the block schemas. Do not edit. -->",
    "# The .peft language",
    "",
    "One `.peft` file declares a whole experiment: models, data, adapters, BeamLoRA constraints,",
    "Light-PEFT schedules, training settings, runs and comparisons. Comments start with `#` or `//`.",
    "",
    "```",
    GRAMMAR_EXAMPLE.trimEnd(),
    "```",
    "",
    "Check a file with `peftlab check FILE`; see the compiled plan, with every default filled in, with",
    "`peftlab plan FILE`. More examples are in `examples/`.",
    "",
    "## Tokens",
    "",
    tokensSection(),
    "## Rules",
    "",
    rulesSection(),
    "## Blocks",
    "",
    blocksSection(),
  ].join("\n");
}

/** The railroad-diagram page (Chevrotain's diagrams, drawn from the serialized grammar). */
export function railroadHtml(): string {
  return inlineDiagramResources(createSyntaxDiagramsCode(parser.getSerializedGastProductions()));
}

/**
 * Chevrotain's page loads its diagram scripts and stylesheet from a CDN; we inline the copies the
 * chevrotain package ships, so the page works offline.
 */
function inlineDiagramResources(html: string): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve("chevrotain"));
  while (!fs.existsSync(path.join(dir, "diagrams", "diagrams.css"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error("railroadHtml: chevrotain's diagrams folder was not found");
    dir = up;
  }
  dir = path.join(dir, "diagrams");
  const read = (rel: string) => fs.readFileSync(path.join(dir, rel), "utf8").replace(/<\/script/gi, "<\\/script");
  return html
    .replace(/<link rel='stylesheet' href='[^']*\/diagrams\/diagrams\.css'>/, () => `<style>\n${read("diagrams.css")}</style>`)
    .replace(/<script src='[^']*\/diagrams\/([^']+)'><\/script>/g, (_, rel: string) => `<script>\n${read(rel)}</script>`);
}

/** The typed CST (src/dsl/cst-types.ts), as Chevrotain's generateCstDts writes it. */
export function cstTypesSource(): string {
  return [
    "// Generated from the parser by scripts/gen-grammar.js (chevrotain generateCstDts). Do not edit.",
    "// test/dsl/grammar.test.ts fails when this file and the parser drift apart.",
    "",
    generateCstDts(parser.getGAstProductions()),
  ].join("\n");
}
