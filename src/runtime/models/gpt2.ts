// The gpt2 family: LayerNorm, learned positions, GELU (tanh approximation), fused q/k/v.
// Module paths follow HF's GPT2LMHeadModel: transformer.h.N.attn.{c_attn,c_proj},
// transformer.h.N.mlp.{c_fc,c_proj}. HF stores these Conv1D weights as [in, out]; we keep
// [out, in] like every other Linear and transpose at load/save time (fan_in_fan_out in PEFT).
import * as tf from "../tensor/tf.js";
import { Embedding, type ForwardCtx, LayerNorm, type Linear } from "../tensor/nn.js";
import { geluAct } from "../tensor/ops/index.js";
import { attend, headRows, sharedBias } from "./attention.js";
import type { FamilyConfig } from "./config.js";
import { type Block, type BlockAux, ClassifierHead, FamilyModel, lastTokenHidden, newLinear, normalInit } from "./model.js";

class Gpt2Block implements Block {
  heads: number;
  intermediate: number;
  headMask: tf.Variable | null = null;
  neuronMask: tf.Variable | null = null;
  readonly cAttn: Linear;
  readonly cProj: Linear;
  readonly cFc: Linear;
  readonly mlpProj: Linear;
  readonly ln1: LayerNorm;
  readonly ln2: LayerNorm;

  constructor(readonly index: number, private readonly cfg: FamilyConfig, rand: () => number) {
    const p = `transformer.h.${index}`;
    const h = cfg.hidden;
    this.heads = cfg.heads;
    this.intermediate = cfg.intermediate;
    this.cAttn = newLinear(`${p}.attn.c_attn`, h, 3 * h, true, rand);
    this.cProj = newLinear(`${p}.attn.c_proj`, h, h, true, rand);
    this.cFc = newLinear(`${p}.mlp.c_fc`, h, cfg.intermediate, true, rand);
    this.mlpProj = newLinear(`${p}.mlp.c_proj`, cfg.intermediate, h, true, rand);
    this.ln1 = new LayerNorm(`${p}.ln_1`, h, cfg.normEps);
    this.ln2 = new LayerNorm(`${p}.ln_2`, h, cfg.normEps);
  }

  linears(): Linear[] {
    return [this.cAttn, this.cProj, this.cFc, this.mlpProj];
  }

  params(): [string, tf.Variable][] {
    return [...this.ln1.params(), ...this.ln2.params()];
  }

  apply(x: tf.Tensor3D, ctx: ForwardCtx, aux: BlockAux): tf.Tensor3D {
    const qkv = this.cAttn.apply(this.ln1.apply(x), ctx);
    const [q, k, v] = tf.split(qkv, 3, 2);
    const a = attend(q, k, v, {
      heads: this.heads,
      kvHeads: this.heads,
      headDim: this.cfg.headDim,
      causal: this.cfg.head === "causal_lm",
      padMask: aux.padMask,
      headMask: this.headMask,
    }, aux.bias);
    const x1 = tf.add(x, this.cProj.apply(a, ctx));
    let act = geluAct(this.cFc.apply(this.ln2.apply(x1), ctx), this.cfg.act);
    if (this.neuronMask) act = tf.mul(act, this.neuronMask);
    return tf.add(x1, this.mlpProj.apply(act, ctx)) as tf.Tensor3D;
  }

  pruneHeads(keep: number[]): void {
    const d = this.cfg.headDim;
    const width = this.heads * d;
    this.cAttn.sliceOut([...headRows(keep, d, 0), ...headRows(keep, d, width), ...headRows(keep, d, 2 * width)]);
    this.cProj.sliceIn(headRows(keep, d));
    this.heads = keep.length;
    this.headMask?.dispose();
    this.headMask = null;
  }

  pruneNeurons(keep: number[]): void {
    this.cFc.sliceOut(keep);
    this.mlpProj.sliceIn(keep);
    this.intermediate = keep.length;
    this.neuronMask?.dispose();
    this.neuronMask = null;
  }

  dispose(): void {
    for (const l of this.linears()) l.dispose();
    this.ln1.dispose();
    this.ln2.dispose();
    this.headMask?.dispose();
    this.neuronMask?.dispose();
  }
}

export class Gpt2Model extends FamilyModel {
  readonly blocks: Gpt2Block[];
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly lnF: LayerNorm;
  readonly classifier: ClassifierHead | null;

  constructor(cfg: FamilyConfig, rand: () => number) {
    super(cfg);
    const wte = normalInit([cfg.vocabSize, cfg.hidden], 0.02, rand) as tf.Tensor2D;
    const wpe = normalInit([cfg.maxPositions, cfg.hidden], 0.01, rand) as tf.Tensor2D;
    this.wte = new Embedding("transformer.wte", wte);
    this.wpe = new Embedding("transformer.wpe", wpe);
    wte.dispose();
    wpe.dispose();
    this.blocks = Array.from({ length: cfg.layers }, (_, i) => new Gpt2Block(i, cfg, rand));
    this.lnF = new LayerNorm("transformer.ln_f", cfg.hidden, cfg.normEps);
    this.classifier = cfg.head === "causal_lm" ? null : new ClassifierHead("score", cfg.hidden, cfg.numLabels, false, rand);
  }

  protected hidden(ids: tf.Tensor2D, padMask: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor3D {
    const [, t] = ids.shape;
    const aux = { padMask, bias: sharedBias(padMask, this.config.head === "causal_lm") };
    const pos = tf.range(0, t, 1, "int32").reshape([1, t]);
    let x = tf.add(this.wte.apply(ids), this.wpe.apply(pos)) as tf.Tensor3D;
    for (const blk of this.blocks) x = this.applyBlock(blk, x, ctx, aux);
    return this.lnF.apply(x) as tf.Tensor3D;
  }

  protected lmLogits(h: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(h, this.wte.weight, false, true); // lm_head is tied to wte
  }

  protected classify(h: tf.Tensor3D, padMask: tf.Tensor2D): tf.Tensor2D {
    return this.classifier!.apply(lastTokenHidden(h, padMask));
  }

  protected outerParams(): [string, tf.Variable][] {
    return [...this.wte.params(), ...this.wpe.params(), ...this.lnF.params()];
  }

  protected outerLinears(): Linear[] {
    return [];
  }
}
