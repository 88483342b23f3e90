import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { compileExperiment, joinTemplate, peft, peftFile } from "../../src/notebook/experiment.js";
import { connect, disconnect } from "../../src/notebook/session.js";
import { RecordingChannel } from "./helpers.js";

const GOOD = `
model base = decoder { layers 1, width 32, heads 2, context 16 }
data sums = addition { digits 1, train 64, validation 16, test 16 }
adapter a = lora { rank 4, target "q_proj", "v_proj" }
train { steps 10, batch 8, seeds 1 2 }
run plain = base + a on sums
compare plain
`;

let rec: RecordingChannel;
beforeEach(() => {
  rec = new RecordingChannel();
  connect(rec);
});
afterEach(() => disconnect());

describe("mistakes in a cell are shown, never thrown", () => {
  test.each([
    ["a misspelt property", "model base = decoder { layers 2, widht 64 }", "PEFT2005", "1:34", "^^^^^", "did you mean 'width'"],
    ["an undeclared name", "model base = decoder { layers 2 }\nrun r = base + nope on sums", "PEFT2001", "2:16", "^^^^", "'nope' is not declared"],
    ["a syntax error", "model base = decoder { layers 2 \nrun x", "PEFT1004", "2:1", "^^^", "expected '}'"],
  ])("%s", (_name, text, code, at, caret, message) => {
    const exp = compileExperiment(text, { file: "<cell 7>" });
    expect(exp.ok).toBe(false);
    expect(exp.plan).toBeNull();
    expect(exp.errors.map((d) => d.code)).toContain(code);
    expect(rec.outputs()).toHaveLength(1);
    const out = rec.outputs()[0]!;
    const html = String(out["text/html"]);
    expect(html).toContain("not compiled");
    expect(html).toContain(`&lt;cell 7&gt;:${at}: error ${code}`);
    expect(html).toMatch(new RegExp(String.raw`\|\s+${"\\^".repeat(caret.length)}(\n|<)`));
    expect(html).toContain(message.replace(/'/g, "&#39;"));
    // The text form is exactly the CLI's rendering.
    expect(String(out["text/plain"])).toContain(exp.diagnosticsText());
    expect(exp.diagnosticsText()).toContain(`<cell 7>:${at}: error ${code}`);
  });

  test("peft`…` numbers its cells, keeps backslashes as written and inserts values as text", () => {
    const steps = 10;
    const targets = ['"q_proj"', '"v_proj"'];
    const exp = peft`model base = decoder { layers 1, width 32, heads 2, context 16 }
data sums = addition { digits 1, train 64, validation 16, test 16 }
adapter a = lora { rank 4, target matching "model\.layers\.\d+\.self_attn\.q_proj", ${targets} }
train { steps ${steps}, batch 8 }
run plain = base + a on sums`;
    expect(exp.diagnosticsText()).toBe("");
    expect(exp.ok).toBe(true);
    expect(exp.file).toMatch(/^<cell \d+>$/);
    expect(exp.plan!.runs[0]!.train.steps).toBe(10);
    expect(exp.plan!.adapters.a!.target).toEqual({ regex: "model\\.layers\\.\\d+\\.self_attn\\.q_proj", names: ["q_proj", "v_proj"] });
  });

  test.each([
    [["a ", " b ", ""], [1, [2, "x"]], "a 1 b 2, x"],
    [["only"], [], "only"],
  ])("joinTemplate(%j, %j)", (strings, values, out) => {
    expect(joinTemplate(strings, values)).toBe(out);
  });
});

describe("a good experiment", () => {
  test("shows a summary of the plan (runs, jobs, comparisons) and its warnings", () => {
    const exp = compileExperiment(GOOD, { file: "<cell 1>" });
    expect(exp.ok).toBe(true);
    const html = String(rec.outputs()[0]!["text/html"]);
    expect(html).toContain("✓ &lt;cell 1&gt; compiled: 1 run, 2 jobs (runs × learning rates × seeds), backend auto (1 warning)");
    expect(html).toMatch(/<b>plain<\/b>.*base.*sums/s);
    expect(html).toContain("compare <b>plain</b>: plain");
    expect(html).toContain("&lt;cell 1&gt;:7:9: warning PEFT4015");
    expect(inspect(exp)).toBe("Experiment <cell 1>: 1 runs (1 warning)");
  });

  test("show: false displays nothing", () => {
    compileExperiment(GOOD, { show: false });
    expect(rec.messages).toHaveLength(0);
  });

  test("peftFile resolves includes relative to the file, and a missing file is a diagnostic", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-nb-"));
    try {
      fs.writeFileSync(path.join(dir, "common.peft"), GOOD.split("\n").slice(0, 4).join("\n"));
      fs.writeFileSync(path.join(dir, "main.peft"), `include "common.peft"\ntrain { steps 10, batch 8 }\nrun plain = base + a on sums\n`);
      const exp = peftFile(path.join(dir, "main.peft"));
      expect(exp.diagnosticsText()).toBe("");
      expect(exp.baseDir).toBe(dir);
      const missing = peftFile(path.join(dir, "nope.peft"));
      expect(missing.ok).toBe(false);
      expect(missing.diagnosticsText()).toMatch(/error PEFT5001: cannot read file .*nope\.peft.*ENOENT/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
