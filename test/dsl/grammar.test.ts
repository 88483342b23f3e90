// The grammar documents and the typed CST are generated from the parser; they must not drift.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GRAMMAR_EXAMPLE, cstTypesSource, grammarMarkdown, railroadHtml } from "../../src/dsl/grammar-doc.js";
import { compile } from "../../src/dsl/index.js";
import { parser } from "../../src/dsl/parser.js";
import { ROOT } from "./helpers.js";

const regenerate = "run `npm run grammar` (build, then node scripts/gen-grammar.js) and commit the result";

describe("generated grammar files", () => {
  it.each([
    ["grammar/peft.grammar.md", grammarMarkdown],
    ["grammar/railroad.html", railroadHtml],
    ["src/dsl/cst-types.ts", cstTypesSource],
  ] as const)("%s matches the parser", (path, generate) => {
    const committed = readFileSync(join(ROOT, path), "utf8");
    expect(committed === generate(), `${path} is out of date: ${regenerate}`).toBe(true);
  });

  it("documents every rule and every block property", () => {
    const doc = grammarMarkdown();
    for (const rule of Object.keys(parser.getGAstProductions())) expect(doc).toContain(`### ${rule}\n`);
    for (const key of ["rank_pattern", "top_p", "estimate", "warmup", "kv_heads", "tokenizer", "importance"]) expect(doc).toContain(key);
  });

  it("opens with an example that compiles cleanly", () => {
    const r = compile({ path: "example.peft", text: GRAMMAR_EXAMPLE });
    expect(r.diagnostics).toEqual([]);
    expect(r.plan!.runs).toHaveLength(3);
  });

  it("draws a railroad diagram for every rule", () => {
    const html = railroadHtml();
    for (const rule of Object.keys(parser.getGAstProductions())) expect(html).toContain(`"name": "${rule}"`);
  });
});
