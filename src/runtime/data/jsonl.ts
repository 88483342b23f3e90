// Local JSONL data: one JSON object per line, with prompt/completion (generation) or text/label
// (classification) fields whose names the DataSpec may change. Blank lines are skipped. Every
// error names file:line and the field.
//
// Labels are either all integers ≥ 0 (label names "0", "1", … up to the largest) or all strings
// (label names sorted, label = index among them).

import fs from "node:fs";
import type { JsonlDataSpec } from "../../dsl/plan.js";
import { Rng } from "../rng.js";
import type { ClassificationExample, GenerationExample, SplitExamples } from "./types.js";

interface Line {
  no: number;
  value: Record<string, unknown>;
}

/** Non-blank lines of a JSONL file, parsed; errors name file:line. */
export function readJsonlLines(path: string): Line[] {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`${path}: cannot read: ${(err as Error).message}`);
  }
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new Error(`${path}:${i + 1}: invalid JSON: ${(err as Error).message}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${path}:${i + 1}: expected a JSON object, got ${JSON.stringify(value).slice(0, 40)}`);
    lines.push({ no: i + 1, value: value as Record<string, unknown> });
  });
  if (lines.length === 0) throw new Error(`${path}: empty file (no JSON lines)`);
  return lines;
}

function stringField(path: string, line: Line, field: string): string {
  const v = line.value[field];
  if (v === undefined) throw new Error(`${path}:${line.no}: missing field "${field}"`);
  if (typeof v !== "string") throw new Error(`${path}:${line.no}: field "${field}" must be a string, got ${JSON.stringify(v)}`);
  return v;
}

/** Generation examples from a JSONL file. */
export function readGenerationJsonl(path: string, fields: JsonlDataSpec["fields"]): GenerationExample[] {
  const [p, c] = [fields.prompt ?? "prompt", fields.completion ?? "completion"];
  return readJsonlLines(path).map((line) => ({ prompt: stringField(path, line, p), completion: stringField(path, line, c) }));
}

/** Classification examples and label names from a JSONL file. */
export function readClassificationJsonl(path: string, fields: JsonlDataSpec["fields"]): { examples: ClassificationExample[]; labelNames: string[] } {
  const [t, l] = [fields.text ?? "text", fields.label ?? "label"];
  const lines = readJsonlLines(path);
  const texts = lines.map((line) => stringField(path, line, t));
  const raw = lines.map((line) => line.value[l]);
  const kind = typeof raw[0] === "string" ? "string" : "integer";
  raw.forEach((v, i) => {
    const no = lines[i]!.no;
    if (v === undefined) throw new Error(`${path}:${no}: missing field "${l}"`);
    const ok = kind === "string" ? typeof v === "string" : Number.isInteger(v) && (v as number) >= 0;
    if (!ok) {
      throw new Error(`${path}:${no}: field "${l}" must be ${kind === "string" ? "a string (earlier labels are strings)" : "an integer >= 0 or a string"}, got ${JSON.stringify(v)}`);
    }
  });
  if (kind === "string") {
    const labelNames = [...new Set(raw as string[])].sort();
    return { examples: texts.map((text, i) => ({ text, label: labelNames.indexOf(raw[i] as string) })), labelNames };
  }
  const max = Math.max(...(raw as number[]));
  return { examples: texts.map((text, i) => ({ text, label: raw[i] as number })), labelNames: Array.from({ length: max + 1 }, (_, i) => String(i)) };
}

/**
 * Seeded shuffle, then train / validation / test by fractions of the file. Fractions must lie in
 * [0, 1] and sum to at most 1; when they sum to 1 the test split takes the rounding remainder.
 */
export function splitByFractions<E>(items: E[], fractions: JsonlDataSpec["splitFractions"], seed: number, source: string): SplitExamples<E> {
  const { train, validation, test } = fractions;
  for (const [name, f] of Object.entries(fractions)) {
    if (!(f >= 0 && f <= 1)) throw new Error(`${source}: split fraction ${name} must be in [0, 1], got ${f}`);
  }
  const sum = train + validation + test;
  if (sum > 1 + 1e-9) throw new Error(`${source}: split fractions sum to ${sum}, more than 1`);
  const shuffled = new Rng(seed).fork("jsonl/split").shuffle(items.slice());
  const n = shuffled.length;
  const nTrain = Math.round(n * train);
  const nVal = Math.min(n - nTrain, Math.round(n * validation));
  const nTest = Math.abs(sum - 1) < 1e-9 ? n - nTrain - nVal : Math.min(n - nTrain - nVal, Math.round(n * test));
  return {
    train: shuffled.slice(0, nTrain),
    validation: shuffled.slice(nTrain, nTrain + nVal),
    test: shuffled.slice(nTrain + nVal, nTrain + nVal + nTest),
  };
}
