// Semantic checks as small named functions registered per statement kind (Langium style).
// Phases run in order over every statement, so later phases can rely on what earlier ones built:
//   declare   — the symbol table (duplicates)
//   interpret — what each declaration's block says (values, ranges, units)
//   link      — runs and comparisons resolved against the declarations
//   validate  — cross-declaration checks and warnings

import type { Statement } from "../ast.js";
import type { Analysis } from "./analysis.js";

export const PHASES = ["declare", "interpret", "link", "validate"] as const;
export type Phase = (typeof PHASES)[number];

type Kind = Statement["kind"];

/** One registered check. */
export interface Check<K extends Kind = Kind> {
  name: string;
  phase: Phase;
  kind: K;
  run(node: Extract<Statement, { kind: K }>, analysis: Analysis): void;
}

const registry: Check[] = [];

/** Register `run` for statements of `kind` in `phase`. Names must be unique. */
export function defineCheck<K extends Kind>(phase: Phase, kind: K, name: string, run: Check<K>["run"]): void {
  if (registry.some((c) => c.name === name)) throw new Error(`defineCheck: a check named '${name}' is already registered`);
  registry.push({ name, phase, kind, run } as unknown as Check);
}

/** The registered checks (name, phase, kind), in order. */
export function listChecks(): readonly Pick<Check, "name" | "phase" | "kind">[] {
  return registry.map(({ name, phase, kind }) => ({ name, phase, kind }));
}

/** Run every phase over the analysis' statements. */
export function runChecks(analysis: Analysis): void {
  for (const phase of PHASES) {
    const byKind = new Map<Kind, Check[]>();
    for (const check of registry) {
      if (check.phase !== phase) continue;
      const list = byKind.get(check.kind) ?? [];
      list.push(check);
      byKind.set(check.kind, list);
    }
    for (const statement of analysis.statements) {
      for (const check of byKind.get(statement.kind) ?? []) check.run(statement as never, analysis);
    }
  }
}
