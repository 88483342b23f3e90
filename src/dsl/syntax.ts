// Phase 1: source text → AST with syntax diagnostics (lexing, parsing, AST building).

import { EOF, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
import type { Program } from "./ast.js";
import { AstBuilder } from "./build-ast.js";
import type { DiagnosticId } from "./catalogue.js";
import { makeDiagnostic, type Diagnostic, type DiagnosticNote, type MessageArgs } from "./diagnostics.js";
import { LBracket, LCurly, RBracket, RCurly, UnterminatedString, lex } from "./lexer.js";
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

  const kept = flattenNesting(tokens, text, report);
  parser.text = text;
  parser.input = kept;
  resetErrorBudget();
  let cst: ProgramCstNode | null = null;
  try {
    cst = parser.program() as ProgramCstNode;
  } catch (err) {
    if (!(err instanceof ParseAbort)) throw err;
  }
  const errorOffsets: number[] = [];
  const lastEnd = Math.min(text.length, tokenEnd(tokens[tokens.length - 1]!));
  for (const error of parser.errors) errorOffsets.push(report.addParserError(error, lastEnd, unclosedBefore(kept, error.token)));
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

  add(id: DiagnosticId, args: MessageArgs, span: Span, notes?: DiagnosticNote[]): void {
    if (this.list.length >= MAX_SYNTAX_DIAGNOSTICS) {
      if (!this.dropped) this.list.push(makeDiagnostic("tooManyErrors", { count: MAX_SYNTAX_DIAGNOSTICS }, this.path, span));
      this.dropped = true;
      return;
    }
    this.list.push(makeDiagnostic(id, args, this.path, span, notes));
  }

  /** A note in this file. */
  note(message: string, span: Span): DiagnosticNote {
    return { message, file: this.path, span };
  }

  /** Report one parser error; returns the offset it points at. `lastEnd` is where the last
   *  token ends (an unexpected end of file is reported there). `open` is the innermost bracket
   *  still open where the error is: when the parser wanted its closing bracket, a note points
   *  back at it. */
  addParserError(error: IRecognitionException, lastEnd: number, open: IToken | null): number {
    const info = decodeSyntaxError(error.message);
    const token = error.token;
    const closer = open && (open.tokenType === LCurly ? "'}'" : "']'");
    const notes = open && closer && info.expected.includes(closer)
      ? [{ message: `the ${open.tokenType === LCurly ? "block" : "list"} opened here is not closed`, file: this.path, span: tokenSpan(open) }]
      : undefined;
    if (token.tokenType === EOF || !Number.isFinite(token.startOffset)) {
      // At the end of the last token read (skipped nested brackets included), not mid-line.
      const at = Math.max(endOfPrevious(error, lastEnd), lastEnd);
      this.add("unexpectedEnd", { expected: info.expected }, { start: at, end: at }, notes);
      return at;
    }
    const span = tokenSpan(token);
    this.add("unexpectedToken", { expected: info.expected, found: describeToken(token), hint: info.hint }, span, notes);
    return span.start;
  }
}

const OPENERS = new Set<TokenType>([LCurly, LBracket]);

const CLOSER_OF = new Map<TokenType, TokenType>([[RCurly, LCurly], [RBracket, LBracket]]);

/**
 * Lists do not nest: a '[' inside a list on the same line is reported once per outermost list
 * (with a note at it and a count of the nested ones), and the nested brackets and their closers
 * are left out of what the parser reads, so parsing goes on after them. One pass, no recursion:
 * 10,000 nested brackets cost one diagnostic. (A '[' on a later line is more likely a missing
 * ']' and is left to the parser, as is a '{' inside a block: a missing '}' looks like that.)
 */
function flattenNesting(tokens: IToken[], text: string, report: SyntaxReport): IToken[] {
  const kept: IToken[] = [];
  const stack: { token: IToken; dropped: boolean }[] = [];
  const nested = new Map<IToken, { first: IToken; count: number }>();
  for (const token of tokens) {
    const type = token.tokenType;
    if (type === LBracket) {
      const outer = stack.find((s) => !s.dropped)?.token;
      if (outer && sameLine(text, outer.startOffset, token.startOffset)) {
        const entry = nested.get(outer);
        if (entry) entry.count++;
        else nested.set(outer, { first: token, count: 1 });
        stack.push({ token, dropped: true });
        continue;
      }
      stack.length = 0;
      stack.push({ token, dropped: false });
    } else if (type === RBracket && stack.length > 0) {
      if (stack.pop()!.dropped) continue;
    }
    kept.push(token);
  }
  for (const [outer, { first, count }] of nested) {
    const note = report.note("the list opens here", tokenSpan(outer));
    const more = count > 1 ? ` (${count} nested '[' in all, skipped)` : "";
    report.add("nestedBrackets", { open: "[", outer: "a list", plural: "lists", more }, tokenSpan(first), [note]);
  }
  return kept;
}

/** The innermost '{' or '[' still open just before `token` (the parser's input, in order). */
function unclosedBefore(tokens: IToken[], token: IToken): IToken | null {
  const end = token.tokenType === EOF || !Number.isFinite(token.startOffset) ? Infinity : token.startOffset;
  const stack: IToken[] = [];
  for (const t of tokens) {
    if (t.startOffset >= end) break;
    if (OPENERS.has(t.tokenType)) stack.push(t);
    else if (CLOSER_OF.has(t.tokenType) && stack.length > 0 && stack[stack.length - 1]!.tokenType === CLOSER_OF.get(t.tokenType)) stack.pop();
  }
  return stack[stack.length - 1] ?? null;
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
