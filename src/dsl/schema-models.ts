// Block schemas of `model` and `data` declarations.

import { MODEL_DEFAULTS, TASK_PARAMS, TASK_SPLITS, JSONL_SPLITS, DATA_SEED } from "./defaults.js";
import { autoOr, field, type ArgCursor, type FieldSpec, type Read, type Schema } from "./fields.js";
import type { TokenizerSpec } from "./plan.js";

const MAX_SEED = 2 ** 31 - 1;

/** Model forms: the word after `=` and what it means. */
export const MODEL_FORMS = {
  decoder: { family: "llama", head: "causal_lm" },
  llama: { family: "llama", head: "causal_lm" },
  gpt2: { family: "gpt2", head: "causal_lm" },
  encoder: { family: "bert", head: "classifier" },
  bert: { family: "bert", head: "classifier" },
  hf: null,
  pretrained: null,
} as const;
export type ModelForm = keyof typeof MODEL_FORMS;

/** Precisions of a frozen base, in the order the grammar document lists them. */
export const BASE_PRECISIONS = ["f32", "bf16", "f16", "int8", "nf4"] as const;

function precisionField() {
  return field(["precision"], BASE_PRECISIONS.join(" | "), MODEL_DEFAULTS.precision, "how the frozen base weights are held (adapters, norms and the optimiser stay f32); below f32 they live in the native weight store", (c) => c.word(BASE_PRECISIONS, "a precision"));
}

const sizes = {
  layers: field(["layers"], "INT", String(MODEL_DEFAULTS.layers), "transformer blocks", (c) => c.int(1, 256)),
  width: field(["width", "hidden"], "INT", String(MODEL_DEFAULTS.width), "hidden size; divisible by heads", (c) => c.int(1, 16384)),
  heads: field(["heads"], "INT", String(MODEL_DEFAULTS.heads), "attention heads", (c) => c.int(1, 256)),
  intermediate: field(["intermediate", "ffn"], "INT", "4·width (llama: 8/3·width up to a multiple of 16)", "FFN inner size", (c) => c.int(1, 65536)),
  context: field(["context"], "INT", String(MODEL_DEFAULTS.context), "maximum sequence length", (c) => c.int(1, 65536)),
  vocab: field(["vocab"], "INT | auto", "auto (the data's tokenizer)", "vocabulary size", (c) => autoOr(c, () => c.int(2, 1_000_000))),
  head: field(["head"], "causal_lm | classifier", "causal_lm (decoders), classifier (encoders)", "output head", (c) => c.word(["causal_lm", "classifier"] as const, "a head")),
  labels: field(["labels"], "INT | auto", "auto (the data's labels)", "classes of a classifier head", (c) => autoOr(c, () => c.int(2, 10_000))),
  seed: field(["seed"], "INT", String(MODEL_DEFAULTS.initSeed), "seed of the random base weights", (c) => c.int(0, MAX_SEED)),
  precision: precisionField(),
};

/** gpt2 and bert blocks. */
export const BUILTIN_MODEL_SCHEMA = sizes;
/** llama (decoder) blocks add grouped-query attention. */
export const LLAMA_MODEL_SCHEMA = {
  ...sizes,
  kvHeads: field(["kv_heads"], "INT", "heads", "key/value heads (grouped-query attention); divides heads", (c) => c.int(1, 256)),
};

/** `hf "folder"` blocks. */
export const HF_MODEL_SCHEMA = {
  head: field(["head"], "causal_lm | classifier | auto", "auto (from config.json)", "output head", (c) => c.word(["causal_lm", "classifier", "auto"] as const, "a head")),
  labels: sizes.labels,
  precision: sizes.precision,
};

/** `pretrained` blocks: the project's own small pretrained base. */
export const PRETRAINED_MODEL_SCHEMA = {
  family: field(["family"], "llama | gpt2", "llama", "architecture of the pretrained base", (c) => c.word(["llama", "gpt2"] as const, "a family")),
  head: field(["head"], "causal_lm | classifier | auto", "auto (classifier for labelled data, else causal_lm)", "output head; a classifier head is new and trains with the adapters", (c) => c.word(["causal_lm", "classifier", "auto"] as const, "a head")),
  labels: sizes.labels,
  precision: sizes.precision,
};

/** Read `tokenizer char | byte | model | bpe "file"`. */
function readTokenizer(c: ArgCursor): Read<TokenizerSpec> | undefined {
  const kind = c.word(["char", "byte", "model", "bpe"] as const, "a tokenizer");
  if (!kind) return undefined;
  if (kind.value !== "bpe") return { value: { kind: kind.value }, node: kind.node };
  const path = c.string("the path of a tokenizer.json");
  return path ? { value: { kind: "bpe", path: path.value }, node: path.node } : undefined;
}

const tokenizer = field(["tokenizer"], 'char | byte | model | bpe "FILE"', "char (model for HF models)", "how text becomes tokens", readTokenizer);
const seed = field(["seed"], "INT", String(DATA_SEED), "seed of the generator or shuffle", (c) => c.int(0, MAX_SEED));

const taskSchemas = new Map<string, Schema>();

/** The schema of a task data block: its parameters, split sizes, seed and tokenizer. */
export function taskDataSchema(task: string): Schema {
  const cached = taskSchemas.get(task);
  if (cached) return cached;
  const params: Record<string, FieldSpec<Read<number>>> = {};
  for (const [name, p] of Object.entries(TASK_PARAMS[task] ?? {})) {
    params[name] = field([p.key], "INT", String(p.default), p.summary, (c) => c.int(p.min, p.max));
  }
  const schema: Schema = {
    ...params,
    train: field(["train"], "INT", String(TASK_SPLITS.train), "training examples", (c) => c.int(1, 10_000_000, "a number of examples")),
    validation: field(["validation"], "INT", String(TASK_SPLITS.validation), "validation examples (learning-rate choice, evaluation)", (c) => c.int(0, 10_000_000, "a number of examples")),
    test: field(["test"], "INT", String(TASK_SPLITS.test), "test examples (final report only)", (c) => c.int(0, 10_000_000, "a number of examples")),
    seed,
    tokenizer,
  };
  taskSchemas.set(task, schema);
  return schema;
}

/** A JSONL split as written: a share of the training file, or a file of its own. */
export type SplitSource = { kind: "share"; share: number } | { kind: "file"; path: string };

/** Read `10%`, `0.1` or `"test.jsonl"`. */
function readSplit(c: ArgCursor): Read<SplitSource> | undefined {
  if (c.peek()?.kind === "String") {
    const file = c.string("a file in quotes");
    return file && { value: { kind: "file", path: file.value }, node: file.node };
  }
  const share = c.ratio(false, 'a share of the training file, or a file in quotes like "test.jsonl"');
  return share && { value: { kind: "share", share: share.value }, node: share.node };
}

/** The schema of a `jsonl "file"` data block. */
export const JSONL_DATA_SCHEMA = {
  format: field(["format"], "generation | classification", "from the fields given, else from the keys of the file's first line", "what a line holds", (c) => c.word(["generation", "classification"] as const, "a format")),
  prompt: field(["prompt"], "STRING", '"prompt"', "JSON key of the prompt (generation)", (c) => c.string("a JSON key in quotes")),
  completion: field(["completion"], "STRING", '"completion"', "JSON key of the completion (generation)", (c) => c.string("a JSON key in quotes")),
  text: field(["text"], "STRING", '"text"', "JSON key of the text (classification)", (c) => c.string("a JSON key in quotes")),
  label: field(["label"], "STRING", '"label"', "JSON key of the label (classification)", (c) => c.string("a JSON key in quotes")),
  train: field(["train"], "RATIO | FILE", "what the other shares leave of the file", "training examples: a share of the training file, or the training file itself (then the file after `jsonl` is left out)", readSplit),
  validation: field(["validation"], "RATIO | FILE", `${JSONL_SPLITS.validation * 100}%`, "validation examples: a share of the training file, or a file of their own", readSplit),
  test: field(["test"], "RATIO | FILE", `${JSONL_SPLITS.test * 100}%`, "test examples: a share of the training file, or a file of their own", readSplit),
  shuffle: field(["shuffle"], "[yes | no]", "yes", "shuffle the training file (by `seed`) before cutting shares; `no` keeps the file order", (c) => c.flag()),
  seed,
  tokenizer,
};
