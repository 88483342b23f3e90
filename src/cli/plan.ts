// `peftlab plan FILE`: the compiled plan as JSON on stdout; diagnostics on stderr; exit 1 on errors.

import { renderDiagnostics } from "../dsl/index.js";
import type { Command } from "./commands.js";
import { compileFile, parseOptions } from "./io.js";

const USAGE = `usage: peftlab plan FILE
  Prints the compiled plan of a .peft file: plain JSON with every default filled in and every
  unit normalised. Warnings go to stderr; errors go to stderr and nothing is printed (exit 1).`;

export const planCommand: Command = {
  name: "plan",
  summary: "print the compiled plan of a .peft file as JSON",
  usage: USAGE,
  async run(argv, io) {
    const { options, positional, error } = parseOptions(argv, [], ["--help", "-h"]);
    if (options.has("--help") || options.has("-h")) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    const problem = error ?? (positional.length === 0 ? "no FILE given" : positional.length > 1 ? "give one FILE" : null);
    if (problem) {
      io.stderr(`peftlab plan: ${problem}\n${USAGE}\n`);
      return 2;
    }
    const result = compileFile(positional[0]!, io);
    io.stderr(renderDiagnostics(result.diagnostics, result.sources));
    if (!result.plan) return 1;
    io.stdout(`${JSON.stringify(result.plan, null, 2)}\n`);
    return 0;
  },
};
