// `peftlab report DIR [--out FILE]`: writes DIR/report.html (or FILE) from a run folder.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadRunDir, RUN_FOLDER, RunDirError } from "../results/run-folder.js";
import { renderReport } from "../viz/report.js";
import { stringOption, withArgs, type ArgsSpec } from "./args.js";
import type { Command } from "./commands.js";
import { fsErrorMessage } from "./fs-errors.js";
import { processIO, type CliIO } from "./io.js";

const ARGS: ArgsSpec = {
  synopsis: ["report DIR [--out FILE]"],
  description: "Writes a self-contained HTML report (figures, tables, how to reproduce) of the run folder DIR,\n"
    + "written by `peftlab run`. Failed or unfinished jobs are noted in the report.\n"
    + "Exit status: 0 written, 1 DIR is not a run folder or FILE cannot be written, 2 bad usage.",
  options: {
    out: { type: "string", short: "o", value: "FILE", help: "where to write the report", default: "DIR/report.html" },
  },
  examples: ["peftlab report runs/quickstart --out quickstart.html"],
};

/** Runs `peftlab report`; `argv` are the arguments after "report". Resolves to the exit status. */
export function reportCommand(argv: string[], io: CliIO = processIO()): Promise<number> {
  return withArgs("report", ARGS, argv, io, ({ values, positionals }, usage) => {
    if (positionals.length === 0) return usage("missing the run directory DIR");
    if (positionals.length > 1) return usage(`unexpected argument ${JSON.stringify(positionals[1])} (one run directory only)`);
    const dir = positionals[0]!;
    const out = stringOption(values, "out") ?? join(dir, RUN_FOLDER.report);
    let input;
    try {
      input = loadRunDir(dir);
    } catch (err) {
      if (!(err instanceof RunDirError)) throw err;
      io.stderr(`peftlab report: ${err.message}\n`);
      return 1;
    }
    try {
      writeFileSync(out, renderReport(input));
    } catch (err) {
      io.stderr(`peftlab report: ${fsErrorMessage(err) ?? `could not write ${out}: ${(err as Error).message}`}\n`);
      return 1;
    }
    const failed = input.runs.filter((d) => d.result?.status !== "finished").length;
    const note = failed ? ` (${failed} failed or incomplete run folder(s) noted in the report)` : "";
    io.stdout(`peftlab report: wrote ${out}${note}\n`);
    return 0;
  });
}

/** The `report` entry of the command table. */
export const reportCliCommand: Command = {
  name: "report",
  summary: "write the self-contained HTML report of a run folder",
  args: ARGS,
  run: reportCommand,
};
