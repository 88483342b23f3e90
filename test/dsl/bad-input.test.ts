// Bad input through the CLI: each gets diagnostics with a line and column and exit 1 — never a
// stack trace, never a hang (each under 2 s).
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryIO } from "./cli-io.js";

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

const BASE = "model base = decoder { layers 2, width 64, heads 4, context 32 }\ndata sums = addition {}\nadapter a = lora {}\n";

const CASES: { name: string; content: string | Uint8Array; first: RegExp }[] = [
  { name: "an empty file", content: "", first: /PEFT1006/ },
  { name: "only comments and blank lines", content: "# nothing\n\n// still nothing\n", first: /PEFT1006/ },
  { name: "binary garbage", content: randomBytes(4096, 7), first: /PEFT100[38]/ },
  { name: "invalid UTF-8", content: new Uint8Array([...new TextEncoder().encode("model m = decoder {}\nmodel "), 0xff, 0xfe, 0x0a]), first: /t\.peft:2:7: error PEFT1003/ },
  { name: "an unterminated string", content: 'model m = hf "models/x\nrun r = m + a on d\n', first: /t\.peft:1:14: error PEFT1002/ },
  { name: "10,000 nested brackets", content: "[".repeat(10_000), first: /t\.peft:1:1: error PEFT1004/ },
  { name: "10,000 nested braces in a block", content: `model m = decoder ${"{".repeat(10_000)}`, first: /t\.peft:1:\d+: error PEFT1004/ },
  { name: "10,000 nested lists in a property", content: `train { lr ${"[".repeat(10_000)}1e-3${"]".repeat(10_000)} }`, first: /t\.peft:1:13: error PEFT1010: '\[' inside a list: lists do not nest \(9999 nested '\[' in all, skipped\)/ },
  { name: "a 2 MB line of words", content: "w ".repeat(1_000_000), first: /t\.peft:1:1: error PEFT1004/ },
  { name: "a 2 MB number", content: `model m = decoder { layers ${"9".repeat(2_000_000)} }`, first: /t\.peft:1:28: error PEFT1009/ },
  { name: "a 2 MB string", content: `adapter a = lora { rank "${"x".repeat(2_000_000)}" }\n`, first: /t\.peft:1:25: error PEFT3001/ },
  { name: "a 2 MB name", content: `${BASE}run r = base + ${"n".repeat(2_000_000)} on sums\n`, first: /t\.peft:4:16: error PEFT2001/ },
  { name: "a number too large for its field", content: `${BASE}train { steps 99999999999 }\nrun r = base + a on sums\n`, first: /t\.peft:4:15: error PEFT3002/ },
  { name: "a rank of 1e300", content: "adapter a = lora { rank 1e300 }", first: /t\.peft:1:25: error PEFT3002/ },
  { name: "a file of semantic mistakes", content: `${BASE}adapter a = dora { rank 0, alpha -1, dropout 1.5 }
beam b on nowhere { top_p 1.0 -> 0.9, every 5000 steps }
prune p { heads 120%, estimate 2000 steps }
train { steps 1000, epochs 3 }
run r = base + a + b + p on sums
run r = sums + base on a
compare r, missing by accurcy
`, first: /t\.peft:\d+:\d+: error PEFT2002/ },
];

describe("bad input never crashes the CLI", () => {
  it.each(CASES)("$name: diagnostics with line and column, exit 1, under 2 s", async ({ content, first }) => {
    const io = memoryIO({ "t.peft": content });
    const started = performance.now();
    const code = await main(["check", "t.peft"], io);
    const elapsed = performance.now() - started;
    expect(code).toBe(1);
    expect(elapsed).toBeLessThan(2000);
    expect(io.err).toMatch(/^t\.peft:\d+:\d+: (error|warning) PEFT\d{4}: /m);
    expect(io.err).toMatch(first);
    expect(io.err).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(io.err.length).toBeLessThan(200_000);
    const json = memoryIO({ "t.peft": content });
    expect(await main(["check", "--format", "json", "t.peft"], json)).toBe(1);
    const parsed = JSON.parse(json.out) as { diagnostics: { line: number; column: number }[]; errors: number };
    expect(parsed.errors).toBeGreaterThan(0);
    for (const d of parsed.diagnostics) expect(d.line).toBeGreaterThan(0);
  });

  it("a file of semantic mistakes reports each of them", async () => {
    const io = memoryIO({ "t.peft": CASES[CASES.length - 1]!.content });
    await main(["check", "t.peft"], io);
    const codes = [...io.err.matchAll(/ (?:error|warning) (PEFT\d{4})/g)].map((m) => m[1]);
    for (const code of ["PEFT2002", "PEFT3002", "PEFT3005", "PEFT3008", "PEFT2001", "PEFT3014", "PEFT2003", "PEFT2007"]) expect(codes).toContain(code);
  });
});
