// What CLI commands touch outside themselves: output streams and files. Tests pass their own.

import * as fs from "node:fs";
import { compileSource, decodeSource, makeDiagnostic, type CompileResult, type Diagnostic } from "../dsl/index.js";

/** Output and file access of a command. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** The bytes of a file, or null when it does not exist or cannot be read. */
  readFile(path: string): Uint8Array | null;
  /** Whether stderr is a terminal (live progress bars) and its width; absent: not a terminal. */
  stderrIsTTY?: boolean;
  columns?: number;
}

/** The real process streams and file system. */
export function processIO(): CliIO {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    stderrIsTTY: process.stderr.isTTY === true,
    ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
    readFile: (path) => {
      try {
        if (!fs.statSync(path).isFile()) return null;
        return fs.readFileSync(path);
      } catch {
        return null;
      }
    },
  };
}

/** A text reader for includes and data files (bad UTF-8 becomes U+FFFD, which the lexer reports). */
export function textReader(io: CliIO): (path: string) => string | null {
  return (path) => {
    const bytes = io.readFile(path);
    return bytes === null ? null : new TextDecoder("utf-8").decode(bytes);
  };
}

/**
 * Read and compile the .peft file at `path`. An unreadable file or invalid UTF-8 becomes a
 * diagnostic, like every other problem; nothing throws.
 */
export function compileFile(path: string, io: CliIO): CompileResult {
  const bytes = io.readFile(path);
  if (bytes === null) {
    const diagnostic: Diagnostic = makeDiagnostic("cannotRead", { what: "file", path, reason: "" }, path, { start: 0, end: 0 });
    return { plan: null, diagnostics: [diagnostic], sources: new Map() };
  }
  const decoded = decodeSource(bytes, path);
  if (decoded.diagnostics.length > 0) return { plan: null, diagnostics: decoded.diagnostics, sources: new Map([[path, decoded.text]]) };
  return compileSource(decoded.text, path, { readFile: textReader(io) });
}
