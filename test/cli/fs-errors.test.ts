// File-system failures end in one line naming the path and the cause (exit 1), never
// "internal error" with a stack: the code → cause table, and `peftlab run` / `report` with an
// --out that is a file or lies under a file. (Running as root ignores permissions, so a read-only
// folder cannot be made here; EROFS, ENOSPC and EACCES are checked through the table.)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fsErrorMessage } from "../../src/cli/fs-errors.js";
import { main } from "../../src/cli/main.js";
import type { CliIO } from "../../src/cli/io.js";
import { makeRunDir } from "../fixtures/make-run-dir.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-fserr-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function errnoError(code: string, syscall: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${file}'`), { code, syscall, path: file, errno: -1 });
}

function captureIO(): CliIO & { out: string; err: string } {
  const io = {
    out: "", err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    readFile: (p: string) => (fs.existsSync(p) && fs.statSync(p).isFile() ? fs.readFileSync(p) : null),
  };
  return io;
}

describe("fsErrorMessage", () => {
  it.each([
    ["EROFS", "open", "cannot open /mnt/ro/run/plan.json: the file system is mounted read-only (EROFS)"],
    ["ENOSPC", "write", "cannot write /mnt/ro/run/plan.json: no space left on the device (ENOSPC)"],
    ["EACCES", "mkdir", "cannot create the folder /mnt/ro/run/plan.json: permission denied (EACCES)"],
    ["ENOTDIR", "mkdir", "cannot create the folder /mnt/ro/run/plan.json: a part of the path is a file, not a folder (ENOTDIR)"],
  ])("%s from %s", (code, syscall, line) => {
    expect(fsErrorMessage(errnoError(code, syscall, "/mnt/ro/run/plan.json"))).toBe(line);
  });

  it("a real error from node: mkdir under a file", () => {
    const file = path.join(tmp, "plain-file");
    fs.writeFileSync(file, "x");
    let caught: unknown;
    try {
      fs.mkdirSync(path.join(file, "sub"), { recursive: true });
    } catch (e) {
      caught = e;
    }
    expect(fsErrorMessage(caught)).toMatch(new RegExp(`^cannot create the folder ${file}/sub: a part of the path is a file`));
  });

  it("anything else is left to the caller (a bug keeps its stack)", () => {
    expect(fsErrorMessage(new TypeError("x is undefined"))).toBeNull();
    expect(fsErrorMessage(errnoError("EWEIRD", "open", "/a"))).toBeNull();
    expect(fsErrorMessage("ENOSPC")).toBeNull();
  });
});

describe("--out that cannot be a folder", () => {
  const peft = path.join(tmp, "tiny.peft");
  fs.writeFileSync(peft, `backend cpu
model m = decoder { layers 1, width 16, heads 2, context 16 }
data d = addition { digits 1, train 8, validation 4, test 4 }
adapter a = lora { rank 2, target "q_proj" }
train { steps 1, batch 4, lr 1e-3, seeds 1, checkpoint off }
run r = m + a on d
`);
  const file = path.join(tmp, "out-is-a-file");
  fs.writeFileSync(file, "not a folder");

  it.each([
    [file, `peftlab run: cannot create the folder ${file}: it exists and is a file, not a folder (EEXIST)\n`],
    [path.join(file, "sub"), `peftlab run: cannot create the folder ${path.join(file, "sub")}: a part of the path is a file, not a folder (ENOTDIR)\n`],
  ])("peftlab run --out %s: one line, exit 1", async (out, line) => {
    const io = captureIO();
    expect(await main(["run", peft, "--out", out, "--quiet"], io)).toBe(1);
    expect(io.err).toBe(line);
    expect(fs.readFileSync(file, "utf8")).toBe("not a folder");
  });

  it("peftlab report --out under a file: one line, exit 1", async () => {
    const { dir } = makeRunDir(path.join(tmp, "rundir"));
    const io = captureIO();
    const out = path.join(file, "report.html");
    expect(await main(["report", dir, "--out", out], io)).toBe(1);
    expect(io.err).toBe(`peftlab report: cannot open ${out}: a part of the path is a file, not a folder (ENOTDIR)\n`);
  });
});
