#!/usr/bin/env node
// GPU backends, when a machine has one: `npm run build && node bench/gpu.js [--json FILE]`.
//
// Tries tensorflow-gpu (@tensorflow/tfjs-node-gpu, CUDA), webgpu and tensorflow (libtensorflow on
// the CPU), and for each one that loads times a float32 matrix product (1024² and 2048²) and the
// standard LoRA training step (bench/lib/fixture.js, the quick size), next to the native backend
// measured in the same run. Backends that do not load are listed with the reason. No test depends
// on this script: CI machines have no GPU.
import fs from "node:fs";
import { initBackend, tf } from "../dist/index.js";
import { buildStepFixture, stepConfig } from "./lib/fixture.js";
import { sig, summarizeMs, timeCalls } from "./lib/timing.js";

/** @type {import("../dist/index.js").BackendName[]} */
const CANDIDATES = ["tensorflow-gpu", "webgpu", "tensorflow", "native"];

async function matmulGflops(n) {
  const a = tf.randomUniform([n, n], 0, 1, "float32", 1);
  const b = tf.randomUniform([n, n], 0, 1, "float32", 2);
  try {
    // data() waits for asynchronous backends (webgpu) and reads the result back each time
    const ms = [];
    for (let i = 0; i < 8; i++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
      if (i >= 2) ms.push(performance.now() - t0);
    }
    const s = summarizeMs(ms);
    return { size: n, ms_median: sig(s.ms_median), gflops: sig((2 * n ** 3) / (s.ms_median / 1000) / 1e9) };
  } finally {
    a.dispose();
    b.dispose();
  }
}

function stepTokensPerS() {
  const c = stepConfig("quick");
  const fx = buildStepFixture(c);
  try {
    const ms = summarizeMs(timeCalls(() => fx.trainer.trainStep(fx.batch), { warmup: 3, repeats: 10 }));
    return { config: `${c.layers}L×${c.hidden} B${c.batch} T${c.seq} r${c.rank}`, ms_median: sig(ms.ms_median), tokens_per_s: sig(((c.batch * c.seq) / ms.ms_median) * 1000) };
  } finally {
    fx.dispose();
  }
}

async function main() {
  const jsonAt = process.argv.indexOf("--json");
  const out = {};
  for (const name of CANDIDATES) {
    let info;
    try {
      info = await initBackend(name);
    } catch (err) {
      out[name] = { available: false, reason: err instanceof Error ? err.message : String(err) };
      console.log(`${name}: not available (${out[name].reason})`);
      continue;
    }
    console.log(info.line);
    const r = { available: true, detail: info.detail, matmul: [await matmulGflops(1024), await matmulGflops(2048)], train_step: stepTokensPerS() };
    out[name] = r;
    console.log(`  matmul ${r.matmul.map((m) => `${m.size}²: ${m.gflops} GFLOP/s`).join(", ")}; train step ${r.train_step.tokens_per_s} tokens/s`);
  }
  const gpus = ["tensorflow-gpu", "webgpu"].filter((n) => out[n].available);
  if (gpus.length === 0) console.log("no GPU backend loaded on this machine");
  if (jsonAt > 0 && process.argv[jsonAt + 1]) fs.writeFileSync(process.argv[jsonAt + 1], `${JSON.stringify(out, null, 1)}\n`);
}

await main();
