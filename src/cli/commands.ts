// The command table of `peftlab`. To add a command, write it in its own file and list it here.

import { checkCommand } from "./check.js";
import { inspectCommand } from "./inspect.js";
import { mergeCommand } from "./merge.js";
import { tokenizeCommand } from "./tokenize.js";
import { workerCliCommand } from "./worker.js";
import type { ArgsSpec } from "./args.js";
import type { CliIO } from "./io.js";
import { planCommand } from "./plan.js";
import { pretrainCliCommand } from "./pretrain.js";
import { queueCliCommand } from "./queue.js";
import { reportCliCommand } from "./report.js";
import { runCliCommand } from "./run.js";

/** One `peftlab` subcommand. */
export interface Command {
  name: string;
  /** One line for `peftlab --help`. */
  summary: string;
  /** Its arguments, as parsed and as `--help` shows them. */
  args: ArgsSpec;
  /** Run with the arguments after the command name (through `withArgs`); resolves to the exit code
   *  (0 ok, 1 problems found, 2 bad usage). */
  run(argv: string[], io: CliIO): Promise<number>;
}

/** Every command, in the order `--help` lists them. */
export const COMMANDS: Command[] = [checkCommand, planCommand, runCliCommand, workerCliCommand, queueCliCommand, reportCliCommand, pretrainCliCommand, tokenizeCommand, mergeCommand, inspectCommand];
