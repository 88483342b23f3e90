// Local JSONL data: one JSON object per line, with prompt/completion (generation) or text/label
// (classification) fields whose names the DataSpec may change. Blank lines are skipped. Every
// error names file:line and the field.
//
// A data set reads one training file and, optionally, a validation and a test file of their own;
// splits given as shares are cut from the training file (shuffled by its seed unless `shuffle`
// is off). Labels are either all integers ≥ 0 (label names "0", "1", … up to the largest) or all
// strings (label names sorted, label = index among them), across every file of the data set.

import fs from "node:fs";
import { SPLIT_NAMES, shareCounts } from "../../dsl/jsonl-splits.js";
import type { JsonlDataSpec } from "../../dsl/plan.js";
import { firstInvalidUtf8 } from "../../dsl/source.js";
import { Rng } from "../rng.js";
import type { ClassificationExample, GenerationExample, SplitExamples } from "./types.js";

interface Line {
  no: number;
  value: Record<string, unknown>;
}

/** Bytes → text; bytes that are not UTF-8 are an error naming the file and line. */
function decodeUtf8(path: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes) ?? { index: 0, reason: "invalid bytes" };
    let line = 1;
    for (let i = 0; i < bad.index; i++) if (bytes[i] === 10) line++;
    throw new Error(`${path}:${line}: the file is not UTF-8 text (${bad.reason}); save it as UTF-8`);
  }
}

/** The keys of a line, for messages: `"question", "answer"`. */
function keyList(value: Record<string, unknown>): string {
  const keys = Object.keys(value);
  if (keys.length === 0) return "none";
  const shown = keys.slice(0, 8).map((k) => JSON.stringify(k)).join(", ");
  return keys.length > 8 ? `${shown} and ${keys.length - 8} more` : shown;
}

/** Non-blank lines of a JSONL file, parsed; errors name file:line. Lines of any length are read
 *  without recursion (a 10 MB line is one string and one JSON.parse). */
export function readJsonlLines(path: string): Line[] {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: cannot read: ${(err as Error).message}`);
  }
  const text = decodeUtf8(path, bytes);
  const lines: Line[] = [];
  let start = 0;
  for (let no = 1; start <= text.length; no++) {
    const nl = text.indexOf("\n", start);
    const end = nl === -1 ? text.length : nl;
    const raw = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    if (raw.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new Error(`${path}:${no}: invalid JSON: ${(err as Error).message}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${path}:${no}: expected a JSON object, got ${JSON.stringify(value).slice(0, 40)}`);
    lines.push({ no, value: value as Record<string, unknown> });
  }
  if (lines.length === 0) throw new Error(`${path}: empty file (no JSON lines)`);
  return lines;
}

function stringField(path: string, line: Line, field: string, setting: string): string {
  const v = line.value[field];
  if (v === undefined) throw new Error(`${path}:${line.no}: missing field "${field}" (the line's keys: ${keyList(line.value)}); name the key to read with \`${setting} "…"\` in the data block`);
  if (typeof v !== "string") throw new Error(`${path}:${line.no}: field "${field}" must be a string, got ${JSON.stringify(v).slice(0, 60)}`);
  return v;
}

/** Generation examples from a JSONL file. */
export function readGenerationJsonl(path: string, fields: JsonlDataSpec["fields"]): GenerationExample[] {
  const [p, c] = [fields.prompt ?? "prompt", fields.completion ?? "completion"];
  return readJsonlLines(path).map((line) => ({ prompt: stringField(path, line, p, "prompt"), completion: stringField(path, line, c, "completion") }));
}

/** Classification examples of several files, with label names shared by all of them. */
export function readClassificationFiles(paths: string[], fields: JsonlDataSpec["fields"]): { examples: ClassificationExample[][]; labelNames: string[] } {
  const [t, l] = [fields.text ?? "text", fields.label ?? "label"];
  const files = paths.map((path) => ({ path, lines: readJsonlLines(path) }));
  const first = files[0]!.lines[0]!.value[l];
  const kind = typeof first === "string" ? "string" : "integer";
  const raws = files.map(({ path, lines }) =>
    lines.map((line) => {
      const v = line.value[l];
      if (v === undefined) throw new Error(`${path}:${line.no}: missing field "${l}" (the line's keys: ${keyList(line.value)}); name the key to read with \`label "…"\` in the data block`);
      const ok = kind === "string" ? typeof v === "string" : Number.isInteger(v) && (v as number) >= 0;
      if (!ok) {
        const rule = kind === "string" ? `a string (the labels of ${paths[0]} are strings)` : "an integer >= 0 or a string";
        throw new Error(`${path}:${line.no}: field "${l}" must be ${rule}, got ${JSON.stringify(v).slice(0, 60)}`);
      }
      return v as string | number;
    }),
  );
  const texts = files.map(({ path, lines }) => lines.map((line) => stringField(path, line, t, "text")));
  if (kind === "string") {
    const labelNames = [...new Set(raws.flat() as string[])].sort();
    const index = new Map(labelNames.map((name, i) => [name, i]));
    return { examples: texts.map((ts, f) => ts.map((text, i) => ({ text, label: index.get(raws[f]![i] as string)! }))), labelNames };
  }
  let max = 0;
  for (const raw of raws) for (const v of raw) if ((v as number) > max) max = v as number;
  return { examples: texts.map((ts, f) => ts.map((text, i) => ({ text, label: raws[f]![i] as number }))), labelNames: Array.from({ length: max + 1 }, (_, i) => String(i)) };
}

/** Classification examples and label names from one JSONL file. */
export function readClassificationJsonl(path: string, fields: JsonlDataSpec["fields"]): { examples: ClassificationExample[]; labelNames: string[] } {
  const { examples, labelNames } = readClassificationFiles([path], fields);
  return { examples: examples[0]!, labelNames };
}

/**
 * The shares of the training file's examples, cut in the order train, validation, test (see
 * shareCounts), after a seeded shuffle unless `shuffle` is false. Splits that are files of
 * their own come back empty here.
 */
export function cutShares<E>(items: E[], splits: JsonlDataSpec["splits"], shuffle: boolean, seed: number, source: string): SplitExamples<E> {
  for (const name of SPLIT_NAMES) {
    const split = splits[name];
    if (split.from === "share" && !(split.share >= 0 && split.share <= 1)) throw new Error(`${source}: the ${name} share must be in [0, 1], got ${split.share}`);
  }
  const sum = SPLIT_NAMES.reduce((s, name) => s + (splits[name].from === "share" ? (splits[name] as { share: number }).share : 0), 0);
  if (sum > 1 + 1e-9) throw new Error(`${source}: split shares sum to ${sum}, more than 1`);
  const ordered = shuffle ? new Rng(seed).fork("jsonl/split").shuffle(items.slice()) : items;
  const counts = shareCounts(ordered.length, splits);
  const out = { train: [], validation: [], test: [] } as SplitExamples<E>;
  let at = 0;
  for (const name of SPLIT_NAMES) {
    if (splits[name].from !== "share") continue;
    out[name] = ordered.slice(at, at + counts[name]);
    at += counts[name];
  }
  return out;
}

/** The examples of every split of a JSONL data set; `fileOf` resolves a path of the plan and
 *  `read` reads a list of files (the training file first). */
export function jsonlSplits<E>(spec: JsonlDataSpec, fileOf: (planPath: string) => string, read: (files: string[]) => E[][]): SplitExamples<E> {
  const trainFile = fileOf(spec.path);
  const own = (["validation", "test"] as const).filter((name) => spec.splits[name].from === "file");
  const shared = SPLIT_NAMES.filter((name) => spec.splits[name].from === "share");
  if (spec.splits.train.from === "file" && shared.length > 0) {
    throw new Error(`${trainFile}: training takes the whole file, so ${shared.join(" and ")} cannot be a share of it`);
  }
  const examples = read([trainFile, ...own.map((name) => fileOf(spec.splits[name].file))]);
  const out = spec.splits.train.from === "file" ? { train: examples[0]!, validation: [], test: [] } : cutShares(examples[0]!, spec.splits, spec.shuffle, spec.seed, trainFile);
  own.forEach((name, i) => {
    out[name] = examples[i + 1]!;
  });
  return out;
}
