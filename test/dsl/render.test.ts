// The renderer: whole rendered text compared with goldens.
import { describe, expect, it } from "vitest";
import { diagnosticsToJson, makeDiagnostic, renderDiagnostics, summarize } from "../../src/dsl/index.js";
import { BASE, run } from "./helpers.js";

describe("text renderer", () => {
  it("renders path:line:col, severity, code, message, the line and a caret underline", () => {
    const r = run("adapter a = lora {\n  rank 0\n}\n");
    expect(renderDiagnostics(r.diagnostics, r.sources)).toBe(
      `t.peft:2:8: error PEFT3002: 'rank' must be a whole number from 1 to 4096, got 0
 2 |   rank 0
   |        ^
`);
  });

  it("renders notes with their own location and excerpt", () => {
    const r = run(`${BASE}adapter lora8 = lora { rank 4 }\nrun r = base + lora8 on sums\n`);
    expect(renderDiagnostics(r.diagnostics, r.sources)).toBe(
      `t.peft:4:9: error PEFT2002: 'lora8' is already declared (as an adapter)
 4 | adapter lora8 = lora { rank 4 }
   |         ^^^^^
t.peft:3:9: note: first declared here
 3 | adapter lora8 = lora { rank 8 }
   |         ^^^^^
`);
  });

  it("expands tabs so the caret stays under the token", () => {
    const r = run("adapter a = lora {\n\trank\t0\n}\n");
    expect(renderDiagnostics(r.diagnostics, r.sources)).toBe(
      `t.peft:2:7: error PEFT3002: 'rank' must be a whole number from 1 to 4096, got 0
 2 |     rank    0
   |             ^
`);
  });

  it("cuts a very long line to a window around the caret", () => {
    const pad = "x".repeat(2_000_000);
    const r = run(`# ${pad}\nmodel m = decoder { layers 0 } # ${pad}\n`);
    const text = renderDiagnostics(r.diagnostics, r.sources);
    expect(text.length).toBeLessThan(400);
    expect(text).toBe(
      `t.peft:2:28: error PEFT3002: 'layers' must be a whole number from 1 to 256, got 0
 2 | model m = decoder { layers 0 } # ${"x".repeat(87)}…
   |                            ^
`);
  });

  it("places an end-of-file error just after the last token", () => {
    const r = run("model m =\n");
    expect(renderDiagnostics(r.diagnostics, r.sources)).toBe(
      `t.peft:1:10: error PEFT1005: unexpected end of file: expected a model kind (decoder, llama, gpt2, encoder, bert, hf or pretrained)
 1 | model m =
   |          ^
`);
  });

  it("prints only the header when the source is unavailable", () => {
    const d = makeDiagnostic("cannotRead", { what: "file", path: "x.peft", reason: "" }, "x.peft", { start: 0, end: 0 });
    expect(renderDiagnostics([d], new Map())).toBe("x.peft: error PEFT5001: cannot read file 'x.peft'\n");
  });

  it("summarizes counts", () => {
    const e = makeDiagnostic("emptyFile", {}, "a", { start: 0, end: 0 });
    const w = makeDiagnostic("highDropout", { value: 0.6 }, "a", { start: 0, end: 0 });
    expect([summarize([]), summarize([e]), summarize([w, w]), summarize([e, e, w])]).toEqual(["no problems", "1 error", "2 warnings", "2 errors and 1 warning"]);
  });
});

describe("JSON form", () => {
  it("adds 1-based line and column to spans and notes", () => {
    const text = `${BASE}adapter lora8 = lora {}\nrun r = base + lora8 on sums\n`;
    const r = run(text);
    const first = text.indexOf("lora8");
    const second = text.indexOf("lora8", first + 1);
    expect(diagnosticsToJson(r.diagnostics, r.sources)).toEqual([{
      severity: "error",
      code: "PEFT2002",
      message: "'lora8' is already declared (as an adapter)",
      file: "t.peft",
      line: 4, column: 9, endLine: 4, endColumn: 14,
      span: { start: second, end: second + 5 },
      notes: [{ message: "first declared here", file: "t.peft", line: 3, column: 9, span: { start: first, end: first + 5 } }],
    }]);
  });
});

describe("rendering many diagnostics", () => {
  it("shows the first 100 in full, then one line counting the rest", () => {
    const text = Array.from({ length: 50_000 }, (_, i) => `run r${i} = m${i} + a on d`).join("\n");
    const r = run(`${text}\n`);
    expect(r.diagnostics).toHaveLength(150_000);
    const out = renderDiagnostics(r.diagnostics, r.sources);
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(100 * 3 + 1);
    expect(lines[lines.length - 1]).toBe("… and 149900 errors more, not shown (150000 in all)");
    expect(lines.filter((l) => / error PEFT\d+: /.test(l))).toHaveLength(100);
  });

  it("counts warnings apart from errors, and renders everything under the cap", () => {
    const errors = Array.from({ length: 3 }, (_, i) => makeDiagnostic("undeclaredName", { kind: "model", name: `m${i}`, hint: "" }, "t.peft", { start: 0, end: 1 }));
    const warnings = Array.from({ length: 2 }, () => makeDiagnostic("compareFewRuns", { name: "c" }, "t.peft", { start: 0, end: 1 }));
    const sources = { "t.peft": "x\n" };
    expect(renderDiagnostics([...errors, ...warnings], sources, 2).trimEnd().split("\n").pop()).toBe("… and 1 error and 2 warnings more, not shown (5 in all)");
    expect(renderDiagnostics([...errors, ...warnings], sources, 5)).not.toContain("not shown");
  });
});
