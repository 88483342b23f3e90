// The base model of the generation-task evidence: a small llama pretrained (every weight) by
// peftlab's own `pretrain` on a corpus of *related but different* text, so that LoRA adapts a
// model that already knows the notation instead of learning arithmetic from random weights:
//
//   - arithmetic facts with one-digit operands (+ − ×, all 255) and three-digit sums and
//     differences; the evaluation task is two-digit addition (prompts of another shape);
//   - straight-line programs of one and two lines; the evaluation task has three-line programs.
//
// No evaluation prompt can occur in the corpus (other operand widths, other program lengths).
// The folder is cached under $PEFTLAB_CACHE/bench/ by a hash of its recipe; building is atomic.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pretraining, Rng } from "../../dist/index.js";
import { arithmeticExamples, codeExamples } from "../../dist/internal.js";

const { cacheRoot, PRETRAIN_DEFAULTS, pretrain, savePretrained } = pretraining;

/**
 * Pretraining recipes per mode: corpus sizes and the PretrainSpec overrides. Numbers are split
 * digit by digit (splitDigits true), as in the bench base of the earlier runs: on a base whose
 * tokenizer merges digits, 400 steps of LoRA reach 0.05 test exact match on 2-digit addition
 * instead of 0.44 (wasm, one seed, lr 0.012).
 */
export const BASE_RECIPES = {
  smoke: { arithmetic3: 200, code1: 100, code2: 100, spec: { layers: 1, hidden: 32, heads: 2, context: 32, vocab: 300, splitDigits: true, steps: 20, batch: 8, lr: 3e-3, warmup: 2, seed: 1 } },
  quick: { arithmetic3: 3000, code1: 2000, code2: 2000, spec: { layers: 2, hidden: 64, heads: 4, context: 48, vocab: 320, splitDigits: true, steps: 300, batch: 32, lr: 3e-3, warmup: 15, seed: 1 } },
  full: { arithmetic3: 6000, code1: 4000, code2: 4000, spec: { layers: 2, hidden: 64, heads: 4, context: 48, vocab: 320, splitDigits: true, steps: 1000, batch: 32, lr: 3e-3, warmup: 40, seed: 1 } },
};

/** The corpus: one example per line ("12+34=46", "a=3;print(a+1)\n4"), 20 lines per document. */
export function baseCorpus(recipe) {
  const rng = new Rng("peftlab-bench-base-corpus");
  const lines = [];
  for (const e of arithmeticExamples(["+", "-", "*"], 1, 255, rng)) lines.push(e.prompt + e.completion);
  for (const e of arithmeticExamples(["+", "-"], 3, recipe.arithmetic3, rng)) lines.push(e.prompt + e.completion);
  for (const e of codeExamples(1, recipe.code1, rng)) lines.push(e.prompt + e.completion);
  for (const e of codeExamples(2, recipe.code2, rng)) lines.push(e.prompt + e.completion);
  rng.shuffle(lines);
  const docs = [];
  for (let i = 0; i < lines.length; i += 20) docs.push(lines.slice(i, i + 20).join("\n"));
  return docs;
}

const CORPUS_NOTE = "peftlab bench corpus: 1-digit arithmetic facts, 3-digit sums and differences, 1- and 2-line programs";

/**
 * Hash of what determines the folder's content: the recipe with the pretraining defaults it
 * inherits (a change of those is a new base, not the cached one) and the corpus note.
 */
function recipeKey(mode) {
  const recipe = BASE_RECIPES[mode];
  const spec = { ...PRETRAIN_DEFAULTS, ...recipe.spec };
  return createHash("sha256").update(JSON.stringify({ v: 2, recipe, spec, CORPUS_NOTE })).digest("hex").slice(0, 12);
}

/**
 * The folder of the pretrained base for `mode` (built on first use, ~20-60 s), and what was done:
 * {dir, cached, seconds, validation: {initial, final, unigram}}.
 * @param {keyof typeof BASE_RECIPES} mode
 * @param {{ log?: (line: string) => void }} [options]
 */
export function ensureBenchBase(mode, { log } = {}) {
  const recipe = BASE_RECIPES[mode];
  const dir = path.join(cacheRoot(), "bench", `base-${mode}-${recipeKey(mode)}`);
  const infoFile = path.join(dir, "bench-base.json");
  if (fs.existsSync(infoFile)) return { ...JSON.parse(fs.readFileSync(infoFile, "utf8")), dir, cached: true };
  log?.(`evidence: pretraining the base model (${recipe.spec.steps} steps)`);
  const spec = { ...PRETRAIN_DEFAULTS, ...recipe.spec };
  const r = pretrain(baseCorpus(recipe), spec);
  const tmp = `${dir}.tmp-${process.pid}`;
  try {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    savePretrained(r, tmp, CORPUS_NOTE);
    const info = { seconds: r.seconds, validation: r.validation, spec, corpus: CORPUS_NOTE, vocab: r.tokenizer.vocabSize };
    fs.writeFileSync(path.join(tmp, "bench-base.json"), JSON.stringify(info, null, 2));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    return { ...info, dir, cached: false };
  } finally {
    r.model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
