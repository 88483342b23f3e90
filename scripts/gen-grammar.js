#!/usr/bin/env node
// Regenerate the grammar documents and the typed CST from the built parser:
//   grammar/peft.grammar.md   the grammar as a readable document
//   grammar/railroad.html     railroad diagrams of every rule
//   src/dsl/cst-types.ts      the typed CST (chevrotain generateCstDts)
// Run after `npm run build` (npm run grammar does both). test/dsl/grammar.test.ts fails when
// the committed files differ from what this writes.
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cstTypesSource, grammarMarkdown, railroadHtml } from "../dist/dsl/grammar-doc.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outputs = [
  ["grammar/peft.grammar.md", grammarMarkdown()],
  ["grammar/railroad.html", railroadHtml()],
  ["src/dsl/cst-types.ts", cstTypesSource()],
];
for (const [path, text] of outputs) {
  writeFileSync(join(root, path), text);
  console.log(`wrote ${path} (${text.length} characters)`);
}
