// Light-PEFT against plain LoRA on the same tasks and seeds (issue 6): step time after pruning,
// tensor memory after pruning (and over the whole run, estimation included), the share of
// foundation parameters removed, trainable parameters as a share of LoRA's, and the paired
// accuracy difference. Times and memory are compared seed by seed over the same step range.
import { pairOf, statOf } from "./beamlora.js";
import { jobsOf, runSummary } from "./lib/evidence.js";
import { median, sig } from "./lib/timing.js";

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Light-PEFT vs LoRA measures of one seed, over the steps after the pruning step (the first two skipped). */
function perSeed(light, lora, resultOf) {
  const prune = light.lightPrune;
  if (!prune) return null;
  const from = prune.step + 3;
  const after = (j) => j.steps.filter((s) => s.step >= from);
  const [la, lb] = [after(light), after(lora)];
  if (la.length === 0 || lb.length === 0) return null;
  const rl = resultOf("lightpeft", light);
  const rb = resultOf("lora", lora);
  return {
    seed: light.seed,
    prune_step: prune.step,
    step_ms: { lightpeft: median(la.map((s) => s.ms)), lora: median(lb.map((s) => s.ms)) },
    bytes_after_prune: { lightpeft: Math.max(...la.map((s) => s.bytes)), lora: Math.max(...lb.map((s) => s.bytes)) },
    peak_bytes_run: { lightpeft: rl?.peakBytes ?? null, lora: rb?.peakBytes ?? null },
    foundation: { before: prune.before.foundation, after: prune.after.foundation },
    trainable: { lightpeft: rl?.params.trainable ?? null, lora: rb?.params.trainable ?? null },
    removed: { heads: prune.heads.reduce((a, h) => a + h.removed.length, 0), neurons: prune.neurons.reduce((a, n) => a + n.removed, 0), modules: prune.modulesRemoved.length },
  };
}

/** One task's comparison at each run's chosen learning rate. */
export function lightTask(ev) {
  const lora = runSummary(ev, "lora");
  const light = runSummary(ev, "lightpeft");
  const resultOf = (run, job) => ev.results.find((r) => r.run === run && r.seed === job.seed && r.lr === job.lr && r.status === "finished") ?? null;
  const loraJobs = new Map(jobsOf(ev, "lora", lora.lr).map((j) => [j.seed, j]));
  const seeds = jobsOf(ev, "lightpeft", light.lr)
    .filter((j) => loraJobs.has(j.seed) && resultOf("lightpeft", j) && resultOf("lora", loraJobs.get(j.seed)))
    .map((j) => perSeed(j, loraJobs.get(j.seed), resultOf))
    .filter(Boolean);
  const ratio = (f) => sig(mean(seeds.map(f).filter((x) => Number.isFinite(x))));
  const acc = pairOf(ev, "lora", "lightpeft", "accuracy");
  return {
    task: ev.task,
    label: ev.label,
    seeds: seeds.length,
    step_time_ratio: ratio((s) => s.step_ms.lightpeft / s.step_ms.lora),
    peak_memory_ratio: ratio((s) => s.bytes_after_prune.lightpeft / s.bytes_after_prune.lora),
    peak_memory_ratio_whole_run: ratio((s) => s.peak_bytes_run.lightpeft / s.peak_bytes_run.lora),
    foundation_pruned: ratio((s) => 1 - s.foundation.after / s.foundation.before),
    trainable_vs_lora: ratio((s) => s.trainable.lightpeft / s.trainable.lora),
    accuracy_diff: acc.mean,
    accuracy_diff_ci95: acc.ci95,
    accuracy_verdict: acc.verdict,
    chance: ev.baseline.test_score === null ? null : sig(ev.baseline.test_score),
    lora: { ...statOf(lora, "test_accuracy"), lr: lora.lr },
    lightpeft: { ...statOf(light, "test_accuracy"), lr: light.lr },
    failed: light.failed,
    per_seed: seeds.map((s) => ({ ...s, step_ms: { lightpeft: sig(s.step_ms.lightpeft), lora: sig(s.step_ms.lora) } })),
  };
}

/** The `lightpeft` JSON section: the first task at the top level, every task under `tasks`. */
export function lightpeftSection(evidence) {
  const tasks = Object.fromEntries(evidence.map((ev) => [ev.task, lightTask(ev)]));
  const first = tasks[evidence[0].task];
  const pick = ["step_time_ratio", "peak_memory_ratio", "foundation_pruned", "trainable_vs_lora", "accuracy_diff"];
  return { task: first.task, ...Object.fromEntries(pick.map((k) => [k, first[k]])), accuracy_diff_ci95: first.accuracy_diff_ci95, tasks };
}
