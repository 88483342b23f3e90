import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { JsonlDataSpec, JsonlSplit, TaskDataSpec, TaskName } from "../../src/dsl/plan.js";
import { compileSource } from "../../src/dsl/index.js";
import {
  Batcher,
  batchesOf,
  canonicalJson,
  CharTokenizer,
  type ClassificationDataset,
  type Dataset,
  generateTask,
  type GenerationDataset,
  IGNORE_INDEX,
  loadDataset,
  cutShares,
} from "../../src/runtime/data/index.js";
import { mobyDickParts, wordsOf } from "../../src/runtime/data/package-text.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-data-"));
const FIXTURES = path.join(import.meta.dirname, "../fixtures/data");
const ROOT = path.join(import.meta.dirname, "..", "..");

function task(name: TaskName, params: TaskDataSpec["params"] = {}, seed = 7, splits = { train: 60, validation: 20, test: 20 }): TaskDataSpec {
  return { kind: "task", task: name, params, splits, seed, tokenizer: { kind: "char" } };
}

/** Independent check of an arithmetic example: parse the prompt, compute with BigInt. */
function arithmeticOk(prompt: string, completion: string): boolean {
  const m = prompt.match(/^(\d+)([+\-*])(\d+)=$/);
  if (!m) return false;
  const [a, b] = [BigInt(m[1]!), BigInt(m[3]!)];
  const v = m[2] === "+" ? a + b : m[2] === "-" ? a - b : a * b;
  return String(v) === completion && v >= 0n;
}

/** A tiny interpreter for the code task's language: x=expr; …; print(expr) with + - * precedence. */
function runProgram(source: string): string {
  const env = new Map<string, number>();
  let printed: string | null = null;
  const evalExpr = (expr: string): number => {
    const tokens = expr.match(/[a-z]|\d+|[+\-*]/g) ?? [];
    if (tokens.join("") !== expr) throw new Error(`bad expression ${expr}`);
    let pos = 0;
    const atom = (): number => {
      const t = tokens[pos++]!;
      if (/^\d+$/.test(t)) return Number(t);
      if (!env.has(t)) throw new Error(`undefined variable ${t}`);
      return env.get(t)!;
    };
    const term = (): number => {
      let v = atom();
      while (tokens[pos] === "*") pos++, (v *= atom());
      return v;
    };
    let v = term();
    while (tokens[pos] === "+" || tokens[pos] === "-") v = tokens[pos++] === "+" ? v + term() : v - term();
    if (pos !== tokens.length) throw new Error(`trailing tokens in ${expr}`);
    return v;
  };
  for (const stmt of source.trimEnd().split(";")) {
    const assign = stmt.match(/^([a-z])=(.+)$/);
    const print = stmt.match(/^print\((.+)\)$/);
    if (assign) env.set(assign[1]!, evalExpr(assign[2]!));
    else if (print) printed = String(evalExpr(print[1]!));
    else throw new Error(`bad statement ${stmt}`);
  }
  if (printed === null) throw new Error("no print");
  return printed;
}

const keyOf = (e: { prompt?: string; text?: string }) => e.prompt ?? e.text!;

describe("built-in tasks", () => {
  const names: [TaskName, TaskDataSpec["params"]][] = [
    ["addition", { digits: 3 }],
    ["subtraction", { digits: 2 }],
    ["multiplication", { digits: 2 }],
    ["arithmetic", { digits: 1 }],
    ["code", { lines: 3 }],
    ["sort", { digits: 4 }],
    ["reverse", { letters: 5 }],
    ["spam", { maxChars: 200 }],
  ];

  it.each(names)("%s is deterministic per seed, with disjoint splits of the requested sizes", (name, params) => {
    const a = loadDataset(task(name, params), { baseDir: "." });
    const b = loadDataset(task(name, params), { baseDir: "." });
    const c = loadDataset(task(name, params, 8), { baseDir: "." });
    expect(a.checksum).toBe(b.checksum);
    expect(a.train).toEqual(b.train);
    expect(c.checksum).not.toBe(a.checksum);
    expect([a.train.length, a.validation.length, a.test.length]).toEqual([60, 20, 20]);
    const keys = [...a.train, ...a.validation, ...a.test].map(keyOf);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it.each(["addition", "subtraction", "multiplication", "arithmetic"] as TaskName[])("%s answers are right", (name) => {
    const ds = loadDataset(task(name, { digits: 3 }, 1, { train: 300, validation: 50, test: 50 }), { baseDir: "." }) as GenerationDataset;
    const all = [...ds.train, ...ds.validation, ...ds.test];
    for (const e of all) expect(arithmeticOk(e.prompt, e.completion), `${e.prompt}${e.completion}`).toBe(true);
    const ops = new Set(all.map((e) => e.prompt.match(/[+\-*]/)![0]));
    expect([...ops].sort()).toEqual(name === "arithmetic" ? ["*", "+", "-"] : [{ addition: "+", subtraction: "-", multiplication: "*" }[name as "addition"]]);
    for (const e of all) for (const n of e.prompt.match(/\d+/g)!) expect(n.length).toBeLessThanOrEqual(3);
  });

  it("enumerates small spaces and refuses impossible sizes", () => {
    const ds = generateTask(task("addition", { digits: 1 }, 3, { train: 80, validation: 10, test: 10 }));
    expect(new Set([...ds.train, ...ds.validation, ...ds.test].map(keyOf)).size).toBe(100);
    expect(() => generateTask(task("addition", { digits: 1 }, 3, { train: 90, validation: 10, test: 1 }))).toThrow(/101 distinct examples requested but only 100 exist/);
  });

  it("sort answers are the prompt's digits in ascending order", () => {
    const ds = loadDataset(task("sort", { digits: 6 }, 2, { train: 300, validation: 50, test: 50 }), { baseDir: "." }) as GenerationDataset;
    for (const e of [...ds.train, ...ds.validation, ...ds.test]) {
      const digits = e.prompt.match(/^sort\((\d+)\)=$/)![1]!;
      expect(digits).toHaveLength(6);
      const counts = (s: string) => [...s].reduce((m, d) => m.set(d, (m.get(d) ?? 0) + 1), new Map<string, number>());
      expect(counts(e.completion)).toEqual(counts(digits));
      for (let i = 1; i < e.completion.length; i++) expect(e.completion[i - 1]! <= e.completion[i]!).toBe(true);
    }
    expect(() => generateTask(task("sort", { digits: 2 }, 3, { train: 40, validation: 10, test: 1 }))).toThrow(/51 distinct examples requested but digits=2 allows at most 50/);
  });

  it("reverse spells words of Moby-Dick with hyphens, and their letters backwards", () => {
    const ds = loadDataset(task("reverse", { letters: 4 }, 2, { train: 300, validation: 50, test: 50 }), { baseDir: "." }) as GenerationDataset;
    const all = [...ds.train, ...ds.validation, ...ds.test];
    for (const e of all) {
      const word = e.prompt.match(/^reverse\(([a-z](?:-[a-z])+)\)=$/)![1]!.replaceAll("-", "");
      expect(word.length).toBeGreaterThanOrEqual(3);
      expect(word.length).toBeLessThanOrEqual(4);
      expect(e.completion).toBe([...word].reverse().join("-"));
    }
    const book = new Set(wordsOf(mobyDickParts()));
    for (const e of all) expect(book.has(e.prompt.slice(8, -2).replaceAll("-", "")), e.prompt).toBe(true);
    expect(() => generateTask(task("reverse", { letters: 3 }, 3, { train: 1000, validation: 0, test: 0 }))).toThrow(/has only \d+ words of 3 to 3 letters/);
  });

  it.each([1, 3, 6])("code programs with %i lines print what the interpreter computes", (lines) => {
    const ds = loadDataset(task("code", { lines }, 5, { train: 150, validation: 25, test: 25 }), { baseDir: "." }) as GenerationDataset;
    for (const e of [...ds.train, ...ds.validation, ...ds.test]) {
      expect(e.prompt.endsWith("\n")).toBe(true);
      expect(e.prompt.trimEnd().split(";")).toHaveLength(lines + 1);
      expect(runProgram(e.prompt)).toBe(e.completion);
      expect(Math.abs(Number(e.completion))).toBeLessThanOrEqual(999);
    }
  });

  it("spam is real labelled mail without routing headers", () => {
    const ds = loadDataset(task("spam", { maxChars: 300 }, 2, { train: 400, validation: 50, test: 50 }), { baseDir: "." }) as ClassificationDataset;
    expect(ds.labelNames).toEqual(["ham", "spam"]);
    const all = [...ds.train, ...ds.validation, ...ds.test];
    const spam = all.filter((e) => e.label === 1).length;
    expect(spam).toBeGreaterThan(80);
    expect(spam).toBeLessThan(250);
    for (const e of all) {
      expect(e.text.startsWith("Subject: ")).toBe(true);
      expect(Array.from(e.text).length).toBeLessThanOrEqual(300);
      expect(e.text).not.toMatch(/^(Received|Return-Path|Delivered-To):/m);
    }
  });

  it.each([
    [task("addition", { digit: 3 }), /task addition: unknown param "digit"; allowed: digits/],
    [task("code", { lines: "3" }), /task code: param lines must be a number/],
    [task("addition", { digits: 12 }), /param digits must be an integer in \[1, 9\]/],
    [task("spam", {}, 1, { train: 7000, validation: 0, test: 0 }), /task spam: 7000 examples requested/],
    [task("addition", {}, 1, { train: -1, validation: 0, test: 0 }), /split train must be a non-negative integer/],
  ])("rejects %j", (spec, message) => {
    expect(() => generateTask(spec)).toThrow(message);
  });
});

describe("JSONL files", () => {
  function jsonl(lines: string[], name = "data.jsonl"): { dir: string; file: string } {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, name), lines.join("\n"));
    return { dir, file: name };
  }
  const share = (file: string, s: number): JsonlSplit => ({ from: "share", file, share: s, examples: null });
  const spec = (file: string, format: JsonlDataSpec["format"], fields: JsonlDataSpec["fields"] = {}): JsonlDataSpec => ({
    kind: "jsonl", path: file, format, fields, splits: { train: share(file, 0.6), validation: share(file, 0.2), test: share(file, 0.2) }, shuffle: true, seed: 4, tokenizer: { kind: "byte" },
  });

  it("reads generation data with custom field names, relative to baseDir", () => {
    const rows = Array.from({ length: 10 }, (_, i) => JSON.stringify({ q: `q${i}`, a: `a${i}`, extra: 1 }));
    const { dir, file } = jsonl(["", ...rows, "   "]);
    const ds = loadDataset(spec(file, "generation", { prompt: "q", completion: "a" }), { baseDir: dir }) as GenerationDataset;
    expect([ds.train.length, ds.validation.length, ds.test.length]).toEqual([6, 2, 2]);
    const all = [...ds.train, ...ds.validation, ...ds.test];
    expect(all.map((e) => e.prompt).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `q${i}`).sort());
    for (const e of all) expect(e.completion).toBe(`a${e.prompt.slice(1)}`);
    expect(ds.source).toBe("file data.jsonl");
  });

  it("maps string labels to sorted label names and integer labels to their indices", () => {
    const s = jsonl(['{"text":"x","label":"pos"}', '{"text":"y","label":"neg"}', '{"text":"z","label":"pos"}']);
    const ds = loadDataset(spec(s.file, "classification"), { baseDir: s.dir }) as ClassificationDataset;
    expect(ds.labelNames).toEqual(["neg", "pos"]);
    const byText = Object.fromEntries([...ds.train, ...ds.validation, ...ds.test].map((e) => [e.text, e.label]));
    expect(byText).toEqual({ x: 1, y: 0, z: 1 });
    const n = jsonl(['{"body":"x","y":2}', '{"body":"y","y":0}']);
    const dn = loadDataset(spec(n.file, "classification", { text: "body", label: "y" }), { baseDir: n.dir }) as ClassificationDataset;
    expect(dn.labelNames).toEqual(["0", "1", "2"]);
  });

  it.each([
    [["{\"prompt\":\"a\",\"completion\":\"b\"}", "", "{oops"], "generation", /data\.jsonl:3: invalid JSON/],
    [["[1,2]"], "generation", /data\.jsonl:1: expected a JSON object/],
    [["{\"prompt\":\"a\",\"completion\":\"b\"}", "{\"prompt\":\"a\"}"], "generation", /data\.jsonl:2: missing field "completion" \(the line's keys: "prompt"\); name the key to read with `completion "…"` in the data block/],
    [["{\"prompt\":1,\"completion\":\"b\"}"], "generation", /data\.jsonl:1: field "prompt" must be a string, got 1/],
    [["", "  "], "generation", /data\.jsonl: empty file/],
    [["{\"text\":\"a\",\"label\":\"x\"}", "{\"text\":\"b\",\"label\":1}"], "classification", /data\.jsonl:2: field "label" must be a string/],
    [["{\"text\":\"a\",\"label\":1.5}"], "classification", /data\.jsonl:1: field "label" must be an integer >= 0 or a string, got 1.5/],
    [["{\"text\":\"a\"}"], "classification", /data\.jsonl:1: missing field "label"/],
  ] as [string[], JsonlDataSpec["format"], RegExp][])("error %#: %s", (lines, format, message) => {
    const { dir, file } = jsonl(lines);
    expect(() => loadDataset(spec(file, format), { baseDir: dir })).toThrow(message);
  });

  it("cuts shares after a seeded shuffle; the last share takes the rounding remainder", () => {
    const items = Array.from({ length: 101 }, (_, i) => i);
    const f = "f.jsonl";
    const three = (t: number, v: number, x: number) => ({ train: share(f, t), validation: share(f, v), test: share(f, x) });
    const a = cutShares(items, three(0.8, 0.1, 0.1), true, 1, "f");
    expect([a.train.length, a.validation.length, a.test.length]).toEqual([81, 10, 10]);
    expect([...a.train, ...a.validation, ...a.test].sort((x, y) => x - y)).toEqual(items);
    expect(cutShares(items, three(0.8, 0.1, 0.1), true, 1, "f")).toEqual(a);
    expect(cutShares(items, three(0.8, 0.1, 0.1), true, 2, "f").train).not.toEqual(a.train);
    expect(cutShares(items, three(0.5, 0, 0.2), true, 1, "f").test).toHaveLength(20);
    expect(() => cutShares(items, three(0.8, 0.2, 0.1), true, 1, "f.jsonl")).toThrow(/f\.jsonl: split shares sum to 1\.1/);
    const inOrder = cutShares(items, three(0.8, 0.1, 0.1), false, 1, "f");
    expect([inOrder.train.slice(0, 3), inOrder.validation[0], inOrder.test[0]]).toEqual([[0, 1, 2], 81, 91]);
  });

  it("reads a file per split: the test file whole and in order, shares cut from the training file", () => {
    const dir = tmp();
    const gen = (n: number, tag: string) => Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `${tag}${i}`, completion: "x" })).join("\n");
    fs.writeFileSync(path.join(dir, "train.jsonl"), gen(20, "t"));
    fs.writeFileSync(path.join(dir, "test.jsonl"), gen(6, "held"));
    const s: JsonlDataSpec = { ...spec("train.jsonl", "generation"), splits: { train: share("train.jsonl", 0.9), validation: share("train.jsonl", 0.1), test: { from: "file", file: "test.jsonl", examples: null } } };
    const ds = loadDataset(s, { baseDir: dir }) as GenerationDataset;
    expect(ds.test.map((e) => e.prompt)).toEqual(["held0", "held1", "held2", "held3", "held4", "held5"]);
    expect([ds.train.length, ds.validation.length]).toEqual([18, 2]);
    expect([...ds.train, ...ds.validation].map((e) => e.prompt).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `t${i}`).sort());
    expect(ds.source).toBe("train 90% of train.jsonl, validation 10% of train.jsonl, test test.jsonl");
    const whole = loadDataset({ ...s, splits: { ...s.splits, train: { from: "file", file: "train.jsonl", examples: null }, validation: { from: "file", file: "test.jsonl", examples: null } } }, { baseDir: dir }) as GenerationDataset;
    expect(whole.train.map((e) => e.prompt)).toEqual(Array.from({ length: 20 }, (_, i) => `t${i}`));
    expect(() => loadDataset({ ...s, splits: { ...s.splits, train: { from: "file", file: "train.jsonl", examples: null } } }, { baseDir: dir })).toThrow(/training takes the whole file, so validation cannot be a share of it/);
  });

  it("gives labels one set of names across the files of a data set", () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "train.jsonl"), ['{"text":"a","label":"pos"}', '{"text":"b","label":"neg"}'].join("\n"));
    fs.writeFileSync(path.join(dir, "test.jsonl"), '{"text":"c","label":"mixed"}\n');
    const s: JsonlDataSpec = { ...spec("train.jsonl", "classification"), splits: { train: { from: "file", file: "train.jsonl", examples: null }, validation: { from: "file", file: "test.jsonl", examples: null }, test: { from: "file", file: "test.jsonl", examples: null } } };
    const ds = loadDataset(s, { baseDir: dir }) as ClassificationDataset;
    expect(ds.labelNames).toEqual(["mixed", "neg", "pos"]);
    expect(ds.test).toEqual([{ text: "c", label: 0 }]);
    fs.writeFileSync(path.join(dir, "test.jsonl"), '{"text":"c","label":3}\n');
    expect(() => loadDataset(s, { baseDir: dir })).toThrow(/test\.jsonl:1: field "label" must be a string \(the labels of .*train\.jsonl are strings\), got 3/);
  });

  it("rejects bytes that are not UTF-8, naming the file and line", () => {
    const dir = tmp();
    const good = Buffer.from('{"prompt":"a","completion":"b"}\n{"prompt":"c","completion":"d"}\n');
    fs.writeFileSync(path.join(dir, "latin1.jsonl"), Buffer.concat([good, Buffer.from('{"prompt":"caf'), Buffer.from([0xe9]), Buffer.from('","completion":"x"}\n')]));
    expect(() => loadDataset(spec("latin1.jsonl", "generation"), { baseDir: dir })).toThrow(/latin1\.jsonl:3: the file is not UTF-8 text \(byte 0xe9 is not followed by a continuation byte\); save it as UTF-8/);
  });

  it("reads, tokenises (BPE) and batches a 10 MB line holding a 2-million-character word", () => {
    const dir = tmp();
    const long = "x".repeat(2_000_000) + " ab".repeat(2_700_000);
    const lines = [JSON.stringify({ text: long, label: "long" }), ...Array.from({ length: 9 }, (_, i) => JSON.stringify({ text: `t${i}`, label: "short" }))];
    fs.writeFileSync(path.join(dir, "big.jsonl"), lines.join("\n"));
    const bpe = path.join(ROOT, "examples", "models", "tiny-llama", "tokenizer.json");
    const s: JsonlDataSpec = { ...spec("big.jsonl", "classification"), tokenizer: { kind: "bpe", path: bpe } };
    const ds = loadDataset(s, { baseDir: dir }) as ClassificationDataset;
    const all = [...ds.train, ...ds.validation, ...ds.test];
    expect(all.map((e) => e.text.length).sort((a, b) => b - a)[0]).toBe(long.length);
    expect(long.length).toBeGreaterThan(10_000_000);
    expect(ds.labelNames).toEqual(["long", "short"]);
    const batches = batchesOf(all, ds, { batch: 10, maxLength: 16 });
    expect(batches[0]!.length).toBe(16);
  });

  it("cuts the sizes the compiler recorded in the plan", () => {
    const dir = tmp();
    const gen = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ text: `t${i}`, label: i % 3 })).join("\n");
    const files: Record<string, string> = { "train.jsonl": gen(37), "test.jsonl": gen(11) };
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    for (const block of ["{}", '{ validation 15%, test "test.jsonl" }', '{ train 40%, validation 33%, test 27% }', "{ validation 0.3, test 0.05, shuffle no }"]) {
      const r = compileSource(`data d = jsonl "train.jsonl" ${block}\n`, path.join(dir, "t.peft"), { readFile: (p) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : null) });
      const planned = r.plan!.data.d as JsonlDataSpec;
      const ds = loadDataset(planned, { baseDir: dir });
      expect([ds.train.length, ds.validation.length, ds.test.length], block).toEqual([planned.splits.train.examples, planned.splits.validation.examples, planned.splits.test.examples]);
    }
  });
});

describe("loadDataset tokenizers and checksum", () => {
  it("builds a char vocabulary from the training texts plus the task alphabet", () => {
    const ds = loadDataset(task("addition", { digits: 2 }), { baseDir: "." });
    expect((ds.tokenizer as CharTokenizer).chars).toEqual([..."*+-0123456789="]);
  });

  it("uses a bpe tokenizer.json relative to baseDir, or the model's tokenizer", () => {
    const bpe = loadDataset({ ...task("code"), tokenizer: { kind: "bpe", path: "bpe/tokenizer.json" } }, { baseDir: FIXTURES });
    expect(bpe.tokenizer.kind).toBe("hf");
    const own = new CharTokenizer("0123456789+=");
    expect(loadDataset({ ...task("addition"), tokenizer: { kind: "model" } }, { baseDir: ".", modelTokenizer: own }).tokenizer).toBe(own);
    expect(() => loadDataset({ ...task("addition"), tokenizer: { kind: "model" } }, { baseDir: "." })).toThrow(/tokenizer "model" needs the model's tokenizer\.json/);
  });

  it("checksum is sha256 of the canonical JSON of the splits", () => {
    expect(canonicalJson({ b: [1, { d: 1, c: "x" }], a: null })).toBe('{"a":null,"b":[1,{"c":"x","d":1}]}');
    const ds = loadDataset(task("addition", { digits: 2 }), { baseDir: "." });
    expect(ds.checksum).toMatch(/^[0-9a-f]{64}$/);
    const other = loadDataset(task("addition", { digits: 2 }, 7, { train: 59, validation: 20, test: 21 }), { baseDir: "." });
    expect(other.checksum).not.toBe(ds.checksum);
  });
});

describe("batching", () => {
  const tok = new CharTokenizer("0123456789+=abc ");
  const gen = (examples: { prompt: string; completion: string }[]): Dataset => ({
    kind: "generation", spec: task("addition"), tokenizer: tok, checksum: "", source: "test", train: examples, validation: [], test: [],
  });
  const enc = (s: string) => tok.encode(s);

  it("causal rows: <bos> prompt completion <eos>, labels only on completion and <eos>, right padding", () => {
    const ex = [{ prompt: "1+2=", completion: "3" }, { prompt: "10+20=", completion: "30" }];
    const [b] = batchesOf(ex, gen(ex), { batch: 2, maxLength: 32 });
    expect(b).toMatchObject({ kind: "causal", size: 2, length: 10, tokens: 7 + 10 });
    const row = (k: number) => Array.from(b!.ids.slice(k * 10, (k + 1) * 10));
    expect(row(0)).toEqual([tok.bosId, ...enc("1+2=3"), tok.eosId, 0, 0, 0]);
    expect(Array.from(b!.labels.slice(0, 10))).toEqual([...Array(5).fill(IGNORE_INDEX), ...enc("3"), tok.eosId, ...Array(3).fill(IGNORE_INDEX)]);
    expect(Array.from(b!.mask.slice(0, 10))).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    expect(row(1)).toEqual([tok.bosId, ...enc("10+20=30"), tok.eosId]);
    expect(Array.from(b!.labels.slice(10))).toEqual([...Array(7).fill(IGNORE_INDEX), ...enc("30"), tok.eosId]);
  });

  it("classification rows: <bos> text <eos> and one label per row", () => {
    const ds: Dataset = { kind: "classification", spec: task("spam"), tokenizer: tok, checksum: "", source: "t", labelNames: ["a", "b"], train: [], validation: [], test: [] };
    const [b] = batchesOf([{ text: "abc", label: 1 }, { text: "a", label: 0 }], ds, { batch: 4, maxLength: 8 });
    expect(b).toMatchObject({ kind: "classification", size: 2, length: 5 });
    expect(Array.from(b!.ids)).toEqual([tok.bosId, ...enc("abc"), tok.eosId, tok.bosId, ...enc("a"), tok.eosId, 0, 0]);
    expect(Array.from(b!.labels)).toEqual([1, 0]);
  });

  it("truncates the prompt from the left to keep the completion, and says so", () => {
    const ex = [{ prompt: "123456789+1=", completion: "123" }, { prompt: "1=", completion: "aaaaaaaaaaaa" }];
    const logs: string[] = [];
    const [b] = batchesOf(ex, gen(ex), { batch: 2, maxLength: 8, log: (l) => logs.push(l) });
    expect(b!.length).toBe(8);
    expect(Array.from(b!.ids.slice(0, 8))).toEqual([tok.bosId, ...enc("+1=123"), tok.eosId]);
    expect(Array.from(b!.ids.slice(8))).toEqual([tok.bosId, ...enc("aaaaaaa")]);
    expect(Array.from(b!.labels.slice(8))).toEqual([IGNORE_INDEX, ...enc("aaaaaaa")]);
    expect(logs).toEqual(["data: 2 of 2 examples longer than maxLength 8: 11 prompt tokens dropped from the left, 1 completions cut"]);
  });

  it("batchesOf keeps order and ends with a smaller batch", () => {
    const ex = Array.from({ length: 5 }, (_, i) => ({ prompt: `${i}=`, completion: "a" }));
    const bs = batchesOf(ex, gen(ex), { batch: 2, maxLength: 16 });
    expect(bs.map((b) => b.size)).toEqual([2, 2, 1]);
    expect(tok.decode(Array.from(bs[2]!.ids))).toBe("4=a");
  });

  const ex = Array.from({ length: 7 }, (_, i) => ({ prompt: `${i}+${i}=`, completion: `${2 * i}` }));
  const firstIds = (b: { ids: Int32Array; length: number; size: number }) => Array.from({ length: b.size }, (_, r) => tok.decode(Array.from(b.ids.slice(r * b.length, (r + 1) * b.length))));

  it("Batcher visits every example once per epoch in a seeded order, with full batches", () => {
    const batcher = new Batcher(ex, gen(ex), { batch: 3, maxLength: 16, seed: 1 });
    const seen = Array.from({ length: 7 }, () => firstIds(batcher.next())).flat(); // 21 rows = 3 epochs
    expect(seen).toHaveLength(21);
    for (let e = 0; e < 3; e++) expect(new Set(seen.slice(e * 7, e * 7 + 7)).size).toBe(7);
    expect(seen.slice(0, 7)).not.toEqual(seen.slice(7, 14));
    const again = new Batcher(ex, gen(ex), { batch: 3, maxLength: 16, seed: 1 });
    expect(firstIds(again.next())).toEqual(seen.slice(0, 3));
    expect(firstIds(new Batcher(ex, gen(ex), { batch: 3, maxLength: 16, seed: 2 }).next())).not.toEqual(seen.slice(0, 3));
  });

  it("Batcher state() / restore() resume the same stream, also through JSON", () => {
    const a = new Batcher(ex, gen(ex), { batch: 3, maxLength: 16, seed: 9 });
    for (let i = 0; i < 4; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.state()));
    const expected = [a.next(), a.next(), a.next()].map(firstIds);
    const b = new Batcher(ex, gen(ex), { batch: 3, maxLength: 16, seed: 9 });
    b.restore(saved);
    expect([b.next(), b.next(), b.next()].map(firstIds)).toEqual(expected);
    const other = new Batcher(ex.slice(0, 5), gen(ex), { batch: 3, maxLength: 16, seed: 9 });
    expect(() => other.restore(saved)).toThrow(/does not fit 5 examples/);
  });

  it.each([
    [{ batch: 0, maxLength: 8 }, /batch must be a positive integer/],
    [{ batch: 2, maxLength: 2 }, /maxLength must be an integer >= 3/],
  ])("rejects options %j", (opts, message) => {
    expect(() => batchesOf(ex, gen(ex), opts)).toThrow(message);
  });
});
