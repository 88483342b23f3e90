// JSONL data sets in the language: a file per split or shares of the training file, the shuffle
// switch, the format read from the first line's keys, and what the plan records per split.
import { describe, expect, it } from "vitest";
import { compile, type CompileResult } from "../../src/dsl/index.js";
import type { JsonlDataSpec } from "../../src/dsl/plan.js";
import { BASE, located, run } from "./helpers.js";

const rows = (n: number, keys: [string, string] = ["prompt", "completion"], from = 0) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ [keys[0]]: `p${from + i}`, [keys[1]]: `c${from + i}` })).join("\n") + "\n";
const FILES = { "train.jsonl": rows(50), "val.jsonl": rows(7, undefined, 100), "test.jsonl": rows(9, undefined, 200) };

function dataOf(block: string, files: Record<string, string> = FILES): JsonlDataSpec {
  const r = run(`data d = jsonl ${block}\n`, files);
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  return r.plan!.data.d as JsonlDataSpec;
}

/** Each split as `from file size` (share in %), the way a reader checks a plan. */
function sources(spec: JsonlDataSpec): string[] {
  return (["train", "validation", "test"] as const).map((name) => {
    const s = spec.splits[name];
    return `${name}: ${s.from === "share" ? `${Math.round(s.share * 100)}% of ` : ""}${s.file} = ${s.examples}`;
  });
}

function codes(r: CompileResult): string[] {
  return r.diagnostics.map((d) => `${d.code} ${d.message}`);
}

describe("JSONL splits: a string is a file, a share is cut from the training file", () => {
  it.each([
    ['"train.jsonl" {}', ["train: 80% of train.jsonl = 40", "validation: 10% of train.jsonl = 5", "test: 10% of train.jsonl = 5"]],
    ['"train.jsonl" { validation 10%, test "test.jsonl" }', ["train: 90% of train.jsonl = 45", "validation: 10% of train.jsonl = 5", "test: test.jsonl = 9"]],
    ['"train.jsonl" { test "test.jsonl" }', ["train: 90% of train.jsonl = 45", "validation: 10% of train.jsonl = 5", "test: test.jsonl = 9"]],
    ['"train.jsonl" { validation "val.jsonl" }', ["train: 90% of train.jsonl = 45", "validation: val.jsonl = 7", "test: 10% of train.jsonl = 5"]],
    ['"train.jsonl" { validation "val.jsonl", test "test.jsonl" }', ["train: train.jsonl = 50", "validation: val.jsonl = 7", "test: test.jsonl = 9"]],
    ['"train.jsonl" { train 60%, validation "val.jsonl", test "test.jsonl" }', ["train: 60% of train.jsonl = 30", "validation: val.jsonl = 7", "test: test.jsonl = 9"]],
    ['"train.jsonl" { train 50%, validation 20%, test 30% }', ["train: 50% of train.jsonl = 25", "validation: 20% of train.jsonl = 10", "test: 30% of train.jsonl = 15"]],
    ['"train.jsonl" { validation 30%, test 0% }', ["train: 70% of train.jsonl = 35", "validation: 30% of train.jsonl = 15", "test: 0% of train.jsonl = 0"]],
    ['{ train "train.jsonl", validation "val.jsonl", test "test.jsonl" }', ["train: train.jsonl = 50", "validation: val.jsonl = 7", "test: test.jsonl = 9"]],
    ['{ train "train.jsonl", test "test.jsonl" }', ["train: 90% of train.jsonl = 45", "validation: 10% of train.jsonl = 5", "test: test.jsonl = 9"]],
  ])("jsonl %s", (block, expected) => {
    expect(sources(dataOf(block))).toEqual(expected);
  });

  it("records paths relative to the main file, wherever the data is declared", () => {
    const r = compile({ main: "exp/main.peft", files: {
      "exp/main.peft": 'include "../lib/data.peft"\n',
      "lib/data.peft": 'data d = jsonl "d/train.jsonl" { test "d/test.jsonl" }\n',
      "lib/d/train.jsonl": rows(10), "lib/d/test.jsonl": rows(3),
    } });
    const spec = r.plan!.data.d as JsonlDataSpec;
    expect([spec.path, spec.splits.train.file, spec.splits.test.file]).toEqual(["../lib/d/train.jsonl", "../lib/d/train.jsonl", "../lib/d/test.jsonl"]);
    expect(spec.splits.test.examples).toBe(3);
  });

  it("shuffles by default; `shuffle no` keeps the file order", () => {
    expect(dataOf('"train.jsonl" {}').shuffle).toBe(true);
    expect(dataOf('"train.jsonl" { shuffle no }').shuffle).toBe(false);
    expect(dataOf('"train.jsonl" { shuffle }').shuffle).toBe(true);
  });

  it("warns that `shuffle` does nothing when every split is a file of its own", () => {
    const r = run('data d = jsonl "train.jsonl" { validation "val.jsonl", test "test.jsonl", shuffle yes }\n', FILES);
    expect(located(r)).toEqual(['PEFT3109 "shuffle"']);
    expect(r.diagnostics[0]!.message).toContain("every split is a file of its own");
  });

  it.each([
    ['data d = jsonl "train.jsonl" { train "val.jsonl" }', 'PEFT3014 "train"', "the file after 'jsonl' is the training file"],
    ['data d = jsonl { validation "val.jsonl" }', 'PEFT3006 "jsonl"', "the path of the training file"],
    ['data d = jsonl "train.jsonl" { train 80%, validation 10%, test 20% }', 'PEFT3013 "test 20%"', "110%"],
    ['data d = jsonl "train.jsonl" { validation 50%, test 50% }', 'PEFT3002 "validation 50%"', "leave nothing to train on"],
    ['data d = jsonl "train.jsonl" { test "missing.jsonl" }', 'PEFT5001 "\\"missing.jsonl\\""', "cannot read data file 'missing.jsonl'"],
    ['data d = jsonl "train.jsonl" { test 10 steps }', 'PEFT3004 "10 steps"', 'a file in quotes like "test.jsonl"'],
    ['data d = jsonl "train.jsonl" { test "empty.jsonl" }', 'PEFT5005 "\\"empty.jsonl\\""', "line 1 of 'empty.jsonl' is empty"],
  ])("%s → %s", (text, at, says) => {
    const r = run(`${text}\n`, { ...FILES, "empty.jsonl": "\n" });
    expect(located(r)).toEqual([at]);
    expect(r.diagnostics[0]!.message).toContain(says);
    expect(r.plan).toBeNull();
  });

  it("checks each split file's lines against the fields, naming the file and line", () => {
    const r = run('data d = jsonl "train.jsonl" { test "test.jsonl" }\n', { "train.jsonl": rows(5), "test.jsonl": `${rows(1)}{"prompt": "x"}\n` });
    expect(located(r)).toEqual(['PEFT5005 "\\"test.jsonl\\""']);
    expect(r.diagnostics[0]!.message).toMatch(/^line 2 of 'test\.jsonl' has no key "completion" \(its keys: "prompt"\)/);
  });

  it("gives the size epochs need from the training split", () => {
    const r = run(`${BASE}data d = jsonl "train.jsonl" { validation "val.jsonl", test "test.jsonl" }\nrun r = base + lora8 on d with { epochs 2, batch 10 }\n`, FILES);
    expect(r.plan!.runs[0]!.train.steps).toBe(10);
  });
});

describe("JSONL format from the first line's keys", () => {
  it.each([
    [rows(3, ["text", "label"]), "classification", { text: "text", label: "label" }],
    [rows(3, ["prompt", "completion"]), "generation", { prompt: "prompt", completion: "completion" }],
    [`\n\n${rows(3, ["text", "label"])}`, "classification", { text: "text", label: "label" }],
  ])("%j → %s", (text, format, fields) => {
    const spec = dataOf('"x.jsonl" {}', { "x.jsonl": text });
    expect([spec.format, spec.fields]).toEqual([format, fields]);
  });

  it("names the keys found and the settings that would read them", () => {
    const r = run('data d = jsonl "x.jsonl" {}\n', { "x.jsonl": '{"review": "Great.", "stars": 5}\n' });
    expect(located(r)).toEqual(['PEFT5007 "\\"x.jsonl\\""']);
    expect(r.diagnostics[0]!.message).toBe("line 1 of 'x.jsonl' has the keys \"review\", \"stars\", which fit neither generation (keys prompt, completion) nor classification (keys text, label): " +
      "for classification set `text \"review\", label \"stars\"` (with `format` if the file may start with other keys)");
    const qa = run('data d = jsonl "x.jsonl" {}\n', { "x.jsonl": '{"question": "2+2?", "answer": "4"}\n' });
    expect(qa.diagnostics[0]!.message).toContain('for generation set `prompt "question", completion "answer"`; for classification set `text "question", label "answer"`');
  });

  it("lets a format or fields decide without looking at the file", () => {
    expect(dataOf('"x.jsonl" { format classification, text "review", label "stars" }', { "x.jsonl": '{"review": "Great.", "stars": 5}\n' }).format).toBe("classification");
    expect(dataOf('"x.jsonl" { prompt "q", completion "a" }', { "x.jsonl": '{"q": "1", "a": "2"}\n' }).format).toBe("generation");
    const r = run('data d = jsonl "x.jsonl" { format generation }\n', { "x.jsonl": '{"text": "a", "label": "b"}\n' });
    expect(r.diagnostics[0]!.message).toContain('has no key "prompt" or "completion" (its keys: "text", "label"); name the keys this generation data reads with `prompt "…", completion "…"`');
  });

  it("warns (not an error: a UTF-8 file may hold it) at a line holding U+FFFD, the mark of bytes that were not UTF-8", () => {
    const r = run('data d = jsonl "x.jsonl" {}\n', { "x.jsonl": `${rows(2)}{"prompt": "caf\uFFFD", "completion": "x"}\n` });
    expect(located(r)).toEqual(['PEFT5012 "\\"x.jsonl\\""']);
    expect(r.diagnostics[0]!.severity).toBe("warning");
    expect(r.diagnostics[0]!.message).toContain("line 3 of 'x.jsonl' holds U+FFFD");
    expect(r.plan).not.toBeNull();
  });

  it("without a file reader: no sizes, and the fields decide the format (generation by default)", () => {
    const r = compile({ path: "t.peft", text: 'data d = jsonl "x.jsonl" { test "t.jsonl" }\n' });
    const spec = r.plan!.data.d as JsonlDataSpec;
    expect([spec.format, spec.splits.train.examples, spec.splits.test.examples]).toEqual(["generation", null, null]);
  });
});
