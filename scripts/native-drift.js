#!/usr/bin/env node
// Is a difference between the native and wasm backends a kernel's bug or float rounding that grew?
//
//   npm run build && node scripts/native-drift.js [--base DIR] [--seed N] [--steps N] [--lr X] [--batches N] [--disable K1,K2]
//
// On one LoRA job (2-digit addition, rank 8 on every linear layer, dropout 0.05, the bench's base
// unless --base names a Hugging Face folder) it prints:
//   1. the training losses of the first --steps steps on wasm, on native, and on wasm with the
//      learning rate changed in its 7th digit: the step where each run parts from wasm's
//      (|Δloss| > 1e-3). Rounding differences grow by about 10× per 10 steps and part the runs
//      after tens of steps, about when the perturbed run parts; a wrong kernel parts them at once;
//   2. from the weights wasm reached there, the gradients of --batches batches (with dropout) on
//      both backends: per batch the relative L2 difference over all adapter gradients and the worst
//      tensor. Rounding gives a few 1e-6; a wrong gradient kernel gives far more. --disable leaves
//      those kernels on wasm for the native side (as PEFTLAB_NATIVE_DISABLE does), to bisect.
import path from "node:path";
import { Batcher, compileSource, executeJob, expandJobs, initBackend, tf } from "../dist/index.js";
import { disableNativeKernels, enableNativeKernels } from "../dist/runtime/tensor/native/index.js";
import { disposeBatch, taskLoss, toTensors } from "../dist/runtime/train/batch.js";
import { ensureBenchBase } from "../bench/lib/base.js";

function options(argv) {
  const o = { base: null, seed: 1, steps: 60, lr: 0.012, batches: 10, disable: "" };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, "");
    const value = argv[i + 1];
    if (!(key in o) || value === undefined) throw new Error(`usage: node scripts/native-drift.js [--base DIR] [--seed N] [--steps N] [--lr X] [--batches N] [--disable K1,K2]; got "${argv[i]}"`);
    o[key] = typeof o[key] === "number" ? Number(value) : value;
  }
  return o;
}

const o = options(process.argv.slice(2));
const info = await initBackend("native");
console.log(info.line);
const threads = Number(/(\d+) threads?\)/.exec(info.detail)?.[1] ?? 1);
const base = o.base ? path.resolve(o.base) : ensureBenchBase("full", { log: console.log }).dir;
const source = (lr) => [
  `model base = hf ${JSON.stringify(base)} { head causal_lm }`,
  "data d = addition { digits 2, train 3000, validation 150, test 300, tokenizer model }",
  'adapter a = lora { rank 8, alpha 16, dropout 0.05, target "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" }',
  // The schedule of a 400-step run, stopped after --steps.
  `train { steps 400, batch 32, lr ${lr} cosine warmup 3%, seeds ${o.seed}, eval end on all, checkpoint off, log every 1 steps }`,
  "run lora = base + a on d",
].join("\n");

/** Kernels on: "wasm" (none), "native" (all but --disable). */
function use(kernels) {
  disableNativeKernels();
  if (kernels === "native") {
    process.env.PEFTLAB_NATIVE_DISABLE = o.disable;
    enableNativeKernels(threads);
  }
}

/** The first --steps training losses at `lr` on `kernels`, and the job (model, dataset) there. */
async function trajectory(kernels, lr) {
  use(kernels);
  const { plan, diagnostics } = compileSource(source(lr), "drift.peft");
  if (!plan) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const [spec] = expandJobs(plan);
  const losses = [];
  const job = await executeJob(spec, { backend: kernels, baseDir: process.cwd(), emit: (e) => e.type === "step" && losses.push(e.loss), shouldStop: () => losses.length >= o.steps });
  if (!job.model) throw new Error(job.result.error);
  return { losses, job };
}

const parts = (a, b) => {
  const i = a.findIndex((x, k) => Math.abs(x - b[k]) > 1e-3);
  return i < 0 ? `not within ${a.length} steps` : `at step ${i + 1}`;
};
const at = (a, b) => [1, 10, 20, 30, 40, 50].filter((s) => s <= a.length).map((s) => `${s}: ${Math.abs(a[s - 1] - b[s - 1]).toExponential(0)}`).join(", ");

const wasm = await trajectory("wasm", o.lr);
const others = [["native", "native", o.lr], ["wasm, lr changed in its 7th digit", "wasm", Number((o.lr * (1 + 1e-6)).toPrecision(9))]];
console.log(`\n1. training losses, seed ${o.seed}, lr ${o.lr}: where each run parts from wasm's (|Δloss| > 1e-3), and |Δloss| at some steps`);
for (const [label, kernels, lr] of others) {
  const run = await trajectory(kernels, lr);
  console.log(`   ${label}: parts ${parts(wasm.losses, run.losses)}; ${at(wasm.losses, run.losses)}`);
  run.job.trainer?.dispose();
  run.job.model?.dispose();
}

const { model, trainer, dataset } = wasm.job;
const named = trainer.trainableVariables();
const vars = [...named.values()];
/** Loss and adapter gradients of `batch` on `kernels`, dropout seeded the same way on both. */
function gradients(batch, kernels) {
  use(kernels);
  const bt = toTensors(batch);
  let n = 0;
  const fwd = { training: true, nextSeed: () => (12345 + 104729 * n++) >>> 0, recompute: false };
  const { value, grads } = tf.variableGrads(() => taskLoss(model.forward(bt.ids, bt.mask, fwd), bt), vars);
  const g = new Map([...named].map(([name, v]) => [name, grads[v.name].dataSync().slice()]));
  const loss = value.dataSync()[0];
  value.dispose();
  for (const t of Object.values(grads)) t.dispose();
  disposeBatch(bt);
  return { loss, g };
}
console.log(`\n2. adapter gradients from wasm's weights after ${trainer.step} steps, native${o.disable ? ` without ${o.disable}` : ""} vs wasm`);
const batcher = new Batcher(dataset.train, dataset, { batch: 32, maxLength: model.config.maxPositions, seed: o.seed + 1000 });
let worstAll = 0;
for (let b = 0; b < o.batches; b++) {
  const batch = batcher.next();
  const w = gradients(batch, "wasm");
  const n = gradients(batch, "native");
  let d2 = 0, n2 = 0, worst = [0, ""];
  for (const [name, x] of w.g) {
    const y = n.g.get(name);
    let dd = 0, nn = 0;
    for (let i = 0; i < x.length; i++) {
      dd += (x[i] - y[i]) ** 2;
      nn += x[i] ** 2;
    }
    d2 += dd;
    n2 += nn;
    const r = Math.sqrt(dd / Math.max(nn, 1e-30));
    if (r > worst[0]) worst = [r, name];
  }
  worstAll = Math.max(worstAll, worst[0]);
  console.log(`   batch ${b + 1} [${batch.size}×${batch.length}]: loss ${w.loss.toFixed(7)} vs ${n.loss.toFixed(7)}, gradients ${Math.sqrt(d2 / n2).toExponential(1)} (worst tensor ${worst[0].toExponential(1)}, ${worst[1]})`);
}
console.log(`   worst tensor over all batches: ${worstAll.toExponential(1)} relative`);
use("wasm");
trainer.dispose();
model.dispose();
