// The wasm kernels and gradients we add, checked against the cpu backend on random inputs.
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { initBackend } from "../../src/runtime/tensor/backend.js";
import { registerMissingGradients, registerMissingWasmKernels, WASM_KERNELS } from "../../src/runtime/tensor/kernels/index.js";
import { Rng } from "../../src/runtime/rng.js";

type Values = number[][];

/** Runs `f` on wasm and on cpu with the same inputs and returns the flattened outputs. */
async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<{ wasm: Values; cpu: Values }> {
  const run = async (backend: string): Promise<Values> => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const values = tf.tidy(() => {
      const out = f();
      return (Array.isArray(out) ? out : [out]).map((t) => Array.from(t.dataSync()));
    });
    expect(tf.memory().numTensors, `tensors leaked on ${backend}`).toBe(before);
    return values;
  };
  const wasm = await run("wasm");
  const cpu = await run("cpu");
  await tf.setBackend("wasm");
  return { wasm, cpu };
}

function expectClose(actual: Values, expected: Values, tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, k) => {
    const e = expected[k]!;
    expect(a.length).toBe(e.length);
    const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - e[i]!) / (1 + Math.abs(e[i]!))), 0);
    expect(worst, `output ${k}`).toBeLessThan(tol);
  });
}

const rng = new Rng(1234);
const randn = (shape: number[]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, () => rng.normal()), shape, "float32");
};
const randInts = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => rng.range(lo, hi));

/** Gradient of sum(f(v) * w) w.r.t. v, for a random weighting w of f's output. */
function gradOf(f: (v: tf.Tensor) => tf.Tensor, v0: number[], shape: number[], w0: number[]): tf.Tensor[] {
  const v = tf.tensor(v0, shape);
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), tf.tensor(w0, f(v).shape))))(v);
  return [g];
}

beforeAll(async () => {
  const info = await initBackend("wasm");
  expect(info.name).toBe("wasm");
});

describe("registration", () => {
  it("registers every missing wasm kernel once", () => {
    for (const k of WASM_KERNELS) expect(tf.getKernel(k.kernelName, "wasm")).toBeDefined();
    expect(registerMissingWasmKernels()).toEqual([]);
    expect(registerMissingGradients()).toEqual([]);
  });
});

describe("UnsortedSegmentSum on wasm", () => {
  const cases: { name: string; x: () => tf.Tensor; ids: number[]; idsShape: number[]; n: number }[] = [
    { name: "rows, with out-of-range ids dropped", x: () => randn([7, 3, 2]), ids: [0, 2, 2, -1, 4, 1, 0], idsShape: [7], n: 4 },
    { name: "int32 values", x: () => tf.tensor(randInts(12, -5, 5), [6, 2], "int32"), ids: [1, 1, 0, 2, 2, 2], idsShape: [6], n: 3 },
    { name: "scalar rows", x: () => randn([5]), ids: [3, 3, 0, 1, 3], idsShape: [5], n: 5 },
  ];
  it.each(cases)("$name matches cpu", async ({ x, ids, idsShape, n }) => {
    const xv = x();
    const { wasm, cpu } = await onBoth(() => tf.unsortedSegmentSum(xv, tf.tensor(ids, idsShape, "int32"), n));
    expectClose(wasm, cpu);
    xv.dispose();
  });

  it("accepts rank-2 segment ids (a prefix of x's shape)", async () => {
    await tf.setBackend("wasm");
    const out = tf.engine().runKernel("UnsortedSegmentSum", { x: tf.tensor3d([[[1], [2]], [[3], [4]]]), segmentIds: tf.tensor2d([[0, 1], [1, 1]], [2, 2], "int32") }, { numSegments: 2 }) as tf.Tensor;
    expect(out.arraySync()).toEqual([[1], [9]]);
    out.dispose();
  });

  it("computes the sum by hand", async () => {
    await tf.setBackend("wasm");
    const out = tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([1, 1, 0], "int32"), 3);
    expect(out.arraySync()).toEqual([[5, 6], [4, 6], [0, 0]]);
    out.dispose();
  });
});

describe("gradients through gather on wasm", () => {
  const cases = [
    { name: "embedding rows (axis 0), duplicates", shape: [6, 4], idx: [5, 0, 5, 2, 2, 2], idxShape: [6], axis: 0 },
    { name: "token ids [B, T]", shape: [9, 3], idx: randInts(10, 0, 8), idxShape: [2, 5], axis: 0 },
    { name: "columns (axis 1)", shape: [3, 5], idx: [4, 4, 1], idxShape: [3], axis: 1 },
  ];
  it.each(cases)("$name matches cpu", async ({ shape, idx, idxShape, axis }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v0 = Array.from({ length: n }, () => rng.normal());
    const outShape = [...shape.slice(0, axis), ...idxShape, ...shape.slice(axis + 1)];
    const w0 = Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, () => rng.normal());
    const { wasm, cpu } = await onBoth(() => gradOf((x) => tf.gather(x, tf.tensor(idx, idxShape, "int32"), axis), v0, shape, w0));
    expectClose(wasm, cpu);
  });
});

describe("Einsum on wasm", () => {
  const cases: { eq: string; shapes: number[][] }[] = [
    { eq: "ij,jk->ik", shapes: [[3, 4], [4, 5]] },
    { eq: "bij,bjk->bik", shapes: [[2, 3, 4], [2, 4, 2]] },
    { eq: "bhqd,bhkd->bhqk", shapes: [[2, 2, 3, 4], [2, 2, 5, 4]] },
    { eq: "ij,ij->i", shapes: [[3, 4], [3, 4]] },
    { eq: "i,j->ij", shapes: [[3], [4]] },
    { eq: "ijk,jl->li", shapes: [[2, 3, 4], [3, 5]] },
    { eq: "ij->ji", shapes: [[3, 4]] },
    { eq: "ijk->k", shapes: [[2, 3, 4]] },
  ];
  it.each(cases)("$eq forward and gradients match cpu", async ({ eq, shapes }) => {
    const inputs = shapes.map((s) => Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()));
    const { wasm, cpu } = await onBoth(() => {
      const ts = inputs.map((v, i) => tf.tensor(v, shapes[i]));
      const y = tf.einsum(eq, ...ts);
      const w = tf.tensor(Array.from({ length: y.size }, (_, i) => Math.sin(i + 1)), y.shape);
      const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(tf.einsum(eq, ...xs), w)))(ts);
      return [y, ...grads];
    });
    expectClose(wasm, cpu);
  });

  it("agrees with matMul", async () => {
    await tf.setBackend("wasm");
    const [a, b] = [randn([2, 3, 4]), randn([2, 5, 4])];
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.einsum("bqd,bkd->bqk", a, b), tf.matMul(a, b, false, true)))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-5);
    tf.dispose([a, b]);
  });

  it.each([
    ["ij,jk->ik", [[2, 3], [4, 2]], /index 'j' has size 3 and 4/],
    ["ii->i", [[2, 2]], /index repeated within "ii"/],
    ["...ij->ij", [[2, 2]], /ellipsis/],
    ["ij->k", [[2, 2]], /output index 'k' appears in no operand/],
    ["ij,jk", [[2, 3], [3, 2]], /output must be explicit/],
  ] as [string, number[][], RegExp][])("rejects %s", async (eq, shapes, message) => {
    await tf.setBackend("wasm");
    const ts = shapes.map((s) => tf.zeros(s));
    expect(() => tf.einsum(eq, ...ts)).toThrow(message);
    tf.dispose(ts);
  });
});

describe("BatchMatMul with transposed inputs on wasm (explicit transpose, then a plain product)", () => {
  const cases = [
    { name: "2-D, transposeB", a: [5, 7], b: [3, 7], ta: false, tb: true },
    { name: "2-D, transposeA", a: [7, 5], b: [7, 3], ta: true, tb: false },
    { name: "2-D, both", a: [7, 5], b: [3, 7], ta: true, tb: true },
    { name: "4-D attention scores, transposeB", a: [2, 3, 6, 4], b: [2, 3, 6, 4], ta: false, tb: true },
    { name: "3-D, transposeA", a: [4, 6, 5], b: [4, 6, 2], ta: true, tb: false },
  ];
  it.each(cases)("$name: forward and gradients match cpu", async ({ a, b, ta, tb }) => {
    const av = Array.from(randn(a).dataSync());
    const bv = Array.from(randn(b).dataSync());
    const { wasm, cpu } = await onBoth(() => {
      const x = tf.tensor(av, a);
      const y = tf.tensor(bv, b);
      const f = (p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q, ta, tb)));
      const [ga, gb] = tf.grads(f)([x, y]);
      return [tf.matMul(x, y, ta, tb), ga!, gb!];
    });
    expectClose(wasm, cpu);
  });
});

describe("gradients tfjs lacks", () => {
  it("flows through where(greater(x, 0), x, 0.1·x) like a leaky relu", async () => {
    const x0 = [-2, -0.5, 0.5, 3];
    const { wasm, cpu } = await onBoth(() => gradOf((x) => tf.where(tf.greater(x, 0), x, tf.mul(x, 0.1)), x0, [4], [1, 1, 1, 1]));
    expectClose(wasm, [[0.1, 0.1, 1, 1]]);
    expectClose(cpu, [[0.1, 0.1, 1, 1]]);
  });

  it("routes stridedSlice gradients to the read positions", async () => {
    const v0 = Array.from({ length: 24 }, (_, i) => i);
    const w0 = [1, 2, 3, 4, 5, 6];
    // x [4, 6]: rows 1..3 step 2 → rows 1, 3; columns 0..5 step 2 → 0, 2, 4.
    const { wasm, cpu } = await onBoth(() => gradOf((x) => tf.stridedSlice(x, [1, 0], [4, 6], [2, 2]), v0, [4, 6], w0));
    const expected = new Array(24).fill(0);
    [[1, 0], [1, 2], [1, 4], [3, 0], [3, 2], [3, 4]].forEach(([r, c], i) => (expected[r! * 6 + c!] = w0[i]));
    expectClose(wasm, [expected]);
    expectClose(cpu, [expected]);
  });

  it("stridedSlice with begin/end/shrink masks matches a slice-based reference", async () => {
    const v0 = Array.from({ length: 24 }, () => rng.normal());
    const { wasm, cpu } = await onBoth(() => [
      ...gradOf((x) => tf.stridedSlice(x, [0, 2, 0], [0, 3, 4], [1, 1, 1], 1, 5, 0, 0, 2), v0, [2, 3, 4], [1, -2, 3, 0.5, 2, 1, -1, 4]),
      ...gradOf((x) => tf.reshape(tf.slice(x, [0, 2, 0], [2, 1, 4]), [2, 4]), v0, [2, 3, 4], [1, -2, 3, 0.5, 2, 1, -1, 4]),
    ]);
    expectClose([wasm[0]!], [wasm[1]!]);
    expectClose(wasm, cpu);
  });

  it("sums gatherND gradients over repeated indices", async () => {
    const v0 = Array.from({ length: 6 }, () => rng.normal());
    const { wasm, cpu } = await onBoth(() => gradOf((x) => tf.gatherND(x, tf.tensor2d([[0, 1], [2, 0], [0, 1]], [3, 2], "int32")), v0, [3, 2], [1, 2, 3]));
    expectClose(wasm, [[0, 4, 0, 0, 2, 0]]);
    expectClose(cpu, wasm);
  });
});

describe("a transformer-style training step on wasm", () => {
  // Embedding → RMSNorm → causal attention (batched matMul with transposes) → GELU(erf) and tanh
  // MLP → logSoftmax cross-entropy with oneHot and a padding mask: every op a llama / gpt2 / bert
  // step uses, forward and backward, against cpu.
  const [B, T, C, V, H] = [2, 5, 8, 11, 2];
  const ids = randInts(B * T, 0, V - 1);
  const targets = randInts(B * T, 0, V - 1);
  const init = (n: number) => Array.from({ length: n }, () => rng.normal() * 0.3);
  const params = { emb: init(V * C), wq: init(C * C), wk: init(C * C), wv: init(C * C), w1: init(C * 2 * C), w2: init(2 * C * C), head: init(C * V) };

  function step(): tf.Tensor[] {
    const vars = Object.entries(params).map(([name, v]) => {
      const shape = name === "emb" ? [V, C] : name === "w1" ? [C, 2 * C] : name === "w2" ? [2 * C, C] : name === "head" ? [C, V] : [C, C];
      return tf.tensor(v, shape);
    });
    const loss = (emb: tf.Tensor, wq: tf.Tensor, wk: tf.Tensor, wv: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, head: tf.Tensor) => {
      const x = tf.gather(emb, tf.tensor2d(ids, [B, T], "int32")); // [B, T, C]
      const norm = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6)));
      const flat = tf.reshape(norm, [B * T, C]);
      const heads = (w: tf.Tensor) => tf.transpose(tf.reshape(tf.matMul(flat, w), [B, T, H, C / H]), [0, 2, 1, 3]); // [B, H, T, D]
      const [q, k, v] = [heads(wq), heads(wk), heads(wv)];
      const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
      const scores = tf.where(tf.greater(causal, 0), tf.div(tf.matMul(q, k, false, true), Math.sqrt(C / H)), tf.fill([B, H, T, T], -1e9));
      const attn = tf.matMul(tf.softmax(scores), v); // [B, H, T, D]
      const merged = tf.reshape(tf.transpose(attn, [0, 2, 1, 3]), [B * T, C]);
      const h = tf.add(flat, merged);
      const up = tf.matMul(h, w1);
      const gelu = tf.mul(tf.mul(up, 0.5), tf.add(1, tf.erf(tf.div(up, Math.SQRT2))));
      const act = tf.add(gelu, tf.mul(tf.tanh(up), tf.sigmoid(up)));
      const mlp = tf.add(h, tf.matMul(act, w2));
      const parts = tf.concat([tf.slice(mlp, [0, 0], [B * T, C / 2]), tf.stridedSlice(mlp, [0, C / 2], [B * T, C], [1, 1])], 1);
      const logits = tf.matMul(tf.maximum(parts, tf.sub(parts, tf.abs(parts))), head);
      const logp = tf.logSoftmax(logits);
      const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(targets, "int32"), V)), -1);
      const mask = tf.cast(tf.tile(tf.tensor2d([[1, 1, 1, 1, 0]], [1, T]), [B, 1]), "float32");
      const nll = tf.neg(tf.div(tf.sum(tf.mul(picked, tf.reshape(mask, [-1]))), tf.sum(mask)));
      return tf.add(nll, tf.mul(1e-3, tf.log(tf.add(1, tf.exp(tf.mean(tf.square(emb)))))));
    };
    const { value, grads } = tf.valueAndGrads(loss as (...a: tf.Tensor[]) => tf.Scalar)(vars);
    return [value, ...grads];
  }

  it("loss and every gradient match cpu, with no leaked tensors", async () => {
    const { wasm, cpu } = await onBoth(step);
    expect(Number.isFinite(wasm[0]![0]!)).toBe(true);
    expectClose(wasm, cpu, 1e-3);
  });
});

describe("wasm kernels fixed for int32 and bool", () => {
  const ints = () => tf.tensor(Array.from({ length: 24 }, (_, i) => ((i * 7) % 13) - 4), [4, 6], "int32");
  const bools = () => tf.tensor(Array.from({ length: 24 }, (_, i) => (i * 5) % 3 === 0), [4, 6], "bool");
  const cases: [string, () => tf.Tensor | tf.Tensor[]][] = [
    ["cast int32 → bool", () => tf.cast(ints(), "bool")],
    ["cast float32 → bool", () => tf.cast(tf.tensor1d([0, 0.5, -2, 0, 1e-30]), "bool")],
    ["stridedSlice int32", () => tf.stridedSlice(ints(), [1, 0], [4, 6], [2, 2])],
    ["stridedSlice int32, negative strides", () => tf.stridedSlice(ints(), [3, 5], [0, 0], [-1, -2])],
    ["stridedSlice int32, masks", () => tf.stridedSlice(tf.reshape(ints(), [2, 3, 4]), [0, 2, 1], [0, 3, 4], [1, 1, 1], 1, 1, 0, 0, 2)],
    ["stridedSlice int32, new axis", () => tf.stridedSlice(ints(), [0, 0, 1], [0, 4, 6], [1, 1, 2], 0, 0, 0, 1, 0)],
    ["stridedSlice bool", () => tf.stridedSlice(bools(), [0, 1], [4, 6], [3, 2])],
    ["clipByValue int32", () => tf.clipByValue(ints(), -1, 2)],
    ["reverse bool", () => tf.reverse(bools(), 1)],
    ["where with bool branches", () => tf.where(tf.greater(ints(), 0), bools(), tf.logicalNot(bools()))],
    ["float32 paths unchanged", () => [tf.stridedSlice(tf.cast(ints(), "float32"), [0, 1], [4, 6], [2, 2]), tf.reverse(tf.cast(ints(), "float32"), 0)]],
  ];
  it.each(cases)("%s matches cpu", async (_name, f) => {
    const { wasm, cpu } = await onBoth(f);
    expect(wasm).toEqual(cpu);
  });
});
