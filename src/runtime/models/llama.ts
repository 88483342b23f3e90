// The llama family (LLaMA, Mistral, Qwen2 layouts): RMSNorm, rotary positions, SwiGLU,
// grouped-query attention. Module paths follow HF's LlamaForCausalLM:
//   model.layers.N.self_attn.{q,k,v,o}_proj, model.layers.N.mlp.{gate,up,down}_proj, lm_head / score
import * as tf from "../tensor/tf.js";
import { Embedding, type ForwardCtx, type Linear, RMSNorm } from "../tensor/nn.js";
import { swiglu } from "../tensor/ops/index.js";
import { attend, headRows, type Rope, ropeTables, sharedBias } from "./attention.js";
import type { FamilyConfig } from "./config.js";
import { type Block, type BlockAux, ClassifierHead, FamilyModel, lastTokenHidden, newLinear, NO_BASE_WEIGHTS, normalInit } from "./model.js";

class LlamaBlock implements Block {
  heads: number;
  kvHeads: number;
  intermediate: number;
  headMask: tf.Variable | null = null;
  neuronMask: tf.Variable | null = null;
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly o: Linear;
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;
  readonly inNorm: RMSNorm;
  readonly postNorm: RMSNorm;

  constructor(readonly index: number, private readonly cfg: FamilyConfig, private readonly rope: Rope, rand: () => number) {
    const p = `model.layers.${index}`;
    const h = cfg.hidden;
    const d = cfg.headDim;
    this.heads = cfg.heads;
    this.kvHeads = cfg.kvHeads;
    this.intermediate = cfg.intermediate;
    this.q = newLinear(`${p}.self_attn.q_proj`, h, cfg.heads * d, cfg.attentionBias, rand);
    this.k = newLinear(`${p}.self_attn.k_proj`, h, cfg.kvHeads * d, cfg.attentionBias, rand);
    this.v = newLinear(`${p}.self_attn.v_proj`, h, cfg.kvHeads * d, cfg.attentionBias, rand);
    this.o = newLinear(`${p}.self_attn.o_proj`, cfg.heads * d, h, cfg.attentionOutBias, rand);
    this.gate = newLinear(`${p}.mlp.gate_proj`, h, cfg.intermediate, cfg.mlpBias, rand);
    this.up = newLinear(`${p}.mlp.up_proj`, h, cfg.intermediate, cfg.mlpBias, rand);
    this.down = newLinear(`${p}.mlp.down_proj`, cfg.intermediate, h, cfg.mlpBias, rand);
    this.inNorm = new RMSNorm(`${p}.input_layernorm`, h, cfg.normEps);
    this.postNorm = new RMSNorm(`${p}.post_attention_layernorm`, h, cfg.normEps);
  }

  linears(): Linear[] {
    return [this.q, this.k, this.v, this.o, this.gate, this.up, this.down];
  }

  params(): [string, tf.Variable][] {
    return [...this.inNorm.params(), ...this.postNorm.params()];
  }

  apply(x: tf.Tensor3D, ctx: ForwardCtx, aux: BlockAux): tf.Tensor3D {
    const n = this.inNorm.apply(x);
    const a = attend(this.q.apply(n, ctx), this.k.apply(n, ctx), this.v.apply(n, ctx), {
      heads: this.heads,
      kvHeads: this.kvHeads,
      headDim: this.cfg.headDim,
      causal: this.cfg.head === "causal_lm",
      padMask: aux.padMask,
      headMask: this.headMask,
      rope: this.rope,
    }, aux.bias);
    const x1 = tf.add(x, this.o.apply(a, ctx));
    const n2 = this.postNorm.apply(x1);
    let act = swiglu(this.gate.apply(n2, ctx), this.up.apply(n2, ctx));
    if (this.neuronMask) act = tf.mul(act, this.neuronMask);
    return tf.add(x1, this.down.apply(act, ctx)) as tf.Tensor3D;
  }

  pruneHeads(keep: number[]): void {
    const d = this.cfg.headDim;
    if (this.kvHeads !== this.heads) {
      // Grouped-query attention: heads can only go as whole key/value groups.
      const rep = this.heads / this.kvHeads;
      const groups = [...new Set(keep.map((h) => Math.floor(h / rep)))].sort((a, b) => a - b);
      const full = groups.flatMap((g) => Array.from({ length: rep }, (_, i) => g * rep + i));
      if (full.length !== keep.length) {
        throw new Error(`Error in model.layers.${this.index}: with grouped-query attention (${this.heads} heads, ${this.kvHeads} kv heads) heads must be pruned in whole groups of ${rep}`);
      }
      this.k.sliceOut(headRows(groups, d));
      this.v.sliceOut(headRows(groups, d));
      this.kvHeads = groups.length;
    } else {
      this.k.sliceOut(headRows(keep, d));
      this.v.sliceOut(headRows(keep, d));
      this.kvHeads = keep.length;
    }
    this.q.sliceOut(headRows(keep, d));
    this.o.sliceIn(headRows(keep, d));
    this.heads = keep.length;
    this.headMask?.dispose();
    this.headMask = null;
  }

  pruneNeurons(keep: number[]): void {
    this.gate.sliceOut(keep);
    this.up.sliceOut(keep);
    this.down.sliceIn(keep);
    this.intermediate = keep.length;
    this.neuronMask?.dispose();
    this.neuronMask = null;
  }

  dispose(): void {
    for (const l of this.linears()) l.dispose();
    this.inNorm.dispose();
    this.postNorm.dispose();
    this.headMask?.dispose();
    this.neuronMask?.dispose();
  }
}

export class LlamaModel extends FamilyModel {
  readonly blocks: LlamaBlock[];
  readonly embed: Embedding;
  readonly norm: RMSNorm;
  readonly lmHead: Linear | null;
  readonly classifier: ClassifierHead | null;
  private readonly rope: Rope;

  constructor(cfg: FamilyConfig, rand: () => number) {
    super(cfg);
    this.rope = ropeTables(cfg.maxPositions, cfg.headDim, cfg.ropeTheta);
    if (rand === NO_BASE_WEIGHTS) {
      this.embed = new Embedding("model.embed_tokens", [cfg.vocabSize, cfg.hidden]);
    } else {
      const table = normalInit([cfg.vocabSize, cfg.hidden], 0.02, rand) as tf.Tensor2D;
      this.embed = new Embedding("model.embed_tokens", table);
      table.dispose();
    }
    this.blocks = Array.from({ length: cfg.layers }, (_, i) => new LlamaBlock(i, cfg, this.rope, rand));
    this.norm = new RMSNorm("model.norm", cfg.hidden, cfg.normEps);
    const causal = cfg.head === "causal_lm";
    this.lmHead = causal && !cfg.tieEmbeddings ? newLinear("lm_head", cfg.hidden, cfg.vocabSize, false, rand) : null;
    this.classifier = causal ? null : new ClassifierHead("score", cfg.hidden, cfg.numLabels, false, rand);
  }

  protected hidden(ids: tf.Tensor2D, padMask: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor3D {
    const aux = { padMask, bias: sharedBias(padMask, this.config.head === "causal_lm") };
    let x = this.embed.apply(ids) as tf.Tensor3D;
    for (const blk of this.blocks) x = this.applyBlock(blk, x, ctx, aux);
    return this.norm.apply(x) as tf.Tensor3D;
  }

  protected lmLogits(h: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D {
    if (this.lmHead) return this.lmHead.apply(h, ctx) as tf.Tensor2D;
    return this.embed.project(h);
  }

  protected classify(h: tf.Tensor3D, padMask: tf.Tensor2D): tf.Tensor2D {
    return this.classifier!.apply(lastTokenHidden(h, padMask));
  }

  protected outerParams(): [string, tf.Variable][] {
    return [...this.embed.params(), ...this.norm.params()];
  }

  protected outerLinears(): Linear[] {
    return this.lmHead ? [this.lmHead] : [];
  }

  protected override outerTables(): Embedding[] {
    return [this.embed];
  }

  override dispose(): void {
    super.dispose();
    this.embed.dispose();
    this.rope.cos.dispose();
    this.rope.sin.dispose();
  }
}
