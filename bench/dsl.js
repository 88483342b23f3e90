#!/usr/bin/env node
// Front-end speed: parse + check + compile of a generated 10,000-line .peft file, in lines/s
// after warm-up. Run after `npm run build`:   node bench/dsl.js [lines]
// bench/run.js imports runDslBench as its "dsl" benchmark.
// The file repeats a realistic experiment block (model, data, adapter, beam, prune, train, three
// runs, a comparison), one property per line as in examples/, with fresh names each time.
import { pathToFileURL } from "node:url";
import { check, compile, parse } from "../dist/dsl/index.js";

const GOAL = 200_000;

/** One experiment block of the kind people write, with names suffixed by `i`. */
function unit(i) {
  return `# experiment ${i}: LoRA vs BeamLoRA vs Light-PEFT
model m${i} = decoder {
  layers 2, width 64, heads 4
  context 32
}
data d${i} = addition { digits 2, train 2000, validation 200, test 200 }
adapter a${i} = lora {
  rank 8
  alpha 16
  dropout 0.05
  target "q_proj", "v_proj"
}
beam b${i} on a${i} {
  every 50 steps
  top_p 0.95 -> 1.0 cosine until 66%
}
prune p${i} {
  estimate 10%
  heads 25% per layer
  neurons 33% global
  modules 50%
}
train t${i} {
  steps 300, batch 32
  lr 1e-3 cosine warmup 3%
  seeds 1 2
  eval every 25% on 100 examples
}
run r${i}a = m${i} + a${i} on d${i} with t${i}
run r${i}b = m${i} + a${i} + b${i} on d${i} with t${i}
run r${i}c = m${i} + a${i} + p${i} on d${i} with t${i}
compare c${i} = r${i}a, r${i}b, r${i}c by accuracy, loss
`;
}

/** A .peft text of at least `lines` lines that compiles without diagnostics. */
function generate(lines) {
  const parts = [];
  let count = 0;
  for (let i = 0; count < lines; i++) {
    const text = unit(i);
    parts.push(text);
    count += text.split("\n").length - 1;
  }
  return { text: parts.join(""), lines: count };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median and best wall time of `repeats` calls, in ms. */
function time(fn, repeats) {
  const ms = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return { median: median(ms), best: Math.min(...ms) };
}

/**
 * Measures parse, parse + check and parse + check + compile of a generated file of at least `lines`
 * lines, after warm-up; returns lines/s of each (median of `repeats`) and the goal.
 */
export function runDslBench({ lines: target = 10_000, repeats = 21, warmup = 5 } = {}) {
  const { text, lines } = generate(target);
  const input = { path: "bench.peft", text };
  const first = compile(input);
  if (!first.plan || first.diagnostics.length > 0) {
    throw new Error(`bench/dsl: the generated file does not compile cleanly (${first.diagnostics.length} diagnostics): ${first.diagnostics[0]?.message}`);
  }
  for (let i = 0; i < warmup; i++) compile(input);
  const parseMs = time(() => parse(text, { path: "bench.peft" }), repeats);
  const checkMs = time(() => check(input), repeats);
  const compileMs = time(() => compile(input), repeats);
  const rate = (ms) => Math.round(lines / (ms / 1000));
  return {
    lines, characters: text.length, runs: first.plan.runs.length, repeats, goal: GOAL,
    parse: { ...parseMs, lines_per_s: rate(parseMs.median) },
    check: { ...checkMs, lines_per_s: rate(checkMs.median) },
    compile: { ...compileMs, lines_per_s: rate(compileMs.median), best_lines_per_s: rate(compileMs.best) },
    lines_per_s: rate(compileMs.median),
  };
}

function main() {
  let r;
  try {
    r = runDslBench({ lines: Number(process.argv[2] ?? 10_000) });
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
  const row = (label, t) =>
    `  ${label.padEnd(24)} ${t.median.toFixed(1).padStart(7)} ms ${t.lines_per_s.toLocaleString("en").padStart(10)} lines/s   (best ${Math.round(r.lines / (t.best / 1000)).toLocaleString("en")})`;
  console.log(`bench/dsl: ${r.lines} lines, ${r.characters} characters, ${r.runs} runs; median of ${r.repeats} after warm-up`);
  console.log(row("parse", r.parse));
  console.log(row("parse + check", r.check));
  console.log(row("parse + check + compile", r.compile));
  console.log(`  check and compile cost ${(r.compile.median / r.parse.median).toFixed(2)}x parsing alone; ${r.lines_per_s.toLocaleString("en")} lines/s is ${(r.lines_per_s / GOAL).toFixed(2)}x the goal of ${GOAL.toLocaleString("en")}`);
}

// Run as a script (`node bench/dsl.js [lines]`), not when imported by bench/run.js.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
