// Comparisons, the backend setting, and declarations nothing uses.

import type * as Ast from "../ast.js";
import { DECL_NOUN } from "../ast.js";
import type { BackendName, MetricName, PlotName } from "../plan.js";
import { didYouMean, quoteList } from "../suggest.js";
import type { Analysis } from "./analysis.js";
import { defineCheck } from "./registry.js";

/** Metrics and plots a comparison may name. */
export const METRICS: MetricName[] = ["accuracy", "exact_match", "loss", "step_time", "tokens_per_s", "peak_memory", "trainable_params", "foundation_params", "wall_time"];
export const PLOTS: PlotName[] = ["loss", "eval", "importance", "masks", "params", "time", "memory"];
export const BACKENDS: BackendName[] = ["auto", "tensorflow-gpu", "tensorflow", "webgpu", "native", "wasm", "cpu"];

/** Report words not in `allowed` and words listed twice. */
function checkWords(words: Ast.Ident[], allowed: readonly string[], what: string, file: string, a: Analysis): void {
  const seen = new Set<string>();
  for (const word of words) {
    if (!allowed.includes(word.name)) {
      a.reporter.report("unknownWord", { what, name: word.name, allowed: quoteList(allowed), hint: didYouMean(word.name, allowed) }, file, word);
    } else if (seen.has(word.name)) {
      a.reporter.report("duplicateListItem", { name: word.name }, file, word);
    }
    seen.add(word.name);
  }
}

defineCheck("link", "CompareDecl", "compare-link", (decl, a) => {
  const runs: Ast.RunDecl[] = [];
  for (const ref of decl.runs) {
    const run = a.lookup(ref, decl.file, ["RunDecl"], "run");
    if (!run) continue;
    if (runs.includes(run)) a.reporter.report("duplicateListItem", { name: ref.name }, decl.file, ref);
    else runs.push(run);
  }
  checkWords(decl.metrics, METRICS, "metric", decl.file, a);
  checkWords(decl.plots, PLOTS, "plot", decl.file, a);
  const base = decl.name?.name ?? decl.runs.map((r) => r.name).join("_vs_");
  let name = base;
  for (let i = 2; a.compareNames.has(name); i++) name = `${base}_${i}`;
  a.compareNames.add(name);
  a.compares.set(decl, { name, runs });
});

defineCheck("validate", "CompareDecl", "compare-size", (decl, a) => {
  const info = a.compares.get(decl);
  if (info && info.runs.length === 1 && decl.runs.length === 1) a.reporter.report("compareFewRuns", { name: info.name }, decl.file, decl.runs[0]!);
});

defineCheck("interpret", "BackendDecl", "backend-name", (decl, a) => {
  const name = decl.value.name;
  if (!(BACKENDS as string[]).includes(name)) {
    a.reporter.report("unknownWord", { what: "backend", name, allowed: quoteList(BACKENDS), hint: didYouMean(name, BACKENDS) }, decl.file, decl.value);
  }
});

/** Warn about declarations of the main file that no run uses (only when the file has runs). */
function checkUsed(decl: Ast.ModelDecl | Ast.DataDecl | Ast.AdapterDecl | Ast.BeamDecl | Ast.PruneDecl | Ast.TrainDecl, a: Analysis): void {
  if (!decl.name || decl.file !== a.mainFile || a.used.has(decl) || a.symbols.get(decl.name.name) !== decl) return;
  if (!a.mainFileHasRuns) return;
  a.reporter.report("unusedDeclaration", { kind: DECL_NOUN[decl.kind].replace(/^an? /, ""), name: decl.name.name }, decl.file, decl.name);
}

for (const kind of ["ModelDecl", "DataDecl", "AdapterDecl", "BeamDecl", "PruneDecl", "TrainDecl"] as const) {
  defineCheck("validate", kind, `unused-${kind}`, (decl, a) => checkUsed(decl, a));
}
