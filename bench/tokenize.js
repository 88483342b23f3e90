// Tokenizer speed: characters per second of peftlab's HfTokenizer.encode against Hugging Face's Rust
// library (npm `tokenizers`, a devDependency) on the same texts in the same run, and against the
// unpatched @huggingface/tokenizers path it is built on. Every text's ids are compared with the Rust
// library's: `mismatches` must be 0.
//
// Corpora: the spam task's cleaned e-mails (SpamAssassin, about 11 M characters) and Moby-Dick (the
// built-in pretraining corpus, 1.2 M). Tokenizers: a byte-level BPE trained by peftlab's trainer
// (what `pretrain` and the spam runs use) and the five fixture structures of
// test/fixtures/tokenizers (Llama-2 byte fallback, Llama-3, GPT-2, BERT, T5 Unigram).
//
//   npm run build && node bench/tokenize.js [--quick]
//
// --quick uses the first 10 % of each corpus. The Rust library runs single-threaded (one encode
// call per text, awaited in turn), as peftlab does.
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Tokenizer as JsTokenizer } from "@huggingface/tokenizers";
import { HfTokenizer, spamExamples, trainBpeJson } from "../dist/internal.js";
import { pretraining } from "../dist/index.js";

const quick = process.argv.includes("--quick");
const FIXTURES = path.join(import.meta.dirname, "../test/fixtures/tokenizers");

let Rust = null;
try {
  Rust = (await import("tokenizers")).Tokenizer;
} catch {
  console.error("bench/tokenize: the npm package `tokenizers` is not installed; the Rust columns are left out");
}

const take = (texts) => (quick ? texts.slice(0, Math.ceil(texts.length / 10)) : texts);
const corpora = {
  spam: take(spamExamples(10_000_000).map((e) => e.text)),
  "moby-dick": take(pretraining.builtinCorpus()),
};

/** tokenizer.json objects by name, with their tokenizer_config.json. */
function tokenizers() {
  const out = {};
  const trainText = corpora.spam.join("\n").slice(0, 400_000);
  out["peftlab-bpe"] = { json: trainBpeJson([trainText], 4096), config: {} };
  for (const name of fs.readdirSync(FIXTURES).sort()) {
    const dir = path.join(FIXTURES, name);
    if (!fs.existsSync(path.join(dir, "tokenizer.json"))) continue;
    const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
    out[name] = { json: read("tokenizer.json"), config: fs.existsSync(path.join(dir, "tokenizer_config.json")) ? read("tokenizer_config.json") : {} };
  }
  return out;
}

const chars = (texts) => texts.reduce((n, t) => n + t.length, 0);

function timeSync(texts, encode) {
  const t0 = performance.now();
  const ids = texts.map(encode);
  return { s: (performance.now() - t0) / 1000, ids };
}

async function timeAsync(texts, encode) {
  const t0 = performance.now();
  const ids = [];
  for (const t of texts) ids.push(await encode(t));
  return { s: (performance.now() - t0) / 1000, ids };
}

const sameIds = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const rate = (n, s) => Math.round(n / s);

const rows = [];
for (const [tokName, { json, config }] of Object.entries(tokenizers())) {
  for (const [corpus, texts] of Object.entries(corpora)) {
    const n = chars(texts);
    const tok = new HfTokenizer(json, config); // built before timing: construction is not what is measured
    const ours = timeSync(texts, (t) => tok.encode(t));
    // The library as it ships (its LRU word cache and ByteLevel code unpatched), without special tokens.
    const lib = new JsTokenizer(structuredClone(json), config);
    const plain = timeSync(texts, (t) => lib.encode(t, { add_special_tokens: false }).ids.filter((id) => id !== undefined && id !== null));
    const row = { tokenizer: tokName, corpus, chars: n, ours_chars_per_s: rate(n, ours.s), library_chars_per_s: rate(n, plain.s) };
    row.ours_vs_library = Number((plain.s / ours.s).toFixed(2));
    if (Rust) {
      const rust = Rust.fromString(JSON.stringify(json));
      const r = await timeAsync(texts, async (t) => (await rust.encode(t, null, { addSpecialTokens: false })).getIds());
      row.rust_chars_per_s = rate(n, r.s);
      row.ours_vs_rust = Number((r.s / ours.s).toFixed(2));
      row.mismatches = texts.filter((_, i) => !sameIds(ours.ids[i], r.ids[i])).length;
    }
    rows.push(row);
    console.error(JSON.stringify(row));
  }
}
console.log(JSON.stringify({ bench: "tokenize", quick, rows }, null, 2));

