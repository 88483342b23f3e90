// From a plan's model spec to a model: built-in architectures are initialised from their seed,
// Hugging Face folders are loaded from disk, and the default base is the project's own small
// pretrained model.
import * as fs from "node:fs";
import * as path from "node:path";
import type { DataSpec, DefaultModelSpec, HfModelSpec, ModelSpec } from "../../dsl/plan.js";
import type { Dataset } from "../data/index.js";
import type { Tokenizer } from "../data/index.js";
import { FolderTokenizer } from "../data/tokenizers.js";
import { ensureDefaultBase } from "../pretrain/default-base.js";
import { loadHfModel, TOKENIZER_FILE } from "../io/hf-model.js";
import { familyConfigFromSpec } from "../models/config.js";
import { createModel } from "../models/index.js";
import type { FamilyModel } from "../models/model.js";
import { Rng, uniformOf } from "../rng.js";

export interface BuiltModel {
  /** The tokenizer that comes with the model (HF folders, read on first use), or null when the data decides. */
  tokenizer: Tokenizer | null;
  /** Non-fatal findings of loading (HF folders: unused tensors, fresh heads, NaN); filled by make(). */
  warnings?: string[];
  /** Creates a fresh model instance for a dataset (called once per job). */
  make(dataset: Dataset): FamilyModel;
}

export interface BuildOptions {
  baseDir: string;
  dataset?: Dataset;
  dataSpec: DataSpec;
}

export async function buildModel(spec: ModelSpec, _opts: BuildOptions): Promise<BuiltModel> {
  if (spec.kind === "builtin") {
    return {
      tokenizer: null,
      make(dataset: Dataset): FamilyModel {
        const vocab = spec.vocab === "auto" ? dataset.tokenizer.vocabSize : spec.vocab;
        if (vocab < dataset.tokenizer.vocabSize) {
          throw new Error(`model vocab ${vocab} is smaller than the data's tokenizer vocabulary (${dataset.tokenizer.vocabSize}); use vocab auto`);
        }
        const labels = spec.labels === "auto" ? (dataset.labelNames?.length ?? 0) : spec.labels;
        const cfg = familyConfigFromSpec(spec, vocab, labels, { labelNames: dataset.labelNames, padTokenId: dataset.tokenizer.padId });
        const model = createModel(cfg, uniformOf(new Rng(spec.initSeed)));
        model.storeBase(spec.precision ?? "f32");
        return model;
      },
    };
  }
  if (spec.kind === "hf" || spec.kind === "default") return hfFolderModel(spec, _opts);
  throw new Error(`model kind "${(spec as { kind: string }).kind}" is not available in this version`);
}

/**
 * A Hugging Face folder (kind "hf", relative to the plan's folder) or the cached default base (kind
 * "default", pretrained on first use). The folder's tokenizer.json, when present, is read only when the
 * data is encoded with the model's tokenizer. Head "auto" follows the data: a classifier for labelled data, else a causal LM; labels
 * "auto" is the data's label count. Warnings of the load (unused tensors, fresh heads, NaN) go to `warnings`.
 */
async function hfFolderModel(spec: HfModelSpec | DefaultModelSpec, opts: BuildOptions): Promise<BuiltModel & { dir: string }> {
  const dir = spec.kind === "hf" ? path.resolve(opts.baseDir, spec.path) : await ensureDefaultBase(spec.family);
  const tokPath = path.join(dir, TOKENIZER_FILE);
  const tokenizer = fs.existsSync(tokPath) ? new FolderTokenizer(dir) : null; // read only when the data uses it
  const warnings: string[] = [];
  return {
    dir,
    tokenizer,
    warnings,
    make(dataset: Dataset): FamilyModel {
      const labelNames = (dataset as { labelNames?: string[] }).labelNames;
      const wantedHead = spec.head ?? "auto";
      const head = wantedHead !== "auto" ? wantedHead : labelNames ? "classifier" : "causal_lm";
      const labels = spec.labels !== undefined && spec.labels !== "auto" ? spec.labels : (labelNames?.length ?? "auto");
      const loaded = loadHfModel(dir, { head, labels, precision: spec.precision ?? "f32" });
      warnings.push(...loaded.warnings);
      const vocab = dataset.tokenizer.vocabSize;
      if (vocab > loaded.config.vocabSize) {
        loaded.model.dispose();
        throw new Error(`${dir}: the model's vocabulary (${loaded.config.vocabSize}) is smaller than the data's tokenizer (${vocab} tokens); use the folder's tokenizer (tokenizer "model")`);
      }
      if (labelNames && loaded.config.head === "classifier" && !loaded.config.labelNames) loaded.config.labelNames = [...labelNames];
      return loaded.model;
    },
  };
}
