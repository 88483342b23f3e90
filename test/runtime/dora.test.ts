// DoRA against PEFT's definition: m starts at the L2 norm of each OUTPUT row of W (nn.Linear
// [out, in] layout), y = (m / ‖W + s·BA‖) ⊙ (W x + s·B A x) + bias with the norm detached in backward,
// merge / unmerge, and the file names PEFT uses. Plus rsLoRA's scaling.
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { DoraAdapter, detach } from "../../src/runtime/adapters/dora.js";
import { injectAdapter } from "../../src/runtime/adapters/inject.js";
import { exportAsLora } from "../../src/runtime/adapters/peft-io.js";
import { LoraAdapter, loraScaling } from "../../src/runtime/adapters/lora.js";
import { Linear, inferenceCtx } from "../../src/runtime/tensor/nn.js";
import { adapterSpec, maxDiff, perturb } from "./baselines-util.js";
import { seeded, tinyModel, useCpu } from "./helpers.js";

const [OUT, IN, R] = [6, 10, 3];

function doraLinear(rslora = false, seed = 2): { l: Linear; d: DoraAdapter; w: Float32Array; bias: Float32Array } {
  const rand = seeded(seed);
  const w = Float32Array.from({ length: OUT * IN }, () => rand() - 0.5);
  const bias = Float32Array.from({ length: OUT }, () => rand() - 0.5);
  const l = new Linear("m", tf.tensor2d(w, [OUT, IN]), tf.tensor1d(bias));
  const lora = new LoraAdapter({ name: "d", path: "m", inFeatures: IN, outFeatures: OUT, r: R, alpha: 6, dropout: 0, rslora, init: "kaiming", rand });
  const d = new DoraAdapter(l, lora);
  l.addAdapter(d);
  return { l, d, w, bias };
}

function rowNormsOf(m: ArrayLike<number>, rows: number, cols: number): number[] {
  return Array.from({ length: rows }, (_, i) => Math.hypot(...Array.from({ length: cols }, (_, j) => m[i * cols + j])));
}

/** s·B·A + W as float64, row-major [OUT, IN]. */
function combined(d: DoraAdapter, w: ArrayLike<number>): Float64Array {
  const a = d.lora.A.dataSync();
  const b = d.lora.B.dataSync();
  const v = Float64Array.from(w);
  for (let i = 0; i < OUT; i++) for (let j = 0; j < IN; j++) for (let c = 0; c < R; c++) v[i * IN + j] += d.lora.scaling * b[i * R + c] * a[c * IN + j];
  return v;
}

beforeAll(useCpu);

describe("DoRA", () => {
  it("starts its magnitude at the L2 norm of each output row of W ([out], per output feature)", () => {
    const { l, d, w } = doraLinear();
    expect(d.magnitude.shape).toEqual([OUT]);
    const want = rowNormsOf(w, OUT, IN);
    expect(maxDiff(d.magnitude.dataSync(), want)).toBeLessThan(1e-6);
    // Not the column norms (that axis would be [in]).
    expect(want.length).not.toBe(IN);
    l.dispose();
  });

  it("computes y = (m / ‖W + s·BA‖_row) ⊙ (W + s·BA) x + bias", () => {
    const { l, d, w, bias } = doraLinear(true);
    perturb(d.trainable().values(), 0.2, 4);
    const x = tf.randomNormal([4, IN], 0, 1, "float32", 9) as tf.Tensor2D;
    const got = tf.tidy(() => l.apply(x, inferenceCtx()).dataSync());
    const v = combined(d, w);
    const n = rowNormsOf(v, OUT, IN);
    const m = d.magnitude.dataSync();
    const xs = x.dataSync();
    const want = new Float64Array(4 * OUT);
    for (let t = 0; t < 4; t++) {
      for (let o = 0; o < OUT; o++) {
        let s = 0;
        for (let j = 0; j < IN; j++) s += v[o * IN + j] * xs[t * IN + j];
        want[t * OUT + o] = (m[o] / n[o]) * s + bias[o];
      }
    }
    expect(maxDiff(got, want)).toBeLessThan(1e-5);
    x.dispose();
    l.dispose();
  });

  it("treats the weight norm as a constant in backward, as PEFT does", () => {
    const { l, d } = doraLinear();
    perturb(d.trainable().values(), 0.2, 5);
    const x = tf.randomNormal([5, IN], 0, 1, "float32", 3) as tf.Tensor2D;
    const c = tf.randomNormal([5, OUT], 0, 1, "float32", 4);
    const vars = [d.lora.A, d.lora.B, d.magnitude];
    const ours = tf.variableGrads(() => tf.sum(tf.mul(l.apply(x, { training: true, nextSeed: () => 0 }), c)) as tf.Scalar, vars);
    // Reference: the same function with n computed beforehand as a plain constant.
    const n = tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.add(l.weight, tf.mul(tf.matMul(d.lora.B, d.lora.A), d.lora.scaling))), 1)));
    const ref = tf.variableGrads(() => {
      const v = tf.add(l.weight, tf.mul(tf.matMul(d.lora.B, d.lora.A), d.lora.scaling));
      const wScaled = tf.mul(v, tf.div(d.magnitude, n).reshape([-1, 1]));
      return tf.sum(tf.mul(tf.add(tf.matMul(x, wScaled, false, true), l.bias!), c)) as tf.Scalar;
    }, vars);
    for (const v of vars) expect(maxDiff(ours.grads[v.name].dataSync(), ref.grads[v.name].dataSync()), v.name).toBeLessThan(1e-4);
    // And detach itself: identity forward, zero gradient.
    const z = tf.variable(tf.tensor1d([1, 2, 3]));
    const g = tf.variableGrads(() => tf.sum(tf.mul(z, detach(tf.mul(z, 2)))) as tf.Scalar, [z]);
    expect(Array.from(g.grads[z.name].dataSync())).toEqual([2, 4, 6]);
    tf.dispose([x, c, n, ours.value, ref.value, g.value, z, ...Object.values(ours.grads), ...Object.values(ref.grads), ...Object.values(g.grads)]);
    l.dispose();
  });

  it("merges into W' = (m/n) ⊙ (W + s·BA) and unmerges back to W", () => {
    const { l, d, w } = doraLinear();
    perturb(d.trainable().values(), 0.2, 6);
    const x = tf.randomNormal([3, IN], 0, 1, "float32", 2) as tf.Tensor2D;
    const before = tf.tidy(() => l.apply(x, inferenceCtx()).dataSync());
    l.merge("d");
    expect(maxDiff(rowNormsOf(l.weight.dataSync(), OUT, IN), d.magnitude.dataSync())).toBeLessThan(1e-5);
    expect(maxDiff(tf.tidy(() => l.apply(x, inferenceCtx()).dataSync()), before)).toBeLessThan(1e-5);
    l.unmerge("d");
    expect(maxDiff(l.weight.dataSync(), w)).toBeLessThan(1e-6);
    expect(maxDiff(tf.tidy(() => l.apply(x, inferenceCtx()).dataSync()), before)).toBeLessThan(1e-5);
    x.dispose();
    l.dispose();
  });

  it("exports PEFT's names: lora_A.weight, lora_B.weight and lora_magnitude_vector (no .weight), use_dora true", () => {
    const model = tinyModel("gpt2");
    injectAdapter(model, "d", adapterSpec({ method: "dora", target: { regex: null, names: ["c_attn"] } }), { rand: seeded(1) });
    const exp = exportAsLora(model, "d", null, { taskType: "CAUSAL_LM" });
    expect(Object.keys(exp.tensors).sort()).toEqual([
      "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight",
      "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight",
      "base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector",
      "base_model.model.transformer.h.1.attn.c_attn.lora_A.weight",
      "base_model.model.transformer.h.1.attn.c_attn.lora_B.weight",
      "base_model.model.transformer.h.1.attn.c_attn.lora_magnitude_vector",
    ]);
    expect(exp.tensors["base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector"].shape).toEqual([48]);
    expect(exp.config).toMatchObject({ use_dora: true, r: 4, lora_alpha: 8, fan_in_fan_out: true, target_modules: ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"] });
    model.dispose();
  });

  it("refuses settings it cannot honour", () => {
    const { l, d } = doraLinear();
    d.lora.enableGate(0.05);
    expect(() => new DoraAdapter(l, d.lora)).toThrow(/Error in DoRA on m: .*BeamLoRA gate/);
    l.dispose();
  });
});

describe("rsLoRA", () => {
  it("scales by alpha / √r in the forward pass and exports use_rslora with the same alpha", () => {
    const model = tinyModel("llama");
    injectAdapter(model, "s", adapterSpec({ rslora: true, r: 4, alpha: 6, target: { regex: null, names: ["q_proj"] } }), { rand: seeded(1) });
    const l = model.linears().get("model.layers.0.self_attn.q_proj")!;
    const a = l.adapters.get("s") as LoraAdapter;
    expect(a.scaling).toBe(6 / 2);
    expect(loraScaling(6, 4, true)).toBe(3);
    expect(loraScaling(6, 4, false)).toBe(1.5);
    perturb([a.B], 0.1, 1);
    const x = tf.randomNormal([2, 16], 0, 1, "float32", 1) as tf.Tensor2D;
    const delta = tf.tidy(() => a.delta(x, inferenceCtx()).dataSync());
    const plain = tf.tidy(() => tf.matMul(tf.matMul(x, a.A, false, true), a.B, false, true).dataSync());
    expect(maxDiff(delta, Array.from(plain, (v) => v * 3))).toBeLessThan(1e-6);
    const exp = exportAsLora(model, "s", null, { taskType: "CAUSAL_LM" });
    expect(exp.config).toMatchObject({ use_rslora: true, r: 4, lora_alpha: 6, alpha_pattern: {}, rank_pattern: {} });
    x.dispose();
    model.dispose();
  });
});
