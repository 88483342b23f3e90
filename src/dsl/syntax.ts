// Phase 1: source text → AST with syntax diagnostics (lexing, parsing, AST building).

import { EOF, type IRecognitionException, type IToken } from "chevrotain";
import type { Program } from "./ast.js";
import { AstBuilder } from "./build-ast.js";
import type { DiagnosticId } from "./catalogue.js";
import { makeDiagnostic, type Diagnostic, type MessageArgs } from "./diagnostics.js";
import { UnterminatedString, lex } from "./lexer.js";
import { parser } from "./parser.js";
import { tokenEnd, tokenSpan, type Span } from "./span.js";
import type { ProgramCstNode } from "./cst-types.js";
import { ParseAbort, decodeSyntaxError, describeToken, resetErrorBudget } from "./syntax-errors.js";

/** Syntax diagnostics reported per file before giving up on the rest. */
export const MAX_SYNTAX_DIAGNOSTICS = 50;

/** Options of `parse`. */
export interface ParseOptions {
  /** Path reported in diagnostics (default "<input>"). */
  path?: string;
}

/** An AST and the syntax diagnostics of one file. The AST is partial when there are errors. */
export interface ParseResult {
  path: string;
  text: string;
  program: Program;
  diagnostics: Diagnostic[];
}

/** Parse one .peft text. Never throws; every problem becomes a diagnostic with a span. */
export function parse(text: string, options: ParseOptions = {}): ParseResult {
  const path = options.path ?? "<input>";
  const report = new SyntaxReport(path);
  const empty: Program = { kind: "Program", file: path, statements: [], span: { start: 0, end: 0 } };

  const nul = text.indexOf("\u0000");
  if (nul !== -1) {
    report.add("binaryFile", { detail: `NUL byte at offset ${nul}` }, { start: nul, end: nul + 1 });
    return { path, text, program: empty, diagnostics: report.list };
  }

  const { tokens, errors } = lex(text);
  for (const error of errors) {
    report.add("unexpectedCharacter", { char: describeChar(text, error.offset) }, { start: error.offset, end: error.offset + Math.max(1, error.length) });
  }
  for (const token of tokens) {
    if (token.tokenType === UnterminatedString) report.add("unterminatedString", {}, tokenSpan(token));
  }
  if (tokens.length === 0) {
    if (errors.length === 0) report.add("emptyFile", {}, { start: 0, end: 0 });
    return { path, text, program: empty, diagnostics: report.list };
  }

  parser.text = text;
  parser.input = tokens;
  resetErrorBudget();
  let cst: ProgramCstNode | null = null;
  try {
    cst = parser.program() as ProgramCstNode;
  } catch (err) {
    if (!(err instanceof ParseAbort)) throw err;
  }
  const errorOffsets: number[] = [];
  for (const error of parser.errors) errorOffsets.push(report.addParserError(error, text.length));
  if (!cst) {
    report.add("tooManyErrors", { count: MAX_SYNTAX_DIAGNOSTICS }, { start: text.length, end: text.length });
    parser.input = [];
    return { path, text, program: empty, diagnostics: report.list };
  }

  const builder = new AstBuilder(path);
  const program = builder.program(cst.children);
  for (const problem of builder.problems) {
    if (problem.stray && errorOffsets.some((at) => sameLine(text, at, problem.span.start))) continue;
    report.add(problem.id, problem.args, problem.span);
  }
  report.list.sort((a, b) => a.span.start - b.span.start);
  parser.input = [];
  parser.text = "";
  return { path, text, program, diagnostics: report.list };
}

/** Collects syntax diagnostics, stopping after MAX_SYNTAX_DIAGNOSTICS. */
class SyntaxReport {
  readonly list: Diagnostic[] = [];
  private dropped = false;

  constructor(private readonly path: string) {}

  add(id: DiagnosticId, args: MessageArgs, span: Span): void {
    if (this.list.length >= MAX_SYNTAX_DIAGNOSTICS) {
      if (!this.dropped) this.list.push(makeDiagnostic("tooManyErrors", { count: MAX_SYNTAX_DIAGNOSTICS }, this.path, span));
      this.dropped = true;
      return;
    }
    this.list.push(makeDiagnostic(id, args, this.path, span));
  }

  /** Report one parser error; returns the offset it points at. */
  addParserError(error: IRecognitionException, length: number): number {
    const info = decodeSyntaxError(error.message);
    const token = error.token;
    if (token.tokenType === EOF || !Number.isFinite(token.startOffset)) {
      const at = endOfPrevious(error, length);
      this.add("unexpectedEnd", { expected: info.expected }, { start: at, end: at });
      return at;
    }
    const span = tokenSpan(token);
    this.add("unexpectedToken", { expected: info.expected, found: describeToken(token), hint: info.hint }, span);
    return span.start;
  }
}

/** True when no line break lies between offsets `a` and `b` (a ≤ b). */
function sameLine(text: string, a: number, b: number): boolean {
  if (a > b) return false;
  const nl = text.indexOf("\n", a);
  return nl === -1 || nl >= b;
}

/** Where a missing token would have gone: just after the last real token, else the end. */
function endOfPrevious(error: IRecognitionException, length: number): number {
  const previous = (error as { previousToken?: IToken }).previousToken;
  if (previous && Number.isFinite(previous.startOffset)) return Math.min(length, tokenEnd(previous));
  return length;
}

/** A character for a message: 'x' when printable ASCII, else its code point (U+FFFD notes bad UTF-8). */
function describeChar(text: string, offset: number): string {
  const code = text.codePointAt(offset) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  if (code === 0xfffd) return `${hex} (a replacement character: the file had invalid UTF-8 here)`;
  if (code > 0x20 && code < 0x7f) return `'${String.fromCodePoint(code)}'`;
  return hex;
}
