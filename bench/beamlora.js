// BeamLoRA against plain LoRA at equal rank and equal steps (issue 5): per task, each run's
// learning rate chosen on validation, test mean and spread over seeds, the paired difference
// with its 95 % interval, and the rank importance over time of one representative job.
import { jobsOf, runSummary } from "./lib/evidence.js";
import { sig } from "./lib/timing.js";

/** {mean, std, n} of a summary metric, rounded; nulls when the run has no value. */
export function statOf(runSum, key) {
  const m = runSum.metrics[key];
  if (!m) return { mean: null, std: null, n: 0 };
  return { mean: sig(m.mean), std: sig(m.std), n: m.n, ci95: m.ci95 ? m.ci95.map((x) => sig(x)) : null };
}

/** The paired comparison `other − baseline` on `metric` from the summary's `compare`. */
export function pairOf(ev, baseline, other, metric) {
  for (const c of ev.summary.comparisons) {
    const p = c.pairs.find((x) => x.baseline === baseline && x.other === other && x.metric === metric);
    if (p) {
      const d = p.diff;
      return { key: p.key, mean: d ? sig(d.mean) : null, std: d ? sig(d.std) : null, ci95: d?.ci95 ? d.ci95.map((x) => sig(x)) : null, n: d?.n ?? 0, verdict: p.verdict };
    }
  }
  return { key: null, mean: null, std: null, ci95: null, n: 0, verdict: "insufficient data" };
}

/** How the learning rate of a run was chosen (validation only). */
export function lrChoiceOf(runSum) {
  const c = runSum.lrChoice;
  return { lr: runSum.lr, metric: c?.metric ?? null, reason: c?.reason ?? null, candidates: (c?.candidates ?? []).map((k) => ({ lr: k.lr, validation: sig(k.mean), seeds: k.n, failed: k.failed })) };
}

/** Importance and prune events of the lowest seed at the chosen lr, compacted for JSON and plots. */
function heatmapOf(ev, lr) {
  const job = jobsOf(ev, "beamlora", lr)[0];
  if (!job) return null;
  return {
    seed: job.seed,
    lr,
    criterion: job.importance[0]?.criterion ?? null,
    importance: job.importance.map((e) => ({ step: e.step, modules: e.modules.map((m) => ({ module: m.module, scores: m.scores.map((x) => sig(x, 4)) })) })),
    prunes: job.prunes.map((e) => ({ step: e.step, p: sig(e.p, 5), totalPruned: e.totalPruned, modules: e.modules })),
  };
}

/** One task's comparison. */
export function beamTask(ev) {
  const lora = runSummary(ev, "lora");
  const beam = runSummary(ev, "beamlora");
  return {
    task: ev.task,
    label: ev.label,
    metric: "test_accuracy",
    seeds: Math.min(lora.seeds.length, beam.seeds.length),
    chance: ev.baseline.test_score === null ? null : sig(ev.baseline.test_score),
    lora: { ...statOf(lora, "test_accuracy"), lr: lrChoiceOf(lora), test_loss: statOf(lora, "test_loss") },
    beamlora: { ...statOf(beam, "test_accuracy"), lr: lrChoiceOf(beam), test_loss: statOf(beam, "test_loss") },
    paired_diff: pairOf(ev, "lora", "beamlora", "accuracy"),
    paired_diff_loss: pairOf(ev, "lora", "beamlora", "loss"),
    failed: [...lora.failed.map((f) => ({ run: "lora", ...f })), ...beam.failed.map((f) => ({ run: "beamlora", ...f }))],
    heatmap: heatmapOf(ev, beam.lr),
    experiment: ev.source,
    base: ev.base,
    wall_s: Math.round(ev.wallMs / 1000),
  };
}

/** The `beamlora` JSON section: the first task at the top level (the required keys), every task under `tasks`. */
export function beamloraSection(evidence) {
  const tasks = Object.fromEntries(evidence.map((ev) => [ev.task, beamTask(ev)]));
  const first = tasks[evidence[0].task];
  return {
    task: first.task,
    seeds: first.seeds,
    metric: first.metric,
    lora: { mean: first.lora.mean, std: first.lora.std },
    beamlora: { mean: first.beamlora.mean, std: first.beamlora.std },
    paired_diff: { mean: first.paired_diff.mean, ci95: first.paired_diff.ci95 },
    tasks,
  };
}
