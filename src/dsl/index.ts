// Public API of the .peft front end: source text → checked plan, and the diagnostics around it.
// Nothing here imports TensorFlow.js; src/runtime imports `builtinModulePaths`/`selectModules`.

import { compileSource, type CompileOptions, type CompileResult } from "./compile.js";
import { sortDiagnostics, type Diagnostic } from "./diagnostics.js";
import { loadProgram } from "./load.js";
import { analyze } from "./semantics/index.js";

export * from "./plan.js";
export { CATALOGUE, entryByCode, formatMessage, type CatalogueEntry, type DiagnosticId, type Severity } from "./catalogue.js";
export { hasErrors, makeDiagnostic, sortDiagnostics, type Diagnostic, type DiagnosticNote } from "./diagnostics.js";
export { capDiagnostics, MAX_RENDERED, renderDiagnostic, renderDiagnostics, diagnosticsToJson, summarize, type DiagnosticJson, type Sources } from "./render.js";
export { builtinModulePaths, matchesSelector, selectModules } from "./modules.js";
export { matchesName, matchesTargetModules, patternMatches, resolvePattern, selectTargets, type ModuleList } from "../peft/targets.js";
export { parse, type ParseOptions, type ParseResult } from "./syntax.js";
export { compileSource, buildPlan, sha256, type CompileOptions, type CompileResult } from "./compile.js";
export { decodeSource, type DecodedSource } from "./source.js";
export { didYouMean, closest } from "./suggest.js";
export { LineIndex, type Span, type Position } from "./span.js";
export { listChecks } from "./semantics/index.js";
export type { ReadFile } from "./semantics/index.js";
export type * as Ast from "./ast.js";

/** Input of `compile`/`check`: a text, a named text, or a set of in-memory files and the main one. */
export type CompileInput = string | { path: string; text: string } | { main: string; files: Readonly<Record<string, string>> };

function normalizeInput(input: CompileInput, options: CompileOptions): { text: string; path: string; options: CompileOptions } {
  if (typeof input === "string") return { text: input, path: "<input>", options };
  if ("text" in input) return { text: input.text, path: input.path, options };
  const files = input.files;
  const readFile = options.readFile ?? ((p: string) => (Object.prototype.hasOwnProperty.call(files, p) ? files[p]! : null));
  const text = files[input.main];
  if (text === undefined) throw new Error(`compile: the main file '${input.main}' is not among the files given (${Object.keys(files).join(", ")})`);
  return { text, path: input.main, options: { ...options, readFile } };
}

/** Parse, check and compile: `{ plan, diagnostics, sources }` (plan is null when there are errors). */
export function compile(input: CompileInput, options: CompileOptions = {}): CompileResult {
  const { text, path, options: opts } = normalizeInput(input, options);
  return compileSource(text, path, opts);
}

/** Parse and check without building a plan: every diagnostic, sorted. */
export function check(input: CompileInput, options: CompileOptions = {}): { diagnostics: Diagnostic[]; sources: Map<string, string> } {
  const { text, path, options: opts } = normalizeInput(input, options);
  const loaded = loadProgram(text, path, opts.readFile);
  const files = [...loaded.sources.keys()];
  if (loaded.diagnostics.some((d) => d.severity === "error")) return { diagnostics: sortDiagnostics(loaded.diagnostics, files), sources: loaded.sources };
  const { diagnostics } = analyze(loaded.statements, path, opts);
  return { diagnostics: sortDiagnostics([...loaded.diagnostics, ...diagnostics], files), sources: loaded.sources };
}
