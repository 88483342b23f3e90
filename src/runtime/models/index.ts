// Model construction by family. Weights start random (HF init); loaders overwrite them.
import { type FamilyConfig, validateFamilyConfig } from "./config.js";
import { BertModel } from "./bert.js";
import { Gpt2Model } from "./gpt2.js";
import { LlamaModel } from "./llama.js";
import type { FamilyModel } from "./model.js";

export type { FamilyModel, Block } from "./model.js";
export { LlamaModel, Gpt2Model, BertModel };

/** A randomly initialised model of `cfg.family`, deterministic for a given uniform source. */
export function createModel(cfg: FamilyConfig, rand: () => number): FamilyModel {
  validateFamilyConfig(cfg, `${cfg.family} model`);
  if (cfg.family === "llama") {
    return new LlamaModel(cfg, rand);
  }
  if (cfg.family === "gpt2") return new Gpt2Model(cfg, rand);
  if (cfg.family === "bert") return new BertModel(cfg, rand);
  throw new Error(`Error in createModel: unknown family "${(cfg as { family: string }).family}"`);
}
