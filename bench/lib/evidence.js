// Runs one unit of the experiments through train(plan) — the code path users run — and keeps what
// the sections need: results (validation and test metrics of every run × seed × learning rate),
// per-step times and tensor memory, BeamLoRA importance/prune events and the Light-PEFT pruning
// decision of every job, and a constant-answer baseline of the test split.
import fs from "node:fs";
import path from "node:path";
import { initBackend, loadDataset, pretraining, tf, train } from "../../dist/index.js";
import { loadTokenizer } from "../../dist/internal.js";
import { ensureBenchBase } from "./base.js";
import { compileOrThrow } from "./fixture.js";
import { experimentUnits } from "./experiments.js";

const jobKey = (run, seed, lr) => `${run}|${seed}|${lr}`;

/** Test-split score of always answering the training split's most common answer (chance level). */
export function constantBaseline(dataset) {
  const answer = (e) => (dataset.kind === "classification" ? e.label : e.completion);
  const counts = new Map();
  for (const e of dataset.train) counts.set(answer(e), (counts.get(answer(e)) ?? 0) + 1);
  let best = null;
  for (const [a, n] of counts) if (best === null || n > counts.get(best)) best = a;
  const hits = dataset.test.filter((e) => answer(e) === best).length;
  return { answer: best, test_score: dataset.test.length ? hits / dataset.test.length : null };
}

/**
 * The pretrained base of the experiments, built on first use. `which`: "bench" (the bench base,
 * bench/lib/base.js, per mode), "default" (peftlab's default base, `model base = pretrained`) or
 * the path of a Hugging Face folder. {dir, cached, seconds, validation, corpus, spec, params}.
 */
export async function experimentBase(which, ctx) {
  if (!which || which === "bench") return ensureBenchBase(ctx.mode, { log: ctx.log });
  await initBackend(ctx.backend ?? "wasm");
  const dir = which === "default" ? await pretraining.ensureDefaultBase("llama", { log: ctx.log }) : path.resolve(which);
  const marker = path.join(dir, pretraining.MARKER_FILE);
  const info = fs.existsSync(marker) ? JSON.parse(fs.readFileSync(marker, "utf8")) : {};
  const corpus = which === "default" ? `peftlab's default base: ${info.corpus?.name ?? "its pretraining corpus"}` : `the model folder ${dir}`;
  return { dir, cached: true, seconds: info.seconds ?? null, validation: info.validation ?? null, corpus, spec: info.spec ?? null };
}

/** Collects the events the sections use, per job. */
function eventSink() {
  const jobs = new Map();
  const get = (job) => {
    const key = jobKey(job.run.name, job.seed, job.lr);
    let j = jobs.get(key);
    if (!j) {
      j = { run: job.run.name, seed: job.seed, lr: job.lr, steps: [], importance: [], prunes: [], lightPrune: null };
      jobs.set(key, j);
    }
    return j;
  };
  const onEvent = (job, e) => {
    const j = get(job);
    if (e.type === "step") j.steps.push({ step: e.step, ms: e.stepMs, loss: e.loss, bytes: tf.memory().numBytes });
    else if (e.type === "beam.importance") j.importance.push(e);
    else if (e.type === "beam.prune") j.prunes.push(e);
    else if (e.type === "lightpeft.prune") j.lightPrune = e;
  };
  return { jobs, onEvent };
}

/** Parameters of a Hugging Face folder, from its safetensors headers (shapes only). */
export function folderParams(dir) {
  let total = 0;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".safetensors"))) {
    const fd = fs.openSync(path.join(dir, f), "r");
    try {
      const len = Buffer.alloc(8);
      fs.readSync(fd, len, 0, 8, 0);
      const n = Number(len.readBigUInt64LE(0));
      const head = Buffer.alloc(n);
      fs.readSync(fd, head, 0, n, 8);
      for (const [k, v] of Object.entries(JSON.parse(head.toString("utf8")))) if (k !== "__metadata__") total += v.shape.reduce((a, b) => a * b, 1);
    } finally {
      fs.closeSync(fd);
    }
  }
  return total;
}

/**
 * Trains one unit of the experiments (bench/lib/experiments.js) in `ctx.mode`: every run × seed ×
 * learning rate of its plan, the runs of a seed back to back. Returns {unit, experiment, task,
 * rank, seeds, source, results, jobs (Map key → events), baseline, base, wallMs}.
 */
export async function runUnitEvidence(unitId, ctx) {
  const unit = experimentUnits(ctx.mode).find((u) => u.id === unitId);
  if (!unit) throw new Error(`no experiment unit "${unitId}" in ${ctx.mode} mode`);
  const base = await experimentBase(ctx.base, ctx);
  const source = unit.source(base.dir);
  const plan = compileOrThrow(source, path.join(process.cwd(), `bench-${unit.id.replaceAll("/", "-")}.peft`));
  const dataset = loadDataset(plan.data.d, { baseDir: process.cwd(), modelTokenizer: loadTokenizer(path.join(base.dir, "tokenizer.json")) });
  const sink = eventSink();
  const t0 = Date.now();
  let done = 0;
  const out = await train(plan, {
    backend: ctx.backend ?? "wasm",
    order: "interleaved", // the runs of a seed and learning rate train back to back, under similar load
    onEvent: sink.onEvent,
    onJobEnd: (job, r) => {
      done += 1;
      const what = r.status === "finished" ? `validation ${fmt(r.metrics.validation_accuracy)}, ${r.stepMs.toFixed(0)} ms/step, ${(r.wallMs / 1000).toFixed(1)} s` : r.error;
      ctx.log?.(`evidence ${unit.id} [${done}]: ${job.run.name} seed ${job.seed} lr ${job.lr} ${r.status} (${what})`);
    },
  });
  return {
    unit: unit.id,
    experiment: unit.experiment,
    task: unit.task,
    rank: unit.rank,
    seeds: unit.seeds,
    source,
    results: out.results,
    jobs: sink.jobs,
    baseline: constantBaseline(dataset),
    base: { cached: base.cached, seconds: base.seconds, validation: base.validation, corpus: base.corpus, spec: base.spec, params: folderParams(base.dir) },
    wallMs: Date.now() - t0,
  };
}

const fmt = (x) => (typeof x === "number" ? x.toFixed(3) : "–");

/** The job events of one run at one lr, by seed (ascending). */
export function jobsOf(ev, run, lr) {
  return [...ev.jobs.values()].filter((j) => j.run === run && j.lr === lr).sort((a, b) => a.seed - b.seed);
}

