// The one Diagnostic type every phase reports with.

import { CATALOGUE, formatMessage, type DiagnosticId, type Severity } from "./catalogue.js";
import type { Span } from "./span.js";

/** A related place, e.g. "first declared here". */
export interface DiagnosticNote {
  message: string;
  file: string;
  span: Span;
}

/** One problem found in a source file. Line and column are computed by the renderer. */
export interface Diagnostic {
  severity: Severity;
  /** Stable code, e.g. "PEFT3002" (see CATALOGUE). */
  code: string;
  message: string;
  /** Path of the file the span points into, as given to the compiler. */
  file: string;
  /** Half-open UTF-16 offsets into that file's text. */
  span: Span;
  notes?: DiagnosticNote[];
}

/** Arguments that fill a catalogue message template. */
export type MessageArgs = Record<string, string | number>;

/** Build a diagnostic from its catalogue id; severity and code come from the catalogue. */
export function makeDiagnostic(id: DiagnosticId, args: MessageArgs, file: string, span: Span, notes?: DiagnosticNote[]): Diagnostic {
  const entry = CATALOGUE[id];
  const diagnostic: Diagnostic = {
    severity: entry.severity,
    code: entry.code,
    message: formatMessage(entry.message, args),
    file,
    span: { start: span.start, end: span.end },
  };
  if (notes && notes.length > 0) diagnostic.notes = notes;
  return diagnostic;
}

/** True when any diagnostic is an error. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Sort by file order of appearance, then offset, then code: a stable order for output and tests. */
export function sortDiagnostics(diagnostics: Diagnostic[], fileOrder: readonly string[] = []): Diagnostic[] {
  const rank = new Map(fileOrder.map((f, i) => [f, i]));
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort((x, y) => {
      const fx = rank.get(x.d.file) ?? fileOrder.length;
      const fy = rank.get(y.d.file) ?? fileOrder.length;
      if (fx !== fy) return fx - fy;
      if (x.d.file !== y.d.file) return x.d.file < y.d.file ? -1 : 1;
      if (x.d.span.start !== y.d.span.start) return x.d.span.start - y.d.span.start;
      return x.i - y.i;
    })
    .map((x) => x.d);
}
