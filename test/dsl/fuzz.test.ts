// Fuzz: mutate the examples (fixed seed) and compile. No exception may escape, every span (and
// every note's span) must lie inside its file, and rendering must succeed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile, diagnosticsToJson, renderDiagnostics, type CompileResult } from "../../src/dsl/index.js";
import { ROOT, exampleFiles } from "./helpers.js";

const CASES = 1200;

/** mulberry32: a small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SNIPPETS = [
  "{", "}", "[", "]", "\"", "->", "..", "%", ",", "=", "+", "\n", "#", "//", "\t", "\u0000", "€", "\ufffd", " ",
  "model", "data", "adapter", "beam", "prune", "train", "run", "compare", "include", "backend", "on", "with", "by", "plot",
  "rank", "alpha", "steps", "epochs", "every", "top_p", "matching", "per", "layer", "global", "auto", "cosine", "until",
  "0", "-1", "1e999", "3e-4", "150%", "0.5", "99999999999", "1..3", "x", "lora8", "base", "\"q_proj\"", "\"(\"", "[1e-4, 3e-4]",
];

function mutate(text: string, random: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const pos = () => Math.floor(random() * (text.length + 1));
  const steps = 1 + Math.floor(random() * 3);
  for (let i = 0; i < steps; i++) {
    const op = Math.floor(random() * 6);
    if (op === 0) {
      const at = pos();
      text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 20));
    } else if (op === 1) {
      const at = pos();
      text = text.slice(0, at) + pick(SNIPPETS) + text.slice(at);
    } else if (op === 2) {
      const lines = text.split("\n");
      const k = Math.floor(random() * lines.length);
      lines.splice(k, 0, lines[k]!);
      text = lines.join("\n");
    } else if (op === 3) {
      const lines = text.split("\n");
      const a = Math.floor(random() * lines.length);
      const b = Math.floor(random() * lines.length);
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      text = lines.join("\n");
    } else if (op === 4) {
      const at = Math.floor(random() * text.length);
      text = text.slice(0, at) + String.fromCharCode(Math.floor(random() * 0x3000)) + text.slice(at + 1);
    } else {
      text = text.slice(0, pos());
    }
  }
  return text;
}

describe("fuzzing the examples", () => {
  it(`${CASES} mutated files: no exception, every span inside its file`, () => {
    const files: Record<string, string> = {};
    for (const f of exampleFiles()) files[f] = readFileSync(join(ROOT, f), "utf8");
    // data and model files the examples read
    for (const f of ["examples/data/qa.jsonl", "examples/data/sentiment.jsonl", "examples/models/tiny-llama/config.json"]) files[f] = readFileSync(join(ROOT, f), "utf8");
    const mains = exampleFiles();
    const random = rng(20250101);
    let withErrors = 0;
    for (let i = 0; i < CASES; i++) {
      const main = mains[i % mains.length]!;
      const text = mutate(files[main]!, random);
      const input = { ...files, [main]: text };
      let result: CompileResult;
      try {
        result = compile({ main, files: input });
      } catch (err) {
        throw new Error(`case ${i} (${main}) threw: ${(err as Error).stack}\n--- input ---\n${text}`);
      }
      const check = (file: string, span: { start: number; end: number }, what: string) => {
        const length = result.sources.get(file)?.length;
        const ok = length !== undefined && Number.isInteger(span.start) && Number.isInteger(span.end) && span.start >= 0 && span.start <= span.end && span.end <= length;
        if (!ok) throw new Error(`case ${i} (${main}): ${what} span ${JSON.stringify(span)} outside '${file}' (length ${length})\n--- input ---\n${text}`);
      };
      for (const d of result.diagnostics) {
        check(d.file, d.span, `${d.code} ${d.message}`);
        for (const n of d.notes ?? []) check(n.file, n.span, `note of ${d.code}`);
      }
      expect(typeof renderDiagnostics(result.diagnostics, result.sources)).toBe("string");
      expect(diagnosticsToJson(result.diagnostics, result.sources)).toHaveLength(result.diagnostics.length);
      if (result.diagnostics.some((d) => d.severity === "error")) {
        withErrors++;
        expect(result.plan).toBeNull();
      } else {
        expect(JSON.parse(JSON.stringify(result.plan))).toEqual(result.plan);
      }
    }
    // The mutations must actually break files most of the time, or the test proves little.
    expect(withErrors).toBeGreaterThan(CASES / 2);
  });
});
