// BeamLoRA against plain LoRA where rank is the bottleneck: per task and rank (2, 4, 8), equal rank
// and equal steps, each method's learning rate chosen on validation (BeamLoRA's τ scaled with it,
// see bench/lib/experiments.js), test scores by seed, the paired difference with its 95 % interval,
// the smallest effect the design could detect (80 % power), the paired difference at a common
// learning rate, and the rank importance over time of one representative job.
import { chooseConfig, clearsChance, compare, configAt, statOfValues, valuesOf, verdictForGain } from "./lib/decide.js";
import { jobsOf } from "./lib/evidence.js";
import { LR_PER_TAU, methodRuns, tauFor } from "./lib/experiments.js";
import { sig } from "./lib/timing.js";

/** The paper's headline gain of BeamLoRA over LoRA at equal rank (+1.57 points on average). */
export const CLAIMED_GAIN = 0.0157;

/** Units of one experiment merged per (task, rank): {task, rank, results, jobs, baseline, source, base, wallMs}. */
export function mergeUnits(evidence, experiment) {
  const cells = new Map();
  for (const ev of evidence.filter((e) => e.experiment === experiment)) {
    const key = `${ev.task}|${ev.rank}`;
    if (!cells.has(key)) cells.set(key, { task: ev.task, rank: ev.rank, results: [], jobs: new Map(), baseline: ev.baseline, source: ev.source, base: ev.base, wallMs: 0, units: [] });
    const c = cells.get(key);
    c.results.push(...ev.results);
    for (const [k, j] of ev.jobs) c.jobs.set(k, j);
    c.wallMs += ev.wallMs;
    c.units.push(ev.unit);
  }
  return [...cells.values()];
}

/** Importance and prune events of the lowest seed of a run at an lr, compacted for JSON and plots. */
function heatmapOf(cell, run, lr) {
  const job = jobsOf(cell, run, lr)[0];
  if (!job) return null;
  return {
    seed: job.seed,
    lr,
    tau: tauFor(lr),
    criterion: job.importance[0]?.criterion ?? null,
    importance: job.importance.map((e) => ({ step: e.step, modules: e.modules.map((m) => ({ module: m.module, scores: m.scores.map((x) => sig(x, 4)) })) })),
    prunes: job.prunes.map((e) => ({ step: e.step, p: sig(e.p, 5), totalPruned: e.totalPruned, modules: e.modules })),
  };
}

/** One (task, rank) cell of the rank experiment. */
export function beamCell(cell, mode) {
  const runs = methodRuns("rank", mode);
  const lora = chooseConfig(cell.results, runs.lora);
  const beam = chooseConfig(cell.results, runs.beamlora);
  const loraTest = valuesOf(lora);
  const beamTest = valuesOf(beam);
  const diff = compare(loraTest, beamTest);
  const lrs = [...new Set(cell.results.filter((r) => r.run === "lora").map((r) => r.lr))].sort((a, b) => a - b);
  // The BeamLoRA run trained at each lr of the grid (one run per lr, each with its own τ).
  const beamAt = (lr) => runs.beamlora.map((run) => configAt(cell.results, run, lr)).find(Boolean) ?? null;
  const byLr = lrs.map((lr) => {
    const c = compare(valuesOf(configAt(cell.results, "lora", lr)), valuesOf(beamAt(lr)));
    return { lr, tau: tauFor(lr), diff: c.mean, ci95: c.ci95, detectable_effect: c.detectable_effect, verdict: c.verdict };
  });
  const common = lora ? byLr.find((x) => x.lr === lora.lr) ?? null : null;
  const failed = cell.results.filter((r) => r.status !== "finished").map((r) => ({ run: r.run, seed: r.seed, lr: r.lr, error: r.error ?? null }));
  const chance = cell.baseline.test_score === null ? null : sig(cell.baseline.test_score);
  // A task LoRA does not learn at this rank cannot tell the methods apart.
  const learned = clearsChance(statOfValues(loraTest), chance) || clearsChance(statOfValues(beamTest), chance);
  return {
    task: cell.task,
    rank: cell.rank,
    seeds: diff.n,
    metric: "test_accuracy",
    diff: diff.mean,
    ci95: diff.ci95,
    sd: diff.sd,
    detectable_effect: diff.detectable_effect,
    verdict: diff.verdict,
    claim: learned ? verdictForGain(diff.ci95, CLAIMED_GAIN) : "not decidable",
    learned,
    chance,
    lora: { ...statOfValues(loraTest), lr: lora?.lr ?? null, candidates: lora?.candidates ?? [] },
    beamlora: { ...statOfValues(beamTest), lr: beam?.lr ?? null, tau: beam ? tauFor(beam.lr) : null, candidates: beam?.candidates ?? [] },
    common_lr: common,
    by_lr: byLr,
    loss_diff: compare(valuesOf(lora, "test_loss"), valuesOf(beam, "test_loss"), [-Infinity, Infinity]),
    per_seed: diff.per_seed.map((p) => ({ seed: p.seed, lora: p.a, beamlora: p.b })),
    failed,
    heatmap: beam ? heatmapOf(cell, beam.run, beam.lr) : null,
    experiment: cell.source,
    base: cell.base,
    wall_s: Math.round(cell.wallMs / 1000),
  };
}

/** The overall verdict on the paper's claim from the cells' verdicts. */
export function beamVerdict(cells) {
  const v = cells.map((c) => c.claim);
  if (v.length === 0) return "not decidable";
  if (v.includes("supported") && !cells.some((c) => c.verdict === "worse")) return "supported";
  if (v.every((x) => x === "contradicted")) return "contradicted";
  return "not decidable";
}

/**
 * The `beamlora` JSON section: the headline (first task, lowest rank) at the top level, every
 * (task, rank) under `by_task`, the overall verdict and how τ was set.
 */
export function beamloraSection(evidence, mode) {
  const cells = mergeUnits(evidence, "rank").map((c) => beamCell(c, mode));
  if (cells.length === 0) throw new Error("beamlora: no unit of the rank experiment ran");
  const head = cells[0];
  return {
    task: head.task,
    rank: head.rank,
    seeds: head.seeds,
    metric: head.metric,
    lora: { mean: head.lora.mean, std: head.lora.std },
    beamlora: { mean: head.beamlora.mean, std: head.beamlora.std },
    paired_diff: { mean: head.diff, ci95: head.ci95, detectable_effect: head.detectable_effect, verdict: head.verdict },
    claimed_gain: CLAIMED_GAIN,
    verdict: beamVerdict(cells),
    tau_rule: { lr_per_tau: LR_PER_TAU, note: "τ = lr ÷ lr_per_tau for each learning rate of the grid, so gate logits move per step about as in the authors' runs" },
    by_task: cells,
  };
}
