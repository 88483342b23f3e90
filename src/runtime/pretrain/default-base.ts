// The runtime's built-in default base model: a small llama or gpt2 pretrained by peftlab on English
// prose ("Moby-Dick" and State of the Union addresses), real JavaScript sources and synthetic
// arithmetic, code, sorting and spelling text (corpus.ts), with a fixed configuration and seed.
//
// The llama base ships with the package as a Hugging Face folder (`models/default-llama-v5/`, weights
// in float16), built by `peftlab pretrain --default --out models/default-llama-v5`; loading checks
// its files against the SHA-256 sums in SHIPPED_BASE_SHA256. Pretraining it takes longer than a
// first run should wait. The gpt2 base (and the llama one, when a copy of the package lacks the
// folder) is built on first use and cached in `$PEFTLAB_CACHE` (default `~/.cache/peftlab`) as
// `default-<family>-v5/`; `peftlab pretrain --default [--family gpt2]` builds it ahead of time.
//
// Building is atomic and locked: the folder is written in a temporary directory and renamed into
// place (a crash leaves no half folder), and a lock file (`default-<family>-v2.lock`, created with
// O_EXCL) makes a second process, or a second call in the same process, wait for the first build
// instead of building again. A lock whose process is gone (same host) or that is older than
// `staleLockMs` is removed.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_BASE_LAYERS } from "../../dsl/defaults.js";
import { wordsOf } from "../data/package-text.js";
import { reverseWords } from "../data/sequence_tasks.js";
import { initBackend } from "../tensor/backend.js";
import { ARITHMETIC_FORMATS, type CorpusMix, mixedCorpus, type MixedCorpus, SORTING_FORMATS, SPELLING_FORMATS } from "./corpus.js";
import { BUILTIN_CORPUS, builtinCorpus, CODE_PACKAGES, packageSources, SOTU_CORPUS, sotuAddresses } from "./data.js";
import { pretrain, PRETRAIN_DEFAULTS, savePretrained, type PretrainOptions, type PretrainSpec, type PretrainStep } from "./pretrain.js";
import * as tf from "../tensor/tf.js";
import { writeFileAtomic } from "../io/atomic.js";

export type DefaultFamily = "llama" | "gpt2";

/** Bump when the spec, the corpus or the format changes: old caches are then ignored. */
export const DEFAULT_BASE_VERSION = 5;

/** The default base's corpus: characters shares of the synthetic parts (code includes real sources); the rest is English. */
export const DEFAULT_CORPUS_MIX: CorpusMix = { arithmetic: 0.4, code: 0.05, sorting: 0.2, spelling: 0.1, seed: 1 };

/** State of the Union addresses from this year on join "Moby-Dick" as English prose. */
export const SOTU_FROM_YEAR = 1981;

/**
 * The llama base (shipped): 4 layers of width 256, context 128, about 3.4 M parameters. The gpt2 base
 * (built on first use): 4 layers of width 128, sized to build within a few minutes on two cores.
 */
export const DEFAULT_BASE_SPEC: Record<DefaultFamily, PretrainSpec> = {
  llama: { ...PRETRAIN_DEFAULTS, family: "llama", layers: DEFAULT_BASE_LAYERS, hidden: 256, heads: 4, context: 128, vocab: 512, splitDigits: true, steps: 6000, batch: 16, lr: 3e-3, warmup: 120, seed: 1, evalWindows: 64 },
  gpt2: { ...PRETRAIN_DEFAULTS, family: "gpt2", layers: DEFAULT_BASE_LAYERS, hidden: 128, heads: 4, context: 128, vocab: 512, splitDigits: true, steps: 400, batch: 16, lr: 5e-3, warmup: 40, seed: 1, evalWindows: 64 },
};

/** How the shipped base stores its weights. */
export const SHIPPED_DTYPE = "F16" as const;

/** SHA-256 of the files of the base that ships with the package, per family; loading checks them. */
export const SHIPPED_BASE_SHA256: Partial<Record<DefaultFamily, Record<string, string>>> = {
  llama: {
    "config.json": "e732e61cf723e90104367e49c237c9bdff5dbb26fdacd5a14199a96d1f43ec3c",
    "model.safetensors": "be1fb1485836a2c91f25efea08dd73d327b7a9cb337c3949eea7c6cc03b4610a",
    "tokenizer.json": "0234c3d7bacb1dfa5f96d3057a820806572ae00e3db4f947c2fdb487b60f9a75",
  },
};

/** The package's root folder (this file is `<root>/{src,dist}/runtime/pretrain/default-base.*`). */
function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
}

/** Where the package keeps its shipped base of `family` (whether or not it is there). */
export function shippedBaseDir(family: DefaultFamily): string {
  return path.join(packageRoot(), "models", `default-${family}-v${DEFAULT_BASE_VERSION}`);
}

const verified = new Set<string>();

/**
 * The shipped folder of `family` after checking its files' SHA-256 sums (once per process), or null
 * when the package ships none for it. A folder whose files differ is an error naming the file and the
 * command that rebuilds it.
 */
export function shippedBase(family: DefaultFamily): string | null {
  const sums = SHIPPED_BASE_SHA256[family];
  const dir = shippedBaseDir(family);
  if (!sums || !isCompleteBase(dir)) return null;
  if (verified.has(dir)) return dir;
  verifyBaseFiles(dir, sums, family);
  verified.add(dir);
  return dir;
}

/** Throws naming the first file of `dir` whose SHA-256 is not the one in `sums`, and how to rebuild the folder. */
export function verifyBaseFiles(dir: string, sums: Record<string, string>, family: DefaultFamily): void {
  for (const [file, want] of Object.entries(sums)) {
    const got = createHash("sha256").update(fs.readFileSync(path.join(dir, file))).digest("hex");
    if (got !== want) {
      throw new Error(`default base: ${path.join(dir, file)} has SHA-256 ${got}, expected ${want}; the folder is damaged or from another version (rebuild it with \`peftlab pretrain --default --family ${family} --out ${dir} --force\`, or reinstall the package)`);
    }
  }
}

/** SHA-256 sums of the files that {@link shippedBase} checks, for a freshly built folder. */
export function baseChecksums(dir: string): Record<string, string> {
  return Object.fromEntries(["config.json", "model.safetensors", "tokenizer.json"].map((f) => [f, createHash("sha256").update(fs.readFileSync(path.join(dir, f))).digest("hex")]));
}

/** Written last into a finished folder: its presence means the folder is complete. */
export const MARKER_FILE = "peftlab-default.json";

/** `$PEFTLAB_CACHE`, else `~/.cache/peftlab`. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.PEFTLAB_CACHE;
  return v && v.trim() !== "" ? path.resolve(v) : path.join(os.homedir(), ".cache", "peftlab");
}

export function defaultBaseDir(family: DefaultFamily, root = cacheRoot()): string {
  return path.join(root, `default-${family}-v${DEFAULT_BASE_VERSION}`);
}

/** True when `dir` is a finished default base (marker, config, weights and tokenizer present). */
export function isCompleteBase(dir: string): boolean {
  return [MARKER_FILE, "config.json", "model.safetensors", "tokenizer.json"].every((f) => fs.existsSync(path.join(dir, f)));
}

export interface EnsureOptions {
  /** Use the base shipped with the package when there is one (default true). */
  shipped?: boolean;
  /** Cache root (default cacheRoot()). */
  cacheDir?: string;
  /** Progress lines of a build or a wait (default: standard error, so a first run is not a silent pause). */
  log?: (line: string) => void;
  onStep?: (s: PretrainStep) => void;
  /** Writes a complete folder into the (empty) directory given; default: pretrain the default spec. */
  build?: (dir: string, family: DefaultFamily) => Promise<void>;
  /** Give up waiting for another build after this long (default 30 minutes). */
  waitMs?: number;
  /** A lock older than this is considered abandoned (default 30 minutes). */
  staleLockMs?: number;
  pollMs?: number;
}

/** The folder a run loads the default base of `family` from: the shipped one, else the cache's. */
export function defaultBaseFolder(family: DefaultFamily): string {
  return shippedBase(family) ?? defaultBaseDir(family);
}

/**
 * The folder of the default base of `family`: the shipped one (checked) unless `opts.shipped` is
 * false, else the cache's, built first when the cache has none.
 */
export async function ensureDefaultBase(family: DefaultFamily, opts: EnsureOptions = {}): Promise<string> {
  if (family !== "llama" && family !== "gpt2") throw new Error(`default base: family must be llama or gpt2, got ${JSON.stringify(family)}`);
  const shipped = opts.shipped === false ? null : shippedBase(family);
  if (shipped) return shipped;
  const root = opts.cacheDir ?? cacheRoot();
  const final = defaultBaseDir(family, root);
  if (isCompleteBase(final)) return final;
  opts = { ...opts, log: opts.log ?? ((line) => process.stderr.write(`${line}\n`)) };
  fs.mkdirSync(root, { recursive: true });
  const lock = `${final}.lock`;
  const start = Date.now();
  const waitMs = opts.waitMs ?? 30 * 60_000;
  let told = false;
  for (;;) {
    if (isCompleteBase(final)) return final;
    if (tryLock(lock)) {
      try {
        if (isCompleteBase(final)) return final;
        await buildInto(final, family, root, opts);
        return final;
      } finally {
        fs.rmSync(lock, { force: true });
      }
    }
    if (isStale(lock, opts.staleLockMs ?? 30 * 60_000)) {
      opts.log?.(`default base: removing the abandoned lock ${lock}`);
      fs.rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() - start > waitMs) throw new Error(`default base: gave up after ${Math.round(waitMs / 1000)} s waiting for another build (lock ${lock}: ${lockText(lock)})`);
    if (!told) opts.log?.(`default base: waiting for another process building ${final} (${lockText(lock)})`);
    told = true;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/** Builds in a temporary sibling directory and renames it to `final`. */
async function buildInto(final: string, family: DefaultFamily, root: string, opts: EnsureOptions): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(root, `.${path.basename(final)}.build-`));
  try {
    await (opts.build ?? ((dir, fam) => buildDefaultBase(dir, fam, opts)))(tmp, family);
    if (!isCompleteBase(tmp)) throw new Error(`default base: the build left an incomplete folder (${tmp})`);
    fs.rmSync(final, { recursive: true, force: true }); // an incomplete leftover of an older layout
    fs.renameSync(tmp, final);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function tryLock(lock: string): boolean {
  try {
    const fd = fs.openSync(lock, "wx");
    fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() }));
    fs.closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new Error(`default base: cannot create the lock ${lock}: ${(e as Error).message}`);
  }
}

function lockText(lock: string): string {
  try {
    const l = JSON.parse(fs.readFileSync(lock, "utf8")) as { pid?: number; host?: string; started?: string };
    return `pid ${l.pid} on ${l.host}, since ${l.started}`;
  } catch {
    return "holder unknown";
  }
}

/** The holder is gone (same host, no such process) or the lock is older than `maxAgeMs`. */
function isStale(lock: string, maxAgeMs: number): boolean {
  let st: fs.Stats;
  try {
    st = fs.statSync(lock);
  } catch {
    return false; // released meanwhile
  }
  if (Date.now() - st.mtimeMs > maxAgeMs) return true;
  try {
    const l = JSON.parse(fs.readFileSync(lock, "utf8")) as { pid?: number; host?: string };
    if (l.host !== os.hostname() || typeof l.pid !== "number") return false;
    process.kill(l.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** The English documents of the default corpus: "Moby-Dick", then the State of the Union addresses from {@link SOTU_FROM_YEAR}. */
export function defaultEnglish(): string[] {
  return [...builtinCorpus(), ...sotuAddresses(SOTU_FROM_YEAR)];
}

/**
 * The words the corpus spells: words of the addresses (3–10 letters) that "Moby-Dick" never uses, so
 * that no word of the reverse task (all from "Moby-Dick") is ever spelled in pretraining.
 */
export function spellingWords(): string[] {
  const taskWords = new Set(reverseWords(20));
  return wordsOf(sotuAddresses(SOTU_FROM_YEAR)).filter((w) => w.length >= 3 && w.length <= 10 && !taskWords.has(w));
}

/** The default base's corpus, {@link DEFAULT_CORPUS_MIX} of the English text, real sources and synthetic text. */
export function defaultCorpus(): MixedCorpus {
  return mixedCorpus(defaultEnglish(), DEFAULT_CORPUS_MIX, { sources: packageSources(), spellingWords: spellingWords() });
}

/** How the default corpus is described in the model card: its parts and what a user should know. */
export function defaultCorpusCard(c: MixedCorpus): { corpus: string; notes: string[] } {
  const total = Object.values(c.chars).reduce((a, b) => a + b, 0);
  const pct = (n: number) => `${Math.round((100 * n) / total)}%`;
  const corpus = `English prose (${pct(c.chars.english)} of the characters: "Moby-Dick" and State of the Union addresses) mixed with code (${pct(c.chars.code)}), arithmetic (${pct(c.chars.arithmetic)}), digit sorting (${pct(c.chars.sorting)}) and spelling (${pct(c.chars.spelling)})`;
  const example = (op: "+" | "-" | "*") => ARITHMETIC_FORMATS[op].map((f) => `"${f}"`).join(", ");
  const quoted = (fs: readonly string[]) => fs.map((f) => `"${f}"`).join(", ");
  return {
    corpus,
    notes: [
      `English: ${BUILTIN_CORPUS.title}; ${BUILTIN_CORPUS.license}. ${SOTU_CORPUS.title} from ${SOTU_FROM_YEAR} on (${SOTU_CORPUS.package}); ${SOTU_CORPUS.license}.`,
      `Code: the JavaScript sources (lib/*.js) of ${CODE_PACKAGES.join(", ")}, and straight-line programs like those of the \`code\` task, one statement per line (half of them with spaces around operators), followed by \`# prints N\` or \`output: N\` (the task writes \`a=3;b=a*2+1;print(b-a)\` on one line and asks for the output).`,
      `Arithmetic: addition, subtraction and multiplication of 1–3 digit numbers, one statement per line, in layouts the fine-tuning tasks never use: ${example("+")}; likewise ${example("-")}; ${example("*")}.`,
      `Sorting: strings of 3–8 digits and their digits in ascending order, in the layouts ${quoted(SORTING_FORMATS)} ({S}, {O}: digits with spaces); the sort task writes \`sort(503184)=\` → \`013458\`.`,
      `Spelling: words spelled with hyphens and backwards, in the layouts ${quoted(SPELLING_FORMATS)}; the words are those of the addresses that "Moby-Dick" never uses, while the reverse task (\`reverse(w-h-a-l-e)=\` → \`e-l-a-h-w\`) takes its words from "Moby-Dick", so no task word is spelled in pretraining.`,
      `The synthetic documents are drawn from a random stream of their own (seed label \`pretrain-corpus/${DEFAULT_CORPUS_MIX.seed}\`), never from a task's, so no fine-tuning split was targeted. Small facts do overlap: there are only 10,000 pairs of 2-digit numbers and the corpus states many of their sums, so the base has seen most test facts of the 2-digit tasks in another layout — as any real base model has seen arithmetic. Fine-tuning teaches the task's format; it does not teach arithmetic from nothing.`,
      "The tokenizer spells numbers digit by digit (pre-tokenizer `Sequence [Digits { individual_digits: true }, ByteLevel]`), so no token holds two digits.",
    ],
  };
}

/**
 * Pretrains the default spec of `family` on the default corpus ({@link defaultCorpus}) into `dir`.
 * When the active backend is the (much slower) plain-JavaScript cpu one, wasm is used for the build
 * when available and the cpu backend is restored afterwards. `dtype` F16 is how the shipped base is stored.
 */
export async function buildDefaultBase(dir: string, family: DefaultFamily, opts: Pick<EnsureOptions, "log" | "onStep"> & Pick<PretrainOptions, "probe"> & { dtype?: "F32" | "F16" } = {}): Promise<void> {
  const spec = DEFAULT_BASE_SPEC[family];
  const previous = tf.getBackend();
  if (previous === "cpu") {
    await initBackend("wasm").then(
      () => opts.log?.("default base: building on the wasm backend (the cpu backend is about 15 times slower)"),
      () => opts.log?.("default base: wasm is unavailable, building on the cpu backend (this takes a while)"),
    );
  }
  try {
    const mixed = defaultCorpus();
    const card = defaultCorpusCard(mixed);
    opts.log?.(`default base: pretraining a ${family} model (${spec.layers} layers, hidden ${spec.hidden}, context ${spec.context}, ${spec.steps} steps) on English prose, code, arithmetic, sorting and spelling text; this happens once, the result is cached in ${path.dirname(dir)}`);
    const r = pretrain(mixed.texts, spec, { log: opts.log, onStep: opts.onStep, probe: opts.probe });
    try {
      savePretrained(r, dir, card.corpus, card.notes, { dtype: opts.dtype ?? "F32" });
      const marker = {
        version: DEFAULT_BASE_VERSION, family, spec, dtype: opts.dtype ?? "F32",
        corpus: { english: [BUILTIN_CORPUS, { ...SOTU_CORPUS, fromYear: SOTU_FROM_YEAR }], code: CODE_PACKAGES, mix: DEFAULT_CORPUS_MIX, chars: mixed.chars },
        backend: tf.getBackend(), validation: r.validation, tokens: r.tokens, seconds: Math.round(r.seconds), created: new Date().toISOString(),
      };
      writeFileAtomic(path.join(dir, MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
      opts.log?.(`default base: held-out loss ${r.validation.initial.toFixed(3)} → ${r.validation.final.toFixed(3)} (unigram ${r.validation.unigram.toFixed(3)}) in ${Math.round(r.seconds)} s`);
    } finally {
      r.model.dispose();
    }
  } finally {
    if (tf.getBackend() !== previous) await tf.setBackend(previous);
  }
}
