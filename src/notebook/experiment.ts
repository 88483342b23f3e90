// Experiments declared in a notebook cell: peft`…` parses, checks and compiles .peft text and
// shows the outcome in the cell — the diagnostics with their code frames, or a summary of the
// plan. Nothing here throws on a mistake in the text: a cell with a typo shows what is wrong and
// the notebook carries on (tslab skips the remaining queued cells after a cell throws).

import * as fs from "node:fs";
import * as nodePath from "node:path";
import { inspect } from "node:util";
import { compileSource } from "../dsl/compile.js";
import { type Diagnostic, makeDiagnostic } from "../dsl/diagnostics.js";
import type { Plan } from "../dsl/plan.js";
import { renderDiagnostics, summarize } from "../dsl/render.js";
import { experimentHtml, experimentText } from "./experiment-view.js";
import { display } from "./session.js";

/** A compiled (or failed) experiment. */
export class Experiment {
  constructor(
    /** The compiled plan; null when the text has errors. */
    readonly plan: Plan | null,
    /** Every diagnostic (errors and warnings), sorted. */
    readonly diagnostics: readonly Diagnostic[],
    /** Source texts by file name (the cell and any included files), for code frames. */
    readonly sources: ReadonlyMap<string, string>,
    /** The name diagnostics use for the cell (e.g. `<cell 3>`), or the file path. */
    readonly file: string,
    /** The directory relative paths in the plan are resolved against. */
    readonly baseDir: string,
  ) {}

  /** True when the plan compiled (warnings allowed). */
  get ok(): boolean {
    return this.plan !== null && !this.diagnostics.some((d) => d.severity === "error");
  }

  /** The errors only. */
  get errors(): Diagnostic[] {
    return this.diagnostics.filter((d) => d.severity === "error");
  }

  /** The diagnostics as the CLI prints them (`file:line:col: error PEFT…`, code frame, caret). */
  diagnosticsText(): string {
    return renderDiagnostics(this.diagnostics, this.sources);
  }

  /** A plain-text description: the diagnostics, or the plan summary. */
  text(): string {
    return experimentText(this);
  }

  /** The html the cell shows. */
  html(): string {
    return experimentHtml(this);
  }

  /** Shows the experiment in the current cell (no-op outside a notebook). */
  show(): this {
    display({ "text/html": this.html(), "text/plain": this.text() });
    return this;
  }

  /** What console.log (and tslab's last-expression echo) prints: one line. */
  [inspect.custom](): string {
    return `Experiment ${this.file}: ${this.ok ? `${this.plan!.runs.length} runs` : "not compiled"} (${summarize(this.diagnostics)})`;
  }
}

/** Options of compileExperiment. */
export interface ExperimentOptions {
  /** The name used in diagnostics (default `<cell N>`, N counting peft`…` calls). */
  file?: string;
  /** Directory for includes, data and model paths (default: the working directory, i.e. the notebook's). */
  baseDir?: string;
  /** Show the outcome in the cell (default true). */
  show?: boolean;
}

let cellCounter = 0;

/** Reads a file as text, relative to `baseDir`; null when it is not a readable file. */
function fileReader(baseDir: string): (p: string) => string | null {
  return (p) => {
    try {
      const full = nodePath.resolve(baseDir, p);
      return fs.statSync(full).isFile() ? fs.readFileSync(full, "utf8") : null;
    } catch {
      return null;
    }
  };
}

/** An experiment that could not be read or compiled at all: one PEFT5001 diagnostic saying why. */
function failure(text: string, file: string, baseDir: string, what: string, reason: string): Experiment {
  const d = makeDiagnostic("cannotRead", { what, path: file, reason: `: ${reason}` }, file, { start: 0, end: 0 });
  return new Experiment(null, [d], new Map([[file, text]]), file, baseDir);
}

/** Parses, checks and compiles .peft text; shows the outcome unless `show: false`. Never throws. */
export function compileExperiment(text: string, opts: ExperimentOptions = {}): Experiment {
  cellCounter += 1;
  const file = opts.file ?? `<cell ${cellCounter}>`;
  const baseDir = nodePath.resolve(opts.baseDir ?? process.cwd());
  let exp: Experiment;
  try {
    const res = compileSource(text, file, { readFile: fileReader(baseDir) });
    exp = new Experiment(res.plan, res.diagnostics, res.sources, file, baseDir);
  } catch (e) {
    exp = failure(text, file, baseDir, "experiment", `internal error in the compiler: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (opts.show !== false) exp.show();
  return exp;
}

/** Joins a template and its values: arrays become `a, b`, everything else String(value). */
export function joinTemplate(strings: readonly string[], values: readonly unknown[]): string {
  let out = strings[0] ?? "";
  values.forEach((v, i) => {
    out += (Array.isArray(v) ? v.map(String).join(", ") : String(v)) + (strings[i + 1] ?? "");
  });
  return out;
}

/**
 * The experiment language in a cell:
 *
 *     const exp = peft`
 *       model base = decoder { layers 2, width 64, heads 4, context 32 }
 *       …
 *       train { steps ${steps}, seeds 1 2 }
 *     `;
 *
 * The text is taken as written (raw: `"model\.layers"` keeps its backslash); interpolated
 * values are inserted as text, arrays joined with ", ". Shows the diagnostics or the plan; never
 * throws.
 */
export function peft(strings: TemplateStringsArray, ...values: unknown[]): Experiment {
  return compileExperiment(joinTemplate(strings.raw, values));
}

/** Reads and compiles a .peft file (paths in it are relative to the file, as with the CLI). Never throws. */
export function peftFile(filePath: string, opts: Omit<ExperimentOptions, "file" | "baseDir"> = {}): Experiment {
  const full = nodePath.resolve(filePath);
  const dir = nodePath.dirname(full);
  let text: string;
  try {
    text = fs.readFileSync(full, "utf8");
  } catch (e) {
    const exp = failure("", filePath, dir, "file", (e as Error).message);
    if (opts.show !== false) exp.show();
    return exp;
  }
  return compileExperiment(text, { ...opts, file: nodePath.basename(full), baseDir: dir });
}
