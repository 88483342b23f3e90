// `peftlab pretrain`: train a small base model (llama or gpt2) and its byte-level BPE tokenizer on
// text files, or on the built-in corpus, and save a Hugging Face folder; `--default` builds the cached
// default base instead.

import * as fs from "node:fs";
import * as path from "node:path";
import type { BackendName } from "../dsl/plan.js";
import { BACKEND_NAMES, initBackend, resolveBackendRequest } from "../runtime/tensor/backend.js";
import { baseChecksums, buildDefaultBase, defaultCorpus, defaultCorpusCard, ensureDefaultBase, SHIPPED_DTYPE } from "../runtime/pretrain/default-base.js";
import { BUILTIN_CORPUS, builtinCorpus, readTextFiles } from "../runtime/pretrain/data.js";
import { pretrain, PRETRAIN_DEFAULTS, savePretrained, validatePretrainSpec, type PretrainSpec, type PretrainStep } from "../runtime/pretrain/pretrain.js";
import { withArgs, type ArgsSpec, type OptionSpec, type ParsedArgs } from "./args.js";
import type { Command } from "./commands.js";
import { processIO, type CliIO } from "./io.js";

const D = PRETRAIN_DEFAULTS;
const integer = (help: string, dflt: number | string): OptionSpec => ({ type: "string", value: "N", help, default: String(dflt) });

const ARGS: ArgsSpec = {
  synopsis: ["pretrain --out DIR [options]", "pretrain --default [--family llama|gpt2] [--out DIR]"],
  description: `Trains a small causal language model from random initialisation, with a byte-level BPE tokenizer
trained on the same text, and saves a Hugging Face folder (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json, README.md). --default builds the cached default base instead
(in $PEFTLAB_CACHE, default ~/.cache/peftlab), or checks the one shipped with the package; with --out
it pretrains the default base's recipe into DIR with float16 weights (how the shipped base is made)
and prints the SHA-256 sums that loading checks.`,
  options: {
    out: { type: "string", value: "DIR", help: "folder to write (must not exist or be empty, unless --force)" },
    text: { type: "string", value: "FILE...", multiple: true, help: "UTF-8 text files to train on, one document each; the files may follow --text", default: `the built-in corpus, ${BUILTIN_CORPUS.title}` },
    corpus: { type: "string", value: "NAME", help: "the built-in corpus without --text: english, or mixed (with synthetic arithmetic and code, as in the default base)", default: "english" },
    family: { type: "string", value: "NAME", help: "llama or gpt2", default: D.family },
    layers: integer("transformer layers", D.layers),
    hidden: integer("hidden size", D.hidden),
    heads: integer("attention heads", D.heads),
    intermediate: integer("FFN size", "4·hidden for gpt2, 8/3·hidden rounded up to 16 for llama"),
    context: integer("context length and training window in tokens", D.context),
    vocab: integer("BPE vocabulary size, at least 259", D.vocab),
    steps: integer("optimiser steps", D.steps),
    batch: integer("windows per step", D.batch),
    lr: { type: "string", value: "X", help: "peak learning rate, cosine schedule", default: String(D.lr) },
    warmup: integer("warmup steps", D.warmup),
    seed: integer("seed of initialisation and batches", D.seed),
    "tokenizer-chars": { type: "string", value: "N", help: "train the tokenizer on the first N characters only", default: "all" },
    "merge-digits": { type: "boolean", help: "let BPE merge digits into multi-digit tokens (default: one token per digit)" },
    backend: { type: "string", value: "NAME", help: `one of ${BACKEND_NAMES.join(", ")}`, default: "$PEFTLAB_BACKEND or auto" },
    force: { type: "boolean", help: "replace an existing --out folder" },
    quiet: { type: "boolean", help: "print only the result" },
    default: { type: "boolean", help: "build the cached default base of --family" },
  },
  examples: ["peftlab pretrain --out my-base --text notes.txt more.txt --steps 2000", "peftlab pretrain --default --family gpt2"],
};

const NUMERIC: Record<string, keyof PretrainSpec> = {
  "--layers": "layers", "--hidden": "hidden", "--heads": "heads", "--intermediate": "intermediate", "--context": "context",
  "--vocab": "vocab", "--steps": "steps", "--batch": "batch", "--lr": "lr", "--warmup": "warmup", "--seed": "seed",
};

interface Args {
  /** String options by `--name`. */
  values: Map<string, string>;
  /** Flags given, by `--name`. */
  flags: Set<string>;
  texts: string[];
}

/** The parsed options by `--name`; the positional arguments are more --text files. */
function argsOf(parsed: ParsedArgs): Args | string {
  const out: Args = { values: new Map(), flags: new Set(), texts: [] };
  for (const [name, v] of Object.entries(parsed.values)) {
    if (name === "text") out.texts.push(...(v as string[]));
    else if (v === true) out.flags.add(`--${name}`);
    else if (typeof v === "string") out.values.set(`--${name}`, v);
  }
  if (parsed.positionals.length > 0 && out.texts.length === 0) return `unexpected argument ${JSON.stringify(parsed.positionals[0])}`;
  out.texts.push(...parsed.positionals);
  return out;
}

/** The spec from the options; a string is a usage error. */
function specOf(a: Args): PretrainSpec | string {
  const spec: PretrainSpec = { ...PRETRAIN_DEFAULTS };
  const family = a.values.get("--family") ?? D.family;
  if (family !== "llama" && family !== "gpt2") return `--family must be llama or gpt2, got ${JSON.stringify(family)}`;
  spec.family = family;
  spec.splitDigits = !a.flags.has("--merge-digits");
  for (const [flag, key] of Object.entries(NUMERIC)) {
    const raw = a.values.get(flag);
    if (raw === undefined) continue;
    const v = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(v) || (key !== "lr" && !Number.isInteger(v))) return `${flag} must be ${key === "lr" ? "a number" : "an integer"}, got ${JSON.stringify(raw)}`;
    (spec as unknown as Record<string, number>)[key] = v;
  }
  try {
    validatePretrainSpec(spec);
  } catch (e) {
    return (e as Error).message.replace(/^pretrain: /, "");
  }
  return spec;
}

function checkOut(dir: string, force: boolean): string | null {
  if (!fs.existsSync(dir)) return null;
  if (!fs.statSync(dir).isDirectory()) return `--out ${dir} exists and is not a folder`;
  if (fs.readdirSync(dir).length > 0 && !force) return `--out ${dir} is not empty (use --force to replace it)`;
  return null;
}

function progress(io: CliIO, quiet: boolean): ((s: PretrainStep) => void) | undefined {
  if (quiet) return undefined;
  let last = 0;
  return (s) => {
    const now = Date.now();
    if (s.step === 1 || s.step === s.steps || now - last > 5000) {
      last = now;
      io.stderr(`step ${s.step}/${s.steps}  loss ${s.loss.toFixed(3)}  lr ${s.lr.toExponential(2)}  ${s.stepMs.toFixed(0)} ms/step\n`);
    }
  };
}

/** Trains into a temporary sibling folder and renames it to `out`, so `out` is never half written. */
function trainAndSave(texts: string[], spec: PretrainSpec, out: string, card: { corpus: string; notes: string[] }, a: Args, io: CliIO): number {
  const quiet = a.flags.has("--quiet");
  const chars = a.values.get("--tokenizer-chars");
  const tokenizerChars = chars === undefined ? undefined : Number(chars);
  if (tokenizerChars !== undefined && !(Number.isInteger(tokenizerChars) && tokenizerChars > 0)) {
    throw new UsageError(`--tokenizer-chars must be a positive integer, got ${JSON.stringify(chars)}`);
  }
  const r = pretrain(texts, spec, { onStep: progress(io, quiet), log: quiet ? undefined : (l) => io.stderr(`${l}\n`), tokenizerChars });
  const parent = path.dirname(path.resolve(out));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(out)}.pretrain-`));
  try {
    savePretrained(r, tmp, card.corpus, card.notes);
    fs.rmSync(out, { recursive: true, force: true });
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    r.model.dispose();
  }
  const v = r.validation;
  io.stdout(`saved ${out}: ${r.config.family}, ${r.tokenizer.vocabSize}-token tokenizer, held-out loss ${v.initial.toFixed(3)} → ${v.final.toFixed(3)} (unigram baseline ${v.unigram.toFixed(3)}), ${Math.round(r.seconds)} s\n`);
  return 0;
}

class UsageError extends Error {}

/** `--default --out DIR`: the default base's recipe into a temporary sibling, renamed to `out`; prints the checksums. */
async function buildDefaultInto(out: string, family: "llama" | "gpt2", a: Args, io: CliIO): Promise<number> {
  const quiet = a.flags.has("--quiet");
  const parent = path.dirname(path.resolve(out));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(out)}.pretrain-`));
  const t0 = performance.now();
  try {
    await buildDefaultBase(tmp, family, { dtype: SHIPPED_DTYPE, log: quiet ? undefined : (l) => io.stderr(`${l}\n`), onStep: progress(io, quiet) });
    fs.rmSync(out, { recursive: true, force: true });
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  io.stdout(`saved the default ${family} base in ${out} (${Math.round((performance.now() - t0) / 1000)} s); SHA-256: ${JSON.stringify(baseChecksums(out))}\n`);
  return 0;
}

/** `peftlab pretrain …`; resolves to the exit code (0 ok, 1 failed, 2 bad usage). */
export function pretrainCommand(argv: string[], io: CliIO = processIO()): Promise<number> {
  return withArgs("pretrain", ARGS, argv, io, (parsed, usageError) => pretrainWith(parsed, usageError, io));
}

async function pretrainWith(parsed: ParsedArgs, usageError: (message: string) => number, io: CliIO): Promise<number> {
  const a = argsOf(parsed);
  if (typeof a === "string") return usageError(a);
  const spec = specOf(a);
  if (typeof spec === "string") return usageError(spec);
  const out = a.values.get("--out");
  const sized = [...Object.keys(NUMERIC), "--corpus"].filter((f) => a.values.has(f)).concat(a.flags.has("--merge-digits") ? ["--merge-digits"] : []);
  if (a.flags.has("--default") && (a.texts.length > 0 || sized.length > 0)) {
    return usageError(`--default builds the default base with its fixed settings; it takes no ${[...(a.texts.length ? ["--text"] : []), ...sized].join(", ")}`);
  }
  if (!a.flags.has("--default") && out === undefined) return usageError("--out DIR is required");
  const corpusName = a.values.get("--corpus");
  if (corpusName !== undefined && corpusName !== "english" && corpusName !== "mixed") return usageError(`--corpus must be english or mixed, got ${JSON.stringify(corpusName)}`);
  if (corpusName !== undefined && a.texts.length > 0) return usageError("--corpus names a built-in corpus; it cannot be combined with --text");
  try {
    const backend = resolveBackendRequest({ cli: a.values.get("--backend"), env: process.env.PEFTLAB_BACKEND }).backend as BackendName;
    const info = await initBackend(backend);
    if (!a.flags.has("--quiet")) io.stderr(`${info.line}\n`);
    if (a.flags.has("--default") && out !== undefined) {
      const bad = checkOut(out, a.flags.has("--force"));
      if (bad) return usageError(bad);
      return await buildDefaultInto(out, spec.family, a, io);
    }
    if (a.flags.has("--default")) {
      const dir = await ensureDefaultBase(spec.family, { log: (l) => io.stderr(`${l}\n`), onStep: progress(io, a.flags.has("--quiet")) });
      io.stdout(`default ${spec.family} base: ${dir}\n`);
      return 0;
    }
    const bad = checkOut(out!, a.flags.has("--force"));
    if (bad) return usageError(bad);
    if (a.texts.length > 0) {
      const corpus = `${a.texts.length} text file${a.texts.length === 1 ? "" : "s"} (${a.texts.map((f) => path.basename(f)).join(", ")})`;
      return trainAndSave(readTextFiles(a.texts), spec, out!, { corpus, notes: [] }, a, io);
    }
    if (corpusName === "mixed") {
      const mixed = defaultCorpus();
      return trainAndSave(mixed.texts, spec, out!, defaultCorpusCard(mixed), a, io);
    }
    return trainAndSave(builtinCorpus(), spec, out!, { corpus: BUILTIN_CORPUS.title, notes: [] }, a, io);
  } catch (e) {
    if (e instanceof UsageError) return usageError(e.message);
    io.stderr(`peftlab pretrain: error: ${(e as Error).message}\n`);
    return 1;
  }
}

/** The command-table entry (src/cli/commands.ts). */
export const pretrainCliCommand: Command = {
  name: "pretrain",
  summary: "train a small base model and its tokenizer; save a Hugging Face folder",
  args: ARGS,
  run: pretrainCommand,
};
