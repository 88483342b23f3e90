// `peftlab merge --model DIR --adapter DIR --out DIR`: the base with a PEFT adapter folded in, written
// as a Hugging Face folder (config.json, model.safetensors, the base's tokenizer files).

import * as fs from "node:fs";
import * as path from "node:path";
import { loadAdapter, loadModel, mergeAndUnload, saveModel } from "../api.js";
import type { BackendName } from "../dsl/plan.js";
import { BACKEND_NAMES } from "../runtime/tensor/backend.js";
import { stringOption, withArgs, type ArgsSpec } from "./args.js";
import type { Command } from "./commands.js";

const ARGS: ArgsSpec = {
  synopsis: ["merge --model DIR --adapter DIR --out DIR [options]"],
  description: "Loads the Hugging Face model folder, attaches the PEFT adapter folder (LoRA, DoRA, rsLoRA, rank and\n"
    + "alpha patterns, AdaLoRA), folds it into the weights (W + ΔW per module) and writes the merged model\n"
    + "to --out: config.json (the base's keys kept), model.safetensors and the base's tokenizer files.\n"
    + "Exit status: 0 written, 1 a folder cannot be read or does not fit, 2 bad usage.",
  options: {
    model: { type: "string", value: "DIR", help: "the base model folder (config.json, model.safetensors)" },
    adapter: { type: "string", value: "DIR", help: "the adapter folder (adapter_config.json, adapter_model.safetensors)" },
    out: { type: "string", value: "DIR", help: "where to write the merged model (created; files in it are replaced)" },
    backend: { type: "string", value: "NAME", help: `one of ${BACKEND_NAMES.join(", ")}`, default: "$PEFTLAB_BACKEND, or auto" },
    quiet: { type: "boolean", help: "no warnings and no closing line" },
  },
  examples: ["peftlab merge --model models/gpt2 --adapter runs/exp/lora/1/adapter --out models/gpt2-merged"],
};

export const mergeCommand: Command = {
  name: "merge",
  summary: "fold a PEFT adapter into its base model and write a Hugging Face folder",
  args: ARGS,
  run: (argv, io) => withArgs("merge", ARGS, argv, io, async ({ values, positionals }, usage) => {
    if (positionals.length > 0) return usage(`unexpected argument ${positionals[0]} (give folders with --model, --adapter, --out)`);
    const model = stringOption(values, "model");
    const adapter = stringOption(values, "adapter");
    const out = stringOption(values, "out");
    const missing = [["model", model], ["adapter", adapter], ["out", out]].filter(([, v]) => !v).map(([k]) => `--${k}`);
    if (missing.length) return usage(`missing ${missing.join(", ")}`);
    const backend = stringOption(values, "backend");
    if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(backend)) return usage(`unknown backend "${backend}"; expected one of ${BACKEND_NAMES.join(", ")}`);
    if (path.resolve(out!) === path.resolve(model!)) return usage("--out must not be the --model folder");
    const quiet = values.quiet === true;
    const warn = (w: string) => quiet || io.stderr(`peftlab merge: warning: ${w}\n`);
    try {
      if (!fs.existsSync(adapter!) || !fs.statSync(adapter!).isDirectory()) throw new Error(`${adapter}: not an adapter folder (it does not exist or is not a directory)`);
      const m = await loadModel(model!, { onWarning: warn, ...(backend ? { backend: backend as BackendName } : {}) });
      try {
        const a = loadAdapter(m, adapter!);
        for (const w of a.warnings) warn(w);
        mergeAndUnload(m);
        const saved = saveModel(m, out!);
        for (const w of saved.warnings) warn(w);
        if (!quiet) io.stdout(`merged ${a.modules.length} module${a.modules.length === 1 ? "" : "s"} of ${adapter} into ${model}; wrote ${saved.files.map((f) => path.basename(f)).join(", ")} to ${out}\n`);
      } finally {
        m.dispose();
      }
      return 0;
    } catch (e) {
      io.stderr(`peftlab merge: ${(e as Error).message}\n`);
      return 1;
    }
  }),
};
