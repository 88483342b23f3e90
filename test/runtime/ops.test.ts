// The fused ops (src/runtime/tensor/ops) on the current backend against plain float64 references:
// outputs, and gradients against central differences of the references.
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import * as ops from "../../src/runtime/tensor/ops/index.js";
import { Rng } from "../../src/runtime/rng.js";
import { useCpu } from "./helpers.js";
import { gradInputs, type OpCase, opCases, outputAndGrads, outputWeights, relError } from "./ops-cases.js";

/** d/dx Σ ref(x)·w for input `name`, by central differences in float64. */
function numericGrad(c: OpCase, name: string, w: number[], h = 1e-4): number[] {
  const values = Object.fromEntries(Object.entries(c.inputs).map(([k, s]) => [k, [...s.values]]));
  const f = () => c.ref(values).reduce((acc, y, i) => acc + y * w[i]!, 0);
  const x = values[name]!;
  return x.map((x0, i) => {
    x[i] = x0 + h;
    const up = f();
    x[i] = x0 - h;
    const down = f();
    x[i] = x0;
    return (up - down) / (2 * h);
  });
}

beforeAll(useCpu);

describe.each(opCases().map((c) => [c.name, c] as const))("%s", (_name, c) => {
  it("matches the float64 reference: output and every gradient", () => {
    const before = tf.memory().numTensors;
    const refOut = c.ref(Object.fromEntries(Object.entries(c.inputs).map(([k, s]) => [k, s.values])));
    const w = outputWeights(c, refOut.length);
    const { out, grads } = outputAndGrads(c, c.fused, w);
    expect(tf.memory().numTensors, "tensors leaked").toBe(before);
    expect(out.length).toBe(refOut.length);
    expect(relError(out, refOut), "output").toBeLessThan(2e-5);
    expect(gradInputs(c).length).toBeGreaterThan(0);
    for (const name of gradInputs(c)) {
      expect(relError(grads[name]!, numericGrad(c, name, w)), `gradient of ${name}`).toBeLessThan(2e-4);
    }
  });
});

describe("shape errors name the op and the shapes", () => {
  it.each([
    ["rmsNorm", () => ops.rmsNorm(tf.zeros([2, 4]), tf.ones([3]), 1e-5), /rmsNorm: weight must be \[4\], got \[3\]/],
    ["rope", () => ops.rope(tf.zeros([1, 2, 6]), tf.zeros([4, 4]), tf.zeros([4, 4]), 2), /rope: x must be \[B, T, 2·4\]/],
    ["rope tables", () => ops.rope(tf.zeros([1, 5, 8]), tf.zeros([4, 4]), tf.zeros([4, 4]), 2), /rope: the tables cover 4 positions, x has 5/],
    ["attentionCore", () => ops.attentionCore(tf.zeros([1, 3, 8]), tf.zeros([1, 3, 6]), tf.zeros([1, 3, 8]), { heads: 2, kvHeads: 2, headDim: 4, causal: true, padMask: tf.ones([1, 3]) as tf.Tensor2D }), /attentionCore: k must be \[1, 3, 8\], got \[1, 3, 6\]/],
    ["attentionCore heads", () => ops.attentionCore(tf.zeros([1, 3, 12]), tf.zeros([1, 3, 8]), tf.zeros([1, 3, 8]), { heads: 3, kvHeads: 2, headDim: 4, causal: true, padMask: tf.ones([1, 3]) as tf.Tensor2D }), /heads \(3\) must be a positive multiple of kvHeads \(2\)/],
    ["softmaxCrossEntropy", () => ops.softmaxCrossEntropy(tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([3]) as tf.Tensor1D, tf.ones([3]) as tf.Tensor1D), /softmaxCrossEntropy: targets must be int32 \[3\], got float32 \[3\]/],
    ["loraDelta", () => ops.loraDelta(tf.zeros([2, 5]) as tf.Tensor2D, tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([6, 3]) as tf.Tensor2D, 1), /loraDelta: expected x \[N, in\], A \[r, in\], B \[out, r\]; got x \[2, 5\], A \[3, 4\]/],
    ["swiglu", () => ops.swiglu(tf.zeros([2, 3]), tf.zeros([3, 2])), /swiglu: gate and up must have one shape/],
  ])("%s", (_n, f, re) => {
    expect(() => tf.tidy(() => void f())).toThrow(re);
  });
});

describe("globalNorm", () => {
  it("is √(Σ x²) over every element of every tensor, 0 for none", () => {
    const a = [1, -2, 3];
    const b = [[0.5, 4], [-1, 2]];
    const norm = tf.tidy(() => ops.globalNorm([tf.tensor1d(a), tf.tensor2d(b)]).dataSync()[0]!);
    expect(norm).toBeCloseTo(Math.sqrt(1 + 4 + 9 + 0.25 + 16 + 1 + 4), 5);
    expect(tf.tidy(() => ops.globalNorm([]).dataSync()[0])).toBe(0);
  });
});

describe("adamwUpdate", () => {
  /** torch.optim.AdamW's update in float64. */
  function reference(p: number[], grads: number[][], o: { lr: number; b1: number; b2: number; eps: number; wd: number }) {
    const m = p.map(() => 0);
    const v = p.map(() => 0);
    grads.forEach((g, s) => {
      const bc1 = 1 - o.b1 ** (s + 1);
      const bc2 = 1 - o.b2 ** (s + 1);
      for (let i = 0; i < p.length; i++) {
        m[i] = o.b1 * m[i]! + (1 - o.b1) * g[i]!;
        v[i] = o.b2 * v[i]! + (1 - o.b2) * g[i]! ** 2;
        p[i] = p[i]! * (1 - o.lr * o.wd) - (o.lr / bc1) * m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + o.eps);
      }
    });
    return { p, m, v };
  }

  it.each([
    ["with weight decay", [3, 5], 0.1],
    ["without weight decay", [7], 0],
    ["on a single value", [1], 0.01],
  ])("%s updates param and moments in place like torch.optim.AdamW", (_n, shape, wd) => {
    const rng = new Rng(7);
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    const p0 = Array.from({ length: n }, () => rng.normal());
    const grads = [0, 1, 2].map(() => Array.from({ length: n }, () => rng.normal() * 0.1));
    const o = { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: wd as number };
    const param = tf.variable(tf.tensor(p0, shape as number[]));
    const m = tf.variable(tf.zerosLike(param), false);
    const v = tf.variable(tf.zerosLike(param), false);
    const before = tf.memory().numTensors;
    grads.forEach((g, s) => {
      const gt = tf.tensor(g, shape as number[]);
      ops.adamwUpdate(param, gt, m, v, { lr: o.lr, beta1: o.b1, beta2: o.b2, eps: o.eps, weightDecay: o.wd, bc1: 1 - o.b1 ** (s + 1), bc2: 1 - o.b2 ** (s + 1) });
      gt.dispose();
    });
    expect(tf.memory().numTensors, "tensors leaked").toBe(before);
    const want = reference([...p0], grads, o);
    expect(relError(param.dataSync(), want.p)).toBeLessThan(1e-6);
    expect(relError(m.dataSync(), want.m)).toBeLessThan(1e-6);
    expect(relError(v.dataSync(), want.v)).toBeLessThan(1e-6);
    param.dispose();
    m.dispose();
    v.dispose();
  });

  it("rejects a gradient of another shape, naming the variable", () => {
    const p = tf.variable(tf.zeros([2, 3]), true, "w_test");
    const m = tf.variable(tf.zeros([2, 3]), false);
    const v = tf.variable(tf.zeros([2, 3]), false);
    const g = tf.zeros([3, 2]);
    expect(() => ops.adamwUpdate(p, g, m, v, { lr: 1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, bc1: 0.1, bc2: 0.01 })).toThrow(/adamwUpdate\(w_test\): grad must be \[2, 3\], got \[3, 2\]/);
    for (const t of [p, m, v, g]) t.dispose();
  });
});
