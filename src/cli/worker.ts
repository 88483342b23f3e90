// `peftlab worker --queue URL`: trains the jobs that `peftlab run --queue` puts on a Redis job queue
// (src/runtime/run/queue-worker.ts) until stopped with Ctrl-C or SIGTERM.
import { runQueueWorker } from "../runtime/run/queue-worker.js";
import { queueOption, queueUrlOf } from "./queue-option.js";
import { stringOption, withArgs, type ArgsSpec } from "./args.js";
import type { Command } from "./commands.js";
import { processIO, type CliIO } from "./io.js";

const ARGS: ArgsSpec = {
  synopsis: ["worker --queue URL [--concurrency N]"],
  description: "Takes jobs from the Redis job queue that `peftlab run FILE --queue URL` fills and trains them, each in\n"
    + "a worker thread, into the run folder the coordinator created: that folder must be on storage this\n"
    + "machine reaches at the same absolute path (a job whose folder this machine cannot see fails with a\n"
    + "message saying so). A job whose worker dies is handed to another worker after --stall-timeout and\n"
    + "continues from its last checkpoint. Ctrl-C or SIGTERM: running jobs write a checkpoint and go back\n"
    + "to the queue, then the worker exits.\n"
    + "Exit status: 0 stopped on request, 1 the queue cannot be reached, 2 bad usage.",
  options: {
    queue: queueOption(),
    concurrency: { type: "string", value: "N", help: "jobs trained at once, each in its own thread", default: "1" },
    "stall-timeout": { type: "string", value: "SECONDS", help: "a job whose worker goes silent this long goes to another worker", default: "30" },
  },
  examples: ["peftlab worker --queue redis://:PASSWORD@queue-host:6379 --concurrency 2"],
};

/** Runs `peftlab worker`; resolves to the exit status once stopped. */
export function workerCommand(argv: string[], io: CliIO = processIO()): Promise<number> {
  return withArgs("worker", ARGS, argv, io, async ({ values, positionals }, usage) => {
    if (positionals.length) return usage(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const queue = queueUrlOf(values, true)!;
    if ("problem" in queue) return usage(queue.problem);
    const url = queue.url;
    const concurrencyText = stringOption(values, "concurrency") ?? "1";
    const concurrency = Number(concurrencyText);
    if (!Number.isInteger(concurrency) || concurrency < 1) return usage(`--concurrency: expected a whole number of at least 1, got "${concurrencyText}"`);
    const stallText = stringOption(values, "stall-timeout") ?? "30";
    const stall = Number(stallText);
    if (!Number.isFinite(stall) || stall < 1) return usage(`--stall-timeout: expected a number of seconds of at least 1, got "${stallText}"`);
    const stop = new AbortController();
    const onSignal = () => {
      if (stop.signal.aborted) {
        io.stderr("peftlab worker: second interrupt, exiting at once (the queue hands the running jobs on after --stall-timeout)\n");
        process.exit(130);
      }
      io.stderr("peftlab worker: stopping: running jobs write a checkpoint and go back to the queue (Ctrl-C again to quit at once)\n");
      stop.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      const ended = await runQueueWorker({
        url, concurrency, stallMs: Math.round(stall * 1000), signal: stop.signal,
        log: (line) => io.stderr(`${new Date().toISOString()} ${line}\n`),
      });
      io.stderr(`peftlab worker: stopped after ${ended} job(s)\n`);
      return 0;
    } catch (e) {
      io.stderr(`peftlab worker: ${(e as Error).message}\n`);
      return 1;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  });
}

/** The `worker` entry of the command table. */
export const workerCliCommand: Command = {
  name: "worker",
  summary: "train the jobs of `peftlab run --queue` from a Redis job queue",
  args: ARGS,
  run: workerCommand,
};
