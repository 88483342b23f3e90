// The one diagnostics renderer: text for people (`path:line:col: error PEFT1004: message`, the
// source line, a caret underline), and JSON for tools. CLI, notebook and report all use it.

import type { Diagnostic } from "./diagnostics.js";
import { LineIndex, clampSpan, type Span } from "./span.js";

/** Source texts by path; a Map or a plain record. */
export type Sources = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

/** Display width of the source excerpt before it is cut around the caret. */
export const MAX_EXCERPT = 120;
const TAB_WIDTH = 4;

function sourceOf(sources: Sources, file: string): string | undefined {
  return sources instanceof Map ? sources.get(file) : (sources as Record<string, string>)[file];
}

/** Line indexes are cached per text so rendering many diagnostics stays linear. */
const indexCache = new WeakMap<object, Map<string, LineIndex>>();

function lineIndex(sources: Sources, file: string): LineIndex | undefined {
  const text = sourceOf(sources, file);
  if (text === undefined) return undefined;
  let perSources = indexCache.get(sources as object);
  if (!perSources) {
    perSources = new Map();
    indexCache.set(sources as object, perSources);
  }
  let index = perSources.get(file);
  if (!index || index.text !== text) {
    index = new LineIndex(text);
    perSources.set(file, index);
  }
  return index;
}

/** A line made safe to print: tabs expanded, control characters shown as '?'. Returns the
 *  display text and a map from code-unit column to display column. */
function displayLine(line: string): { text: string; columnAt: (col: number) => number } {
  const cols: number[] = [];
  let out = "";
  for (let i = 0; i < line.length; i++) {
    cols.push(out.length);
    const ch = line[i]!;
    if (ch === "\t") out += " ".repeat(TAB_WIDTH - (out.length % TAB_WIDTH));
    else if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) out += "?";
    else out += ch;
  }
  cols.push(out.length);
  return { text: out, columnAt: (col) => cols[Math.min(Math.max(col, 0), cols.length - 1)]! };
}

/** The excerpt lines (source line and caret underline) for `span`. Long lines are cut to a
 *  window around the caret (marked with "…"), so a 2 MB line prints a hundred characters. */
function excerpt(index: LineIndex, span: Span): string[] {
  const { start, end } = clampSpan(span, index.text.length);
  const line = index.lineOf(start);
  const lineStart = index.starts[line]!;
  const raw = index.lineText(line);
  const col = start - lineStart;
  const endCol = Math.min(end, lineStart + raw.length) - lineStart;
  let from = 0;
  let to = raw.length;
  if (raw.length > MAX_EXCERPT) {
    from = Math.max(0, Math.min(col - 40, raw.length - MAX_EXCERPT));
    to = from + MAX_EXCERPT;
  }
  const head = from > 0 ? "…" : "";
  const tail = to < raw.length ? "…" : "";
  const shown = displayLine(raw.slice(from, to));
  const caretFrom = head.length + shown.columnAt(col - from);
  const caretTo = Math.max(caretFrom + 1, head.length + shown.columnAt(Math.min(endCol, to) - from));
  const number = String(line + 1);
  const gutter = " ".repeat(number.length);
  return [` ${number} | ${head}${shown.text}${tail}`, ` ${gutter} | ${" ".repeat(caretFrom)}${"^".repeat(caretTo - caretFrom)}`];
}

function location(sources: Sources, file: string, span: Span): string {
  const index = lineIndex(sources, file);
  if (!index) return file;
  const { line, column } = index.position(span.start);
  return `${file}:${line}:${column}`;
}

/** Render one diagnostic (and its notes) as text, ending with a newline. */
export function renderDiagnostic(d: Diagnostic, sources: Sources): string {
  const lines = [`${location(sources, d.file, d.span)}: ${d.severity} ${d.code}: ${d.message}`];
  const index = lineIndex(sources, d.file);
  if (index) lines.push(...excerpt(index, d.span));
  for (const note of d.notes ?? []) {
    lines.push(`${location(sources, note.file, note.span)}: note: ${note.message}`);
    const noteIndex = lineIndex(sources, note.file);
    if (noteIndex) lines.push(...excerpt(noteIndex, note.span));
  }
  return `${lines.join("\n")}\n`;
}

/** Diagnostics rendered in full before the rest are counted in one line. */
export const MAX_RENDERED = 100;

/** The diagnostics to show in full (the first `max`), and the one line counting the rest ("" when none). */
export function capDiagnostics(diagnostics: readonly Diagnostic[], max = MAX_RENDERED): { shown: readonly Diagnostic[]; more: string } {
  if (diagnostics.length <= max) return { shown: diagnostics, more: "" };
  const rest = diagnostics.slice(max);
  return { shown: diagnostics.slice(0, max), more: `… and ${summarize(rest)} more, not shown (${diagnostics.length} in all)\n` };
}

/** Render diagnostics as text, in the order given: the first `max` in full, then one line
 *  saying how many more there are (a file with 50,000 errors prints a hundred). */
export function renderDiagnostics(diagnostics: readonly Diagnostic[], sources: Sources, max = MAX_RENDERED): string {
  const { shown, more } = capDiagnostics(diagnostics, max);
  return shown.map((d) => renderDiagnostic(d, sources)).join("") + more;
}

/** A diagnostic with positions, as JSON tools read it. */
export interface DiagnosticJson {
  severity: Diagnostic["severity"];
  code: string;
  message: string;
  file: string;
  /** 1-based; 0 when the source text is not available. */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  span: Span;
  notes: { message: string; file: string; line: number; column: number; span: Span }[];
}

function positions(sources: Sources, file: string, span: Span): { line: number; column: number; endLine: number; endColumn: number } {
  const index = lineIndex(sources, file);
  if (!index) return { line: 0, column: 0, endLine: 0, endColumn: 0 };
  const start = index.position(span.start);
  const end = index.position(span.end);
  return { line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
}

/** Diagnostics with line and column filled in, for `--format json`. */
export function diagnosticsToJson(diagnostics: readonly Diagnostic[], sources: Sources): DiagnosticJson[] {
  return diagnostics.map((d) => ({
    severity: d.severity,
    code: d.code,
    message: d.message,
    file: d.file,
    ...positions(sources, d.file, d.span),
    span: d.span,
    notes: (d.notes ?? []).map((n) => {
      const p = positions(sources, n.file, n.span);
      return { message: n.message, file: n.file, line: p.line, column: p.column, span: n.span };
    }),
  }));
}

/** "2 errors and 1 warning" (or "no problems"). */
export function summarize(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.filter((d) => d.severity === "warning").length;
  if (errors === 0 && warnings === 0) return "no problems";
  const part = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (errors === 0) return part(warnings, "warning");
  if (warnings === 0) return part(errors, "error");
  return `${part(errors, "error")} and ${part(warnings, "warning")}`;
}
