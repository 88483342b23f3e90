// Per-layer sizes of structurally pruned models (Light-PEFT removes attention heads and FFN neurons
// layer by layer) in config.json, and back.
//
// Hugging Face configs have one head count and one FFN size for all layers. What we write:
//   - FFN size equal in every layer: the standard key (`intermediate_size`, GPT-2 `n_inner`).
//   - Heads, gpt2 / bert: HF's own `pruned_heads` ({"layer": [head, …]}), which transformers
//     re-applies before loading, so every layer may differ. Our files keep the surviving heads
//     packed in order, so the listed indices are nominal (the last ones): only their count matters.
//   - Heads, llama family, equal in every layer: `num_attention_heads` / `num_key_value_heads`
//     with an explicit `head_dim`.
//   - Anything else (FFN sizes or llama head counts that differ between layers): the standard keys
//     keep the unpruned sizes and `peftlab_layers` lists [{heads, kv_heads, intermediate}] per layer.
//     peftlab reads it back; stock transformers cannot build such a model and stops with a
//     "size mismatch" error when loading the weights (it never computes with wrong shapes).

import type { FamilyConfig } from "../models/config.js";
import type { FamilyModel } from "../models/model.js";
import { HfConfigError } from "./hf-config.js";

/** The sizes of one transformer layer. */
export interface LayerSizes {
  heads: number;
  kvHeads: number;
  intermediate: number;
}

export const LAYERS_KEY = "peftlab_layers";
export const PRUNED_HEADS_KEY = "pruned_heads";

/** Current per-layer sizes of a (possibly pruned) model, read from its blocks and weights. */
export function layerSizes(model: FamilyModel): LayerSizes[] {
  const cfg = model.config;
  return model.blocks.map((blk) => {
    let kvHeads = blk.heads;
    if (cfg.family === "llama") {
      const k = blk.linears().find((l) => l.path.endsWith(".self_attn.k_proj"));
      kvHeads = k ? k.outFeatures / cfg.headDim : cfg.kvHeads;
    }
    return { heads: blk.heads, kvHeads, intermediate: blk.intermediate };
  });
}

function unpruned(cfg: FamilyConfig): LayerSizes {
  return { heads: cfg.heads, kvHeads: cfg.kvHeads, intermediate: cfg.intermediate };
}

function allEqual<T>(xs: T[], key: (x: T) => string): boolean {
  return xs.every((x) => key(x) === key(xs[0]!));
}

export interface PrunedLayout {
  /** The config to write through toHfConfig (uniform pruned sizes folded in). */
  config: FamilyConfig;
  /** Extra config.json keys (`pruned_heads`, `peftlab_layers`). */
  extraKeys: Record<string, unknown>;
  /** False when only peftlab can read the folder (`peftlab_layers` was needed). */
  stockReadable: boolean;
}

/** How a model's per-layer sizes go into config.json (see the file comment). */
export function prunedLayout(model: FamilyModel): PrunedLayout {
  const cfg = model.config;
  const sizes = layerSizes(model);
  const full = unpruned(cfg);
  const config: FamilyConfig = { ...cfg };
  const extraKeys: Record<string, unknown> = {};
  if (sizes.every((s) => s.heads === full.heads && s.kvHeads === full.kvHeads && s.intermediate === full.intermediate)) {
    return { config, extraKeys, stockReadable: true };
  }
  const uniformFfn = allEqual(sizes, (s) => String(s.intermediate));
  const uniformHeads = allEqual(sizes, (s) => `${s.heads}/${s.kvHeads}`);
  if (uniformFfn) config.intermediate = sizes[0]!.intermediate;
  if (cfg.family === "llama" && uniformHeads) {
    config.heads = sizes[0]!.heads;
    config.kvHeads = sizes[0]!.kvHeads;
  }
  if (cfg.family !== "llama" && sizes.some((s) => s.heads < cfg.heads)) {
    const pruned: Record<string, number[]> = {};
    sizes.forEach((s, i) => {
      if (s.heads < cfg.heads) pruned[String(i)] = Array.from({ length: cfg.heads - s.heads }, (_, j) => s.heads + j);
    });
    extraKeys[PRUNED_HEADS_KEY] = pruned;
  }
  const stockReadable = uniformFfn && (cfg.family !== "llama" || uniformHeads);
  if (!stockReadable) {
    extraKeys[LAYERS_KEY] = sizes.map((s) => ({ heads: s.heads, kv_heads: s.kvHeads, intermediate: s.intermediate }));
  }
  return { config, extraKeys, stockReadable };
}

/**
 * Per-layer sizes a config.json asks for (`peftlab_layers`, else `pruned_heads`), or null when
 * every layer has the config's sizes. Errors name the file and the key.
 */
export function readLayerSizes(raw: Record<string, unknown>, cfg: FamilyConfig, file: string): LayerSizes[] | null {
  if (raw[LAYERS_KEY] !== undefined && raw[LAYERS_KEY] !== null) return readPeftlabLayers(raw[LAYERS_KEY], cfg, file);
  const pruned = raw[PRUNED_HEADS_KEY];
  if (pruned === undefined || pruned === null) return null;
  if (typeof pruned !== "object" || Array.isArray(pruned)) {
    throw new HfConfigError(file, PRUNED_HEADS_KEY, `= ${JSON.stringify(pruned)} must be an object of layer → list of head indices`);
  }
  const entries = Object.entries(pruned as Record<string, unknown>);
  if (entries.length === 0) return null;
  if (cfg.family === "llama") {
    throw new HfConfigError(file, PRUNED_HEADS_KEY, `is not supported for model_type "${cfg.modelType}" (transformers implements head pruning for gpt2 and bert only)`);
  }
  const sizes = Array.from({ length: cfg.layers }, () => unpruned(cfg));
  for (const [layer, heads] of entries) {
    const i = Number(layer);
    const ok = Number.isInteger(i) && i >= 0 && i < cfg.layers && Array.isArray(heads)
      && heads.every((h) => Number.isInteger(h) && h >= 0 && h < cfg.heads) && new Set(heads).size === heads.length && heads.length < cfg.heads;
    if (!ok) {
      throw new HfConfigError(file, PRUNED_HEADS_KEY, `entry "${layer}": ${JSON.stringify(heads)} must list distinct head indices in [0, ${cfg.heads}) of a layer in [0, ${cfg.layers}), leaving at least one head`);
    }
    const n = cfg.heads - (heads as number[]).length;
    sizes[i] = { heads: n, kvHeads: n, intermediate: cfg.intermediate };
  }
  return sizes;
}

function readPeftlabLayers(value: unknown, cfg: FamilyConfig, file: string): LayerSizes[] {
  const fail = (detail: string): never => {
    throw new HfConfigError(file, LAYERS_KEY, detail);
  };
  if (!Array.isArray(value) || value.length !== cfg.layers) fail(`must be a list of ${cfg.layers} layer sizes, got ${JSON.stringify(value)?.slice(0, 80)}`);
  const group = cfg.heads / cfg.kvHeads;
  return (value as unknown[]).map((v, i) => {
    const e = (v ?? {}) as Record<string, unknown>;
    const [heads, kvHeads, intermediate] = [e.heads, e.kv_heads, e.intermediate];
    const isSize = (x: unknown, max: number) => Number.isSafeInteger(x) && (x as number) >= 1 && (x as number) <= max;
    if (!isSize(heads, cfg.heads) || !isSize(kvHeads, cfg.kvHeads) || !isSize(intermediate, cfg.intermediate)) {
      fail(`layer ${i}: ${JSON.stringify(v)} must have heads in [1, ${cfg.heads}], kv_heads in [1, ${cfg.kvHeads}] and intermediate in [1, ${cfg.intermediate}]`);
    }
    if ((heads as number) !== (kvHeads as number) * group) {
      fail(`layer ${i}: heads ${heads} must be kv_heads ${kvHeads} × ${group} (the config's query heads per key/value head)`);
    }
    return { heads: heads as number, kvHeads: kvHeads as number, intermediate: intermediate as number };
  });
}

/** Shrinks the blocks of a freshly built model to `sizes` (keeping the first heads / neurons). */
export function applyLayerSizes(model: FamilyModel, sizes: LayerSizes[]): void {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  model.blocks.forEach((blk, i) => {
    const s = sizes[i]!;
    if (s.heads < blk.heads) blk.pruneHeads(range(s.heads));
    if (s.intermediate < blk.intermediate) blk.pruneNeurons(range(s.intermediate));
  });
}
