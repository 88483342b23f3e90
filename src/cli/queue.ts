// `peftlab queue status --queue URL`: what the Redis job queue of `peftlab run --queue` holds.
import { queueStatus } from "../runtime/run/queue.js";
import { queueOption, queueUrlOf } from "./queue-option.js";
import { stringOption, withArgs, type ArgsSpec } from "./args.js";
import type { Command } from "./commands.js";
import { processIO, type CliIO } from "./io.js";

const ARGS: ArgsSpec = {
  synopsis: ["queue status --queue URL [--format text|json]"],
  description: "Lists the jobs on the Redis job queue of `peftlab run --queue`: active, waiting, retrying, finished\n"
    + "(completed) and failed, each with its run folder, attempts, last reported step and error, and how\n"
    + "many workers are connected.\n"
    + "Exit status: 0 listed, 1 the queue cannot be reached, 2 bad usage.",
  options: {
    queue: queueOption(),
    format: { type: "string", value: "FORMAT", help: "text or json", default: "text" },
  },
  examples: ["peftlab queue status --queue redis://:PASSWORD@queue-host:6379"],
};

/** Runs `peftlab queue`; resolves to the exit status. */
export function queueCommand(argv: string[], io: CliIO = processIO()): Promise<number> {
  return withArgs("queue", ARGS, argv, io, async ({ values, positionals }, usage) => {
    if (positionals[0] !== "status" || positionals.length > 1) return usage(positionals.length ? `unknown action ${JSON.stringify(positionals.join(" "))}; expected: status` : "missing the action: status");
    const queue = queueUrlOf(values, true)!;
    if ("problem" in queue) return usage(queue.problem);
    const url = queue.url;
    const format = stringOption(values, "format") ?? "text";
    if (format !== "text" && format !== "json") return usage(`--format: expected text or json, got "${format}"`);
    let status;
    try {
      status = await queueStatus(url);
    } catch (e) {
      io.stderr(`peftlab queue: ${(e as Error).message}\n`);
      return 1;
    }
    if (format === "json") {
      io.stdout(`${JSON.stringify(status, null, 2)}\n`);
      return 0;
    }
    const c = status.counts;
    const lines = [
      `${status.display}: ${c.active ?? 0} active, ${(c.waiting ?? 0) + (c.prioritized ?? 0)} waiting, ${c.delayed ?? 0} retrying, `
        + `${c.completed ?? 0} finished, ${c.failed ?? 0} failed; ${status.workers} worker(s) connected`,
    ];
    if (status.jobs.length) {
      const width = Math.max(4, ...status.jobs.map((j) => j.job.length));
      lines.push("", `${"state".padEnd(9)} ${"job".padEnd(width)} ${"step".padEnd(11)} ${"tries".padEnd(5)} run folder`);
      for (const j of status.jobs) {
        lines.push(`${j.state.padEnd(9)} ${j.job.padEnd(width)} ${j.step.padEnd(11)} ${j.attempts.padEnd(5)} ${j.out}${j.error ? `\n${" ".repeat(10)}${j.error}` : ""}`);
      }
    }
    io.stdout(`${lines.join("\n")}\n`);
    return 0;
  });
}

/** The `queue` entry of the command table. */
export const queueCliCommand: Command = {
  name: "queue",
  summary: "list the jobs on the Redis job queue of `peftlab run --queue`",
  args: ARGS,
  run: queueCommand,
};
