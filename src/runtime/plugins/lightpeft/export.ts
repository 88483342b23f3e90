// What a stock-PEFT exporter needs after Light-PEFT rank pruning. Our adapters keep
// scaling = alpha / r_original (rsLoRA: alpha / √r_original) with r' ranks left; stock PEFT
// computes alpha / r' from the config, so each surviving module gets rank_pattern r' and
// alpha_pattern alpha' = alpha · r' / r_original (rsLoRA: alpha · √r' / √r_original), which makes
// alpha' / r' equal to our scaling.
import type { FamilyModel } from "../../models/model.js";
import { loraAdaptersNamed } from "./decide.js";

/** One surviving LoRA module as the exporter sees it. */
export interface PrunedModule {
  /** Module path (HF naming). */
  path: string;
  /** Ranks left (r'). */
  rank: number;
  /** Rank at creation (r_original), which our scaling still uses. */
  rOriginal: number;
  alpha: number;
  rslora: boolean;
}

/** adapter_config.json fields for the surviving modules (keys are full module paths). */
export interface PeftPatterns {
  target_modules: string[];
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
}

/** The alpha stock PEFT needs at rank r' to reproduce alpha / r_original (or alpha / √r_original). */
export function equivalentAlpha(m: PrunedModule): number {
  if (!(m.rank >= 1 && m.rank <= m.rOriginal)) {
    throw new RangeError(`Error in equivalentAlpha (${m.path}): rank must be in [1, ${m.rOriginal}], got ${m.rank}`);
  }
  return m.rslora ? (m.alpha * Math.sqrt(m.rank)) / Math.sqrt(m.rOriginal) : (m.alpha * m.rank) / m.rOriginal;
}

/** rank_pattern / alpha_pattern (and target_modules) for every surviving module. Pure. */
export function peftPatterns(modules: readonly PrunedModule[]): PeftPatterns {
  const out: PeftPatterns = { target_modules: [], rank_pattern: {}, alpha_pattern: {} };
  for (const m of modules) {
    out.target_modules.push(m.path);
    out.rank_pattern[m.path] = m.rank;
    out.alpha_pattern[m.path] = equivalentAlpha(m);
  }
  return out;
}

/** The surviving LoRA modules named `adapter` in a (pruned) model. */
export function prunedModules(model: FamilyModel, adapter: string): PrunedModule[] {
  return [...loraAdaptersNamed(model, adapter)].map(([path, a]) => ({ path, rank: a.rank, rOriginal: a.rOriginal, alpha: a.alpha, rslora: a.rslora }));
}
