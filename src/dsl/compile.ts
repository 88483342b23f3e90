// Phase 3: checked declarations → the plan (plain, deterministic JSON; see plan.ts).
// Beam and prune settings depend on the run's length; when the runs that share one resolve
// differently, each run gets its own entry, keyed `name@run`.

import { createHash } from "node:crypto";
import { COMPARE_DEFAULTS } from "./defaults.js";
import { hasErrors, sortDiagnostics, type Diagnostic } from "./diagnostics.js";
import { loadProgram } from "./load.js";
import { PLAN_VERSION, type BackendName, type CompareSpec, type DataSpec, type Plan, type RunSpec } from "./plan.js";
import { analyze, type Analysis, type ReadFile } from "./semantics/index.js";
import { resolvedTokenizer } from "./semantics/tokenizer.js";

/** Options of `compileSource`. */
export interface CompileOptions {
  /** Reads included files and data files (paths are resolved relative to the .peft file). */
  readFile?: ReadFile;
}

/** The plan (null when there are errors), every diagnostic, and every source text read. */
export interface CompileResult {
  plan: Plan | null;
  diagnostics: Diagnostic[];
  /** Text of every file involved, by path (for rendering diagnostics). */
  sources: Map<string, string>;
}

/** Parse, check and compile one .peft text. Never throws on bad input. */
export function compileSource(text: string, path = "<input>", options: CompileOptions = {}): CompileResult {
  const loaded = loadProgram(text, path, options.readFile);
  const files = [...loaded.sources.keys()];
  if (hasErrors(loaded.diagnostics)) return { plan: null, diagnostics: sortDiagnostics(loaded.diagnostics, files), sources: loaded.sources };
  const { analysis, diagnostics } = analyze(loaded.statements, path, options);
  const all = sortDiagnostics([...loaded.diagnostics, ...diagnostics], files);
  const plan = hasErrors(all) ? null : buildPlan(analysis, text, path);
  return { plan, diagnostics: all, sources: loaded.sources };
}

/** SHA-256 of a text (UTF-8), hex. */
export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Key each run's resolved spec under the declared name, or `name@run` when runs disagree. */
function keyed<T>(entries: { name: string; run: string; spec: T }[]): { specs: Record<string, T>; keyOf: Map<string, string> } {
  const byName = new Map<string, { run: string; spec: T }[]>();
  for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  const specs: Record<string, T> = {};
  const keyOf = new Map<string, string>();
  for (const [name, list] of byName) {
    const first = list.length > 1 ? JSON.stringify(list[0]!.spec) : "";
    const same = list.length === 1 || list.every((e) => JSON.stringify(e.spec) === first);
    for (const e of list) {
      const key = same ? name : `${name}@${e.run}`;
      specs[key] = e.spec;
      keyOf.set(e.run, key);
    }
  }
  return { specs, keyOf };
}

/** Build the plan from an analysis without errors. */
export function buildPlan(a: Analysis, text: string, path: string): Plan {
  const runs = [...a.runs.values()];
  const beams = keyed(runs.filter((r) => r.beamSpec).map((r) => ({ name: r.beam!.name.name, run: r.decl.name.name, spec: r.beamSpec! })));
  const prunes = keyed(runs.filter((r) => r.pruneSpec).map((r) => ({ name: r.prune!.name.name, run: r.decl.name.name, spec: r.pruneSpec! })));

  const models: Plan["models"] = {};
  for (const [decl, info] of a.models) models[decl.name.name] = info.spec;
  const data: Plan["data"] = {};
  for (const [decl, info] of a.data) data[decl.name.name] = { ...info.spec, tokenizer: resolvedTokenizer(decl, a) } as DataSpec;
  const adapters: Plan["adapters"] = {};
  for (const [decl, info] of a.adapters) adapters[decl.name.name] = info.spec;

  const runSpecs: RunSpec[] = runs.map((r) => ({
    name: r.decl.name.name,
    model: r.model.name.name,
    adapters: r.adapters.map((d) => d.name.name),
    beam: r.beam ? beams.keyOf.get(r.decl.name.name)! : null,
    prune: r.prune ? prunes.keyOf.get(r.decl.name.name)! : null,
    data: r.data.name.name,
    train: r.train!,
  }));

  const comparisons: CompareSpec[] = [];
  for (const [decl, info] of a.compares) {
    const members = info.runs.map((d) => a.runs.get(d)!);
    const plots = decl.plots.length > 0 ? decl.plots.map((p) => p.name) : [
      ...COMPARE_DEFAULTS.plots,
      ...(members.some((m) => m.beam) ? ["importance"] : []),
      ...(members.some((m) => m.prune) ? ["masks"] : []),
    ];
    comparisons.push({
      name: info.name,
      runs: info.runs.map((d) => d.name.name),
      metrics: (decl.metrics.length > 0 ? unique(decl.metrics.map((m) => m.name)) : [...COMPARE_DEFAULTS.metrics]) as CompareSpec["metrics"],
      plots: unique(plots) as CompareSpec["plots"],
    });
  }

  return {
    version: PLAN_VERSION,
    source: { path, sha256: sha256(text) },
    backend: (a.backend?.value.name ?? "auto") as BackendName,
    models,
    data,
    adapters,
    beams: beams.specs,
    prunes: prunes.specs,
    runs: runSpecs,
    comparisons,
  };
}

function unique(words: string[]): string[] {
  return [...new Set(words)];
}
