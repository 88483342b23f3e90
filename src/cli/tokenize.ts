// `peftlab tokenize MODEL_DIR TEXT...`: one JSON array of token ids per text, one per line, with the
// special tokens Hugging Face adds by default (--plain: none).

import { loadTokenizer } from "../api.js";
import { withArgs, type ArgsSpec } from "./args.js";
import type { Command } from "./commands.js";

const ARGS: ArgsSpec = {
  synopsis: ["tokenize [--plain] MODEL_DIR TEXT..."],
  description: "Encodes each TEXT with the tokenizer of MODEL_DIR (its tokenizer.json and tokenizer_config.json, or\n"
    + "a tokenizer.json file) and prints one JSON array of ids per line, as transformers' tokenizer(text)\n"
    + "gives them (BOS for Llama, [CLS] … [SEP] for BERT, none for GPT-2).\n"
    + "Exit status: 0 ok, 1 the tokenizer cannot be read, 2 bad usage.",
  options: {
    plain: { type: "boolean", help: "no special tokens, only the text's own" },
  },
  examples: ['peftlab tokenize models/tiny-llama "Hello world" "2 + 2 = 4"'],
};

export const tokenizeCommand: Command = {
  name: "tokenize",
  summary: "print the token ids of texts with a model folder's tokenizer",
  args: ARGS,
  run: (argv, io) => withArgs("tokenize", ARGS, argv, io, ({ values, positionals }, usage) => {
    if (positionals.length === 0) return usage("missing MODEL_DIR");
    if (positionals.length === 1) return usage("no TEXT given");
    const [dir, ...texts] = positionals as [string, ...string[]];
    let tok;
    try {
      tok = loadTokenizer(dir);
    } catch (e) {
      io.stderr(`peftlab tokenize: ${(e as Error).message}\n`);
      return 1;
    }
    for (const text of texts) io.stdout(`${JSON.stringify(values.plain === true ? tok.encodeOrdinary(text) : tok.encode(text))}\n`);
    return 0;
  }),
};
