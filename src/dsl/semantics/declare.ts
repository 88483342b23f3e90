// Phase "declare": one namespace for every declared name; the unnamed train block and the backend
// setting may each appear once.

import type * as Ast from "../ast.js";
import { DECL_NOUN } from "../ast.js";
import type { Analysis } from "./analysis.js";
import { defineCheck } from "./registry.js";

function declare(decl: Ast.NamedDecl & { name: Ast.Ident }, a: Analysis): void {
  const first = a.symbols.get(decl.name.name);
  if (first) {
    const note = a.reporter.note(`first declared here`, first.file, first.name!);
    a.reporter.report("duplicateName", { name: decl.name.name, kind: DECL_NOUN[first.kind] }, decl.file, decl.name, [note]);
    return;
  }
  a.symbols.set(decl.name.name, decl);
}

for (const kind of ["ModelDecl", "DataDecl", "AdapterDecl", "BeamDecl", "PruneDecl", "RunDecl"] as const) {
  defineCheck("declare", kind, `declare-${kind}`, (decl, a) => declare(decl, a));
}

defineCheck("declare", "TrainDecl", "declare-train", (decl, a) => {
  if (decl.name) return declare(decl as Ast.TrainDecl & { name: Ast.Ident }, a);
  if (a.globalTrain) {
    const note = a.reporter.note("the first is here", a.globalTrain.file, a.globalTrain.block);
    a.reporter.report("duplicateName", { name: "train", kind: "the unnamed train block that sets defaults for every run; name the others, e.g. 'train fast { … }'" }, decl.file, decl, [note]);
    return;
  }
  a.globalTrain = decl;
});

defineCheck("declare", "CompareDecl", "declare-compare", (decl, a) => {
  if (decl.name) declare(decl as Ast.CompareDecl & { name: Ast.Ident }, a);
});

defineCheck("declare", "BackendDecl", "declare-backend", (decl, a) => {
  if (a.backend) {
    const note = a.reporter.note("first set here", a.backend.file, a.backend);
    a.reporter.report("duplicateName", { name: "backend", kind: "the backend setting" }, decl.file, decl, [note]);
    return;
  }
  a.backend = decl;
});
