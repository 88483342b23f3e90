// Which tokenizer data uses when its block does not say: the model's own tokenizer.json for models
// that ship one (hf folders and the pretrained base), characters for random built-in models.

import type * as Ast from "../ast.js";
import type { TokenizerSpec } from "../plan.js";
import type { Analysis } from "./analysis.js";
import { defineCheck } from "./registry.js";

/** Models that come with a tokenizer.json: hf folders and the pretrained base. */
export function shipsTokenizer(a: Analysis, model: Ast.ModelDecl): boolean {
  return a.models.get(model)!.spec.kind !== "builtin";
}

/** The tokenizer of `decl` in the plan. */
export function resolvedTokenizer(decl: Ast.DataDecl, a: Analysis): TokenizerSpec {
  const info = a.data.get(decl)!;
  if (info.tokenizerSet) return info.spec.tokenizer;
  const kinds = new Set<boolean>();
  for (const run of a.runsUsingData(decl)) kinds.add(shipsTokenizer(a, run.model));
  return kinds.size === 1 && kinds.has(true) ? { kind: "model" } : { kind: "char" };
}

defineCheck("validate", "DataDecl", "data-tokenizer-mix", (decl, a) => {
  const info = a.data.get(decl);
  if (!info || info.tokenizerSet) return;
  const kinds = new Set<boolean>();
  for (const run of a.runsUsingData(decl)) kinds.add(shipsTokenizer(a, run.model));
  if (kinds.size > 1) a.reporter.report("mixedTokenizer", { data: decl.name.name }, decl.file, decl.name);
});
