// Light-PEFT's trade-off curve against plain LoRA: for each pruning setting of the ladder (mild to
// the authors', bench/lib/experiments.js) the step time after pruning, tensor memory after pruning,
// trainable parameters and the paired accuracy difference, each run at its own learning rate chosen
// on validation; the Pareto set; and the mildest setting reaching the paper's headline (≥ 1.6×
// faster steps and ≤ 0.65× memory) with its accuracy cost. Times and memory are compared seed by
// seed over the same steps, between jobs that ran back to back in one worker.
import { mergeUnits } from "./beamlora.js";
import { chooseConfig, clearsChance, compare, statOfValues, valuesOf } from "./lib/decide.js";
import { jobsOf } from "./lib/evidence.js";
import { LIGHT_SETTINGS, methodRuns } from "./lib/experiments.js";
import { median, sig } from "./lib/timing.js";

/** The paper's headline: steps at least 1.6× faster, training memory at most 0.65× LoRA's. */
export const HEADLINE = { speedup: 1.6, memory: 0.65 };
/** "Comparable accuracy": within this many points of LoRA. */
export const ACCURACY_MARGIN = 0.02;

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Light-PEFT vs LoRA measures of one seed, over the steps after the pruning step (the first two skipped). */
function perSeed(light, lora, resultOf) {
  const prune = light.lightPrune;
  if (!prune) return null;
  const from = prune.step + 3;
  const after = (j) => j.steps.filter((s) => s.step >= from);
  const [la, lb] = [after(light), after(lora)];
  if (la.length === 0 || lb.length === 0) return null;
  const rl = resultOf(light);
  const rb = resultOf(lora);
  return {
    seed: light.seed,
    prune_step: prune.step,
    step_ms: { lightpeft: median(la.map((s) => s.ms)), lora: median(lb.map((s) => s.ms)) },
    bytes_after_prune: { lightpeft: Math.max(...la.map((s) => s.bytes)), lora: Math.max(...lb.map((s) => s.bytes)) },
    foundation: { before: prune.before.foundation, after: prune.after.foundation },
    trainable: { lightpeft: rl?.params.trainable ?? null, lora: rb?.params.trainable ?? null },
    removed: { heads: prune.heads.reduce((a, h) => a + h.removed.length, 0), neurons: prune.neurons.reduce((a, n) => a + n.removed, 0), modules: prune.modulesRemoved.length },
  };
}

/** Marks the points no other point beats on all of step time, memory and accuracy. */
export function paretoFlags(points) {
  const beats = (a, b) => a.step_time_ratio <= b.step_time_ratio && a.peak_memory_ratio <= b.peak_memory_ratio && a.accuracy_diff >= b.accuracy_diff
    && (a.step_time_ratio < b.step_time_ratio || a.peak_memory_ratio < b.peak_memory_ratio || a.accuracy_diff > b.accuracy_diff);
  return points.map((p) => [p.step_time_ratio, p.peak_memory_ratio, p.accuracy_diff].every(Number.isFinite) && !points.some((q) => q !== p && [q.step_time_ratio, q.peak_memory_ratio, q.accuracy_diff].every(Number.isFinite) && beats(q, p)));
}

/** Whether a point reaches the headline's speed and memory. */
export const meetsHeadline = (p) => Number.isFinite(p.step_time_ratio) && Number.isFinite(p.peak_memory_ratio) && 1 / p.step_time_ratio >= HEADLINE.speedup && p.peak_memory_ratio <= HEADLINE.memory;

/** The paper's claim on our data: a setting at the headline with comparable accuracy. */
export function lightVerdict(frontier, loraLearned = true) {
  const fast = frontier.filter(meetsHeadline);
  if (frontier.length === 0) return "not decidable";
  // With no setting at the headline's speed and memory the claim fails whatever the accuracy.
  if (fast.length === 0) return "contradicted";
  if (!loraLearned) return "not decidable";
  if (fast.some((p) => p.accuracy_ci95 && p.accuracy_ci95[0] >= -ACCURACY_MARGIN)) return "supported";
  if (fast.length === 0 || fast.every((p) => p.accuracy_ci95 && p.accuracy_ci95[1] < -ACCURACY_MARGIN)) return "contradicted";
  return "not decidable";
}

/** One frontier point: a setting at its chosen learning rate against LoRA at its own. */
function point(cell, setting, loraCfg, mode) {
  const run = methodRuns("lightpeft", mode)[`light_${setting.name}`][0];
  const cfg = chooseConfig(cell.results, [run]);
  const resultOf = (job) => cell.results.find((r) => r.run === job.run && r.seed === job.seed && r.lr === job.lr && r.status === "finished") ?? null;
  const loraJobs = new Map(jobsOf(cell, "lora", loraCfg?.lr).map((j) => [j.seed, j]));
  const seeds = cfg ? jobsOf(cell, run, cfg.lr).filter((j) => loraJobs.has(j.seed) && resultOf(j) && resultOf(loraJobs.get(j.seed))).map((j) => perSeed(j, loraJobs.get(j.seed), resultOf)).filter(Boolean) : [];
  const ratio = (f) => sig(mean(seeds.map(f).filter((x) => Number.isFinite(x))));
  const acc = compare(valuesOf(loraCfg), valuesOf(cfg));
  const test = statOfValues(valuesOf(cfg));
  return {
    settings: { ...setting },
    lr: cfg?.lr ?? null,
    seeds: seeds.length,
    step_time_ratio: ratio((s) => s.step_ms.lightpeft / s.step_ms.lora),
    peak_memory_ratio: ratio((s) => s.bytes_after_prune.lightpeft / s.bytes_after_prune.lora),
    trainable_vs_lora: ratio((s) => s.trainable.lightpeft / s.trainable.lora),
    foundation_pruned: ratio((s) => 1 - s.foundation.after / s.foundation.before),
    accuracy_diff: acc.mean,
    accuracy_ci95: acc.ci95,
    detectable_effect: acc.detectable_effect,
    accuracy_verdict: acc.verdict,
    test_accuracy: test,
    removed: seeds.length ? { heads: sig(mean(seeds.map((s) => s.removed.heads))), neurons: sig(mean(seeds.map((s) => s.removed.neurons))), modules: sig(mean(seeds.map((s) => s.removed.modules))) } : null,
    prune_step: seeds[0]?.prune_step ?? null,
    per_seed: seeds.map((s) => ({ ...s, step_ms: { lightpeft: sig(s.step_ms.lightpeft), lora: sig(s.step_ms.lora) } })),
  };
}

/**
 * The `lightpeft` JSON section: `frontier[]` (mildest setting first), `headline` (the mildest
 * setting at the paper's speed and memory, or null), the verdict, and the authors' setting's
 * numbers at the top level.
 */
export function lightpeftSection(evidence, mode) {
  const [cell] = mergeUnits(evidence, "lightpeft");
  if (!cell) throw new Error("lightpeft: no unit of the Light-PEFT experiment ran");
  const lora = chooseConfig(cell.results, ["lora"]);
  const names = Object.keys(methodRuns("lightpeft", mode)).filter((m) => m !== "lora").map((m) => m.slice("light_".length));
  const frontier = names.map((n) => point(cell, LIGHT_SETTINGS.find((s) => s.name === n), lora, mode));
  paretoFlags(frontier).forEach((p, i) => (frontier[i].pareto = p));
  frontier.forEach((p) => (p.meets_headline = meetsHeadline(p)));
  const hit = frontier.find((p) => p.meets_headline) ?? null;
  const authors = frontier.find((p) => p.settings.name === "authors") ?? frontier[frontier.length - 1];
  return {
    task: cell.task,
    rank: cell.rank,
    lora: { ...statOfValues(valuesOf(lora)), lr: lora?.lr ?? null, candidates: lora?.candidates ?? [] },
    step_time_ratio: authors.step_time_ratio,
    peak_memory_ratio: authors.peak_memory_ratio,
    foundation_pruned: authors.foundation_pruned,
    trainable_vs_lora: authors.trainable_vs_lora,
    accuracy_diff: authors.accuracy_diff,
    accuracy_diff_ci95: authors.accuracy_ci95,
    headline_target: { ...HEADLINE, step_time_ratio_at_most: sig(1 / HEADLINE.speedup), accuracy_margin: ACCURACY_MARGIN },
    headline: hit ? { settings: hit.settings, step_time_ratio: hit.step_time_ratio, peak_memory_ratio: hit.peak_memory_ratio, accuracy_diff: hit.accuracy_diff, accuracy_ci95: hit.accuracy_ci95 } : null,
    verdict: lightVerdict(frontier, clearsChance(statOfValues(valuesOf(lora)), cell.baseline.test_score)),
    chance: cell.baseline.test_score === null ? null : sig(cell.baseline.test_score),
    frontier,
    failed: cell.results.filter((r) => r.status !== "finished").map((r) => ({ run: r.run, seed: r.seed, lr: r.lr, error: r.error ?? null })),
    experiment: cell.source,
    wall_s: Math.round(cell.wallMs / 1000),
  };
}
