// Frozen weights where the native addon cannot be used: they are held in JavaScript arrays in the
// same formats, and the frozen ops run on the dequantised float32 weight (here on the cpu backend).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import {
  dequantise, FrozenWeight, frozenEmbedding, frozenLinear, frozenMemory, nativeStore, PRECISIONS, quantise, storageBytes,
} from "../../src/runtime/tensor/frozen/index.js";
import { Rng } from "../../src/runtime/rng.js";
import { useCpu } from "./helpers.js";

const saved = process.env.PEFTLAB_NATIVE_PATH;
const rng = new Rng(7);
const randArray = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * 0.1);

beforeAll(async () => {
  process.env.PEFTLAB_NATIVE_PATH = "/nonexistent/peftlab.node"; // switches the addon off
  await useCpu();
});

afterAll(() => {
  if (saved === undefined) delete process.env.PEFTLAB_NATIVE_PATH;
  else process.env.PEFTLAB_NATIVE_PATH = saved;
});

describe("frozen weights without the addon", () => {
  it("are held in JavaScript in the same formats, and the ops use the dequantised weight", () => {
    expect(nativeStore()).toBeNull();
    const start = frozenMemory();
    for (const precision of PRECISIONS) {
      const values = randArray(33 * 70);
      const w = FrozenWeight.fromFloat32(values, [33, 70], precision);
      expect(w.native).toBe(false);
      expect(frozenMemory().jsBytes - start.jsBytes).toBe(storageBytes(precision, 33, 70));
      const ref = quantise(values, 33, 70, precision);
      expect(w.stored()).toEqual(ref);
      const deq = dequantise(ref);
      expect([...w.toFloat32()]).toEqual([...deq]);

      const x = tf.tensor2d(randArray(5 * 70), [5, 70]);
      const before = tf.memory().numTensors;
      const [y, dx] = tf.tidy(() => {
        const f = (a: tf.Tensor) => tf.sum(frozenLinear(a, w));
        return [frozenLinear(x, w).dataSync() as Float32Array, tf.grad(f)(x).dataSync() as Float32Array];
      });
      expect(tf.memory().numTensors, "only the weight's cached tensor stays").toBe(before + 1);
      const [yRef, dxRef] = tf.tidy(() => {
        const wt = tf.tensor2d(deq, [33, 70]);
        return [tf.matMul(x, wt, false, true).dataSync() as Float32Array, tf.sum(wt, 0).broadcastTo([5, 70]).dataSync() as Float32Array];
      });
      expect([...y]).toEqual([...yRef]);
      dx.forEach((v, i) => expect(v).toBeCloseTo(dxRef[i]!, 5));

      const ids = tf.tensor1d([32, 0, 5], "int32");
      const rows = tf.tidy(() => frozenEmbedding(w, ids).dataSync() as Float32Array);
      expect([...rows]).toEqual([...deq.subarray(32 * 70, 33 * 70), ...deq.subarray(0, 70), ...deq.subarray(5 * 70, 6 * 70)]);
      ids.dispose();

      w.dispose();
      expect(tf.memory().numTensors, "dispose frees the cached tensor").toBe(before);
      x.dispose();
    }
    expect(frozenMemory()).toEqual(start);
  });

  it("streams rows into a writer the same as one write", () => {
    const values = randArray(40 * 24);
    const writer = FrozenWeight.writer([40, 24], "nf4");
    expect(writer.rowAlign).toBe(8);
    for (let r = 0; r < 40; r += 16) {
      const part = values.slice(r * 24, Math.min(40, r + 16) * 24);
      writer.write(r, new Uint8Array(part.buffer), "F32");
    }
    const w = writer.finish();
    expect(w.stored()).toEqual(quantise(values, 40, 24, "nf4"));
    w.dispose();
  });
});
