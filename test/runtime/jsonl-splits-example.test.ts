// examples/jsonl-splits: a training file and a held-out test file. The test split is the test
// file, whole and in order; training and validation are a partition of the training file.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../src/dsl/index.js";
import type { JsonlDataSpec } from "../../src/dsl/plan.js";
import { loadDataset, type ClassificationDataset } from "../../src/runtime/data/index.js";

const ROOT = path.join(import.meta.dirname, "..", "..");
const DIR = path.join(ROOT, "examples", "jsonl-splits");
const FILE = path.join(DIR, "topics.peft");
const read = (p: string) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : null);
const lines = (name: string) => fs.readFileSync(path.join(DIR, name), "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as { text: string; label: string });

describe("examples/jsonl-splits", () => {
  const { plan, diagnostics } = compileSource(fs.readFileSync(FILE, "utf8"), FILE, { readFile: read });

  it("compiles; the plan records each split's file and size and the format read from the keys", () => {
    expect(diagnostics).toEqual([]);
    const spec = plan!.data.topics as JsonlDataSpec;
    expect(spec.format).toBe("classification");
    expect(spec.splits).toEqual({
      train: { from: "share", file: "train.jsonl", share: 0.8, examples: 120 },
      validation: { from: "share", file: "train.jsonl", share: 0.2, examples: 30 },
      test: { from: "file", file: "test.jsonl", examples: lines("test.jsonl").length },
    });
  });

  it.each(["topics", "topics_in_order"])("data %s: the test file is the test split; train and validation partition the training file", (name) => {
    const spec = plan!.data[name] as JsonlDataSpec;
    const ds = loadDataset(spec, { baseDir: DIR }) as ClassificationDataset;
    const named = (e: { text: string; label: number }) => ({ text: e.text, label: ds.labelNames[e.label] });
    expect(ds.labelNames).toEqual(["food", "sport", "weather"]);
    expect(ds.test.map(named)).toEqual(lines("test.jsonl"));
    const train = lines("train.jsonl");
    expect([ds.train.length, ds.validation.length]).toEqual([spec.splits.train.examples, spec.splits.validation.examples]);
    const key = (e: { text: string; label: string }) => `${e.label}|${e.text}`;
    expect([...ds.train, ...ds.validation].map(named).map(key).sort()).toEqual(train.map(key).sort());
    const testTexts = new Set(ds.test.map((e) => e.text));
    expect([...ds.train, ...ds.validation].filter((e) => testTexts.has(e.text))).toEqual([]);
    if (!spec.shuffle) expect(ds.validation.map(named)).toEqual(train.slice(120));
    else expect(ds.validation.map(named)).not.toEqual(train.slice(120));
  });
});
