// Source positions: half-open spans over UTF-16 offsets, and offset → line/column lookup.

import type { IToken } from "chevrotain";

/** A half-open range of UTF-16 offsets `[start, end)` into one source text. */
export interface Span {
  start: number;
  end: number;
}

/** 1-based line and column (column counts UTF-16 code units). */
export interface Position {
  line: number;
  column: number;
}

/**
 * The span of one token. Chevrotain's `endOffset` is inclusive; this is the one place where it
 * becomes half-open. (The lexer runs with `positionTracking: "onlyOffset"`, which records no end:
 * then the image length gives it.) Tokens invented by error recovery have no offsets: they become
 * the empty span at `fallback`.
 */
export function tokenSpan(token: IToken, fallback = 0): Span {
  const start = token.startOffset;
  if (!Number.isFinite(start) || start < 0) return { start: fallback, end: fallback };
  const end = token.endOffset;
  if (end === undefined || !Number.isFinite(end)) return { start, end: start + token.image.length };
  return { start, end: Math.max(start, end + 1) };
}

/** Offset just past the end of a token (see tokenSpan); NaN for tokens invented by recovery. */
export function tokenEnd(token: IToken): number {
  return token.endOffset === undefined ? token.startOffset + token.image.length : token.endOffset + 1;
}

/** The smallest span covering `a` and `b`. */
export function joinSpans(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

/** Clamp a span into `[0, length]`, keeping it well formed. */
export function clampSpan(span: Span, length: number): Span {
  const start = Math.max(0, Math.min(span.start, length));
  const end = Math.max(start, Math.min(span.end, length));
  return { start, end };
}

/** Maps offsets of one text to lines and columns in O(log lines). */
export class LineIndex {
  /** Offset at which each line starts; `starts[0] === 0`. */
  readonly starts: number[];

  constructor(readonly text: string) {
    const starts = [0];
    let i = text.indexOf("\n");
    while (i !== -1) {
      starts.push(i + 1);
      i = text.indexOf("\n", i + 1);
    }
    this.starts = starts;
  }

  /** 0-based line number holding `offset` (offsets past the end belong to the last line). */
  lineOf(offset: number): number {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** 1-based line and column of `offset`. */
  position(offset: number): Position {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    const line = this.lineOf(clamped);
    return { line: line + 1, column: clamped - this.starts[line]! + 1 };
  }

  /** The text of a 0-based line, without its line break. */
  lineText(line: number): string {
    const start = this.starts[line] ?? this.text.length;
    const next = this.starts[line + 1];
    let end = next === undefined ? this.text.length : next - 1;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end -= 1;
    return this.text.slice(start, end);
  }
}
