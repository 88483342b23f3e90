// `peftlab check FILE... [--format text|json]`: diagnostics of each file; exit 0 when no file has
// an error (warnings allowed), 1 when any has, 2 on bad usage.

import { diagnosticsToJson, hasErrors, renderDiagnostics, summarize, type Diagnostic, type DiagnosticJson } from "../dsl/index.js";
import type { Command } from "./commands.js";
import { compileFile, parseOptions } from "./io.js";

const USAGE = `usage: peftlab check [--format text|json] FILE...
  Checks .peft files. Diagnostics go to stderr as text (path:line:col: error CODE: message,
  the source line and a caret), or to stdout as JSON with --format json.
  Exit status: 0 no errors (warnings allowed), 1 errors found, 2 bad usage.`;

export const checkCommand: Command = {
  name: "check",
  summary: "check .peft files and report problems",
  usage: USAGE,
  async run(argv, io) {
    const { options, positional, error } = parseOptions(argv, ["--format"], ["--help", "-h"]);
    if (options.has("--help") || options.has("-h")) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    const format = options.get("--format") ?? "text";
    const problem = error ?? (format !== "text" && format !== "json" ? `--format must be text or json, not '${format}'` : positional.length === 0 ? "no FILE given" : null);
    if (problem) {
      io.stderr(`peftlab check: ${problem}\n${USAGE}\n`);
      return 2;
    }
    const all: Diagnostic[] = [];
    const json: DiagnosticJson[] = [];
    for (const file of positional) {
      const result = compileFile(file, io);
      all.push(...result.diagnostics);
      if (format === "json") json.push(...diagnosticsToJson(result.diagnostics, result.sources));
      else io.stderr(renderDiagnostics(result.diagnostics, result.sources));
    }
    const errors = all.filter((d) => d.severity === "error").length;
    const warnings = all.filter((d) => d.severity === "warning").length;
    if (format === "json") io.stdout(`${JSON.stringify({ diagnostics: json, errors, warnings, files: positional.length }, null, 2)}\n`);
    else if (all.length > 0) io.stderr(`${summarize(all)} in ${positional.length} file${positional.length === 1 ? "" : "s"}\n`);
    return hasErrors(all) ? 1 : 0;
  },
};
