// The native fused-op kernels (native/src/kernels/Peftlab*.c) against the composites they replace,
// on the same backend: random shapes with odd sizes (ops-cases.ts), outputs and every gradient;
// the AVX2 path against the plain C path; the same bits on 1, 2 and 3 threads; in-place AdamW.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import * as ops from "../../src/runtime/tensor/ops/index.js";
import { initBackend } from "../../src/runtime/tensor/backend.js";
import { loadAddon } from "../../src/runtime/tensor/native/index.js";
import { Rng } from "../../src/runtime/rng.js";
import { benchCases, gradInputs, type OpCase, opCases, outputAndGrads, outputWeights, relError } from "./ops-cases.js";
import { LoraAdapter } from "../../src/runtime/adapters/lora.js";
import { Trainer, adapterVariables } from "../../src/runtime/train/trainer.js";
import { randomBatch, seeded, tinyModel, trainSpec } from "./helpers.js";

const FUSED = [ops.RMS_NORM, ops.RMS_NORM_GRAD, ops.RMS_NORM_GRAD_WEIGHT, ops.LAYER_NORM, ops.LAYER_NORM_GRAD, ops.ROPE, ops.ROPE_GRAD, ops.ATTENTION, ops.ATTENTION_GRAD,
  ops.SWIGLU, ops.SWIGLU_GRAD, ops.GELU, ops.GELU_GRAD, ops.SOFTMAX_CE, ops.SOFTMAX_CE_GRAD, ops.LORA, ops.LORA_GRAD, ops.ADAMW, ops.EMBEDDING, ops.GLOBAL_NORM];

let addon: ReturnType<typeof loadAddon>["addon"];

beforeAll(async () => {
  const info = await initBackend("native");
  expect(info.name).toBe("native");
  addon = loadAddon().addon;
});

afterAll(async () => {
  addon.setSimd(true);
  await initBackend("wasm");
});

type Result = { out: number[]; grads: Record<string, number[]> };

function both(c: OpCase): { fused: Result; composite: Result } {
  const n = tf.tidy(() => {
    const ins = Object.fromEntries(Object.entries(c.inputs).map(([k, s]) => [k, tf.tensor(s.values, s.shape, s.dtype ?? "float32")]));
    return c.composite(ins).size;
  });
  const w = outputWeights(c, n);
  return { fused: outputAndGrads(c, c.fused, w), composite: outputAndGrads(c, c.composite, w) };
}

/** The fused op's output and gradients only (for comparisons between native paths). */
function fusedOnly(c: OpCase): Result {
  const n = tf.tidy(() => c.fused(Object.fromEntries(Object.entries(c.inputs).map(([k, s]) => [k, tf.tensor(s.values, s.shape, s.dtype ?? "float32")]))).size);
  return outputAndGrads(c, c.fused, outputWeights(c, n));
}

function expectMatch(c: OpCase, a: Result, b: Result, tol: number): void {
  expect(relError(a.out, b.out), `${c.name}: output`).toBeLessThan(tol);
  for (const name of gradInputs(c)) expect(relError(a.grads[name]!, b.grads[name]!), `${c.name}: gradient of ${name}`).toBeLessThan(tol);
}

const bits = (r: Result) => JSON.stringify([r.out, r.grads]);

describe("registration", () => {
  it("registers every fused kernel for wasm while native is on, and none under plain wasm", async () => {
    for (const k of FUSED) expect(ops.hasNative(k), k).toBe(true);
    await initBackend("wasm");
    for (const k of FUSED) expect(ops.hasNative(k), k).toBe(false);
    await initBackend("native");
  });
});

describe.each([...opCases(), ...benchCases()].map((c) => [c.name, c] as const))("%s", (_n, c) => {
  it("native kernel matches the composite: output and every gradient, no tensors leaked", async () => {
    const before = tf.memory().numTensors;
    const profile = await tf.profile(() => tf.tidy(() => void c.fused(Object.fromEntries(Object.entries(c.inputs).map(([k, s]) => [k, tf.tensor(s.values, s.shape, s.dtype ?? "float32")])))));
    expect(profile.kernelNames.some((k) => k.startsWith("Peftlab")), "ran a native fused kernel").toBe(true);
    const { fused, composite } = both(c);
    expectMatch(c, fused, composite, 2e-5);
    expect(tf.memory().numTensors, "tensors leaked").toBe(before);
  });
});

describe("SIMD and threads", () => {
  const named = (cases: OpCase[]) => cases.map((c) => [c.name, c] as const);

  it.each(named([...opCases(), ...benchCases()]))("%s: the plain C path matches the AVX2 path", (_n, c) => {
    if (!addon.info().avx2) return; // plain C is the only path on this CPU
    const simd = fusedOnly(c);
    addon.setSimd(false);
    try {
      expectMatch(c, fusedOnly(c), simd, 2e-5);
    } finally {
      addon.setSimd(true);
    }
  });

  it.each(named(benchCases()))("%s: the same bits on 1, 2 and 3 threads", (_n, c) => {
    const threads = addon.info().threads;
    try {
      const runs = [1, 2, 3].map((n) => {
        addon.setThreads(n);
        return bits(fusedOnly(c));
      });
      expect(runs[1] === runs[0], "2 vs 1 thread").toBe(true);
      expect(runs[2] === runs[0], "3 vs 1 thread").toBe(true);
    } finally {
      addon.setThreads(threads);
    }
  });
});

describe("PeftlabAdamW", () => {
  const hyper = (step: number, wd: number): ops.AdamWStep => ({ lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd, bc1: 1 - 0.9 ** step, bc2: 1 - 0.999 ** step });

  function vars(n: number, seed: number) {
    const r = new Rng(seed);
    const init = Array.from({ length: n }, () => r.normal());
    const grads = [1, 2, 3].map(() => Array.from({ length: n }, () => r.normal() * 0.1));
    // Like the optimiser's variables: the tensor each is made from is disposed, so the buffer is the variable's alone.
    const own = (t: tf.Tensor, trainable: boolean) => {
      const out = tf.variable(t, trainable);
      t.dispose();
      return out;
    };
    const make = () => ({ p: own(tf.tensor1d(init), true), m: own(tf.zeros([n]), false), v: own(tf.zeros([n]), false) });
    return { grads, make };
  }

  it.each([[1, 0.1], [37, 0], [4099, 0.01]])("updates %i values in place like the composite (weight decay %f)", (n, wd) => {
    const { grads, make } = vars(n, n);
    const nat = make();
    const ref = make();
    const ids = [nat.p, nat.m, nat.v].map((t) => t.dataId);
    const before = tf.memory().numTensors;
    grads.forEach((g, i) => {
      const gt = tf.tensor1d(g);
      ops.adamwUpdate(nat.p, gt, nat.m, nat.v, hyper(i + 1, wd));
      ops.adamwUpdateComposite(ref.p, gt, ref.m, ref.v, hyper(i + 1, wd));
      gt.dispose();
    });
    expect(tf.memory().numTensors).toBe(before);
    expect([nat.p, nat.m, nat.v].map((t) => t.dataId)).toEqual(ids); // in place
    expect(relError(nat.p.dataSync(), ref.p.dataSync())).toBeLessThan(1e-6);
    expect(relError(nat.m.dataSync(), ref.m.dataSync())).toBeLessThan(1e-6);
    expect(relError(nat.v.dataSync(), ref.v.dataSync())).toBeLessThan(1e-6);
    tf.dispose([nat.p, nat.m, nat.v, ref.p, ref.m, ref.v]);
  });

  it("leaves a tensor that shares the parameter's buffer unchanged", () => {
    const { grads, make } = vars(10, 3);
    const { p, m, v } = make();
    const snapshot = p.clone(); // shares p's data
    const before = Array.from(snapshot.dataSync());
    const gt = tf.tensor1d(grads[0]!);
    ops.adamwUpdate(p, gt, m, v, hyper(1, 0));
    expect(Array.from(snapshot.dataSync())).toEqual(before);
    expect(relError(p.dataSync(), before)).toBeGreaterThan(0);
    tf.dispose([p, m, v, snapshot, gt]);
  });
});

describe("PeftlabEmbedding", () => {
  it("picks rows like tf.gather and names an id outside the table", () => {
    const table = tf.tensor2d(Array.from({ length: 5 * 3 }, (_, i) => i), [5, 3]);
    const ids = tf.tensor2d([4, 0, 2, 2], [2, 2], "int32");
    const out = ops.embeddingLookup(table, ids);
    expect(out.shape).toEqual([2, 2, 3]);
    expect(Array.from(out.dataSync())).toEqual([12, 13, 14, 0, 1, 2, 6, 7, 8, 6, 7, 8]);
    const bad = tf.tensor1d([1, 5], "int32");
    const dataIds = tf.engine().backend.numDataIds();
    expect(() => ops.embeddingLookup(table, bad)).toThrow(/PeftlabEmbedding \(native\): id 5 at position 1 is outside the table's 5 rows/);
    expect(tf.engine().backend.numDataIds(), "the failed call's output is freed").toBe(dataIds);
    tf.dispose([table, ids, out, bad]);
  });
});

describe("PeftlabGlobalNorm", () => {
  it("matches a float64 sum on many tensors of odd shapes, like the composite; the same bits on 1 and 3 threads", () => {
    const r = new Rng(11);
    const shapes = [[1], [7, 13], [128, 352], [3, 5, 33], [0, 4], ...Array.from({ length: 40 }, (_, i) => [i + 1])];
    const ts = shapes.map((sh) => tf.tensor(Float32Array.from({ length: sh.reduce((a, b) => a * b, 1) }, () => r.normal()), sh));
    const composite = tf.tidy(() => ops.globalNormComposite(ts).dataSync()[0]!);
    const threads = addon.info().threads;
    const runs = [1, 3].map((n) => {
      addon.setThreads(n);
      return tf.tidy(() => ops.globalNorm(ts).dataSync()[0]!);
    });
    addon.setThreads(threads);
    const exact = Math.sqrt(ts.reduce((acc, t) => acc + Array.from(t.dataSync()).reduce((x, v) => x + v * v, 0), 0));
    expect(Math.abs(runs[0]! - exact) / exact, "native (sums in double)").toBeLessThan(1e-7);
    expect(Math.abs(composite - exact) / exact, "composite (sums in float32)").toBeLessThan(2e-5);
    expect(runs[1]).toBe(runs[0]);
    expect(tf.tidy(() => ops.globalNorm([]).dataSync()[0])).toBe(0);
    tf.dispose(ts);
  });
});

describe("Add (native for float32 operands of one shape)", () => {
  it("adds exactly, on odd sizes, and leaves broadcasting and int32 to wasm", async () => {
    const r = new Rng(5);
    for (const shape of [[1], [7, 13], [1024, 128], [3, 5, 33]]) {
      const n = shape.reduce((x, y) => x * y, 1);
      const av = Float32Array.from({ length: n }, () => r.normal());
      const bv = Float32Array.from({ length: n }, () => r.normal());
      const profile = await tf.profile(() => tf.tidy(() => void tf.add(tf.tensor(av, shape), tf.tensor(bv, shape)).dataSync()));
      expect(profile.kernelNames).toContain("Add");
      const out = tf.tidy(() => tf.add(tf.tensor(av, shape), tf.tensor(bv, shape)).dataSync());
      expect(Array.from(out)).toEqual(Array.from(av, (x, i) => Math.fround(x + bv[i]!)));
    }
    const broadcast = tf.tidy(() => Array.from(tf.add(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([10, 20])).dataSync()));
    expect(broadcast).toEqual([11, 22, 13, 24]);
    const ints = tf.tidy(() => Array.from(tf.add(tf.tensor1d([1, 2], "int32"), tf.tensor1d([3, 4], "int32")).dataSync()));
    expect(ints).toEqual([4, 6]);
  });
});

describe("LoRA training on the native backend", () => {
  /** Losses of `steps` steps and the adapter values after them, on `backend`. */
  async function train(backend: "native" | "wasm", family: "llama" | "gpt2" | "bert", dropout: number, steps = 4) {
    await initBackend(backend);
    const before = tf.memory().numTensors;
    const model = tinyModel(family, family === "llama" ? { kvHeads: 2 } : {});
    const rand = seeded(9);
    for (const l of model.linears().values()) {
      l.addAdapter(new LoraAdapter({ name: "default", path: l.path, inFeatures: l.inFeatures, outFeatures: l.outFeatures, r: 4, alpha: 8, dropout, rslora: false, init: "kaiming", rand }));
    }
    const trainer = new Trainer({ model, train: trainSpec({ steps, optimizer: { kind: "adamw", beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 } }), lr: 1e-2, seed: 3 });
    const batch = randomBatch(model.config);
    const losses = Array.from({ length: steps }, () => trainer.trainStep(batch).loss);
    const adapters = [...adapterVariables(model).values()].map((v) => v.dataSync().slice() as Float32Array);
    trainer.dispose();
    model.dispose();
    expect(tf.memory().numTensors, `tensors leaked on ${backend}`).toBe(before);
    return { losses, adapters };
  }

  it.each([["llama", 0], ["llama", 0.1], ["gpt2", 0], ["bert", 0.1]] as const)("%s (dropout %f): the losses and adapters of wasm; a rerun gives the same bits", async (family, dropout) => {
    const nat = await train("native", family, dropout);
    const again = await train("native", family, dropout);
    const wasm = await train("wasm", family, dropout);
    expect(relError(nat.losses, wasm.losses), "losses").toBeLessThan(1e-5);
    nat.adapters.forEach((a, i) => expect(relError(a, wasm.adapters[i]!), `adapter variable ${i}`).toBeLessThan(1e-4));
    expect(JSON.stringify(again.losses)).toBe(JSON.stringify(nat.losses));
    again.adapters.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(nat.adapters[i]!.buffer)), `adapter variable ${i} bits`).toBe(true));
    await initBackend("native");
  });
});
