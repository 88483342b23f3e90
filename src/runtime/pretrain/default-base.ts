// The runtime's built-in default base model: a small llama or gpt2 pretrained by peftlab on the
// built-in corpus mixed with synthetic arithmetic and code (corpus.ts), with a fixed
// configuration and seed, built on first use and cached in `$PEFTLAB_CACHE` (default
// `~/.cache/peftlab`) as `default-<family>-v2/`, a Hugging Face folder. `peftlab pretrain --default
// [--family gpt2]` builds it ahead of time.
//
// Building is atomic and locked: the folder is written in a temporary directory and renamed into
// place (a crash leaves no half folder), and a lock file (`default-<family>-v2.lock`, created with
// O_EXCL) makes a second process, or a second call in the same process, wait for the first build
// instead of building again. A lock whose process is gone (same host) or that is older than
// `staleLockMs` is removed.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFAULT_BASE_LAYERS } from "../../dsl/defaults.js";
import { initBackend } from "../tensor/backend.js";
import { ARITHMETIC_FORMATS, type CorpusMix, mixedCorpus, type MixedCorpus } from "./corpus.js";
import { BUILTIN_CORPUS, builtinCorpus } from "./data.js";
import { pretrain, PRETRAIN_DEFAULTS, savePretrained, type PretrainSpec, type PretrainStep } from "./pretrain.js";
import * as tf from "../tensor/tf.js";
import { writeFileAtomic } from "../io/atomic.js";

export type DefaultFamily = "llama" | "gpt2";

/** Bump when the spec, the corpus or the format changes: old caches are then ignored. */
export const DEFAULT_BASE_VERSION = 2;

/** The default base's corpus: characters shares of synthetic arithmetic and code; the rest is English. */
export const DEFAULT_CORPUS_MIX: CorpusMix = { arithmetic: 0.5, code: 0.2, seed: 1 };

/**
 * About a minute on 2 cores with the wasm backend (300 steps of 16 windows × 64 tokens, ~0.16 s a
 * step; 48 s on an idle machine). Held-out loss ends well below the unigram baseline; see the README for what fine-tuning on
 * it reaches.
 */
export const DEFAULT_BASE_SPEC: Record<DefaultFamily, PretrainSpec> = {
  llama: { ...PRETRAIN_DEFAULTS, family: "llama", layers: DEFAULT_BASE_LAYERS, hidden: 64, heads: 4, context: 64, vocab: 512, splitDigits: true, steps: 300, batch: 16, lr: 1e-2, warmup: 30, seed: 1, evalWindows: 64 },
  gpt2: { ...PRETRAIN_DEFAULTS, family: "gpt2", layers: DEFAULT_BASE_LAYERS, hidden: 64, heads: 4, context: 64, vocab: 512, splitDigits: true, steps: 300, batch: 16, lr: 1e-2, warmup: 30, seed: 1, evalWindows: 64 },
};

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

/** The folder of the default base of `family`, building it first when the cache has none. */
export async function ensureDefaultBase(family: DefaultFamily, opts: EnsureOptions = {}): Promise<string> {
  if (family !== "llama" && family !== "gpt2") throw new Error(`default base: family must be llama or gpt2, got ${JSON.stringify(family)}`);
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

/** How the default corpus is described in the model card: its parts and what a user should know. */
export function defaultCorpusCard(c: MixedCorpus): { corpus: string; notes: string[] } {
  const total = c.chars.english + c.chars.arithmetic + c.chars.code;
  const pct = (n: number) => `${Math.round((100 * n) / total)}%`;
  const corpus = `${BUILTIN_CORPUS.title} (${pct(c.chars.english)} of the characters) mixed with synthetic arithmetic (${pct(c.chars.arithmetic)}) and code (${pct(c.chars.code)}) written by peftlab's task generators`;
  const example = (op: "+" | "-" | "*") => ARITHMETIC_FORMATS[op].map((f) => `"${f}"`).join(", ");
  return {
    corpus,
    notes: [
      `English: ${BUILTIN_CORPUS.title}; ${BUILTIN_CORPUS.license}.`,
      `Arithmetic: addition, subtraction and multiplication of 1–3 digit numbers, one statement per line, in layouts the fine-tuning tasks never use: ${example("+")}; likewise ${example("-")}; ${example("*")}.`,
      "Code: straight-line programs like those of the `code` task, one statement per line (half of them with spaces around operators), followed by `# prints N` or `output: N` (the task writes `a=3;b=a*2+1;print(b-a)` on one line and asks for the output).",
      `The synthetic documents are drawn from a random stream of their own (seed label \`pretrain-corpus/${DEFAULT_CORPUS_MIX.seed}\`), never from a task's, so no fine-tuning split was targeted. Small facts do overlap: there are only 10,000 pairs of 2-digit numbers and the corpus states many of their sums, so the base has seen most test facts of the 2-digit tasks in another layout — as any real base model has seen arithmetic. Fine-tuning teaches the task's format; it does not teach arithmetic from nothing.`,
      "The tokenizer spells numbers digit by digit (pre-tokenizer `Sequence [Digits { individual_digits: true }, ByteLevel]`), so no token holds two digits.",
    ],
  };
}

/**
 * Pretrains the default spec on the default corpus (the built-in English text mixed with synthetic
 * arithmetic and code, {@link DEFAULT_CORPUS_MIX}) into `dir`. The spec is sized for the wasm backend;
 * when the active backend is the (much slower) plain-JavaScript cpu one, wasm is used for the build
 * when available and the cpu backend is restored afterwards.
 */
export async function buildDefaultBase(dir: string, family: DefaultFamily, opts: Pick<EnsureOptions, "log" | "onStep"> = {}): Promise<void> {
  const spec = DEFAULT_BASE_SPEC[family];
  const previous = tf.getBackend();
  if (previous === "cpu") {
    await initBackend("wasm").then(
      () => opts.log?.("default base: building on the wasm backend (the cpu backend is about 15 times slower)"),
      () => opts.log?.("default base: wasm is unavailable, building on the cpu backend (this takes a while)"),
    );
  }
  try {
    const mixed = mixedCorpus(builtinCorpus(), DEFAULT_CORPUS_MIX);
    const card = defaultCorpusCard(mixed);
    opts.log?.(`default base: pretraining a ${family} model (${spec.layers} layers, hidden ${spec.hidden}, ${spec.steps} steps) on ${BUILTIN_CORPUS.name} with synthetic arithmetic and code; this happens once (about a minute on two cores), the result is cached in ${path.dirname(dir)}`);
    const r = pretrain(mixed.texts, spec, { log: opts.log, onStep: opts.onStep });
    try {
      savePretrained(r, dir, card.corpus, card.notes);
      const marker = {
        version: DEFAULT_BASE_VERSION, family, spec, corpus: { ...BUILTIN_CORPUS, mix: DEFAULT_CORPUS_MIX, chars: mixed.chars }, backend: tf.getBackend(),
        validation: r.validation, seconds: Math.round(r.seconds), created: new Date().toISOString(),
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
