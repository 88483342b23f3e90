// The metric catalogue: what each metric a `compare` can name means, and the metrics one result
// carries (its validation_* / test_* values plus its cost: time, memory, parameters).

import type { MetricName } from "../dsl/plan.js";
import type { RunResult } from "./events.js";
import type { Scale } from "./statistics.js";

/** How to read each metric a `compare` can name. */
export const METRICS: Record<MetricName, { label: string; unit: string; higherIsBetter: boolean }> = {
  accuracy: { label: "accuracy", unit: "fraction", higherIsBetter: true },
  exact_match: { label: "exact match", unit: "fraction", higherIsBetter: true },
  loss: { label: "loss", unit: "nats/token", higherIsBetter: false },
  step_time: { label: "step time", unit: "ms", higherIsBetter: false },
  tokens_per_s: { label: "throughput", unit: "tokens/s", higherIsBetter: true },
  peak_memory: { label: "peak tensor memory", unit: "bytes", higherIsBetter: false },
  trainable_params: { label: "trainable parameters", unit: "count", higherIsBetter: false },
  foundation_params: { label: "foundation parameters", unit: "count", higherIsBetter: false },
  wall_time: { label: "wall time", unit: "ms", higherIsBetter: false },
};

const EVAL_METRICS = new Set<string>(["accuracy", "exact_match", "loss"]);

/** All metrics of one result: its `metrics` (validation_* / test_*) plus the cost metrics. */
export function resultMetrics(r: RunResult): Record<string, number> {
  return {
    ...r.metrics,
    step_time: r.stepMs,
    tokens_per_s: r.tokensPerS,
    peak_memory: r.peakBytes,
    trainable_params: r.params.trainable,
    foundation_params: r.params.foundation,
    wall_time: r.wallMs,
  };
}

/** The summary key a compare metric reads: test_<m> when any result has it, else validation_<m>. */
export function metricKey(metric: MetricName, available: ReadonlySet<string>): string | null {
  if (!EVAL_METRICS.has(metric)) return metric;
  for (const key of [`test_${metric}`, `validation_${metric}`]) if (available.has(key)) return key;
  return null;
}

/**
 * The scale of a summary key: fractions (accuracy, exact match, F1, with or without a split
 * prefix) are proportions in [0, 1]; costs and losses are positive; anything else is real.
 */
export function scaleOf(key: string): Scale {
  if (/(^|_)(accuracy|exact_match|f1)$/.test(key)) return "proportion";
  if (/(^|_)loss$/.test(key) || /^(step_time|tokens_per_s|peak_memory|wall_time|trainable_params|foundation_params)$/.test(key)) return "positive";
  return "real";
}
