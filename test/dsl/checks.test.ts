// Every catalogue entry, triggered by a snippet: the code is reported and points at the right text.
import { describe, expect, it } from "vitest";
import { CATALOGUE, compile, decodeSource, type CompileResult, type DiagnosticId } from "../../src/dsl/index.js";
import { BASE, run, slice } from "./helpers.js";

const RUN = "run r = base + lora8 on sums\n";

interface Case {
  id: DiagnosticId;
  /** Snippet compiled as t.peft (with `files` available to the reader). */
  text?: string;
  files?: Record<string, string>;
  /** A custom way to produce the result (bytes, no reader). */
  produce?: () => CompileResult;
  /** The text the diagnostic's span must cover. */
  at: string;
  /** A piece of the message, when the text alone is ambiguous. */
  says?: string;
}

const chain: Record<string, string> = {};
for (let i = 0; i < 20; i++) chain[`c${i}.peft`] = `include "c${i + 1}.peft"\nmodel m${i} = decoder {}\n`;
chain["c20.peft"] = "model last = decoder {}\n";

const CASES: Case[] = [
  // 1xxx
  { id: "unexpectedCharacter", text: "model a = decoder € {}", at: "€" },
  { id: "unterminatedString", text: 'include "x', at: '"x' },
  { id: "nestedBrackets", text: "train { lr [[1e-3], [2e-3]] }", at: "[", says: "'[' inside a list: lists do not nest (2 nested '[' in all, skipped)" },
  { id: "invalidEncoding", produce: () => {
    const d = decodeSource(new Uint8Array([0x6d, 0x6f, 0xc3, 0x28, 0x0a]), "t.peft");
    return { plan: null, diagnostics: d.diagnostics, sources: new Map([["t.peft", d.text]]) };
  }, at: "\ufffd" },
  { id: "unexpectedToken", text: "modle base = decoder {}", at: "modle", says: "did you mean 'model'?" },
  { id: "unexpectedEnd", text: "model a =", at: "" },
  { id: "emptyFile", text: "  # nothing here\n", at: "" },
  { id: "tooManyErrors", text: "model a = b c\n".repeat(60), at: "c" },
  { id: "binaryFile", text: "model\u0000", at: "\u0000" },
  { id: "numberTooLarge", text: "train { steps 1e999 }", at: "1e999" },
  // 2xxx
  { id: "undeclaredName", text: `${BASE}run r = base + lora9 on sums`, at: "lora9", says: "did you mean 'lora8'?" },
  { id: "duplicateName", text: `${BASE}adapter lora8 = lora {}\n${RUN}`, at: "lora8", says: "already declared" },
  { id: "wrongKindOfName", text: `${BASE}run r = sums + lora8 on sums`, at: "sums", says: "is a data set, but a model" },
  { id: "unknownKind", text: "model m = decodr {}", at: "decodr", says: "did you mean 'decoder'?" },
  { id: "unknownProperty", text: "adapter a = lora { rnak 8 }", at: "rnak", says: "did you mean 'rank'?" },
  { id: "duplicateProperty", text: "adapter a = lora { rank 8, rank 4 }", at: "rank" },
  { id: "unknownWord", text: "adapter a = lora { init kaimin }", at: "kaimin", says: "did you mean 'kaiming'?" },
  { id: "unusedDeclaration", text: `${BASE}adapter spare = lora {}\n${RUN}`, at: "spare" },
  { id: "duplicateListItem", text: `${BASE}run r = base + lora8 + lora8 on sums`, at: "lora8" },
  // 3xxx
  { id: "wrongType", text: 'adapter a = lora { rank "8" }', at: '"8"' },
  { id: "outOfRange", text: "adapter a = lora { rank 0 }", at: "0", says: "from 1 to 4096" },
  { id: "notInteger", text: "adapter a = lora { rank 2.5 }", at: "2.5" },
  { id: "badUnit", text: "adapter a = lora { rank 8% }", at: "8%" },
  { id: "ratioOver100", text: "prune p { heads 150% }", at: "150%" },
  { id: "missingValue", text: "adapter a = lora { rank }", at: "rank" },
  { id: "extraValue", text: "adapter a = lora { rank 8 alpha 16 }", at: "alpha", says: "separate properties" },
  { id: "topPDecreasing", text: "adapter a = lora {}\nbeam b on a { top_p 0.99 -> 0.9 }", at: "0.9" },
  { id: "periodTooLong", text: `${BASE}beam b on lora8 { every 2000 steps }\ntrain { steps 1000 }\nrun r = base + lora8 + b on sums`, at: "2000 steps" },
  { id: "estimateTooLong", text: `${BASE}prune p { estimate 1000 steps }\ntrain { steps 1000 }\nrun r = base + lora8 + p on sums`, at: "1000 steps" },
  { id: "warmupTooLong", text: `${BASE}train { steps 100, lr 3e-4 warmup 100 steps }\n${RUN}`, at: "100 steps" },
  { id: "headsDoNotDivide", text: "model m = decoder { width 65, heads 4 }", at: "65" },
  { id: "microBatchDoesNotDivide", text: `${BASE}train { batch 32, micro_batch 12 }\n${RUN}`, at: "12", says: "micro_batch 12 does not divide batch 32" },
  { id: "splitsOver100", text: 'data d = jsonl "x.jsonl" { train 80%, validation 20%, test 20% }', files: { "x.jsonl": '{"prompt": "a", "completion": "b"}\n' }, at: "test 20%" },
  { id: "conflictingProperties", text: "train { steps 100, epochs 2 }", at: "epochs" },
  { id: "snapshotAfterPeriod", text: `${BASE}beam b on lora8 { every 10 steps, snapshot 10 steps }\n${RUN.replace("lora8 on", "lora8 + b on")}`, at: "10 steps", says: "snapshot offset" },
  { id: "constantRange", text: "adapter a = lora {}\nbeam b on a { top_p 0.9 -> 1.0 constant }", at: "constant" },
  { id: "longerThanContext", text: `${BASE}train { max_length 64 }\n${RUN}`, at: "64" },
  { id: "tooManyExamples", text: "data d = addition { digits 1 }", at: "1", says: "asks for 2400 examples, but addition with digits 1 has only 100" },
  { id: "adaloraWindow", text: `${BASE}adapter ada = adalora { tinit 600, tfinal 500 }\ntrain { steps 1000 }\nrun r = base + ada on sums`, at: "500" },
  { id: "oddPeriod", text: `${BASE}beam b on lora8 { every 51 steps }\nrun r = base + lora8 + b on sums`, at: "51 steps" },
  { id: "highLearningRate", text: `${BASE}train { lr 0.5 }\n${RUN}`, at: "0.5" },
  { id: "highDropout", text: "adapter a = lora { dropout 0.6 }", at: "0.6" },
  { id: "rankAboveWidth", text: `${BASE}adapter big = lora { rank 64 }\nrun r = base + big on sums`, at: "64" },
  { id: "neverBeforeEnd", text: `${BASE}train { steps 100, eval every 200 steps }\n${RUN}`, at: "200 steps" },
  { id: "duplicateSeed", text: "train { seeds 1 2 1 }", at: "1", says: "seed 1" },
  { id: "endAfterTraining", text: `${BASE}beam b on lora8 { top_p 0.95 -> 1.0 until 2000 steps }\ntrain { steps 1000 }\nrun r = base + lora8 + b on sums`, at: "2000 steps" },
  { id: "capAboveHalf", text: `${BASE}beam b on lora8 { cap 6 per module }\nrun r = base + lora8 + b on sums`, at: "6" },
  { id: "ignoredProperty", text: "model m = decoder { labels 3 }", at: "labels" },
  { id: "noValidation", text: `${BASE.replace("digits 2", "digits 2, validation 0")}${RUN}`, at: "sums" },
  { id: "prunesNothing", text: `${BASE}prune p { heads 10% per layer }\nrun r = base + lora8 + p on sums`, at: "10%" },
  // 4xxx
  { id: "selectorMatchesNothing", text: `${BASE}adapter t = lora { target "q_prj" }\nrun r = base + t on sums`, at: '"q_prj"', says: "did you mean 'q_proj'?" },
  // The default pretrained base's modules are known before it is built.
  { id: "selectorMatchesNothing", text: `model base = pretrained { family gpt2 }\ndata sums = addition { digits 2 }\nadapter t = lora { target matching ".*self_attn\\.(q|v)_proj" }\nrun r = base + t on sums`, at: '".*self_attn\\.(q|v)_proj"', says: "transformer.h.0.attn.c_attn" },
  { id: "overlappingAdapters", text: `model base = pretrained { family llama }\ndata sums = addition { digits 2 }\nadapter a = lora { target "q_proj" }\nadapter b = lora { target matching "model\\.layers\\.1\\..*" }\nrun r = base + a + b on sums`, at: "b", says: "model.layers.1.self_attn.q_proj" },
  { id: "invalidRegex", text: 'adapter t = lora { target matching "(" }', at: '"("' },
  { id: "targetsNothing", text: `${BASE}adapter t = lora { target "q_proj", exclude "q_proj" }\nrun r = base + t on sums`, at: "t", says: "exclude" },
  { id: "patternMatchesNothing", text: `${BASE}adapter t = lora { rank_pattern "k_proj" 4 }\nrun r = base + t on sums`, at: '"k_proj"' },
  { id: "overlappingAdapters", text: `${BASE}adapter q = lora { target "q_proj" }\nrun r = base + lora8 + q on sums`, at: "q", says: "both target" },
  { id: "beamAdapterMissing", text: `${BASE}adapter other = lora { target "k_proj" }\nbeam b on other {}\nrun r = base + lora8 + b on sums`, at: "b" },
  { id: "tooManyInRun", text: `${BASE}beam b1 on lora8 {}\nbeam b2 on lora8 {}\nrun r = base + lora8 + b1 + b2 on sums`, at: "b2" },
  { id: "runWithoutAdapter", text: `${BASE}run r = base on sums`, at: "r" },
  { id: "headTaskMismatch", text: `${BASE}data mail = spam {}\nrun r = base + lora8 on mail`, at: "mail", says: "classifier" },
  { id: "headTaskMismatch", text: `model p = pretrained { head causal_lm }\ndata mail = spam {}\nadapter a = lora {}\nrun r = p + a on mail`, at: "mail", says: "causal_lm head" },
  { id: "methodConflict", text: "adapter ada = adalora {}\nbeam b on ada {}", at: "ada", says: "AdaLoRA" },
  { id: "beamWithPrune", text: `${BASE}beam b on lora8 {}\nprune p {}\nrun r = base + lora8 + b + p on sums`, at: "p" },
  { id: "memorySaverWithHooks", text: `${BASE}beam b on lora8 {}\ntrain { recompute blocks }\nrun r = base + lora8 + b on sums`, at: "blocks", says: "uses beam 'b'" },
  { id: "gridWithoutValidation", text: `${BASE.replace("digits 2", "digits 2, validation 0")}train { lr [1e-4, 3e-4] }\n${RUN}`, at: "lr [1e-4, 3e-4]" },
  { id: "tokenizerNeedsHf", text: `${BASE.replace("digits 2", "digits 2, tokenizer model")}${RUN}`, at: "base" },
  { id: "mixedTokenizer", text: `${BASE}model h = hf "m"\n${RUN}run r2 = h + lora8 on sums`, files: { "m/config.json": "{}" }, at: "sums" },
  { id: "compareFewRuns", text: `${BASE}${RUN}compare r`, at: "r" },
  { id: "epochsUnknownSize", produce: () => compile({ path: "t.peft", text: `${BASE}data j = jsonl "x.jsonl" {}\ntrain { epochs 2 }\nrun r = base + lora8 on j` }), at: "2" },
  { id: "jsonlFields", text: 'data d = jsonl "x.jsonl" { prompt "q", text "t" }', files: { "x.jsonl": "{}\n" }, at: "text" },
  { id: "wrongHeadForFamily", text: "model e = encoder { head causal_lm }", at: "causal_lm" },
  { id: "denseBaseForAdapter", text: `${BASE.replace("context 32", "context 32, precision nf4")}adapter d = dora { rank 4 }\nrun r = base + d on sums`, at: "d", says: "uses DoRA (weight norms)" },
  { id: "denseBaseForAdapter", text: `${BASE.replace("context 32", "context 32, precision int8")}adapter p = lora { rank 4, init pissa niter 2 }\nrun r = base + p on sums`, at: "p", says: "the 'int8' precision saves no memory" },
  // 5xxx
  { id: "cannotRead", text: 'include "missing.peft"', at: '"missing.peft"' },
  { id: "includeCycle", text: 'include "a.peft"\nmodel m = decoder {}', files: { "a.peft": 'include "t.peft"\nmodel n = decoder {}' }, at: '"t.peft"', says: "t.peft → a.peft → t.peft" },
  { id: "includedTwice", text: 'include "a.peft"\ninclude "a.peft"', files: { "a.peft": "model n = decoder {}" }, at: '"a.peft"' },
  { id: "hfNoConfig", text: 'model h = hf "m"', at: '"m"' },
  { id: "jsonlBadLine", text: 'data d = jsonl "x.jsonl" {}', files: { "x.jsonl": '{"prompt": "a", "completion": "b"}\nnot json\n' }, at: '"x.jsonl"', says: "line 2 of 'x.jsonl' is not valid JSON" },
  { id: "includeTooDeep", text: 'include "c0.peft"', files: chain, at: '"c16.peft"' },
  { id: "duplicateLr", text: "train { lr [1e-3, 3e-4, 1e-3] }", at: "1e-3", says: "learning rate 1e-3 is listed twice; it runs once" },
  { id: "batchAboveTrainSplit", text: `${BASE}data small = addition { digits 2, train 20 }\nrun r = base + lora8 on small with { batch 32 }\n`, at: "32", says: "batch 32 is larger than the training split of data 'small' (20 examples)" },
  { id: "hfBadTokenizer", text: `model h = hf "m"\ndata d = addition { digits 2 }\nadapter a = lora { rank 8 }\nrun r = h + a on d`, files: { "m/config.json": "{}", "m/tokenizer.json": '{"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Spaceship"}}' }, at: '"m"', says: "data 'd' is encoded with it: tokenizer.json: cannot load this tokenizer: Unknown PreTokenizer type: Spaceship" },
  { id: "hfUnusedBadTokenizer", text: `model h = hf "m"\ndata d = addition { digits 2, tokenizer char }\nadapter a = lora { rank 8 }\nrun r = h + a on d`, files: { "m/config.json": "{}", "m/tokenizer.json": "{ nope" }, at: '"m"', says: "tokenizer.json: not valid JSON" },
  { id: "adapterFolder", text: `${BASE}adapter old = peft "a"\nrun r = base + old on sums`, files: { "a/adapter_config.json": '{"peft_type": "IA3"}' }, at: '"a"', says: "peft_type \"IA3\"; peftlab reads LORA and ADALORA adapters" },
  { id: "adapterFamily", text: `${BASE}adapter old = peft "a"\nrun r = base + old on sums`, files: { "a/adapter_config.json": '{"peft_type": "LORA", "r": 8, "target_modules": ["query", "value"]}' }, at: '"a"', says: "targets 'query' or 'value', modules of BERT-style (bert, roberta) models" },
  { id: "jsonlReplacementChar", text: 'data d = jsonl "x.jsonl" {}', files: { "x.jsonl": '{"prompt": "caf\uFFFD", "completion": "b"}\n' }, at: '"x.jsonl"', says: "line 1 of 'x.jsonl' holds U+FFFD" },
  { id: "jsonlNoFormat", text: 'data d = jsonl "x.jsonl" {}', files: { "x.jsonl": '{"question": "a", "answer": "b"}\n' }, at: '"x.jsonl"', says: 'prompt "question", completion "answer"' },
];

describe("diagnostic catalogue, one snippet per code", () => {
  it("covers every catalogue entry", () => {
    const covered = new Set(CASES.map((c) => c.id));
    expect(Object.keys(CATALOGUE).filter((id) => !covered.has(id as DiagnosticId))).toEqual([]);
  });

  it.each(CASES)("$id is reported at the offending text", (c) => {
    const result = c.produce ? c.produce() : run(c.text!, c.files);
    const code = CATALOGUE[c.id].code;
    const hits = result.diagnostics.filter((d) => d.code === code);
    const summary = result.diagnostics.map((d) => `${d.code} ${JSON.stringify(slice(result, d))} ${d.message}`).join("\n");
    expect(hits.length, `no ${code} among:\n${summary}`).toBeGreaterThan(0);
    const match = hits.find((d) => slice(result, d) === c.at && (c.says === undefined || d.message.includes(c.says)));
    expect(match, `no ${code} at ${JSON.stringify(c.at)}${c.says ? ` saying ${JSON.stringify(c.says)}` : ""} among:\n${summary}`).toBeDefined();
    expect(match!.severity).toBe(CATALOGUE[c.id].severity);
    for (const d of result.diagnostics) expect(d.message, "every placeholder filled").not.toMatch(/\{\w+\}/);
    if (match!.severity === "error") expect(result.plan).toBeNull();
  });
});
