// Target selectors against the modules of built-in models and the default base: a selector that matches nothing, an
// adapter left with no module, two adapters on one module, rank/alpha patterns that miss.

import type * as Ast from "../ast.js";
import { patternMatches, regexError } from "../../peft/targets.js";
import { builtinModulePaths, matchesSelector, selectModules } from "../modules.js";
import { DEFAULT_BASE_LAYERS } from "../defaults.js";
import type { BuiltinModelSpec, ModelSpec, Selector } from "../plan.js";
import { didYouMean } from "../suggest.js";
import { peftFamilyMismatch, targetItems } from "./adapters.js";
import type { Analysis, RunInfo } from "./analysis.js";
import { defineCheck } from "./registry.js";

/** What the module paths of a model depend on, when they are known before loading any file. */
type KnownShape = Pick<BuiltinModelSpec, "family" | "head" | "layers">;

const shapeCache = new WeakMap<object, KnownShape>();
const pathCache = new WeakMap<KnownShape, string[]>();

/**
 * The shape of a built-in model, or of the default pretrained base (a causal LM of
 * DEFAULT_BASE_LAYERS layers); null for a local folder, whose modules are only known at run time.
 */
function knownShape(spec: ModelSpec | undefined): KnownShape | null {
  if (!spec || spec.kind === "hf") return null;
  if (spec.kind === "builtin") return spec;
  let shape = shapeCache.get(spec);
  if (!shape) {
    shape = { family: spec.family, head: spec.head === "classifier" ? "classifier" : "causal_lm", layers: DEFAULT_BASE_LAYERS };
    shapeCache.set(spec, shape);
  }
  return shape;
}

function modulePaths(spec: KnownShape): string[] {
  let paths = pathCache.get(spec);
  if (!paths) {
    // Classifier heads (`score`, `classifier`) are not among them: they are trained whole, not adapted.
    paths = builtinModulePaths(spec);
    pathCache.set(spec, paths);
  }
  return paths;
}

/** Models with known modules (declaration and shape) of the runs that use `adapter`, without repeats. */
function modelsUsing(adapter: Ast.AdapterDecl, a: Analysis): { decl: Ast.ModelDecl; spec: KnownShape }[] {
  const out = new Map<Ast.ModelDecl, KnownShape>();
  for (const run of a.runsUsingAdapter(adapter)) {
    const shape = knownShape(a.models.get(run.model)?.spec);
    if (shape) out.set(run.model, shape);
  }
  return [...out].map(([decl, spec]) => ({ decl, spec }));
}

const REGEX_CHARS = /[\\^$*+?()[\]{}|]/;

type Item = ReturnType<typeof targetItems>[number];
const unmatchedCache = new WeakMap<Ast.AdapterDecl, Item[]>();

/** Target items of `adapter` that match no module of any built-in model it is used with. */
function unmatchedItems(adapter: Ast.AdapterDecl, a: Analysis): Item[] {
  let items = unmatchedCache.get(adapter);
  if (items) return items;
  const info = a.adapters.get(adapter);
  const models = modelsUsing(adapter, a);
  items = [];
  if (info && models.length > 0) {
    for (const item of targetItems(info.fields)) {
      if (item.regex && regexError(item.text)) continue;
      const selector: Selector = item.regex ? { regex: item.text, names: [] } : { regex: null, names: [item.text] };
      if (!models.some((m) => modulePaths(m.spec).some((p) => matchesSelector(p, selector)))) items.push(item);
    }
  }
  unmatchedCache.set(adapter, items);
  return items;
}

defineCheck("validate", "AdapterDecl", "adapter-target-items", (decl, a) => {
  const items = unmatchedItems(decl, a);
  if (items.length === 0) return;
  const { decl: model, spec } = modelsUsing(decl, a)[0]!;
  const paths = modulePaths(spec);
  for (const item of items) {
    let hint = "";
    if (item.regex) hint = item.text.startsWith(".*") ? "" : `; a regex must match the whole path, e.g. matching ".*${item.text}"`;
    else if (REGEX_CHARS.test(item.text)) hint = `; names match a whole path or a '.suffix': for a regular expression write matching "${item.text}"`;
    else hint = didYouMean(item.text, new Set(paths.map((p) => p.slice(p.lastIndexOf(".") + 1))));
    const selectorText = item.regex ? `matching "${item.text}"` : `'${item.text}'`;
    a.reporter.report("selectorMatchesNothing", { selector: selectorText, model: model.name.name, family: spec.family, example: paths[0] ?? "", hint }, decl.file, item.node);
  }
});

function runSelectorChecks(run: RunInfo, a: Analysis): void {
  const spec = knownShape(a.models.get(run.model)?.spec);
  if (!spec) return;
  const paths = modulePaths(spec);
  const owner = new Map<string, Ast.AdapterDecl>();
  for (const adapter of run.adapters) {
    const info = a.adapters.get(adapter);
    if (!info || unmatchedItems(adapter, a).length > 0) continue;
    const ref = run.decl.parts.find((p) => p.name === adapter.name.name) ?? run.decl.name;
    const targeted = paths.filter((p) => matchesSelector(p, info.spec.target));
    const chosen = selectModules(paths, info.spec.target, info.spec.exclude);
    if (chosen.length === 0) {
      if (peftFamilyMismatch(adapter, run.model, a)) continue; // reported on the declaration (PEFT5011)
      const reason = targeted.length > 0 ? ": 'exclude' removes every module it targets" : "";
      const where = (targeted.length > 0 ? info.fields.exclude : info.fields.target)?.prop.key ?? adapter.name;
      a.reporter.report("targetsNothing", { adapter: adapter.name.name, model: run.model.name.name, reason }, run.decl.file, ref, [a.reporter.note("selected here", adapter.file, where)]);
      continue;
    }
    for (const module of chosen) {
      const other = owner.get(module);
      if (other && other !== adapter) {
        a.reporter.report("overlappingAdapters", { a: other.name.name, b: adapter.name.name, module, run: run.decl.name.name }, run.decl.file, ref);
        break;
      }
      owner.set(module, adapter);
    }
    for (const pattern of [info.fields.rankPattern, info.fields.alphaPattern]) {
      for (const entry of pattern?.value.value ?? []) {
        if (regexError(`(?:.*\\.)?(?:${entry.key.value})`)) continue;
        if (chosen.some((m) => patternMatches(entry.key.value, m))) continue;
        a.reporter.report("patternMatchesNothing", { prop: `'${pattern!.prop.key.name}'`, key: entry.key.value, adapter: adapter.name.name, model: run.model.name.name }, adapter.file, entry.key.node);
      }
    }
  }
}

defineCheck("validate", "RunDecl", "run-selectors", (decl, a) => {
  const run = a.runs.get(decl);
  if (run) runSelectorChecks(run, a);
});
