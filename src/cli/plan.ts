// `peftlab plan FILE`: the compiled plan as JSON on stdout; diagnostics on stderr; exit 1 on errors.

import { renderDiagnostics } from "../dsl/index.js";
import { withArgs, type ArgsSpec } from "./args.js";
import type { Command } from "./commands.js";
import { compileFile } from "./io.js";

const ARGS: ArgsSpec = {
  synopsis: ["plan FILE"],
  description: "Prints the compiled plan of a .peft file: plain JSON with every default filled in and every\n"
    + "unit normalised. Warnings go to stderr; errors go to stderr and nothing is printed (exit 1).",
  options: {},
  examples: ["peftlab plan examples/quickstart.peft > plan.json"],
};

export const planCommand: Command = {
  name: "plan",
  summary: "print the compiled plan of a .peft file as JSON",
  args: ARGS,
  run: (argv, io) => withArgs("plan", ARGS, argv, io, ({ positionals }, usage) => {
    if (positionals.length !== 1) return usage(positionals.length === 0 ? "no FILE given" : "give one FILE");
    const result = compileFile(positionals[0]!, io);
    io.stderr(renderDiagnostics(result.diagnostics, result.sources));
    if (!result.plan) return 1;
    io.stdout(`${JSON.stringify(result.plan, null, 2)}\n`);
    return 0;
  }),
};
