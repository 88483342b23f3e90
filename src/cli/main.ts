// `peftlab <command> …`: dispatch through the command table (commands.ts).

import { didYouMean } from "../dsl/index.js";
import { COMMANDS } from "./commands.js";
import { fsErrorMessage } from "./fs-errors.js";
import { processIO, type CliIO } from "./io.js";

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: peftlab <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun 'peftlab <command> --help' for the options of a command.\n`;
}

/** Run the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(usage());
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.stdout(usage());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`peftlab: unknown command '${name}'${didYouMean(name, COMMANDS.map((c) => c.name))}\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    // A full disk, a read-only mount or an --out under a file: one line naming the path and cause.
    const message = fsErrorMessage(err);
    if (message === null) throw err;
    io.stderr(`peftlab ${name}: ${message}\n`);
    return 1;
  }
}
