// How the splits of a JSONL data set are cut from its training file. The compiler uses this to
// record each split's size in the plan and the runtime uses it to cut the examples, so the two
// always agree.

import type { JsonlDataSpec, JsonlSplit } from "./plan.js";

/** The three split names, in the order shares are cut from the training file. */
export const SPLIT_NAMES = ["train", "validation", "test"] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/**
 * Example counts of the splits cut as shares from a file of `lines` examples, in the order
 * train, validation, test. Each takes round(lines × share), capped by what is left; when the
 * shares add up to 1 the last of them takes the rounding remainder, so no line is dropped.
 * Splits that are files of their own get 0 here.
 */
export function shareCounts(lines: number, splits: JsonlDataSpec["splits"]): Record<SplitName, number> {
  const counts: Record<SplitName, number> = { train: 0, validation: 0, test: 0 };
  const shared = SPLIT_NAMES.filter((name) => splits[name].from === "share");
  const total = shared.reduce((sum, name) => sum + (splits[name] as Extract<JsonlSplit, { from: "share" }>).share, 0);
  let left = lines;
  shared.forEach((name, i) => {
    const share = (splits[name] as Extract<JsonlSplit, { from: "share" }>).share;
    const last = i === shared.length - 1 && Math.abs(total - 1) < 1e-9;
    counts[name] = last ? left : Math.min(left, Math.round(lines * share));
    left -= counts[name];
  });
  return counts;
}

/** "a 10% share of train.jsonl" or "test.jsonl", for run records and messages. */
export function describeSplit(split: JsonlSplit): string {
  return split.from === "file" ? split.file : `${Math.round(split.share * 1000) / 10}% of ${split.file}`;
}
