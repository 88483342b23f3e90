// `peftlab pretrain`, the default base, and the whole chain of issue 4: a pretrained base loaded back
// through the Hugging Face path, fine-tuned with LoRA, its adapter exported, re-imported and
// cross-checked in Python.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdapterSpec, TrainSpec } from "../src/dsl/plan.js";
import { pretrainCommand } from "../src/cli/pretrain.js";
import type { CliIO } from "../src/cli/io.js";
import { initBackend } from "../src/runtime/tensor/backend.js";
import { buildModel } from "../src/runtime/run/base-model.js";
import type { Dataset } from "../src/runtime/data/index.js";
import { loadTokenizer } from "../src/runtime/data/tokenizers.js";
import {
  baseChecksums, DEFAULT_BASE_SPEC, DEFAULT_BASE_VERSION, defaultBaseDir, defaultCorpusCard, ensureDefaultBase, isCompleteBase, MARKER_FILE,
  SHIPPED_BASE_SHA256, shippedBase, shippedBaseDir, spellingWords, verifyBaseFiles,
} from "../src/runtime/pretrain/default-base.js";
import { ARITHMETIC_FORMATS, mixedCorpus, SORTING_FORMATS } from "../src/runtime/pretrain/corpus.js";
import { reverseWords } from "../src/runtime/data/sequence_tasks.js";
import { DEFAULT_BASE_LAYERS } from "../src/dsl/defaults.js";
import { generateTask } from "../src/runtime/data/tasks.js";
import { injectAdapter, loraAdapters } from "../src/runtime/adapters/inject.js";
import { exportAdapter, importAdapter } from "../src/runtime/adapters/peft-io.js";
import { loadHfModel, mergeAndUnload } from "../src/runtime/io/hf-model.js";
import { builtinCorpus, randomWindows, tokenStreams } from "../src/runtime/pretrain/data.js";
import { pretrain, PRETRAIN_DEFAULTS, savePretrained, validatePretrainSpec, type PretrainSpec } from "../src/runtime/pretrain/pretrain.js";
import { Rng } from "../src/runtime/rng.js";
import { inferenceCtx } from "../src/runtime/tensor/nn.js";
import { Trainer } from "../src/runtime/train/trainer.js";
import * as tf from "../src/runtime/tensor/tf.js";
import { canCrossCheck, pythonCrossCheck } from "./io/lora-crosscheck.js";
import { maxAbsDiff, outputsOf } from "./io/model-fixtures.js";
import { seeded } from "./runtime/helpers.js";

// The plain-JavaScript cpu backend computes the same numbers about 20 times slower here.
beforeAll(async () => {
  await initBackend("wasm");
});

const root = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-pretrain-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const textFile = path.join(root, "text.txt");
fs.writeFileSync(textFile, builtinCorpus().slice(3, 6).join("\n\n")); // chapters 1-3, ~40 kB

const TINY = ["--layers", "1", "--hidden", "16", "--heads", "2", "--context", "16", "--vocab", "300", "--batch", "4"];

function captureIO(): CliIO & { out: string; err: string } {
  const io = { out: "", err: "", stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t), readFile: () => null };
  return io;
}

const tinySpec = (over: Partial<PretrainSpec> = {}): PretrainSpec => ({
  ...PRETRAIN_DEFAULTS, layers: 1, hidden: 16, heads: 2, context: 16, vocab: 300, batch: 4, steps: 6, warmup: 2, evalWindows: 8, ...over,
});

describe("peftlab pretrain", () => {
  it.each(["llama", "gpt2"])("writes a %s Hugging Face folder that loads back with its tokenizer", async (family) => {
    const out = path.join(root, `cli-${family}`);
    const io = captureIO();
    const code = await pretrainCommand(["--out", out, "--family", family, ...TINY, "--steps", "6", "--text", textFile, "--quiet", "--backend", "wasm"], io);
    expect(io.err).toBe("");
    expect(code).toBe(0);
    expect(io.out).toMatch(new RegExp(`^saved ${out}: ${family}, 300-token tokenizer, held-out loss [\\d.]+ → [\\d.]+ \\(unigram baseline [\\d.]+\\)`));
    expect(fs.readdirSync(out).sort()).toEqual(["README.md", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
    expect(cfg).toMatchObject({ model_type: family, vocab_size: 300, architectures: [family === "gpt2" ? "GPT2LMHeadModel" : "LlamaForCausalLM"] });
    expect(JSON.parse(fs.readFileSync(path.join(out, "tokenizer.json"), "utf8")).pre_tokenizer.type).toBe("Sequence"); // digits split
    expect(JSON.parse(fs.readFileSync(path.join(out, "tokenizer_config.json"), "utf8"))).toMatchObject({
      tokenizer_class: "PreTrainedTokenizerFast", bos_token: "<bos>", eos_token: "<eos>", pad_token: "<pad>", model_max_length: 16,
    });
    const { model, tokenizerPath, warnings } = loadHfModel(out);
    expect(warnings).toEqual([]);
    const tok = loadTokenizer(tokenizerPath!);
    expect(tok.vocabSize).toBe(300);
    expect(tok.decode(tok.encode("Call me Ishmael."))).toBe("Call me Ishmael.");
    model.dispose();
  });

  it.each([
    [["--family", "bert", "--out", "x"], /--family must be llama or gpt2, got "bert"/],
    [["--out", "x", "--steps", "1.5"], /--steps must be an integer, got "1.5"/],
    [["--out", "x", "--hidden", "15", "--heads", "2"], /hidden \(15\) must be a multiple of heads \(2\)/],
    [["--out", "x", "--bogus"], /unknown option --bogus/],
    [["--steps", "3"], /--out DIR is required/],
    [["--default", "--out", "x", "--hidden", "8"], /--default builds the default base with its fixed settings; it takes no --hidden/],
    [["--default", "--merge-digits"], /it takes no --merge-digits/],
    [["--default", "--out", root, "--backend", "wasm"], /--out .* is not empty \(use --force to replace it\)/],
    [["--out", "x", "--corpus", "french"], /--corpus must be english or mixed, got "french"/],
    [["--out", "x", "--corpus", "mixed", "--text", "a.txt"], /--corpus names a built-in corpus; it cannot be combined with --text/],
  ])("usage error %j", async (argv, message) => {
    const io = captureIO();
    expect(await pretrainCommand(argv, io)).toBe(2);
    expect(io.err).toMatch(message);
    expect(io.err).toContain("usage: peftlab pretrain");
  });

  it("refuses a non-empty --out without --force, and names a missing text file", async () => {
    const full = path.join(root, "full");
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, "keep.txt"), "x");
    const io = captureIO();
    expect(await pretrainCommand(["--out", full, "--quiet"], io)).toBe(2);
    expect(io.err).toMatch(/is not empty \(use --force to replace it\)/);
    const io2 = captureIO();
    expect(await pretrainCommand(["--out", path.join(root, "none"), "--text", path.join(root, "missing.txt"), "--quiet", "--backend", "wasm"], io2)).toBe(1);
    expect(io2.err).toMatch(/missing\.txt: cannot use as training text/);
  });
});

describe("pretraining learns", () => {
  it("held-out loss drops well below the unigram baseline", () => {
    const r = pretrain([fs.readFileSync(textFile, "utf8")], tinySpec({ hidden: 32, context: 32, batch: 8, steps: 120, warmup: 10 }));
    expect(r.validation.final).toBeLessThan(r.validation.initial - 1.5);
    expect(r.validation.final).toBeLessThan(r.validation.unigram);
    expect(r.losses.length).toBe(120);
    // Training leaves the base frozen again for fine-tuning.
    expect([...r.model.stateDict().values()].some((v) => v.trainable)).toBe(false);
    r.model.dispose();
  });

  it("a probe sees the model every N steps and after the last, in its current state", () => {
    const seen: { step: number; loss: number; vocab: number; tensors: number }[] = [];
    const text = fs.readFileSync(textFile, "utf8");
    const r = pretrain([text], tinySpec({ hidden: 32, context: 32, batch: 8, steps: 25, warmup: 2 }), {
      probe: {
        every: 10,
        run: (model, tokenizer, step) => {
          // The loss of one fixed window, measured on the model as it is at this step.
          const ids = tokenizer.encode(text.slice(0, 400)).slice(0, 32);
          const loss = tf.tidy(() => {
            const logits = model.forward(tf.tensor2d([ids], [1, ids.length], "int32"), tf.ones([1, ids.length]) as tf.Tensor2D, inferenceCtx());
            const v = logits.shape[2]!;
            const targets = tf.oneHot(tf.tensor1d(ids.slice(1), "int32"), v);
            const logp = tf.logSoftmax(logits.reshape([ids.length, v]).slice([0, 0], [ids.length - 1, v]));
            return -tf.sum(tf.mul(targets, logp)).dataSync()[0]! / (ids.length - 1);
          });
          tf.ones([4]); // left behind on purpose: the probe's tensors are freed when it returns
          seen.push({ step, loss, vocab: tokenizer.vocabSize, tensors: tf.memory().numTensors });
        },
      },
    });
    expect(seen.map((s) => s.step)).toEqual([10, 20, 25]);
    expect(seen.every((s) => s.vocab === r.tokenizer.vocabSize)).toBe(true);
    expect(seen[2]!.loss).toBeLessThan(seen[0]!.loss);
    expect(seen[1]!.tensors).toBe(seen[0]!.tensors); // flat: nothing the probe made outlives it
    r.model.dispose();
    const spec = tinySpec({ steps: 1 });
    for (const every of [0, 1.5, Number.NaN]) {
      expect(() => pretrain([text], spec, { probe: { every, run: () => {} } })).toThrow(/probe\.every must be an integer >= 1, got/);
    }
  });

  it("the default base specs are valid, with the layer count the language's module checks assume", () => {
    for (const s of Object.values(DEFAULT_BASE_SPEC)) {
      validatePretrainSpec(s);
      expect(s.layers).toBe(DEFAULT_BASE_LAYERS);
      expect(s.context).toBe(128);
    }
    expect(DEFAULT_BASE_SPEC.llama).toMatchObject({ family: "llama", hidden: 256 });
  });
});

describe("token streams", () => {
  /** One token per character: "a" → 97; bos 1, eos 2. */
  const chars = { encode: (t: string) => Array.from(t, (c) => c.charCodeAt(0)), bosId: 1, eosId: 2 };

  it("hold out every 20th block of 1024 tokens, so the held-out part samples the whole corpus", () => {
    const texts = ["a".repeat(30_000), "z".repeat(30_000)];
    const { train, validation } = tokenStreams(texts, chars, 0.05);
    expect(train.length + validation.length).toBe(60_004);
    expect(validation.length).toBe(2 * 1024); // blocks 19 and 39 of 59
    expect(new Set(validation)).toEqual(new Set([97, 122])); // both documents
    expect([train[0], train[1], train[30_001 - 1024], train[30_002 - 1024]]).toEqual([1, 97, 2, 1]); // <bos> text <eos> <bos> …, block 19 gone
  });

  it("hold out the tail of a stream shorter than 20 blocks", () => {
    const { train, validation } = tokenStreams(["abcdefghij".repeat(100)], chars, 0.05);
    expect(train.length).toBe(Math.floor(1002 * 0.95));
    expect(validation[validation.length - 1]).toBe(2);
  });
});

describe("the default base's corpus", () => {
  const english = builtinCorpus().slice(3, 5);
  const mix = { arithmetic: 0.3, code: 0.2, sorting: 0.1, spelling: 0.1, seed: 1 };
  const spellWords = ["nation", "congress", "budget", "economy", "jobs"];
  const sources = ["// a real source file\nexport const x = 1;\n"];
  const mixed = mixedCorpus(english, mix, { sources, spellingWords: spellWords });
  const englishSet = new Set(english);
  const synthetic = mixed.texts.filter((t) => !englishSet.has(t));
  const lines = synthetic.flatMap((t) => t.split("\n"));

  /** A layout such as "{a} plus {b} is {c}." as a regex with groups a, b, c. */
  const layoutRegex = (f: string) =>
    new RegExp(`^${f.split(/\{([abc])\}/).map((part, k) => (k % 2 ? `(?<${part}>\\d+)` : part.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))).join("")}$`);
  const layouts = Object.entries(ARITHMETIC_FORMATS).flatMap(([op, formats]) => formats.map((f) => ({ op, f, re: layoutRegex(f) })));

  it("holds the English text and the shares of synthetic text asked for, deterministically", () => {
    expect(english.every((t) => mixed.texts.includes(t))).toBe(true);
    expect(mixed.texts).toContain(sources[0]);
    const total = Object.values(mixed.chars).reduce((a, b) => a + b, 0);
    for (const part of ["arithmetic", "code", "sorting", "spelling"] as const) expect(mixed.chars[part] / total, part).toBeCloseTo(mix[part], 2);
    expect(mixedCorpus(english, mix, { sources, spellingWords: spellWords }).texts).toEqual(mixed.texts);
    expect(mixedCorpus(english, { ...mix, seed: 2 }, { sources, spellingWords: spellWords }).texts).not.toEqual(mixed.texts);
    expect(() => mixedCorpus(english, { ...mix, arithmetic: 0.7 })).toThrow(/shares must be in \[0, 1\) and sum to less than 1/);
    expect(() => mixedCorpus(english, mix)).toThrow(/a spelling share needs words to spell/);
  });

  it("states correct sums, differences and products in every non-task layout", () => {
    const seen = new Set<string>();
    let statements = 0;
    for (const line of lines) {
      const hit = layouts.find((l) => l.re.test(line));
      if (!hit) continue;
      const { a, b, c } = line.match(hit.re)!.groups!;
      const [x, y] = [BigInt(a!), BigInt(b!)];
      expect(String(hit.op === "+" ? x + y : hit.op === "-" ? x - y : x * y), line).toBe(c);
      seen.add(hit.f);
      statements++;
    }
    expect(statements).toBeGreaterThan(1000);
    expect([...seen].sort()).toEqual(Object.values(ARITHMETIC_FORMATS).flat().sort());
  });

  it("writes programs one statement per line, with what they print, never in the task's layout", () => {
    const programs = synthetic.filter((t) => /^(# prints|output:) -?\d+$/m.test(t));
    expect(programs.length).toBeGreaterThan(100);
    for (const p of programs.slice(0, 300)) {
      const rows = p.split("\n");
      const printed = rows.pop()!.replace(/^(# prints|output:) /, "");
      const expr = rows.pop()!.match(/^print\((.*)\)$/)![1]!;
      expect(rows.every((r) => /^[a-z] ?= ?[a-z0-9 +*-]+$/.test(r)), p).toBe(true);
      const value = new Function(`${rows.map((r) => `const ${r};`).join("")} return ${expr};`)() as number;
      expect(String(value), p).toBe(printed);
    }
    // The tasks' own layouts ("17+25=", "a=3;b=a*2;print(b)") appear nowhere in the corpus.
    const task = [...generateTask({ kind: "task", task: "addition", params: { digits: 2 }, splits: { train: 50, validation: 0, test: 0 }, seed: 0, tokenizer: { kind: "char" } } as never).train];
    expect(task[0]!.prompt).toMatch(/^\d+\+\d+=$/);
    for (const t of mixed.texts) {
      expect(t).not.toMatch(/\d[+*-]\d+=/);
      expect(t).not.toMatch(/[a-z]=[a-z0-9+*-]+;/);
    }
  });

  it("sorts digits and spells words correctly in every non-task layout, never in the tasks' layouts", () => {
    const digits = (s: string) => s.replace(/\D/g, "");
    let sorted = 0;
    let spelledLines = 0;
    const sortingSeen = new Set<string>();
    for (const line of lines) {
      const m = line.match(/^sorting (\d+) gives (\d+)\.$/) ?? line.match(/^the digits ([\d ]+) in order are ([\d ]+)\.$/) ?? line.match(/^(\d+) with its digits from smallest to largest: (\d+)$/);
      if (m) {
        expect(digits(m[2]!), line).toBe([...digits(m[1]!)].sort().join(""));
        sortingSeen.add(line.replace(/[\d ]+/g, "#"));
        sorted++;
      }
      const w = line.match(/^([a-z]+) is spelled ([a-z-]+), backwards ([a-z-]+)\.$/);
      if (w) {
        expect(w[2], line).toBe([...w[1]!].join("-"));
        expect(w[3], line).toBe([...w[1]!].reverse().join("-"));
        expect(spellWords).toContain(w[1]);
        spelledLines++;
      }
    }
    expect(sorted).toBeGreaterThan(100);
    expect(sortingSeen.size).toBe(SORTING_FORMATS.length);
    expect(spelledLines).toBeGreaterThan(20);
    for (const t of mixed.texts) expect(t).not.toMatch(/sort\(|reverse\(/);
  });

  it("spells only words the reverse task never asks for", () => {
    const words = spellingWords();
    expect(words.length).toBeGreaterThan(1000);
    const taskWords = new Set(reverseWords(20));
    expect(words.filter((w) => taskWords.has(w))).toEqual([]);
  });

  it("describes itself in the model card, overlap included", () => {
    const card = defaultCorpusCard(mixed);
    expect(card.corpus).toMatch(/English prose \(\d+% of the characters: "Moby-Dick" and State of the Union addresses\) mixed with code \(20%\), arithmetic \(30%\), digit sorting \(10%\) and spelling \(10%\)/);
    expect(card.notes.join("\n")).toMatch(/Small facts do overlap/);
    const r = pretrain([...english.slice(0, 1), "12 plus 30 is 42. 1851 + 1 = 1852"], tinySpec({ steps: 2 }));
    const dir = path.join(root, "card");
    savePretrained(r, dir, card.corpus, card.notes);
    r.model.dispose();
    const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8");
    expect(readme).toContain("## Training data");
    expect(readme).toContain("numbers spelled digit by digit");
    // The saved tokenizer spells every number digit by digit.
    const tok = loadTokenizer(path.join(dir, "tokenizer.json"));
    expect(tok.encode("1851").map((id) => tok.decode([id]))).toEqual(["1", "8", "5", "1"]);
    expect(tok.encode("17+25=42")).toHaveLength(8);
  });
});

describe("the shipped default base", () => {
  it("is the llama recipe, stored in float16, a few million parameters, and loads with its files checked", async () => {
    const dir = await ensureDefaultBase("llama", { log: () => {} });
    expect(dir).toBe(shippedBaseDir("llama"));
    expect(shippedBase("llama")).toBe(dir);
    expect(baseChecksums(dir)).toEqual(SHIPPED_BASE_SHA256.llama);
    const marker = JSON.parse(fs.readFileSync(path.join(dir, MARKER_FILE), "utf8"));
    expect(marker).toMatchObject({ version: DEFAULT_BASE_VERSION, family: "llama", spec: DEFAULT_BASE_SPEC.llama, dtype: "F16" });
    expect(marker.validation.final).toBeLessThan(marker.validation.unigram - 1);
    const { model } = loadHfModel(dir);
    try {
      expect(model.config).toMatchObject({ layers: 4, hidden: 256, maxPositions: 128 });
      const params = [...model.stateDict().values()].reduce((n, v) => n + v.size, 0);
      expect(params).toBeGreaterThan(3e6);
      expect(params).toBeLessThan(5e6);
    } finally {
      model.dispose();
    }
  });

  it("a copy whose weights differ is an error naming the file and the command that rebuilds it", () => {
    const dir = shippedBaseDir("llama");
    const copy = path.join(root, "damaged");
    fs.cpSync(dir, copy, { recursive: true });
    const file = path.join(copy, "model.safetensors");
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 1;
    fs.writeFileSync(file, bytes);
    expect(() => verifyBaseFiles(copy, SHIPPED_BASE_SHA256.llama!, "llama")).toThrow(/damaged[/\\]model\.safetensors has SHA-256 [0-9a-f]{64}, expected .*peftlab pretrain --default --family llama --out/);
    verifyBaseFiles(dir, SHIPPED_BASE_SHA256.llama!, "llama");
  });
});

describe("default base cache", () => {
  /** A cheap stand-in for the real build: a tiny pretrained folder plus the marker. */
  const tinyBuild = (calls: string[]) => async (dir: string, family: "llama" | "gpt2") => {
    calls.push(family);
    await new Promise((r) => setTimeout(r, 200)); // long enough for a concurrent call to see the lock
    const r = pretrain([fs.readFileSync(textFile, "utf8")], tinySpec({ family, steps: 2 }));
    savePretrained(r, dir, "test text");
    r.model.dispose();
    fs.writeFileSync(path.join(dir, MARKER_FILE), "{}");
  };

  it("two concurrent requests build once, atomically, and later calls hit the cache", async () => {
    const cache = path.join(root, "cache1");
    const calls: string[] = [];
    const opts = { cacheDir: cache, build: tinyBuild(calls), pollMs: 20, shipped: false };
    const [a, b] = await Promise.all([ensureDefaultBase("llama", opts), ensureDefaultBase("llama", opts)]);
    expect(a).toBe(defaultBaseDir("llama", cache));
    expect(b).toBe(a);
    expect(calls).toEqual(["llama"]);
    expect(isCompleteBase(a)).toBe(true);
    expect(fs.readdirSync(cache)).toEqual([`default-llama-v${DEFAULT_BASE_VERSION}`]); // no lock, no temporary folder left
    expect(DEFAULT_BASE_VERSION).toBe(5); // caches of earlier recipes (v4 and before) are never reused
    await ensureDefaultBase("llama", opts);
    expect(calls).toEqual(["llama"]);
  });

  it("a failed build leaves nothing behind; an abandoned lock and an incomplete folder are replaced", async () => {
    const cache = path.join(root, "cache2");
    await expect(ensureDefaultBase("gpt2", { cacheDir: cache, build: async () => { throw new Error("boom"); } })).rejects.toThrow("boom");
    expect(fs.readdirSync(cache)).toEqual([]);
    const final = defaultBaseDir("gpt2", cache);
    fs.mkdirSync(final);
    fs.writeFileSync(path.join(final, "config.json"), "{}"); // an interrupted copy by hand: no marker
    fs.writeFileSync(`${final}.lock`, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), started: "then" })); // no such process
    const calls: string[] = [];
    const logs: string[] = [];
    expect(await ensureDefaultBase("gpt2", { cacheDir: cache, build: tinyBuild(calls), pollMs: 20, log: (l) => logs.push(l) })).toBe(final);
    expect(calls).toEqual(["gpt2"]);
    expect(logs).toEqual([expect.stringContaining("removing the abandoned lock")]);
    expect(isCompleteBase(final)).toBe(true);
  });

  it("buildModel loads kind default and kind hf through the folder, with its tokenizer", async () => {
    const cache = path.join(root, "cache3");
    await ensureDefaultBase("gpt2", { cacheDir: cache, build: tinyBuild([]) }); // llama ships with the package; gpt2 is built on first use
    const saved = process.env.PEFTLAB_CACHE;
    process.env.PEFTLAB_CACHE = cache;
    try {
      const dataset = (tok: unknown) => ({ tokenizer: tok, format: "generation" }) as unknown as Dataset;
      const built = await buildModel({ kind: "default", family: "gpt2", head: "auto", labels: "auto" }, { baseDir: root, dataSpec: {} as never });
      expect(built.tokenizer?.vocabSize).toBe(300);
      const model = built.make(dataset(built.tokenizer));
      expect(model.config).toMatchObject({ family: "gpt2", head: "causal_lm", vocabSize: 300 });
      model.dispose();
      const rel = path.relative(root, defaultBaseDir("gpt2", cache));
      const hf = await buildModel({ kind: "hf", path: rel, head: "auto", labels: "auto" }, { baseDir: root, dataSpec: {} as never });
      const cls = hf.make({ tokenizer: hf.tokenizer, format: "classification", labelNames: ["ham", "spam"] } as unknown as Dataset);
      expect(cls.config).toMatchObject({ head: "classifier", numLabels: 2, labelNames: ["ham", "spam"] });
      expect(hf.warnings).toEqual([expect.stringContaining("score.weight head weight is initialised fresh")]); // gpt2 ties its LM head to the embedding: no lm_head tensor to leave unused
      cls.dispose();
    } finally {
      if (saved === undefined) delete process.env.PEFTLAB_CACHE;
      else process.env.PEFTLAB_CACHE = saved;
    }
  });
});

describe("done when: pretrain → load → LoRA fine-tune → export → import → cross-check", () => {
  it("runs the whole chain", async () => {
    const base = path.join(root, "chain-base");
    const io = captureIO();
    expect(await pretrainCommand(["--out", base, "--family", "llama", ...TINY, "--steps", "80", "--text", textFile, "--quiet", "--backend", "wasm"], io)).toBe(0);

    const { model, tokenizerPath } = loadHfModel(base);
    const tok = loadTokenizer(tokenizerPath!);
    const spec: AdapterSpec = {
      method: "lora", r: 4, alpha: 8, dropout: 0, rslora: false, init: "kaiming", target: { regex: null, names: ["q_proj", "v_proj", "down_proj", "lm_head"] },
      exclude: { regex: null, names: [] }, rankPattern: {}, alphaPattern: {}, adalora: null,
    };
    injectAdapter(model, "default", spec, { rand: seeded(3) });
    const train: TrainSpec = {
      steps: 30, batch: 4, microBatch: 4, recompute: "off", lrs: [1e-2], schedule: { kind: "constant", warmupSteps: 0, minLrRatio: 0 },
      optimizer: { kind: "adamw", beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, clipNorm: 1, seeds: [1],
      evalEvery: 0, checkpointEvery: 0, logEvery: 100, evalExamples: 0, maxLength: 0,
    };
    const trainer = new Trainer({ model, train, lr: 1e-2, seed: 1 });
    const stream = tokenStreams(["Call me Ishmael. ".repeat(40)], tok, 0.1).train;
    const rng = new Rng(1);
    const losses = [trainer.trainStep(randomWindows(stream, 4, 16, rng)).loss];
    const before = tf.memory().numTensors; // after the optimiser's moments exist
    for (let i = 1; i < 30; i++) losses.push(trainer.trainStep(randomWindows(stream, 4, 16, rng)).loss);
    expect(tf.memory().numTensors).toBe(before);
    expect(losses[29]!).toBeLessThan(losses[0]! - 1); // the repeated phrase becomes predictable
    trainer.dispose();
    expect(maxAbsDiff(loraAdapters(model, "default").values().next().value!.B.dataSync(), new Float32Array(16 * 4))).toBeGreaterThan(0);

    const adapterDir = path.join(root, "chain-adapter");
    const exported = exportAdapter(model, "default", spec, adapterDir, { baseModel: base, taskType: "CAUSAL_LM" });
    expect(exported.modules).toEqual(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.0.mlp.down_proj", "lm_head"]);
    const again = loadHfModel(base).model;
    importAdapter(again, adapterDir, "default");
    expect(maxAbsDiff(outputsOf(again), outputsOf(model))).toBe(0);

    if (canCrossCheck) {
      const merged = path.join(root, "chain-merged");
      mergeAndUnload(model, "default", merged);
      expect(pythonCrossCheck(model, "default", base, adapterDir, merged).length).toBe(4);
    }
    model.dispose();
    again.dispose();
  });
});
