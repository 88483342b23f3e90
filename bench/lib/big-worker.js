// One process's measurement of a large Llama folder (run by bench/big.js and test/big/): load it at
// a base precision, attach LoRA to every linear layer, take training steps of one sequence, and
// print one JSON line: load seconds, step seconds (and the CPU seconds the process used in each:
// about twice the step on two free cores), the one-minute load average before the steps, losses,
// peak resident memory, bytes in the weight store, and whether the adapters moved. Peak memory is the process's own (getrusage), so
// each precision runs in a fresh process.
//
//   node bench/lib/big-worker.js '{"dir": "…", "precision": "nf4", "steps": 3, "tokens": 256}'
import os from "node:os";
import { frozen, initBackend, injectAdapter, loadModel, Trainer } from "../../dist/index.js";

const o = { precision: "nf4", steps: 2, tokens: 256, rank: 16, recompute: true, backend: "native", ...JSON.parse(process.argv[2] ?? "{}") };
const backend = await initBackend(o.backend);
const t0 = performance.now();
const model = await loadModel(o.dir, { precision: o.precision, onWarning: () => {} });
const loadS = (performance.now() - t0) / 1000;
const afterLoadRss = process.resourceUsage().maxRSS * 1024;
/** @type {import("../../dist/index.js").AdapterSpec} */
const spec = {
  method: "lora", r: o.rank, alpha: 2 * o.rank, dropout: 0, rslora: false, init: "kaiming",
  target: { regex: null, names: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] },
  exclude: { regex: null, names: [] }, rankPattern: {}, alphaPattern: {}, adalora: null,
};
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
const modules = injectAdapter(model, "default", spec, { rand });
/** @type {import("../../dist/index.js").TrainSpec} */
const train = {
  steps: o.steps, batch: 1, microBatch: 1, recompute: o.recompute ? "blocks" : "off", lrs: [1e-3],
  schedule: { kind: "constant", warmupSteps: 0, minLrRatio: 0 },
  optimizer: { kind: "adamw", beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  clipNorm: 1, seeds: [1], evalEvery: 0, checkpointEvery: 0, logEvery: 1000, evalExamples: 0, maxLength: 0,
};
const trainer = new Trainer({ model, train, lr: 1e-3, seed: 1 });
const n = o.tokens;
const ids = new Int32Array(n);
for (let i = 0; i < n; i++) ids[i] = 3 + ((i * 7919) % (model.config.vocabSize - 3));
const labels = Int32Array.from(ids);
labels[0] = -100;
/** @type {Parameters<import("../../dist/index.js").Trainer["trainStep"]>[0]} */
const batch = { kind: "causal", size: 1, length: n, ids, mask: new Float32Array(n).fill(1), labels, tokens: n };
const firstB = [...model.linears().values()][0].adapters.get("default").trainable();
const bName = [...firstB.keys()].find((k) => k.includes("lora_B"));
const stepS = [];
const stepCpuS = [];
const losses = [];
const loadAvg = os.loadavg()[0];
for (let s = 0; s < o.steps; s++) {
  const t = performance.now();
  const c = process.cpuUsage();
  losses.push(trainer.trainStep(batch).loss);
  stepS.push((performance.now() - t) / 1000);
  const used = process.cpuUsage(c);
  stepCpuS.push((used.user + used.system) / 1e6);
}
const bMoved = firstB.get(bName).dataSync().some((v) => v !== 0);
const peaks = trainer.memoryPeaks();
const store = frozen.frozenMemory();
console.log(JSON.stringify({
  backend: backend.name, precision: o.precision, tokens: n, rank: o.rank, modules: modules.length, recompute: o.recompute,
  load_s: loadS, step_s: stepS, step_cpu_s: stepCpuS, load_avg: loadAvg, losses, adapters_moved: bMoved,
  peak_rss_bytes: process.resourceUsage().maxRSS * 1024, rss_after_load_bytes: afterLoadRss,
  store_bytes: store.nativeBytes + store.jsBytes, store_native: store.nativeBytes > 0, tensor_peak_bytes: peaks.tensorBytes,
  foundation_params: model.foundationParams(),
}));
trainer.dispose();
model.dispose();
