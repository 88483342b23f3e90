// Loading a program: parse the main text and splice in included files (through the injected
// reader), reporting unreadable files, cycles and repeats at the include statement.

import type { IncludeDecl, Statement } from "./ast.js";
import { makeDiagnostic, type Diagnostic } from "./diagnostics.js";
import { resolveFrom } from "./paths.js";
import type { ReadFile } from "./semantics/analysis.js";
import { parse } from "./syntax.js";

/** Includes nested deeper than this are an error. */
export const MAX_INCLUDE_DEPTH = 16;

/** A program gathered from a main file and its includes. */
export interface LoadedProgram {
  /** Statements of every file, includes spliced in place, without the include statements. */
  statements: Statement[];
  /** Text of every file read, by path (the main file first). */
  sources: Map<string, string>;
  /** Syntax and include diagnostics. */
  diagnostics: Diagnostic[];
}

/** Parse `text` (the file at `path`) and the files it includes. */
export function loadProgram(text: string, path: string, readFile?: ReadFile): LoadedProgram {
  const out: LoadedProgram = { statements: [], sources: new Map(), diagnostics: [] };
  visit(text, path, [path], out, readFile);
  return out;
}

function visit(text: string, path: string, stack: string[], out: LoadedProgram, readFile: ReadFile | undefined): void {
  out.sources.set(path, text);
  const parsed = parse(text, { path });
  out.diagnostics.push(...parsed.diagnostics);
  for (const statement of parsed.program.statements) {
    if (statement.kind !== "IncludeDecl") out.statements.push(statement);
    else include(statement, stack, out, readFile);
  }
}

function include(decl: IncludeDecl, stack: string[], out: LoadedProgram, readFile: ReadFile | undefined): void {
  const target = resolveFrom(decl.file, decl.path.value);
  const report = (d: Diagnostic) => out.diagnostics.push(d);
  if (stack.includes(target)) {
    report(makeDiagnostic("includeCycle", { cycle: [...stack.slice(stack.indexOf(target)), target].join(" → ") }, decl.file, decl.path.span));
    return;
  }
  if (out.sources.has(target)) {
    report(makeDiagnostic("includedTwice", { path: decl.path.value }, decl.file, decl.path.span));
    return;
  }
  if (stack.length > MAX_INCLUDE_DEPTH) {
    report(makeDiagnostic("includeTooDeep", { max: MAX_INCLUDE_DEPTH }, decl.file, decl.path.span));
    return;
  }
  let text: string | null = null;
  try {
    text = readFile ? readFile(target) : null;
  } catch {
    text = null;
  }
  if (text === null) {
    const reason = !readFile ? ": no file reader was given" : target !== decl.path.value ? ` (looked for '${target}')` : "";
    report(makeDiagnostic("cannotRead", { what: "included file", path: decl.path.value, reason }, decl.file, decl.path.span));
    return;
  }
  visit(text, target, [...stack, target], out, readFile);
}
