// The CLI: exit codes, streams and formats, called through main() with an in-memory file system.
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/commands.js";
import { main } from "../../src/cli/main.js";
import { BACKEND_NAMES } from "../../src/runtime/tensor/backend.js";
import { memoryIO } from "./cli-io.js";

const GOOD = "model base = decoder { layers 2 }\ndata sums = addition {}\nadapter a = lora {}\nrun r = base + a on sums\n";
const WARN = GOOD.replace("lora {}", "lora { dropout 0.6 }");
const BAD = GOOD.replace("lora {}", "lora { rank 0 }");

describe("peftlab check", () => {
  it("exits 0 for clean files and prints a one-line summary", async () => {
    const io = memoryIO({ "a.peft": GOOD, "b.peft": GOOD });
    expect(await main(["check", "a.peft", "b.peft"], io)).toBe(0);
    expect([io.out, io.err]).toEqual(["", "no problems in 2 files\n"]);
  });

  it("exits 0 with warnings, printing them", async () => {
    const io = memoryIO({ "w.peft": WARN });
    expect(await main(["check", "w.peft"], io)).toBe(0);
    expect(io.err).toBe(`w.peft:3:28: warning PEFT3103: dropout 0.6 drops most of the adapter input (typical: 0 to 0.1)
 3 | adapter a = lora { dropout 0.6 }
   |                            ^^^
1 warning in 1 file
`);
  });

  it("exits 1 when any file has an error", async () => {
    const io = memoryIO({ "a.peft": GOOD, "b.peft": BAD });
    expect(await main(["check", "a.peft", "b.peft"], io)).toBe(1);
    expect(io.err).toMatch(/^b\.peft:3:25: error PEFT3002: 'rank' must be a whole number from 1 to 4096, got 0\n/);
    expect(io.err).toMatch(/1 error in 2 files\n$/);
  });

  it("reports a missing file as an error", async () => {
    const io = memoryIO({});
    expect(await main(["check", "nope.peft"], io)).toBe(1);
    expect(io.err).toContain("nope.peft: error PEFT5001: cannot read file 'nope.peft'");
  });

  it("--format json prints diagnostics with positions on stdout", async () => {
    const io = memoryIO({ "b.peft": BAD });
    expect(await main(["check", "--format=json", "b.peft"], io)).toBe(1);
    const out = JSON.parse(io.out);
    expect(out).toMatchObject({ errors: 1, warnings: 0, files: 1 });
    expect(out.diagnostics[0]).toMatchObject({ code: "PEFT3002", severity: "error", file: "b.peft", line: 3, column: 25, endLine: 3, endColumn: 26 });
    expect(io.err).toBe("");
  });

  it("follows includes relative to the including file", async () => {
    const io = memoryIO({ "dir/main.peft": 'include "lib/common.peft"\nrun r = base + a on sums\n', "dir/lib/common.peft": GOOD.replace("run r = base + a on sums\n", "") });
    expect(await main(["check", "dir/main.peft"], io)).toBe(0);
  });

  it.each([
    [["check"], /no FILE given/],
    [["check", "--format", "xml", "a.peft"], /--format must be text or json/],
    [["check", "--frobnicate", "a.peft"], /unknown option --frobnicate/],
    [["check", "--format"], /option --format needs a value/],
  ])("bad usage %j exits 2 with the usage line", async (argv, message) => {
    const io = memoryIO({ "a.peft": GOOD });
    expect(await main(argv, io)).toBe(2);
    expect(io.err).toMatch(message);
    expect(io.err).toContain("usage: peftlab check");
  });
});

describe("peftlab plan", () => {
  it("prints the plan as JSON", async () => {
    const io = memoryIO({ "a.peft": GOOD });
    expect(await main(["plan", "a.peft"], io)).toBe(0);
    const plan = JSON.parse(io.out);
    expect(plan.runs.map((r: { name: string }) => r.name)).toEqual(["r"]);
    expect(plan.source.path).toBe("a.peft");
  });

  it("prints nothing on stdout and exits 1 on errors", async () => {
    const io = memoryIO({ "b.peft": BAD });
    expect(await main(["plan", "b.peft"], io)).toBe(1);
    expect(io.out).toBe("");
    expect(io.err).toContain("error PEFT3002");
  });

  it("needs exactly one file", async () => {
    const io = memoryIO({});
    expect(await main(["plan", "a.peft", "b.peft"], io)).toBe(2);
    expect(io.err).toContain("give one FILE");
  });
});

describe("peftlab", () => {
  it("--help lists the commands on stdout", async () => {
    const io = memoryIO({});
    expect(await main(["--help"], io)).toBe(0);
    expect(io.out).toMatch(/usage: peftlab <command>[\s\S]*check[\s\S]*plan/);
    expect(await main(["check", "--help"], io)).toBe(0);
  });

  it.each(COMMANDS.map((c) => c.name))("%s --help shows its options, their defaults and an example", async (name) => {
    const io = memoryIO({});
    expect(await main([name, "--help"], io)).toBe(0);
    expect(io.out).toMatch(new RegExp(`^usage: peftlab ${name}\\b`));
    expect(io.out).toMatch(/\noptions:\n(  .+\n)*  -h, --help +show this help\n/);
    expect(io.out).toMatch(/\nexamples?:\n  peftlab /);
    if (["check", "run", "report", "pretrain"].includes(name)) expect(io.out).toMatch(/\(default: [^)]+\)/);
  });

  it("run takes the backend names the runtime knows, and --opt=value like --opt value", async () => {
    const io = memoryIO({});
    expect(await main(["run", "--help"], io)).toBe(0);
    for (const name of BACKEND_NAMES) expect(io.out).toContain(name);
    const bad = memoryIO({ "a.peft": GOOD });
    expect(await main(["run", "a.peft", "--backend=nope"], bad)).toBe(2);
    expect(bad.err).toMatch(/unknown backend "nope"; expected one of /);
    const only = memoryIO({ "a.peft": GOOD });
    expect(await main(["run", "a.peft", "--only=zzz", "--out=/nonexistent/x"], only)).toBe(2);
    expect(only.err).toMatch(/--only names "zzz", not a run of a\.peft \(runs: r\)/);
  });

  it("no command or an unknown one is bad usage", async () => {
    const io = memoryIO({});
    expect(await main([], io)).toBe(2);
    expect(await main(["chek", "a.peft"], io)).toBe(2);
    expect(io.err).toContain("unknown command 'chek'; did you mean 'check'?");
  });
});
