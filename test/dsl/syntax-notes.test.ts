// Syntax errors about brackets: nested lists, a missing '}' or ']' pointing back at its opener,
// and an unclosed block at the end of the file.
import { describe, expect, it } from "vitest";
import { renderDiagnostics } from "../../src/dsl/index.js";
import { run } from "./helpers.js";

/** Each diagnostic as `line:col CODE message` with its notes as `  note line:col message`. */
function brief(text: string): string[] {
  const r = run(text);
  return renderDiagnostics(r.diagnostics, r.sources).split("\n").filter((l) => l.startsWith("t.peft:")).map((l) => l.replace(/^t\.peft:/, ""));
}

describe("brackets", () => {
  it("10,000 nested lists: one error at the first nested '[', a note at the outer one, parsing goes on", () => {
    const text = `train { lr ${"[".repeat(10_000)}1e-3${"]".repeat(10_000)} }\nrun r = m + a on d\n`;
    expect(brief(text)).toEqual([
      "1:13: error PEFT1010: '[' inside a list: lists do not nest (9999 nested '[' in all, skipped)",
      "1:12: note: the list opens here",
    ]);
  });

  it("an unclosed nested list ends at the end of the line's last token, not mid-line", () => {
    const text = `train { lr ${"[".repeat(10_000)}\n`;
    expect(brief(text)).toEqual([
      "1:13: error PEFT1010: '[' inside a list: lists do not nest (9999 nested '[' in all, skipped)",
      "1:12: note: the list opens here",
      "1:10012: error PEFT1005: unexpected end of file: expected ']'",
      "1:12: note: the list opened here is not closed",
    ]);
  });

  it.each([
    ["model base = decoder {\n  layers 2\n", ["2:11: error PEFT1005: unexpected end of file: expected '}'", "1:22: note: the block opened here is not closed"]],
    ["model base = decoder { layers 2 }\ntrain {", ["2:8: error PEFT1005: unexpected end of file: expected '}'", "2:7: note: the block opened here is not closed"]],
    ["adapter l = lora { rank 8\nrun x = base + l on sums\n", ["2:1: error PEFT1004: expected '}', found keyword 'run'", "1:18: note: the block opened here is not closed"]],
    ["train {\n  lr [1e-3, 2e-3\n}\n", ["3:1: error PEFT1004: expected ']', found '}'", "2:6: note: the list opened here is not closed"]],
  ])("%j: the missing closer points back at its opener", (text, expected) => {
    expect(brief(text)).toEqual(expected);
  });

  it("a list on the next line after an unclosed one is a missing ']', not nesting", () => {
    const lines = brief("train {\n  lr [1e-3, 2e-3\n  seeds [1, 2]\n}\n");
    expect(lines.join("\n")).not.toContain("PEFT1010");
    expect(lines[0]).toMatch(/^3:3: error PEFT1004: expected .*']'/);
  });
});
