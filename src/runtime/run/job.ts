// One job = one run × seed × learning rate of a plan: build the model and data, inject the
// adapters, attach the plug-ins, train with periodic evaluation and checkpoints, and evaluate
// on the validation and test splits at the end.
import * as path from "node:path";
import type { Plan, RunSpec } from "../../dsl/plan.js";
import type { Batch } from "../data/types.js";
import { readCheckpointState, recoverCheckpoint, restoreCheckpoint, saveCheckpoint } from "../train/checkpoint.js";
import { classify, evaluateLoss, greedyExactMatch, majorityScore } from "../train/evaluate.js";
import type { Prediction, RunEvent, RunResult } from "../../results/events.js";
import { injectAdapter } from "../adapters/inject.js";
import { importAdapter } from "../adapters/peft-io.js";
import type { FamilyModel } from "../models/model.js";
import { buildModel } from "./base-model.js";
import { type ClassificationExample, type Dataset, type Example, type GenerationExample, batchesOf, Batcher, loadDataset } from "../data/index.js";
import { Rng, uniformOf } from "../rng.js";
import { Trainer, type TrainerPlugin } from "../train/trainer.js";
import { createBeamLoraPlugin } from "../plugins/beamlora/index.js";
import { createLightPeftPlugin } from "../plugins/lightpeft/index.js";
import { adaloraPluginsFor } from "../plugins/adalora/plugin.js";

export interface JobSpec {
  plan: Plan;
  run: RunSpec;
  seed: number;
  lr: number;
}

export interface JobOptions {
  /** Directory that relative paths in the plan are resolved against. */
  baseDir: string;
  backend: string;
  emit?: (e: RunEvent) => void;
  /** Where checkpoints go (null = none). */
  checkpointDir?: string | null;
  /** Continue from the checkpoint in checkpointDir when there is one. */
  resume?: boolean;
  /** Polled after every step; true = write a checkpoint and stop (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Extra job state recorded in each checkpoint (e.g. log sizes), and handed back on resume. */
  checkpointExtras?: () => Record<string, unknown>;
  /** Called when the job continues from its checkpoint, with the extras recorded there and its step. */
  onResume?: (extras: Record<string, unknown>, step: number) => void;
  /** Cache of loaded datasets across jobs, keyed by data name. */
  datasets?: Map<string, Dataset>;
}

export interface JobOutcome {
  result: RunResult;
  /** The trained model (caller exports and disposes it). Null when the job failed early. */
  model: FamilyModel | null;
  trainer: Trainer | null;
  dataset: Dataset | null;
  /** True when the job stopped on request before finishing (a checkpoint was written). */
  interrupted: boolean;
  /** Every scored test example with the model's answer (empty unless the job finished). */
  predictions: Prediction[];
}

/**
 * The order of a plan's jobs. "runs": each run's jobs together (learning rates × seeds). "interleaved":
 * by learning rate and seed first, so the runs of one seed train one after the other; on a shared
 * machine their step times are then measured under similar load.
 */
export type JobOrder = "runs" | "interleaved";

/** Every job of a plan, in `order` (default "runs"), optionally filtered by run name. */
export function expandJobs(plan: Plan, only?: string[], order: JobOrder = "runs"): JobSpec[] {
  const jobs: { job: JobSpec; key: [number, number, number] }[] = [];
  plan.runs.forEach((run, r) => {
    if (only && only.length && !only.includes(run.name)) return;
    run.train.lrs.forEach((lr, l) => run.train.seeds.forEach((seed, s) => jobs.push({ job: { plan, run, seed, lr }, key: [l, s, r] })));
  });
  if (order === "interleaved") jobs.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2]);
  return jobs.map((j) => j.job);
}

function pluginsFor(spec: JobSpec, rng: Rng): TrainerPlugin[] {
  const { plan, run } = spec;
  const out: TrainerPlugin[] = [];
  if (run.beam) {
    const beam = plan.beams[run.beam];
    out.push(createBeamLoraPlugin(beam, { adapter: beam.adapter, lr: spec.lr, rand: uniformOf(rng.fork("beam")) }));
  }
  if (run.prune) out.push(createLightPeftPlugin(plan.prunes[run.prune]!, { adapter: run.adapters[0]! }));
  out.push(...adaloraPluginsFor(plan, run));
  return out;
}

/** What scoring one split gives: its metrics, each scored example's answer, and the majority baseline. */
export interface SplitScore {
  metrics: Record<string, number>;
  predictions: Prediction[];
  /** Keyed like metrics: the score of always giving the training split's most common answer. */
  baselines: Record<string, number>;
  /** Examples scored (after the `eval_examples` cap). */
  scored: number;
}

/** Scores one split: loss always; exact match (generation) or accuracy (classification). */
export function scoreSplit(model: FamilyModel, dataset: Dataset, examples: Example[], spec: JobSpec, prefix: string): SplitScore {
  const train = spec.run.train;
  const capped = train.evalExamples > 0 ? examples.slice(0, train.evalExamples) : examples;
  const maxLength = train.maxLength || model.config.maxPositions;
  const batches: Batch[] = batchesOf(capped, dataset, { batch: train.batch, maxLength });
  const metrics: Record<string, number> = { [`${prefix}_loss`]: evaluateLoss(model, batches) };
  const baselines: Record<string, number> = {};
  let predictions: Prediction[];
  if (dataset.kind === "classification") {
    const scored = capped as ClassificationExample[];
    const names = dataset.labelNames;
    const predicted = classify(model, batches);
    predictions = scored.map((e, i) => ({ input: e.text, target: names[e.label] ?? String(e.label), prediction: names[predicted[i]!] ?? String(predicted[i]), correct: predicted[i] === e.label }));
    metrics[`${prefix}_accuracy`] = scored.length ? predictions.filter((p) => p.correct).length / scored.length : NaN;
    baselines[`${prefix}_accuracy`] = majorityScore(dataset.train, scored, (e) => e.label);
  } else {
    const scored = capped as GenerationExample[];
    const gen = greedyExactMatch(model, scored, dataset.tokenizer, { batch: train.batch });
    predictions = gen.predictions.map((p) => ({ input: p.prompt, target: p.expected, prediction: p.predicted, correct: p.predicted === p.expected }));
    metrics[`${prefix}_exact_match`] = gen.exactMatch;
    metrics[`${prefix}_accuracy`] = gen.exactMatch;
    baselines[`${prefix}_exact_match`] = baselines[`${prefix}_accuracy`] = majorityScore(dataset.train, scored, (e) => e.completion);
  }
  return { metrics, predictions, baselines, scored: capped.length };
}

/** Metrics of one split: loss always; exact match (generation) or accuracy (classification). */
export function evaluateSplit(model: FamilyModel, dataset: Dataset, examples: Example[], spec: JobSpec, prefix: string): Record<string, number> {
  return scoreSplit(model, dataset, examples, spec, prefix).metrics;
}

export async function executeJob(spec: JobSpec, opts: JobOptions): Promise<JobOutcome> {
  const { plan, run, seed, lr } = spec;
  const t0 = Date.now();
  const emit = opts.emit ?? (() => {});
  let model: FamilyModel | null = null;
  let trainer: Trainer | null = null;
  let dataset: Dataset | null = null;
  const base: Omit<RunResult, "status" | "metrics"> = {
    run: run.name, seed, lr, backend: opts.backend, steps: 0,
    params: { foundation: 0, trainable: 0 }, stepMs: 0, tokensPerS: 0, peakBytes: 0, wallMs: 0,
  };
  try {
    dataset = opts.datasets?.get(run.data) ?? null;
    const built = await buildModel(plan.models[run.model], { baseDir: opts.baseDir, dataset: dataset ?? undefined, dataSpec: plan.data[run.data] });
    if (!dataset) {
      dataset = await loadDataset(plan.data[run.data], { baseDir: opts.baseDir, modelTokenizer: built.tokenizer ?? undefined });
      opts.datasets?.set(run.data, dataset);
    }
    model = built.make(dataset);
    const rng = new Rng(seed);
    for (const name of run.adapters) {
      const adapter = plan.adapters[name]!;
      // `adapter old = peft "folder"`: the folder's weights, trained further or only evaluated.
      if (adapter.from !== undefined) importAdapter(model, path.resolve(opts.baseDir, adapter.from), name);
      else injectAdapter(model, name, adapter, { rand: uniformOf(rng.fork(`adapter:${name}`)) });
    }
    trainer = new Trainer({ model, train: run.train, lr, seed, plugins: pluginsFor(spec, rng), emit });
    const batcher = new Batcher(dataset.train, dataset, { batch: run.train.batch, maxLength: run.train.maxLength || model.config.maxPositions, seed });

    let stepTimeSum = 0;
    let stepTimeN = 0;
    let tokens = 0;
    const ckDir = opts.checkpointDir ?? null;
    const state = ckDir && opts.resume && recoverCheckpoint(ckDir) !== null ? readCheckpointState(ckDir) : null;
    if (ckDir && state) {
      restoreCheckpoint(ckDir, trainer, state);
      batcher.restore(state.job.batcher as never);
      stepTimeSum = Number(state.job.stepTimeSum ?? 0);
      stepTimeN = Number(state.job.stepTimeN ?? 0);
      tokens = Number(state.job.tokens ?? 0);
      opts.onResume?.(state.job, state.step);
    } else {
      emit({ type: "start", run: run.name, seed, lr, backend: opts.backend, totalSteps: run.train.steps, params: counts(model, trainer), time: Date.now() });
    }
    const checkpoint = () => {
      if (!ckDir || !trainer) return;
      saveCheckpoint(ckDir, trainer, { ...(opts.checkpointExtras?.() ?? {}), batcher: batcher.state(), stepTimeSum, stepTimeN, tokens });
      emit({ type: "checkpoint", step: trainer.step, path: ckDir });
    };

    while (trainer.step < run.train.steps) {
      const stats = trainer.trainStep(batcher.next());
      if (trainer.step > 3) {
        stepTimeSum += stats.stepMs;
        stepTimeN += 1;
      }
      tokens += stats.tokens;
      const s = trainer.step;
      if (run.train.evalEvery > 0 && s % run.train.evalEvery === 0 && s < run.train.steps) {
        emit({ type: "eval", step: s, split: "validation", metrics: evaluateSplit(model, dataset, dataset.validation, spec, "validation") });
      }
      if (run.train.checkpointEvery > 0 && s % run.train.checkpointEvery === 0 && s < run.train.steps) checkpoint();
      if (opts.shouldStop?.()) {
        checkpoint();
        return { result: { ...base, steps: s, status: "failed", error: "interrupted", metrics: {}, wallMs: Date.now() - t0 }, model, trainer, dataset, interrupted: true, predictions: [] };
      }
      if (s % 20 === 0) await new Promise((r) => setImmediate(r)); // let signals and I/O through
    }
    const validation = scoreSplit(model, dataset, dataset.validation, spec, "validation");
    emit({ type: "eval", step: trainer.step, split: "validation", metrics: validation.metrics });
    const test = scoreSplit(model, dataset, dataset.test, spec, "test");
    emit({ type: "eval", step: trainer.step, split: "test", metrics: test.metrics });
    const metrics = { ...validation.metrics, ...test.metrics };
    emit({ type: "end", step: trainer.step, metrics });
    const stepMs = stepTimeN > 0 ? stepTimeSum / stepTimeN : 0;
    const result: RunResult = {
      ...base,
      steps: trainer.step,
      metrics,
      params: counts(model, trainer),
      stepMs,
      tokensPerS: stepMs > 0 ? tokens / trainer.step / (stepMs / 1000) : 0,
      peakBytes: trainer.peakBytes,
      memory: trainer.memoryPeaks(),
      wallMs: Date.now() - t0,
      status: "finished",
      examples: { train: dataset.train.length, validation: validation.scored, test: test.scored },
      baselines: { ...validation.baselines, ...test.baselines },
    };
    return { result, model, trainer, dataset, interrupted: false, predictions: test.predictions };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return {
      result: { ...base, steps: trainer?.step ?? 0, metrics: {}, status: "failed", error, wallMs: Date.now() - t0, peakBytes: trainer?.peakBytes ?? 0 },
      model, trainer, dataset, interrupted: false, predictions: [],
    };
  }
}

function counts(model: FamilyModel, trainer: Trainer): { foundation: number; trainable: number } {
  return { foundation: model.foundationParams(), trainable: trainer.trainableCount() };
}

/** Frees a job's tensors. */
export function disposeJob(o: JobOutcome): void {
  o.trainer?.dispose();
  o.model?.dispose();
}
