// The bert family (BERT / RoBERTa encoders with a classification head): learned positions and
// token types, post-LayerNorm blocks, GELU. Module paths follow HF's BertForSequenceClassification:
//   bert.encoder.layer.N.attention.self.{query,key,value}, ….attention.output.dense,
//   ….intermediate.dense, ….output.dense, bert.pooler.dense, classifier
import * as tf from "../tensor/tf.js";
import { Embedding, type ForwardCtx, LayerNorm, type Linear } from "../tensor/nn.js";
import { geluAct } from "../tensor/ops/index.js";
import { attend, headRows, sharedBias } from "./attention.js";
import type { FamilyConfig } from "./config.js";
import { type Block, type BlockAux, ClassifierHead, FamilyModel, newLinear, normalInit } from "./model.js";

class BertBlock implements Block {
  heads: number;
  intermediate: number;
  headMask: tf.Variable | null = null;
  neuronMask: tf.Variable | null = null;
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly attnOut: Linear;
  readonly inter: Linear;
  readonly out: Linear;
  readonly attnNorm: LayerNorm;
  readonly outNorm: LayerNorm;

  constructor(readonly index: number, private readonly cfg: FamilyConfig, rand: () => number) {
    const p = `bert.encoder.layer.${index}`;
    const h = cfg.hidden;
    this.heads = cfg.heads;
    this.intermediate = cfg.intermediate;
    this.query = newLinear(`${p}.attention.self.query`, h, h, true, rand);
    this.key = newLinear(`${p}.attention.self.key`, h, h, true, rand);
    this.value = newLinear(`${p}.attention.self.value`, h, h, true, rand);
    this.attnOut = newLinear(`${p}.attention.output.dense`, h, h, true, rand);
    this.inter = newLinear(`${p}.intermediate.dense`, h, cfg.intermediate, true, rand);
    this.out = newLinear(`${p}.output.dense`, cfg.intermediate, h, true, rand);
    this.attnNorm = new LayerNorm(`${p}.attention.output.LayerNorm`, h, cfg.normEps);
    this.outNorm = new LayerNorm(`${p}.output.LayerNorm`, h, cfg.normEps);
  }

  linears(): Linear[] {
    return [this.query, this.key, this.value, this.attnOut, this.inter, this.out];
  }

  params(): [string, tf.Variable][] {
    return [...this.attnNorm.params(), ...this.outNorm.params()];
  }

  apply(x: tf.Tensor3D, ctx: ForwardCtx, aux: BlockAux): tf.Tensor3D {
    const a = attend(this.query.apply(x, ctx), this.key.apply(x, ctx), this.value.apply(x, ctx), {
      heads: this.heads,
      kvHeads: this.heads,
      headDim: this.cfg.headDim,
      causal: false,
      padMask: aux.padMask,
      headMask: this.headMask,
    }, aux.bias);
    const x1 = this.attnNorm.apply(tf.add(x, this.attnOut.apply(a, ctx)));
    let act = geluAct(this.inter.apply(x1, ctx), this.cfg.act);
    if (this.neuronMask) act = tf.mul(act, this.neuronMask);
    return this.outNorm.apply(tf.add(x1, this.out.apply(act, ctx))) as tf.Tensor3D;
  }

  pruneHeads(keep: number[]): void {
    const rows = headRows(keep, this.cfg.headDim);
    this.query.sliceOut(rows);
    this.key.sliceOut(rows);
    this.value.sliceOut(rows);
    this.attnOut.sliceIn(rows);
    this.heads = keep.length;
    this.headMask?.dispose();
    this.headMask = null;
  }

  pruneNeurons(keep: number[]): void {
    this.inter.sliceOut(keep);
    this.out.sliceIn(keep);
    this.intermediate = keep.length;
    this.neuronMask?.dispose();
    this.neuronMask = null;
  }

  dispose(): void {
    for (const l of this.linears()) l.dispose();
    this.attnNorm.dispose();
    this.outNorm.dispose();
    this.headMask?.dispose();
    this.neuronMask?.dispose();
  }
}

export class BertModel extends FamilyModel {
  readonly blocks: BertBlock[];
  readonly words: Embedding;
  readonly positions: Embedding;
  readonly types: Embedding;
  readonly embNorm: LayerNorm;
  readonly pooler: Linear;
  readonly classifier: ClassifierHead;

  constructor(cfg: FamilyConfig, rand: () => number) {
    super(cfg);
    if (cfg.head !== "classifier") {
      throw new Error(`Error in bert: the encoder family supports only a classifier head, got "${cfg.head}"`);
    }
    const mk = (path: string, rows: number) => {
      const t = normalInit([rows, cfg.hidden], 0.02, rand) as tf.Tensor2D;
      const e = new Embedding(path, t);
      t.dispose();
      return e;
    };
    this.words = mk("bert.embeddings.word_embeddings", cfg.vocabSize);
    this.positions = mk("bert.embeddings.position_embeddings", cfg.maxPositions + cfg.positionOffset);
    this.types = mk("bert.embeddings.token_type_embeddings", Math.max(1, cfg.typeVocab));
    this.embNorm = new LayerNorm("bert.embeddings.LayerNorm", cfg.hidden, cfg.normEps);
    this.blocks = Array.from({ length: cfg.layers }, (_, i) => new BertBlock(i, cfg, rand));
    this.pooler = newLinear("bert.pooler.dense", cfg.hidden, cfg.hidden, true, rand);
    this.classifier = new ClassifierHead("classifier", cfg.hidden, cfg.numLabels, true, rand);
  }

  protected hidden(ids: tf.Tensor2D, padMask: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor3D {
    const [b, t] = ids.shape;
    const aux = { padMask, bias: sharedBias(padMask, false) };
    const pos = tf.range(this.config.positionOffset, this.config.positionOffset + t, 1, "int32").reshape([1, t]);
    const types = tf.zeros([b, t], "int32");
    const e = tf.add(tf.add(this.words.apply(ids), this.positions.apply(pos)), this.types.apply(types));
    let x = this.embNorm.apply(e) as tf.Tensor3D;
    for (const blk of this.blocks) x = this.applyBlock(blk, x, ctx, aux);
    return x;
  }

  protected lmLogits(): tf.Tensor2D {
    throw new Error("Error in bert: the encoder family has no language-model head");
  }

  protected classify(h: tf.Tensor3D, _padMask: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D {
    const [b, , c] = h.shape;
    const cls = h.slice([0, 0, 0], [b, 1, c]).reshape([b, c]);
    const pooled = tf.tanh(this.pooler.apply(cls, ctx)) as tf.Tensor2D;
    return this.classifier.apply(pooled);
  }

  protected outerParams(): [string, tf.Variable][] {
    return [...this.words.params(), ...this.positions.params(), ...this.types.params(), ...this.embNorm.params()];
  }

  protected outerLinears(): Linear[] {
    return [this.pooler];
  }
}
