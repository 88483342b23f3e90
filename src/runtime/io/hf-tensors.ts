// Tensor names and shapes of our families in Hugging Face layout, name variants found in real files,
// and the check of a weight file against a config.
//
// Canonical names are the HF names of llama (`model.*`, `lm_head`, `score`), gpt2 (`transformer.*`,
// `score`) and bert (`bert.*`, `classifier`). RoBERTa files are mapped onto the bert names:
// `roberta.*` → `bert.*`, `classifier.dense` → `bert.pooler.dense` and `classifier.out_proj` →
// `classifier` (RoBERTa's head is tanh(dense(h₀)) then a linear layer, exactly BERT's pooler +
// classifier); `exportTensorName` maps back. GPT-2 Conv1D weights keep HF's [in, out] layout.

import type { FamilyConfig } from "../models/config.js";

export type TensorRole = "body" | "head";

export interface ExpectedTensor {
  name: string;
  shape: number[];
  /** "head" tensors (classifier, bert pooler) may be absent: they are then initialised fresh. */
  role: TensorRole;
}

/** A linear layer of the model, by module path (its weight is `<path>.weight`). */
export interface LinearModule {
  path: string;
  in: number;
  out: number;
  bias: boolean;
  /** GPT-2 Conv1D: the weight is stored [in, out] (PEFT's fan_in_fan_out). */
  conv1d: boolean;
  role: TensorRole;
}

/** The linear layers, in model order. Weight shapes: [out, in], or [in, out] when conv1d. */
export function linearModules(cfg: FamilyConfig): LinearModule[] {
  const H = cfg.hidden;
  const I = cfg.intermediate;
  const lin = (path: string, i: number, o: number, bias: boolean, role: TensorRole = "body", conv1d = false): LinearModule =>
    ({ path, in: i, out: o, bias, conv1d, role });
  const out: LinearModule[] = [];
  for (let l = 0; l < cfg.layers; l++) {
    if (cfg.family === "llama") {
      const p = `model.layers.${l}`;
      const q = cfg.heads * cfg.headDim;
      const kv = cfg.kvHeads * cfg.headDim;
      out.push(lin(`${p}.self_attn.q_proj`, H, q, cfg.attentionBias), lin(`${p}.self_attn.k_proj`, H, kv, cfg.attentionBias),
        lin(`${p}.self_attn.v_proj`, H, kv, cfg.attentionBias), lin(`${p}.self_attn.o_proj`, q, H, cfg.attentionOutBias),
        lin(`${p}.mlp.gate_proj`, H, I, cfg.mlpBias), lin(`${p}.mlp.up_proj`, H, I, cfg.mlpBias), lin(`${p}.mlp.down_proj`, I, H, cfg.mlpBias));
    } else if (cfg.family === "gpt2") {
      const p = `transformer.h.${l}`;
      out.push(lin(`${p}.attn.c_attn`, H, 3 * H, true, "body", true), lin(`${p}.attn.c_proj`, H, H, true, "body", true),
        lin(`${p}.mlp.c_fc`, H, I, true, "body", true), lin(`${p}.mlp.c_proj`, I, H, true, "body", true));
    } else {
      const p = `bert.encoder.layer.${l}`;
      out.push(lin(`${p}.attention.self.query`, H, H, true), lin(`${p}.attention.self.key`, H, H, true),
        lin(`${p}.attention.self.value`, H, H, true), lin(`${p}.attention.output.dense`, H, H, true),
        lin(`${p}.intermediate.dense`, H, I, true), lin(`${p}.output.dense`, I, H, true));
    }
  }
  if (cfg.family === "bert") out.push(lin("bert.pooler.dense", H, H, true, "head"));
  if (cfg.head === "classifier") out.push(lin(cfg.family === "bert" ? "classifier" : "score", H, cfg.numLabels, cfg.family === "bert", "head"));
  else if (!cfg.tieEmbeddings) out.push(lin("lm_head", H, cfg.vocabSize, false));
  return out;
}

/** Every tensor the model needs, with HF shapes. */
export function expectedTensors(cfg: FamilyConfig): ExpectedTensor[] {
  const H = cfg.hidden;
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[], role: TensorRole = "body") => out.push({ name, shape, role });
  const norm = (p: string, bias: boolean) => {
    add(`${p}.weight`, [H]);
    if (bias) add(`${p}.bias`, [H]);
  };
  const linears = linearModules(cfg);
  const addLinears = (prefix: string) => {
    for (const m of linears.filter((m) => m.path.startsWith(prefix))) {
      add(`${m.path}.weight`, m.conv1d ? [m.in, m.out] : [m.out, m.in], m.role);
      if (m.bias) add(`${m.path}.bias`, [m.out], m.role);
    }
  };
  if (cfg.family === "llama") {
    add("model.embed_tokens.weight", [cfg.vocabSize, H]);
    for (let l = 0; l < cfg.layers; l++) {
      const p = `model.layers.${l}`;
      norm(`${p}.input_layernorm`, false);
      addLinears(`${p}.self_attn.`);
      norm(`${p}.post_attention_layernorm`, false);
      addLinears(`${p}.mlp.`);
    }
    norm("model.norm", false);
  } else if (cfg.family === "gpt2") {
    add("transformer.wte.weight", [cfg.vocabSize, H]);
    add("transformer.wpe.weight", [cfg.maxPositions + cfg.positionOffset, H]);
    for (let l = 0; l < cfg.layers; l++) {
      const p = `transformer.h.${l}`;
      norm(`${p}.ln_1`, true);
      addLinears(`${p}.attn.`);
      norm(`${p}.ln_2`, true);
      addLinears(`${p}.mlp.`);
    }
    norm("transformer.ln_f", true);
  } else {
    add("bert.embeddings.word_embeddings.weight", [cfg.vocabSize, H]);
    add("bert.embeddings.position_embeddings.weight", [cfg.maxPositions + cfg.positionOffset, H]);
    add("bert.embeddings.token_type_embeddings.weight", [Math.max(1, cfg.typeVocab), H]);
    norm("bert.embeddings.LayerNorm", true);
    for (let l = 0; l < cfg.layers; l++) {
      const p = `bert.encoder.layer.${l}`;
      addLinears(`${p}.attention.`);
      norm(`${p}.attention.output.LayerNorm`, true);
      addLinears(`${p}.intermediate.`);
      addLinears(`${p}.output.`);
      norm(`${p}.output.LayerNorm`, true);
    }
    addLinears("bert.pooler.");
  }
  addLinears(cfg.head === "classifier" ? (cfg.family === "bert" ? "classifier" : "score") : "lm_head");
  return out;
}

const ROBERTA = (cfg: FamilyConfig) => cfg.family === "bert" && cfg.modelType === "roberta";

/**
 * The canonical name of a tensor found in a file, or null for tensors deliberately ignored (attention-mask
 * and rotary buffers, position_ids, a tied lm_head, RoBERTa's unused pooler). Accepted variants: files saved
 * from the bare model without the `model.` / `transformer.` / `bert.` prefix, `roberta.*` names, and the old
 * TF-converted `LayerNorm.gamma` / `LayerNorm.beta`.
 */
export function normaliseTensorName(name: string, cfg: FamilyConfig): string | null {
  if (cfg.family === "llama") {
    if (/(^|\.)rotary_emb\.inv_freq$/.test(name)) return null;
    const n = /^(embed_tokens|layers|norm)\./.test(name) ? `model.${name}` : name;
    return n === "lm_head.weight" && cfg.tieEmbeddings ? null : n;
  }
  if (cfg.family === "gpt2") {
    const n = /^(wte|wpe|h|ln_f)\./.test(name) ? `transformer.${name}` : name;
    if (/^transformer\.h\.\d+\.attn\.(bias|masked_bias)$/.test(n)) return null;
    return n === "lm_head.weight" && cfg.tieEmbeddings ? null : n;
  }
  // RoBERTa's own pooler (roberta.pooler / bare pooler) is not used by its classifier.
  if (ROBERTA(cfg) && /^(roberta\.)?pooler\./.test(name)) return null;
  let n = name.replace(/\.LayerNorm\.gamma$/, ".LayerNorm.weight").replace(/\.LayerNorm\.beta$/, ".LayerNorm.bias");
  n = n.replace(/^(bert|roberta)\./, "").replace(/^(embeddings|encoder|pooler)\./, "bert.$1.");
  if (/^bert\.embeddings\.(position_ids|token_type_ids)$/.test(n)) return null;
  if (ROBERTA(cfg)) n = n.replace(/^classifier\.dense\./, "bert.pooler.dense.").replace(/^classifier\.out_proj\./, "classifier.");
  return n;
}

/** The name to write for a canonical tensor name in HF layout (inverse of normaliseTensorName). */
export function exportTensorName(name: string, cfg: FamilyConfig): string {
  if (!ROBERTA(cfg)) return name;
  if (name.startsWith("bert.pooler.dense.")) return `classifier.dense.${name.slice("bert.pooler.dense.".length)}`;
  if (name.startsWith("classifier.")) return `classifier.out_proj.${name.slice("classifier.".length)}`;
  return name.replace(/^bert\./, "roberta.");
}

/** Unused tensors listed one by one before the rest are counted in one line. */
export const MAX_UNUSED_LISTED = 20;

export interface WeightCheck {
  /** Missing body tensors, body shape mismatches, names colliding after normalisation. */
  errors: string[];
  /** Unused tensors, and head tensors that will be initialised fresh. */
  warnings: string[];
  /** Canonical name → name in the file, for every tensor to load. */
  sources: Map<string, string>;
  /** Head tensors absent from the file or of another shape: initialise them fresh. */
  fresh: string[];
}

/** Compares the tensors of a file (name → shape) with what `cfg` needs. Messages name `file` and the tensor. */
export function checkWeights(cfg: FamilyConfig, available: Map<string, readonly number[]>, file: string): WeightCheck {
  const res: WeightCheck = { errors: [], warnings: [], sources: new Map(), fresh: [] };
  const byCanon = new Map<string, string>();
  for (const fileName of available.keys()) {
    const canon = normaliseTensorName(fileName, cfg);
    if (canon === null) continue;
    const other = byCanon.get(canon);
    if (other !== undefined) res.errors.push(`${file}: tensors "${other}" and "${fileName}" both name "${canon}"`);
    else byCanon.set(canon, fileName);
  }
  const shapeText = (s: readonly number[]) => `[${s.join(", ")}]`;
  for (const t of expectedTensors(cfg)) {
    const fileName = byCanon.get(t.name);
    byCanon.delete(t.name);
    const actual = fileName === undefined ? undefined : available.get(fileName)!;
    if (actual && sameShape(actual, t.shape)) {
      res.sources.set(t.name, fileName!);
      continue;
    }
    const what = actual
      ? `tensor "${fileName}": expected shape ${shapeText(t.shape)}, got ${shapeText(actual)}${transposeHint(actual, t.shape, cfg)}`
      : `tensor "${t.name}" (shape ${shapeText(t.shape)}) is missing`;
    if (t.role === "head") {
      res.fresh.push(t.name);
      res.warnings.push(`${file}: ${what}; the ${t.name} head weight is initialised fresh`);
    } else {
      res.errors.push(`${file}: ${what}`);
    }
  }
  let unused = 0;
  for (const [canon, fileName] of byCanon) {
    if (unused++ < MAX_UNUSED_LISTED) res.warnings.push(`${file}: tensor "${fileName}" is not used by the ${cfg.modelType} ${cfg.head} model${canon !== fileName ? ` (read as "${canon}")` : ""}`);
  }
  if (unused > MAX_UNUSED_LISTED) res.warnings.push(`${file}: ${unused - MAX_UNUSED_LISTED} more tensors are not used by the ${cfg.modelType} ${cfg.head} model`);
  return res;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function transposeHint(actual: readonly number[], expected: number[], cfg: FamilyConfig): string {
  if (actual.length !== 2 || actual[0] !== expected[1] || actual[1] !== expected[0]) return "";
  return cfg.family === "gpt2" ? " (transposed: GPT-2 Conv1D weights are stored [in, out])" : " (transposed: Linear weights are stored [out, in])";
}
