// The frozen-weight product (src/runtime/tensor/frozen) per storage precision, against the float32
// native matrix product of the same shape in the same run: a Linear of a 1B-class model ([out, in]
// as Hugging Face stores it) applied to one sequence of tokens, forward (x·Wᵀ) and input gradient
// (dy·W). Also how fast each precision is made from bfloat16 bytes (load time), the bytes it holds
// per parameter and the relative error of its output. Ratios ≥ 1 mean the quantised weight costs no speed; the memory it saves is
// the point.
import { initBackend, tf, frozen } from "../dist/index.js";
import { sig, summarizeMs, timeCalls } from "./lib/timing.js";

const BUDGET = {
  smoke: { rows: 16, shapes: [[128, 96]], warmup: 1, repeats: 3 },
  quick: { rows: 256, shapes: [[2048, 2048]], warmup: 2, repeats: 9 },
  full: { rows: 256, shapes: [[2048, 2048], [5632, 2048]], warmup: 3, repeats: 15 },
};

const gflops = (rows, out, inF, ms) => (2 * rows * out * inF) / (ms / 1000) / 1e9;

/** Median milliseconds of `fn` (which returns a tensor, disposed after each call). */
function timeTensor(fn, budget) {
  return summarizeMs(timeCalls(() => fn().dispose(), budget)).ms_median;
}

/** One weight shape: the f32 product, then every precision. */
function benchShape(rows, out, inF, budget, log) {
  const x = tf.randomNormal([rows, inF], 0, 1, "float32", 1);
  const dy = tf.randomNormal([rows, out], 0, 1, "float32", 2);
  const w = tf.randomNormal([out, inF], 0, 0.02, "float32", 3);
  const values = w.dataSync();
  const bf16 = new Uint8Array(new Uint16Array(values.length).map((_, i) => new Uint32Array(values.buffer, values.byteOffset + i * 4, 1)[0] >>> 16).buffer);
  try {
    log?.(`frozen: [${out}, ${inF}] float32 product`);
    const f32Forward = timeTensor(() => tf.matMul(x, w, false, true), budget);
    const f32Dx = timeTensor(() => tf.matMul(dy, w), budget);
    const result = {
      out, in: inF,
      f32_forward_gflops: sig(gflops(rows, out, inF, f32Forward)),
      f32_dx_gflops: sig(gflops(rows, out, inF, f32Dx)),
      precisions: {},
    };
    // the reference output: the float32 product on the weight the bfloat16 bytes hold
    const exact = frozen.FrozenWeight.fromBytes(bf16, "BF16", [out, inF], "f32");
    const yRef = frozen.frozenLinear(x, exact);
    exact.dispose();
    const refNorm = tf.tidy(() => tf.norm(yRef).dataSync()[0]);
    for (const precision of frozen.PRECISIONS) {
      log?.(`frozen: [${out}, ${inF}] ${precision}`);
      const loadMs = Math.min(...timeCalls(() => frozen.FrozenWeight.fromBytes(bf16, "BF16", [out, inF], precision).dispose(), { warmup: 1, repeats: 3 }));
      const fw = frozen.FrozenWeight.fromBytes(bf16, "BF16", [out, inF], precision);
      try {
        const forward = timeTensor(() => frozen.frozenLinear(x, fw), budget);
        const relError = tf.tidy(() => tf.norm(tf.sub(frozen.frozenLinear(x, fw), yRef)).dataSync()[0]) / refNorm;
        const dx = timeTensor(() => tf.engine().runKernel(frozen.FROZEN_MATMUL_GRAD, { dy }, { weight: fw.id, out, in: inF }), budget);
        result.precisions[precision] = {
          native: fw.native,
          bytes_per_param: sig(fw.bytes / (out * inF)),
          forward_gflops: sig(gflops(rows, out, inF, forward)),
          dx_gflops: sig(gflops(rows, out, inF, dx)),
          forward_vs_f32: sig(f32Forward / forward),
          dx_vs_f32: sig(f32Dx / dx),
          load_mparams_per_s: sig((out * inF) / (loadMs / 1000) / 1e6),
          // ‖y − y_f32‖ / ‖y_f32‖ for y = x·Wᵀ on this precision (0 for f32 and bf16: the source is bf16)
          output_rel_error: sig(relError, 3),
        };
      } finally {
        fw.dispose();
      }
    }
    yRef.dispose();
    return result;
  } finally {
    tf.dispose([x, dy, w]);
  }
}

/** Runs the frozen-weight benchmark on the native backend; returns the `frozen` JSON section. */
export async function runFrozenBench(ctx) {
  const budget = BUDGET[ctx.mode];
  let info;
  try {
    info = await initBackend("native");
  } catch (err) {
    // no native backend: the ratios are null, with the reason
    const ratio = Object.fromEntries(frozen.PRECISIONS.map((p) => [p, null]));
    return { available: false, reason: err instanceof Error ? err.message : String(err), rows: budget.rows, shapes: [], ratio };
  }
  const shapes = budget.shapes.map(([out, inF]) => benchShape(budget.rows, out, inF, budget, ctx.log));
  const first = shapes[0];
  return {
    available: true,
    backend: info.name,
    threads: info.detail.match(/(\d+) threads?\)/)?.[1] ? Number(info.detail.match(/(\d+) threads?\)/)[1]) : null,
    rows: budget.rows,
    shapes,
    // the headline: the first shape, forward and dx averaged, per precision against float32
    ratio: Object.fromEntries(Object.entries(first.precisions).map(([p, r]) => [p, sig((r.forward_vs_f32 + r.dx_vs_f32) / 2)])),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mode = process.argv.includes("--smoke") ? "smoke" : process.argv.includes("--full") ? "full" : "quick";
  const doc = await runFrozenBench({ mode, log: (l) => process.stderr.write(`${l}\n`) });
  console.log(JSON.stringify(doc, null, 1));
}
