// Runs one task's evidence plan through train(plan) — the code path users run — and keeps what
// the BeamLoRA and Light-PEFT sections need: results, the summary (learning rates chosen on
// validation), per-step times and tensor memory, BeamLoRA importance/prune events and the
// Light-PEFT pruning decision of every job, and a constant-answer baseline of the test split.
import fs from "node:fs";
import path from "node:path";
import { initBackend, loadDataset, pretraining, tf, train } from "../../dist/index.js";
import { loadTokenizer } from "../../dist/internal.js";
import { ensureBenchBase } from "./base.js";
import { compileOrThrow } from "./fixture.js";
import { evidenceSource, TASK_LABELS } from "./tasks.js";

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
 * The pretrained base of a task, built on first use: the bench base for the generation tasks,
 * peftlab's default base for spam. {dir, cached, seconds, validation, corpus, spec}.
 */
export async function taskBase(task, ctx) {
  if (task !== "spam") return ensureBenchBase(ctx.mode, { log: ctx.log });
  await initBackend(ctx.backend ?? "wasm");
  const dir = await pretraining.ensureDefaultBase("llama", { log: ctx.log });
  const info = JSON.parse(fs.readFileSync(path.join(dir, pretraining.MARKER_FILE), "utf8"));
  return { dir, cached: true, seconds: info.seconds ?? null, validation: info.validation ?? null, corpus: `peftlab's default base: ${info.corpus?.name ?? "English text"} with synthetic arithmetic and code`, spec: info.spec };
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

/**
 * Trains the three runs of `task` in `mode`; returns {task, label, source, results, summary,
 * jobs (Map key → events), baseline, base, wallMs}.
 */
export async function runTaskEvidence(task, ctx) {
  const base = await taskBase(task, ctx);
  const source = evidenceSource(task, ctx.mode, base.dir);
  const plan = compileOrThrow(source, path.join(process.cwd(), `bench-${task}.peft`));
  const dataset = loadDataset(plan.data.d, { baseDir: process.cwd(), modelTokenizer: loadTokenizer(path.join(base.dir, "tokenizer.json")) });
  const sink = eventSink();
  const t0 = Date.now();
  let done = 0;
  const out = await train(plan, {
    backend: ctx.backend ?? "wasm",
    order: "interleaved", // the three methods of a seed train back to back, under similar load
    onEvent: sink.onEvent,
    onJobEnd: (job, r) => {
      done += 1;
      const what = r.status === "finished" ? `validation ${fmt(r.metrics.validation_accuracy)}, ${r.stepMs.toFixed(0)} ms/step` : r.error;
      ctx.log?.(`evidence ${task} [${done}]: ${job.run.name} seed ${job.seed} lr ${job.lr} ${r.status} (${what})`);
    },
  });
  return {
    task,
    label: TASK_LABELS[task],
    source,
    results: out.results,
    summary: out.summary,
    jobs: sink.jobs,
    baseline: constantBaseline(dataset),
    base: { cached: base.cached, seconds: base.seconds, validation: base.validation, corpus: base.corpus, spec: base.spec },
    wallMs: Date.now() - t0,
  };
}

const fmt = (x) => (typeof x === "number" ? x.toFixed(3) : "–");

/** The job events of one run at one lr, by seed (ascending). */
export function jobsOf(ev, run, lr) {
  return [...ev.jobs.values()].filter((j) => j.run === run && j.lr === lr).sort((a, b) => a.seed - b.seed);
}

/** The summary entry of a run. */
export function runSummary(ev, run) {
  const s = ev.summary.runs.find((r) => r.run === run);
  if (!s) throw new Error(`bench evidence ${ev.task}: no run "${run}" in the summary`);
  return s;
}
