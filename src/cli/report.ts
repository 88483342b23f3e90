// `peftlab report DIR [--out FILE]`: writes DIR/report.html (or FILE) from a run directory.

import type { Command } from "./commands.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadRunDir, renderReport, RunDirError } from "../viz/report.js";

export const REPORT_USAGE = "usage: peftlab report DIR [--out FILE]\n  Writes a self-contained HTML report of the run directory DIR (default FILE: DIR/report.html).";

interface ReportArgs {
  dir: string;
  out: string;
}

function parseArgs(argv: readonly string[]): ReportArgs | string {
  let dir: string | null = null;
  let out: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--out" || a === "-o") {
      const v = argv[++i];
      if (v === undefined) return `${a} needs a file name`;
      out = v;
    } else if (a.startsWith("--out=")) out = a.slice(6);
    else if (a.startsWith("-")) return `unknown option ${a}`;
    else if (dir === null) dir = a;
    else return `unexpected argument ${JSON.stringify(a)} (one run directory only)`;
  }
  if (dir === null) return "missing the run directory DIR";
  return { dir, out: out ?? join(dir, "report.html") };
}

/** Runs `peftlab report`; `argv` are the arguments after "report". Returns the exit code. */
export async function reportCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${REPORT_USAGE}\n`);
    return 0;
  }
  const args = parseArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`peftlab report: ${args}\n${REPORT_USAGE}\n`);
    return 2;
  }
  let input;
  try {
    input = loadRunDir(args.dir);
  } catch (err) {
    if (!(err instanceof RunDirError)) throw err;
    process.stderr.write(`peftlab report: ${err.message}\n`);
    return 1;
  }
  const html = renderReport(input);
  try {
    writeFileSync(args.out, html);
  } catch (err) {
    process.stderr.write(`peftlab report: could not write ${args.out}: ${(err as Error).message}\n`);
    return 1;
  }
  const failed = input.runs.filter((d) => d.result?.status !== "finished").length;
  const note = failed ? ` (${failed} failed or incomplete run folder(s) noted in the report)` : "";
  process.stdout.write(`peftlab report: wrote ${args.out}${note}\n`);
  return 0;
}

/** The `report` entry of the command table. */
export const reportCliCommand: Command = {
  name: "report",
  summary: "write the self-contained HTML report of a run directory",
  usage: REPORT_USAGE,
  run: (argv) => reportCommand(argv),
};
