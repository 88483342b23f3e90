// Random cases for the fused ops (src/runtime/tensor/ops): inputs, the op, its composite and a plain
// float64 reference of the output. ops.test.ts checks the ops against the references (outputs and
// numerical gradients); native-ops.test.ts checks native kernels against the composites.
import * as tf from "../../src/runtime/tensor/tf.js";
import * as ops from "../../src/runtime/tensor/ops/index.js";
import { Rng } from "../../src/runtime/rng.js";

export interface InputSpec {
  shape: number[];
  values: number[];
  dtype?: "float32" | "int32";
  /** Differentiated in gradient checks. */
  grad?: boolean;
}

export interface OpCase {
  name: string;
  inputs: Record<string, InputSpec>;
  /** The op as models call it (native where registered). */
  fused: (t: Record<string, tf.Tensor>) => tf.Tensor;
  /** The composite of stock tfjs ops. */
  composite: (t: Record<string, tf.Tensor>) => tf.Tensor;
  /** The output, flattened, in float64 from plain JavaScript. */
  ref: (v: Record<string, number[]>) => number[];
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function gen(rng: Rng) {
  const randn = (shape: number[], scale = 1, grad = true): InputSpec => ({ shape, values: Array.from({ length: size(shape) }, () => rng.normal() * scale), grad });
  const uniform = (shape: number[], lo: number, hi: number, grad = true): InputSpec => ({ shape, values: Array.from({ length: size(shape) }, () => lo + rng.next() * (hi - lo)), grad });
  return { randn, uniform };
}

// ---- plain references -------------------------------------------------------------------------

function rmsNormRef(x: number[], w: number[], eps: number): number[] {
  const c = w.length;
  const out: number[] = [];
  for (let r = 0; r < x.length / c; r++) {
    let ss = 0;
    for (let j = 0; j < c; j++) ss += x[r * c + j]! ** 2;
    const s = 1 / Math.sqrt(ss / c + eps);
    for (let j = 0; j < c; j++) out.push(x[r * c + j]! * s * w[j]!);
  }
  return out;
}

function layerNormRef(x: number[], w: number[], b: number[], eps: number): number[] {
  const c = w.length;
  const out: number[] = [];
  for (let r = 0; r < x.length / c; r++) {
    let mean = 0;
    for (let j = 0; j < c; j++) mean += x[r * c + j]!;
    mean /= c;
    let v = 0;
    for (let j = 0; j < c; j++) v += (x[r * c + j]! - mean) ** 2;
    const s = 1 / Math.sqrt(v / c + eps);
    for (let j = 0; j < c; j++) out.push((x[r * c + j]! - mean) * s * w[j]! + b[j]!);
  }
  return out;
}

function ropeRef(x: number[], cos: number[], sin: number[], [b, t, n, d]: number[]): number[] {
  const out = new Array<number>(x.length);
  const half = d! / 2;
  for (let i = 0; i < b! * t! * n!; i++) {
    const pos = Math.floor(i / n!) % t!;
    for (let j = 0; j < d!; j++) {
      const xi = x[i * d! + j]!;
      const rot = j < half ? -x[i * d! + j + half]! : x[i * d! + j - half]!;
      out[i * d! + j] = xi * cos[pos * d! + j]! + rot * sin[pos * d! + j]!;
    }
  }
  return out;
}

interface AttnDims { b: number; t: number; h: number; k: number; d: number; causal: boolean }

function attentionRef(q: number[], k: number[], v: number[], pad: number[], headMask: number[] | null, o: AttnDims): number[] {
  const { b, t, h, d } = o;
  const kv = o.k;
  const out = new Array<number>(b * t * h * d).fill(0);
  const rep = h / kv;
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const g = Math.floor(hi / rep);
      for (let i = 0; i < t; i++) {
        const s: number[] = [];
        for (let j = 0; j < t; j++) {
          let dot = 0;
          for (let e = 0; e < d; e++) dot += q[((bi * t + i) * h + hi) * d + e]! * k[((bi * t + j) * kv + g) * d + e]!;
          const allowed = pad[bi * t + j]! * (o.causal && j > i ? 0 : 1);
          s.push(dot / Math.sqrt(d) + (1 - allowed) * -1e9);
        }
        const mx = Math.max(...s);
        const ex = s.map((z) => Math.exp(z - mx));
        const sum = ex.reduce((a, c) => a + c, 0);
        const scale = headMask ? headMask[hi]! : 1;
        for (let j = 0; j < t; j++) {
          const p = (ex[j]! / sum) * scale;
          for (let e = 0; e < d; e++) out[((bi * t + i) * h + hi) * d + e] += p * v[((bi * t + j) * kv + g) * d + e]!;
        }
      }
    }
  }
  return out;
}

/** erf to ~1e-15 (Taylor series for |x| < 3, continued fraction beyond). */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f));
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function actRef(x: number, kind: ops.ActKind): number {
  if (kind === "silu") return x * sigmoid(x);
  if (kind === "gelu_new") return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

function crossEntropyRef(logits: number[], targets: number[], weights: number[], c: number): number[] {
  let total = 0;
  let wsum = 0;
  for (let r = 0; r < targets.length; r++) {
    const row = logits.slice(r * c, r * c + c);
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((a, z) => a + Math.exp(z - mx), 0));
    total += (row[targets[r]!]! - lse) * weights[r]!;
    wsum += weights[r]!;
  }
  return [-total / Math.max(wsum, 1)];
}

function matmulT(a: number[], b: number[], m: number, k: number, n: number): number[] {
  // a [m, k] · b[n, k]ᵀ → [m, n]
  const out = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let e = 0; e < k; e++) s += a[i * k + e]! * b[j * k + e]!;
    out[i * n + j] = s;
  }
  return out;
}

// ---- the cases ---------------------------------------------------------------------------------

export function opCases(seed = 2024): OpCase[] {
  const rng = new Rng(seed);
  const { randn, uniform } = gen(rng);
  const cases: OpCase[] = [];

  for (const shape of [[3, 5, 16], [2, 7], [1, 1, 3, 33]]) {
    const c = shape[shape.length - 1]!;
    const eps = 1e-5;
    cases.push({
      name: `rmsNorm x [${shape}]`,
      inputs: { x: randn(shape), w: uniform([c], 0.5, 1.5) },
      fused: (t) => ops.rmsNorm(t.x!, t.w!, eps),
      composite: (t) => ops.rmsNormComposite(t.x!, t.w!, eps),
      ref: (v) => rmsNormRef(v.x!, v.w!, eps),
    });
    cases.push({
      name: `layerNorm x [${shape}]`,
      inputs: { x: randn(shape), w: uniform([c], 0.5, 1.5), b: randn([c], 0.3) },
      fused: (t) => ops.layerNorm(t.x!, t.w!, t.b!, eps),
      composite: (t) => ops.layerNormComposite(t.x!, t.w!, t.b!, eps),
      ref: (v) => layerNormRef(v.x!, v.w!, v.b!, eps),
    });
  }

  for (const [b, t, n, d, p] of [[2, 5, 3, 4, 8], [1, 7, 2, 6, 7], [3, 1, 1, 2, 4]] as const) {
    cases.push({
      name: `rope x [${b}, ${t}, ${n}·${d}], tables [${p}, ${d}]`,
      inputs: { x: randn([b, t, n * d]), cos: uniform([p, d], -1, 1), sin: uniform([p, d], -1, 1) },
      fused: (x) => ops.rope(x.x as tf.Tensor3D, x.cos as tf.Tensor2D, x.sin as tf.Tensor2D, n),
      composite: (x) => ops.ropeComposite(x.x as tf.Tensor3D, x.cos as tf.Tensor2D, x.sin as tf.Tensor2D, n),
      ref: (v) => ropeRef(v.x!, v.cos!, v.sin!, [b, t, n, d]),
    });
  }

  const attn: (AttnDims & { headMask: boolean; pad: number })[] = [
    { b: 2, t: 5, h: 2, k: 2, d: 4, causal: true, headMask: false, pad: 2 },
    { b: 3, t: 6, h: 4, k: 2, d: 3, causal: true, headMask: true, pad: 1 },
    { b: 2, t: 7, h: 3, k: 1, d: 5, causal: false, headMask: true, pad: 3 },
    { b: 1, t: 1, h: 2, k: 2, d: 8, causal: true, headMask: false, pad: 0 },
    { b: 1, t: 17, h: 1, k: 1, d: 9, causal: false, headMask: false, pad: 4 },
  ];
  for (const a of attn) {
    const pad = Array.from({ length: a.b * a.t }, (_, i) => (i < a.t && i >= a.t - a.pad ? 0 : 1)); // row 0 padded at the end
    const inputs: Record<string, InputSpec> = {
      q: randn([a.b, a.t, a.h * a.d]), k: randn([a.b, a.t, a.k * a.d]), v: randn([a.b, a.t, a.k * a.d]),
      padMask: { shape: [a.b, a.t], values: pad },
    };
    if (a.headMask) inputs.headMask = uniform([a.h], 0.2, 1.2);
    const opts = (t: Record<string, tf.Tensor>): ops.AttentionCoreOptions => ({
      heads: a.h, kvHeads: a.k, headDim: a.d, causal: a.causal, padMask: t.padMask as tf.Tensor2D, headMask: t.headMask ?? null,
    });
    cases.push({
      name: `attentionCore B${a.b} T${a.t} H${a.h} K${a.k} D${a.d}${a.causal ? " causal" : ""}${a.headMask ? " headMask" : ""}`,
      inputs,
      fused: (t) => ops.attentionCore(t.q!, t.k!, t.v!, opts(t)),
      composite: (t) => ops.attentionCoreComposite(t.q!, t.k!, t.v!, opts(t)),
      ref: (v) => attentionRef(v.q!, v.k!, v.v!, v.padMask!, v.headMask ?? null, a),
    });
  }

  for (const shape of [[3, 5, 12], [7, 13], [1, 1]]) {
    cases.push({
      name: `swiglu [${shape}]`,
      inputs: { gate: randn(shape, 2), up: randn(shape) },
      fused: (t) => ops.swiglu(t.gate!, t.up!),
      composite: (t) => ops.swigluComposite(t.gate!, t.up!),
      ref: (v) => v.gate!.map((g, i) => g * sigmoid(g) * v.up![i]!),
    });
  }
  for (const kind of ["gelu", "gelu_new", "silu"] as const) {
    for (const shape of [[2, 3, 7], [19]]) {
      cases.push({
        name: `geluAct ${kind} [${shape}]`,
        inputs: { x: randn(shape, 2) },
        fused: (t) => ops.geluAct(t.x!, kind),
        composite: (t) => ops.geluActComposite(t.x!, kind),
        ref: (v) => v.x!.map((x) => actRef(x, kind)),
      });
    }
  }

  for (const [n, c, zeroed] of [[9, 7, 3], [4, 64, 0], [1, 3, 0], [5, 5, 5]] as const) {
    const targets = Array.from({ length: n }, () => rng.range(0, c - 1));
    const weights = Array.from({ length: n }, (_, i) => (i < zeroed ? 0 : 1));
    cases.push({
      name: `softmaxCrossEntropy N${n} C${c}${zeroed ? `, ${zeroed} rows ignored` : ""}`,
      inputs: { logits: randn([n, c], 2), targets: { shape: [n], values: targets, dtype: "int32" }, weights: { shape: [n], values: weights, grad: n - zeroed > 1 } }, // Σw = 1 sits on max(Σw, 1)'s kink
      fused: (t) => ops.softmaxCrossEntropy(t.logits as tf.Tensor2D, t.targets as tf.Tensor1D, t.weights as tf.Tensor1D),
      composite: (t) => ops.softmaxCrossEntropyComposite(t.logits as tf.Tensor2D, t.targets as tf.Tensor1D, t.weights as tf.Tensor1D),
      ref: (v) => crossEntropyRef(v.logits!, v.targets!, v.weights!, c),
    });
  }

  for (const [n, inF, r, outF, scale] of [[11, 16, 4, 12, 2], [1, 5, 1, 3, 0.5], [64, 33, 8, 17, 1.25]] as const) {
    cases.push({
      name: `loraDelta N${n} in${inF} r${r} out${outF}`,
      inputs: { x: randn([n, inF]), a: randn([r, inF], 0.3), b: randn([outF, r], 0.3) },
      fused: (t) => ops.loraDelta(t.x as tf.Tensor2D, t.a as tf.Tensor2D, t.b as tf.Tensor2D, scale),
      composite: (t) => ops.loraDeltaComposite(t.x as tf.Tensor2D, t.a as tf.Tensor2D, t.b as tf.Tensor2D, scale),
      ref: (v) => matmulT(matmulT(v.x!, v.a!, n, inF, r), v.b!, n, r, outF).map((z) => z * scale),
    });
  }
  for (const [v, c, idShape] of [[7, 5, [3, 4]], [1, 9, [2]], [64, 33, [2, 3, 5]]] as const) {
    const n = idShape.reduce((x, y) => x * y, 1);
    const ids = Array.from({ length: n }, () => rng.range(0, v - 1));
    cases.push({
      name: `embeddingLookup table [${v}, ${c}], ids [${idShape}]`,
      inputs: { table: randn([v, c]), ids: { shape: [...idShape], values: ids, dtype: "int32" } },
      fused: (t) => ops.embeddingLookup(t.table as tf.Tensor2D, t.ids!),
      composite: (t) => ops.embeddingLookupComposite(t.table as tf.Tensor2D, t.ids!),
      ref: (x) => ids.flatMap((id) => x.table!.slice(id * c, id * c + c)),
    });
  }
  for (const [n, inF, r, outF, scale] of [[9, 16, 4, 12, 2], [1, 3, 2, 5, 0.5]] as const) {
    cases.push({
      name: `loraAdd N${n} in${inF} r${r} out${outF}`,
      inputs: { base: randn([n, outF]), x: randn([n, inF]), a: randn([r, inF], 0.3), b: randn([outF, r], 0.3) },
      fused: (t) => ops.loraAdd(t.base as tf.Tensor2D, t.x as tf.Tensor2D, t.a as tf.Tensor2D, t.b as tf.Tensor2D, scale),
      composite: (t) => tf.add(t.base!, ops.loraDeltaComposite(t.x as tf.Tensor2D, t.a as tf.Tensor2D, t.b as tf.Tensor2D, scale)),
      ref: (v) => matmulT(matmulT(v.x!, v.a!, n, inF, r), v.b!, n, r, outF).map((z, i) => z * scale + v.base![i]!),
    });
  }
  return cases;
}

/** Makes the tensors of a case's inputs. */
export function makeInputs(c: OpCase): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(c.inputs).map(([k, s]) => [k, tf.tensor(s.values, s.shape, s.dtype ?? "float32")]));
}

/** Names of the inputs a gradient check differentiates. */
export function gradInputs(c: OpCase): string[] {
  return Object.entries(c.inputs).filter(([, s]) => s.grad).map(([k]) => k);
}

/**
 * Output and gradients of Σ op(inputs) · w for a fixed random weighting w, for each
 * differentiable input, as plain arrays (run on the current backend).
 */
export function outputAndGrads(c: OpCase, op: (t: Record<string, tf.Tensor>) => tf.Tensor, w: number[]): { out: number[]; grads: Record<string, number[]> } {
  return tf.tidy(() => {
    const all = makeInputs(c);
    const names = gradInputs(c);
    const out = op(all);
    const wt = tf.tensor(w, out.shape);
    const g = tf.grads((...xs: tf.Tensor[]) => {
      const t = { ...all };
      names.forEach((n, i) => (t[n] = xs[i]!));
      return tf.sum(tf.mul(op(t), wt));
    })(names.map((n) => all[n]!));
    const grads: Record<string, number[]> = {};
    names.forEach((n, i) => (grads[n] = Array.from(g[i]!.dataSync())));
    return { out: Array.from(out.dataSync()), grads };
  });
}

/** A weighting for a case's output (fixed per case). */
export function outputWeights(c: OpCase, n: number, seed = 99): number[] {
  const r = new Rng(seed + c.name.length);
  return Array.from({ length: n }, () => r.normal());
}

/** Largest |a − e| relative to max(1, max |e|). */
export function relError(a: ArrayLike<number>, e: ArrayLike<number>): number {
  if (a.length !== e.length) return Infinity;
  let scale = 1;
  for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]!));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!));
  return worst / scale;
}

/**
 * Cases at the size of the benchmark's LoRA step (llama, width 128, 4 heads, intermediate 352,
 * vocabulary 64, batch 16 × 64 tokens): large enough that the native kernels split work over
 * threads. No float64 references (too slow); compare against the composites.
 */
export function benchCases(seed = 7): OpCase[] {
  const rng = new Rng(seed);
  const { randn, uniform } = gen(rng);
  const [b, t, c, h, d, inter, vocab, r] = [16, 64, 128, 4, 32, 352, 64, 8];
  // Rows 1, 5, 9, 13 start with padding (their first rows then have no allowed key at all: the
  // softmax spreads over every key), rows 2, 6, 10, 14 end with it.
  const pad = Array.from({ length: b * t }, (_, i) => {
    const [row, pos] = [Math.floor(i / t), i % t];
    if (row % 4 === 1) return pos < row ? 0 : 1;
    if (row % 4 === 2) return pos >= t - 3 * row ? 0 : 1;
    return 1;
  });
  const attn = (k: number, headMask: boolean): OpCase => {
    const inputs: Record<string, InputSpec> = { q: randn([b, t, h * d]), k: randn([b, t, k * d]), v: randn([b, t, k * d]), padMask: { shape: [b, t], values: pad } };
    if (headMask) inputs.headMask = uniform([h], 0.2, 1.2);
    const opts = (x: Record<string, tf.Tensor>): ops.AttentionCoreOptions => ({ heads: h, kvHeads: k, headDim: d, causal: true, padMask: x.padMask as tf.Tensor2D, headMask: x.headMask ?? null });
    return {
      name: `attentionCore B${b} T${t} H${h} K${k} D${d}${headMask ? " headMask" : ""}`, inputs,
      fused: (x) => ops.attentionCore(x.q!, x.k!, x.v!, opts(x)),
      composite: (x) => ops.attentionCoreComposite(x.q!, x.k!, x.v!, opts(x)),
      ref: () => [],
    };
  };
  const targets = Array.from({ length: b * t }, () => rng.range(0, vocab - 1));
  const weights = Array.from({ length: b * t }, (_, i) => (i % 7 === 0 ? 0 : 1));
  return [
    { name: `rmsNorm [${b}, ${t}, ${c}]`, inputs: { x: randn([b, t, c]), w: uniform([c], 0.5, 1.5) },
      fused: (x) => ops.rmsNorm(x.x!, x.w!, 1e-5), composite: (x) => ops.rmsNormComposite(x.x!, x.w!, 1e-5), ref: () => [] },
    { name: `layerNorm [${b}, ${t}, ${c}]`, inputs: { x: randn([b, t, c]), w: uniform([c], 0.5, 1.5), bias: randn([c]) },
      fused: (x) => ops.layerNorm(x.x!, x.w!, x.bias!, 1e-5), composite: (x) => ops.layerNormComposite(x.x!, x.w!, x.bias!, 1e-5), ref: () => [] },
    { name: `rope [${b}, ${t}, ${h}·${d}]`, inputs: { x: randn([b, t, h * d]), cos: uniform([t + 3, d], -1, 1, false), sin: uniform([t + 3, d], -1, 1, false) },
      fused: (x) => ops.rope(x.x as tf.Tensor3D, x.cos as tf.Tensor2D, x.sin as tf.Tensor2D, h),
      composite: (x) => ops.ropeComposite(x.x as tf.Tensor3D, x.cos as tf.Tensor2D, x.sin as tf.Tensor2D, h), ref: () => [] },
    attn(h, false),
    attn(2, true),
    (() => {
      // Not causal, T not a multiple of 32 and a head size of 64 (the direct AVX2 path's padding and chunks).
      const [bb, tt, hh, kk, dd] = [3, 37, 2, 1, 64];
      const inputs: Record<string, InputSpec> = { q: randn([bb, tt, hh * dd]), k: randn([bb, tt, kk * dd]), v: randn([bb, tt, kk * dd]),
        padMask: { shape: [bb, tt], values: Array.from({ length: bb * tt }, (_, i) => (i >= tt && i < tt + 5 ? 0 : 1)) }, headMask: uniform([hh], 0.2, 1.2) };
      const opts = (x: Record<string, tf.Tensor>): ops.AttentionCoreOptions => ({ heads: hh, kvHeads: kk, headDim: dd, causal: false, padMask: x.padMask as tf.Tensor2D, headMask: x.headMask! });
      return { name: `attentionCore B${bb} T${tt} H${hh} K${kk} D${dd} bidirectional headMask`, inputs,
        fused: (x: Record<string, tf.Tensor>) => ops.attentionCore(x.q!, x.k!, x.v!, opts(x)),
        composite: (x: Record<string, tf.Tensor>) => ops.attentionCoreComposite(x.q!, x.k!, x.v!, opts(x)), ref: () => [] };
    })(),
    { name: `swiglu [${b * t}, ${inter}]`, inputs: { gate: randn([b * t, inter], 2), up: randn([b * t, inter]) },
      fused: (x) => ops.swiglu(x.gate!, x.up!), composite: (x) => ops.swigluComposite(x.gate!, x.up!), ref: () => [] },
    { name: `geluAct gelu_new [${b * t}, ${inter}]`, inputs: { x: randn([b * t, inter], 2) },
      fused: (x) => ops.geluAct(x.x!, "gelu_new"), composite: (x) => ops.geluActComposite(x.x!, "gelu_new"), ref: () => [] },
    { name: `softmaxCrossEntropy N${b * t} C${vocab}`,
      inputs: { logits: randn([b * t, vocab], 2), targets: { shape: [b * t], values: targets, dtype: "int32" }, weights: { shape: [b * t], values: weights } },
      fused: (x) => ops.softmaxCrossEntropy(x.logits as tf.Tensor2D, x.targets as tf.Tensor1D, x.weights as tf.Tensor1D),
      composite: (x) => ops.softmaxCrossEntropyComposite(x.logits as tf.Tensor2D, x.targets as tf.Tensor1D, x.weights as tf.Tensor1D), ref: () => [] },
    { name: "loraAdd N37 in24 r5 out40 (r padded to 8, a row tail)", inputs: { base: randn([37, 40]), x: randn([37, 24]), a: randn([5, 24], 0.3), b: randn([40, 5], 0.3) },
      fused: (x) => ops.loraAdd(x.base as tf.Tensor2D, x.x as tf.Tensor2D, x.a as tf.Tensor2D, x.b as tf.Tensor2D, 1.5),
      composite: (x) => tf.add(x.base!, ops.loraDeltaComposite(x.x as tf.Tensor2D, x.a as tf.Tensor2D, x.b as tf.Tensor2D, 1.5)), ref: () => [] },
    { name: "loraDelta N300 in48 r16 out8", inputs: { x: randn([300, 48]), a: randn([16, 48], 0.3), b: randn([8, 16], 0.3) },
      fused: (x) => ops.loraDelta(x.x as tf.Tensor2D, x.a as tf.Tensor2D, x.b as tf.Tensor2D, 0.5),
      composite: (x) => ops.loraDeltaComposite(x.x as tf.Tensor2D, x.a as tf.Tensor2D, x.b as tf.Tensor2D, 0.5), ref: () => [] },
    { name: `loraDelta N${b * t} in${c} r${r} out${c}`, inputs: { x: randn([b * t, c]), a: randn([r, c], 0.1), b: randn([c, r], 0.1) },
      fused: (x) => ops.loraDelta(x.x as tf.Tensor2D, x.a as tf.Tensor2D, x.b as tf.Tensor2D, 2),
      composite: (x) => ops.loraDeltaComposite(x.x as tf.Tensor2D, x.a as tf.Tensor2D, x.b as tf.Tensor2D, 2), ref: () => [] },
  ];
}
