// The reporter every semantic phase writes diagnostics through.

import { MAX_ARGUMENT_LENGTH, type DiagnosticId } from "./catalogue.js";
import { makeDiagnostic, type Diagnostic, type DiagnosticNote, type MessageArgs } from "./diagnostics.js";
import type { Span } from "./span.js";

/** Anything with a span: an AST node or a part of one. */
export interface Spanned {
  span: Span;
}

/** Collects diagnostics; each points at a node of a file. */
export class Reporter {
  readonly diagnostics: Diagnostic[] = [];

  /** Report `id` at `node` (an AST node or property of one) in `file`. */
  report(id: DiagnosticId, args: MessageArgs, file: string, node: Spanned, notes?: DiagnosticNote[]): void {
    this.diagnostics.push(makeDiagnostic(id, args, file, node.span, notes));
  }

  /** A note pointing at `node` in `file`. */
  note(message: string, file: string, node: Spanned): DiagnosticNote {
    const text = message.length > 2 * MAX_ARGUMENT_LENGTH ? `${message.slice(0, 2 * MAX_ARGUMENT_LENGTH)}…` : message;
    return { message: text, file, span: { start: node.span.start, end: node.span.end } };
  }

  get errorCount(): number {
    let n = 0;
    for (const d of this.diagnostics) if (d.severity === "error") n++;
    return n;
  }
}
