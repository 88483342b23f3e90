// Sizes in config.json against the weight file's shapes, before anything is allocated: a
// config.json that says `num_hidden_layers: 1000000` over a 2-layer file must fail at once, naming
// the key, its value and what the file holds, instead of building a model of a million layers.
//
// Reads tensor headers only (names and shapes), never tensor data.

import type { FamilyConfig } from "../models/config.js";
import type { TensorSource } from "./safetensors-file.js";

/** The config.json key of each size, by family (GPT-2 has its own names). */
function keyOf(cfg: FamilyConfig, size: "layers" | "hidden" | "vocab" | "intermediate"): string {
  const gpt2 = cfg.family === "gpt2";
  return { layers: gpt2 ? "n_layer" : "num_hidden_layers", hidden: gpt2 ? "n_embd" : "hidden_size", vocab: "vocab_size", intermediate: gpt2 ? "n_inner" : "intermediate_size" }[size];
}

const LAYER_INDEX = /(?:^|\.)(?:h|layers|layer)\.(\d+)\./;
const EMBEDDING = /(?:^|\.)(?:embed_tokens|wte|word_embeddings)\.weight$/;
/** The first MLP projection and which axis holds the intermediate size. */
const MLP_IN: [RegExp, number][] = [
  [/(?:^|\.)(?:h|layers|layer)\.0\.mlp\.gate_proj\.weight$/, 0],
  [/(?:^|\.)(?:h|layers|layer)\.0\.mlp\.up_proj\.weight$/, 0],
  [/(?:^|\.)(?:h|layers|layer)\.0\.mlp\.c_fc\.weight$/, 1], // GPT-2 Conv1D stores [in, out]
  [/(?:^|\.)(?:h|layers|layer)\.0\.intermediate\.dense\.weight$/, 0],
];

/**
 * Throws when a size of `cfg` disagrees with the weight file: the layer count (highest layer index
 * in the tensor names), the embedding's [vocab, hidden] and the first MLP projection's intermediate
 * size. `perLayerSizes`: the config lists per-layer sizes (a pruned model), so the intermediate size
 * is checked elsewhere.
 */
export function checkSizesAgainstWeights(cfg: FamilyConfig, source: TensorSource, cfgFile: string, perLayerSizes: boolean): void {
  const names = source.names();
  const shape = (name: string) => `"${name}" [${source.info(name).shape.join(", ")}]`;
  const fail = (size: Parameters<typeof keyOf>[1], value: number, found: string): never => {
    throw new Error(`${cfgFile}: ${keyOf(cfg, size)} = ${value} does not fit the weights: ${source.path} has ${found}`);
  };

  let maxLayer = -1;
  let lastLayerName = "";
  for (const n of names) {
    const m = LAYER_INDEX.exec(n);
    if (m && Number(m[1]) >= maxLayer) [maxLayer, lastLayerName] = [Number(m[1]), n];
  }
  if (maxLayer >= 0 && cfg.layers > maxLayer + 1) {
    fail("layers", cfg.layers, `${maxLayer + 1} layer${maxLayer === 0 ? "" : "s"} (indices 0–${maxLayer}; the last is ${shape(lastLayerName)})`);
  }

  const embedding = names.find((n) => EMBEDDING.test(n));
  if (embedding) {
    const [rows, cols] = source.info(embedding).shape;
    if (cols !== undefined && cfg.hidden !== cols) fail("hidden", cfg.hidden, `a token embedding of width ${cols}: ${shape(embedding)}`);
    if (rows !== undefined && cfg.vocabSize !== rows) fail("vocab", cfg.vocabSize, `a token embedding of ${rows} rows: ${shape(embedding)}`);
  }

  if (perLayerSizes) return;
  for (const [pattern, axis] of MLP_IN) {
    const name = names.find((n) => pattern.test(n));
    if (!name) continue;
    const size = source.info(name).shape[axis];
    if (size !== undefined && size !== cfg.intermediate) fail("intermediate", cfg.intermediate, `an MLP of width ${size}: ${shape(name)}`);
    return;
  }
}
