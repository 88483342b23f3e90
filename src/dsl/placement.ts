// Where a misplaced word belongs: `warmup` in a train block is part of `lr`, `rank` belongs in an
// adapter block. readBlock adds this to its "has no property" error (see setPlacementHint).

import { setPlacementHint, type Schema } from "./fields.js";
import { ADALORA_SCHEMA, BEAM_SCHEMA, LORA_SCHEMA, PRUNE_SCHEMA } from "./schema-adapters.js";
import { BUILTIN_MODEL_SCHEMA, HF_MODEL_SCHEMA, JSONL_DATA_SCHEMA, LLAMA_MODEL_SCHEMA, PRETRAINED_MODEL_SCHEMA, taskDataSchema } from "./schema-models.js";
import { TRAIN_SCHEMA } from "./schema-train.js";

/** Words that are values of a train property, not properties themselves. */
const VALUE_WORDS: Record<string, string> = {
  warmup: "the warm-up is part of the learning rate: `lr 3e-4 cosine warmup 3%`",
  min: "the floor is part of the learning rate: `lr 3e-4 cosine min 10%`",
  cosine: "the schedule is part of the learning rate: `lr 3e-4 cosine`",
  linear: "the schedule is part of the learning rate: `lr 3e-4 linear`",
  constant: "the schedule is part of the learning rate: `lr 3e-4 constant`",
  betas: "the betas are part of the optimiser: `optimizer adamw betas 0.9 0.999`",
  eps: "epsilon is part of the optimiser: `optimizer adamw eps 1e-8`",
  schedule: "the schedule is part of the learning rate: `lr 3e-4 cosine warmup 3%`",
  every: "'every' follows `eval`, `checkpoint` or `log` in a train block (`eval every 10%`), or sets a beam's period (`beam NAME on ADAPTER { every 200 steps }`)",
};

/** Block kinds, how one is written, and their schemas. */
const BLOCKS: { noun: string; form: string; schemas: Schema[] }[] = [
  { noun: "a model block", form: "model NAME = decoder { … }", schemas: [LLAMA_MODEL_SCHEMA, BUILTIN_MODEL_SCHEMA, HF_MODEL_SCHEMA, PRETRAINED_MODEL_SCHEMA] },
  { noun: "a data block", form: "data NAME = addition { … }", schemas: [taskDataSchema("addition"), taskDataSchema("spam"), JSONL_DATA_SCHEMA] },
  { noun: "an adapter block", form: "adapter NAME = lora { … }", schemas: [LORA_SCHEMA, ADALORA_SCHEMA] },
  { noun: "a beam block", form: "beam NAME on ADAPTER { … }", schemas: [BEAM_SCHEMA] },
  { noun: "a prune block", form: "prune NAME { … }", schemas: [PRUNE_SCHEMA] },
  { noun: "a train block", form: "train { … }", schemas: [TRAIN_SCHEMA] },
];

function placement(word: string, current: Schema): string {
  if (word in VALUE_WORDS) return `; ${VALUE_WORDS[word]}`;
  const homes: string[] = [];
  let example = "";
  for (const block of BLOCKS) {
    if (block.schemas.includes(current)) continue;
    const spec = block.schemas.flatMap((s) => Object.values(s)).find((f) => f.keys.includes(word));
    if (!spec) continue;
    homes.push(block.noun);
    if (!example) example = block.form.replace("…", `${word} ${spec.form}`);
  }
  if (homes.length === 0) return "";
  const where = homes.length === 1 ? homes[0]! : `${homes.slice(0, -1).join(", ")} or ${homes[homes.length - 1]}`;
  return `; '${word}' belongs in ${where}: \`${example}\``;
}

setPlacementHint(placement);
