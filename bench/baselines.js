// The counter-claim ("Learning Rate Matters: Vanilla LoRA May Suffice", 2026): once each method has
// its own tuned learning rate, LoRA variants land within 1–2 points of LoRA. rsLoRA, DoRA, PiSSA and
// AdaLoRA (the baselines experiment) and BeamLoRA (the rank experiment at rank 8) against LoRA at
// rank 8 on the headline task: same data, seeds, steps and learning-rate grid, each method's rate
// chosen on validation, paired differences by seed with 95 % intervals.
import { mergeUnits } from "./beamlora.js";
import { chooseConfig, clearsChance, compare, equivalence, statOfValues, valuesOf } from "./lib/decide.js";
import { BASELINE_METHODS, methodRuns, tauFor } from "./lib/experiments.js";

/** The counter-claim's margin: within 2 points of LoRA. */
export const MARGIN = 0.02;

function entry(method, loraCfg, cfg, chance, extra = {}) {
  const c = compare(valuesOf(loraCfg), valuesOf(cfg));
  const learned = clearsChance(statOfValues(valuesOf(loraCfg)), chance);
  return {
    method,
    rank: 8,
    lr: cfg?.lr ?? null,
    ...extra,
    test_accuracy: statOfValues(valuesOf(cfg)),
    lora_test_accuracy: statOfValues(valuesOf(loraCfg)),
    lora_lr: loraCfg?.lr ?? null,
    seeds: c.n,
    diff: c.mean,
    ci95: c.ci95,
    detectable_effect: c.detectable_effect,
    verdict: c.verdict,
    // Within ±margin of a LoRA that learned nothing says nothing about the claim.
    within_margin: learned ? equivalence(c.ci95, MARGIN) : "not decidable",
    chance,
  };
}

/** `baselines[]`: one entry per method, LoRA variants first, BeamLoRA when rank 8 was in the rank experiment. */
export function baselinesSection(evidence, mode) {
  const [cell] = mergeUnits(evidence, "baselines");
  if (!cell) throw new Error("baselines: no unit of the baselines experiment ran");
  const lora = chooseConfig(cell.results, ["lora"]);
  const runs = methodRuns("baselines", mode);
  const chance = cell.baseline.test_score;
  const out = BASELINE_METHODS.map((m) => entry(m, lora, chooseConfig(cell.results, runs[m]), chance));
  const rank8 = mergeUnits(evidence, "rank").find((c) => c.task === cell.task && c.rank === 8);
  if (rank8) {
    const beam = chooseConfig(rank8.results, methodRuns("rank", mode).beamlora);
    out.push(entry("beamlora", lora, beam, chance, { tau: beam ? tauFor(beam.lr) : null }));
  }
  return out;
}

/** The counter-claim on our data: supported when every variant is within the margin, contradicted when one is wholly outside it. */
export function counterClaimVerdict(entries) {
  if (!Array.isArray(entries) || entries.length === 0) return "not decidable";
  const w = entries.map((e) => e.within_margin);
  if (w.includes("outside")) return "contradicted";
  if (w.every((x) => x === "within")) return "supported";
  return "not decidable";
}
