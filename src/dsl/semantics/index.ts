// The semantic phases over a loaded program. Importing the check modules registers them.

import type { Statement } from "../ast.js";
import type { Diagnostic } from "../diagnostics.js";
import { Reporter } from "../reporter.js";
import { Analysis, type AnalysisOptions } from "./analysis.js";
import { runChecks } from "./registry.js";
import "../placement.js";
import "./declare.js";
import "./models.js";
import "./data.js";
import "./adapters.js";
import "./constraints.js";
import "./train.js";
import "./runs.js";
import "./run-checks.js";
import "./selector-checks.js";
import "./compare.js";
import "./tokenizer.js";

export { Analysis } from "./analysis.js";
export type { AnalysisOptions, ReadFile } from "./analysis.js";
export { listChecks } from "./registry.js";

/** Run every semantic phase; diagnostics are de-duplicated (a shared block can fail per run). */
export function analyze(statements: readonly Statement[], mainFile: string, options: AnalysisOptions = {}): { analysis: Analysis; diagnostics: Diagnostic[] } {
  const reporter = new Reporter();
  const analysis = new Analysis(statements, mainFile, reporter, options);
  runChecks(analysis);
  const seen = new Set<string>();
  const diagnostics = reporter.diagnostics.filter((d) => {
    const key = `${d.code}\u0000${d.file}\u0000${d.span.start}\u0000${d.span.end}\u0000${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { analysis, diagnostics };
}
