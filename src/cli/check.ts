// `peftlab check FILE... [--format text|json]`: diagnostics of each file and a one-line summary;
// exit 0 when no file has an error (warnings allowed), 1 when any has, 2 on bad usage.

import { diagnosticsToJson, hasErrors, renderDiagnostics, summarize, type Diagnostic, type DiagnosticJson } from "../dsl/index.js";
import { stringOption, withArgs, type ArgsSpec } from "./args.js";
import type { Command } from "./commands.js";
import { compileFile } from "./io.js";

const ARGS: ArgsSpec = {
  synopsis: ["check [--format text|json] FILE..."],
  description: "Checks .peft files. Diagnostics go to stderr as text (path:line:col: error CODE: message, the\n"
    + "source line and a caret) followed by a one-line summary, or to stdout as JSON with --format json.\n"
    + "Exit status: 0 no errors (warnings allowed), 1 errors found, 2 bad usage.",
  options: {
    format: { type: "string", value: "text|json", help: "how to print the diagnostics", default: "text" },
  },
  examples: ["peftlab check examples/*.peft", "peftlab check --format=json experiment.peft"],
};

export const checkCommand: Command = {
  name: "check",
  summary: "check .peft files and report problems",
  args: ARGS,
  run: (argv, io) => withArgs("check", ARGS, argv, io, ({ values, positionals }, usage) => {
    const format = stringOption(values, "format") ?? "text";
    if (format !== "text" && format !== "json") return usage(`--format must be text or json, not '${format}'`);
    if (positionals.length === 0) return usage("no FILE given");
    const all: Diagnostic[] = [];
    const json: DiagnosticJson[] = [];
    for (const file of positionals) {
      const result = compileFile(file, io);
      all.push(...result.diagnostics);
      if (format === "json") json.push(...diagnosticsToJson(result.diagnostics, result.sources));
      else io.stderr(renderDiagnostics(result.diagnostics, result.sources));
    }
    const errors = all.filter((d) => d.severity === "error").length;
    const warnings = all.filter((d) => d.severity === "warning").length;
    if (format === "json") io.stdout(`${JSON.stringify({ diagnostics: json, errors, warnings, files: positionals.length }, null, 2)}\n`);
    else io.stderr(`${summarize(all)} in ${positionals.length} file${positionals.length === 1 ? "" : "s"}\n`);
    return hasErrors(all) ? 1 : 0;
  }),
};
