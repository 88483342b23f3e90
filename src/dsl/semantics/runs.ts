// Phase "link": runs resolved against their declarations, with their training settings and the
// BeamLoRA / Light-PEFT settings for their length.

import type * as Ast from "../ast.js";
import { readBlock } from "../fields.js";
import { TRAIN_SCHEMA } from "../schema-train.js";
import type { Analysis, TrainFields } from "./analysis.js";
import { resolveBeam, resolvePrune } from "./constraints.js";
import { defineCheck } from "./registry.js";
import { overlayTrain, resolveTrain } from "./train.js";

interface Parts {
  adapters: Ast.AdapterDecl[];
  beam: Ast.BeamDecl | null;
  prune: Ast.PruneDecl | null;
  ok: boolean;
}

/** Sort the `+ part` references into adapters, one beam and one prune schedule. */
function linkParts(decl: Ast.RunDecl, a: Analysis): Parts {
  const out: Parts = { adapters: [], beam: null, prune: null, ok: true };
  const firstRef = new Map<Ast.NamedDecl, Ast.Ident>();
  for (const part of decl.parts) {
    const target = a.lookup(part, decl.file, ["AdapterDecl", "BeamDecl", "PruneDecl"], "adapter, beam or prune schedule");
    if (!target) {
      out.ok = false;
      continue;
    }
    const earlier = firstRef.get(target);
    if (earlier) {
      a.reporter.report("duplicateListItem", { name: part.name }, decl.file, part, [a.reporter.note("first listed here", decl.file, earlier)]);
      continue;
    }
    firstRef.set(target, part);
    if (target.kind === "AdapterDecl") {
      out.adapters.push(target);
      continue;
    }
    const slot = target.kind === "BeamDecl" ? "beam" : "prune";
    const first = out[slot];
    if (first) {
      const note = a.reporter.note(`the first ${slot === "beam" ? "beam" : "prune schedule"} is here`, decl.file, firstRef.get(first)!);
      a.reporter.report("tooManyInRun", { run: decl.name.name, what: slot === "beam" ? "beam" : "prune schedule", first: first.name.name }, decl.file, part, [note]);
      out.ok = false;
      continue;
    }
    if (target.kind === "BeamDecl") out.beam = target;
    else out.prune = target;
  }
  return out;
}

const merged = new WeakMap<Analysis, Map<Ast.TrainDecl | null, TrainFields>>();

/** Global train block, then the named one, then the run's own `with { … }` (runs that share a
 *  named block share its merge). */
function trainFieldsFor(decl: Ast.RunDecl, named: Ast.TrainDecl | null, a: Analysis): TrainFields {
  let cache = merged.get(a);
  if (!cache) merged.set(a, (cache = new Map()));
  let fields = cache.get(named);
  if (!fields) {
    fields = overlayTrain(a.globalTrain ? a.trains.get(a.globalTrain) ?? {} : {}, named ? a.trains.get(named) : undefined);
    cache.set(named, fields);
  }
  if (!decl.overrides) return fields;
  return overlayTrain(fields, readBlock(decl.overrides, TRAIN_SCHEMA, `the settings of run '${decl.name.name}'`, decl.file, a.reporter));
}

defineCheck("link", "RunDecl", "run-link", (decl, a) => {
  const model = a.lookup(decl.model, decl.file, ["ModelDecl"], "model");
  const parts = linkParts(decl, a);
  const data = a.lookup(decl.data, decl.file, ["DataDecl"], "data set");
  const named = decl.train ? a.lookup(decl.train, decl.file, ["TrainDecl"], "train block") : null;
  const trainFields = trainFieldsFor(decl, named, a);
  if (parts.ok && parts.adapters.length === 0) {
    a.reporter.report("runWithoutAdapter", { run: decl.name.name, model: decl.model.name, data: decl.data.name }, decl.file, decl.name);
    return;
  }
  if (!model || !data || !parts.ok || (decl.train && !named)) return;
  const dataInfo = a.data.get(data);
  if (!a.models.get(model) || !dataInfo) return;
  const train = resolveTrain(trainFields, dataInfo, data.name.name, a);
  const beamInfo = parts.beam ? a.beams.get(parts.beam) : undefined;
  const pruneInfo = parts.prune ? a.prunes.get(parts.prune) : undefined;
  a.runs.set(decl, {
    decl,
    model,
    adapters: parts.adapters,
    beam: parts.beam,
    prune: parts.prune,
    data,
    trainFields,
    train,
    beamSpec: train && beamInfo?.adapter ? resolveBeam(beamInfo, beamInfo.adapter.name.name, train.steps) : null,
    pruneSpec: train && pruneInfo ? resolvePrune(pruneInfo, train.steps) : null,
  });
});
