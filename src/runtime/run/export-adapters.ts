// Writing a finished job's adapters as PEFT folders, through the one export path (adapters/peft-io.ts):
//   <job dir>/adapter/           the LoRA-format adapter (every method folded into LoRA; the classifier
//                                head in modules_to_save); one sub-folder per adapter when the run has several
//   <job dir>/adapter-adalora/   AdaLoRA adapters also in PEFT's native AdaLoRA format
//   <job dir>/pruned-base/       after Light-PEFT pruning: the pruned base in Hugging Face format; the
//                                adapters name it, relative to their folder, as base_model_name_or_path
import * as fs from "node:fs";
import * as path from "node:path";
import type { Plan } from "../../dsl/plan.js";
import { defaultBaseFolder } from "../pretrain/default-base.js";
import { withOriginalBase } from "../adapters/export.js";
import { writeFileAtomic } from "../io/atomic.js";
import { exportAdapter } from "../adapters/peft-io.js";
import { saveHfModel } from "../io/hf-model.js";
import type { JobSpec } from "./job.js";
import type { FamilyModel } from "../models/model.js";
import { RUN_FOLDER } from "../../results/run-folder.js";

/** The name recorded as base_model_name_or_path when the base is not pruned. */
export function baseModelName(plan: Plan, job: JobSpec): string {
  const spec = plan.models[job.run.model]!;
  if (spec.kind === "hf") return spec.path;
  if (spec.kind === "default") return `peftlab/default-${spec.family}`;
  return `peftlab/builtin/${job.run.model}`;
}

/** Tokenizer files of a Hugging Face folder, copied next to a pruned base made from it. */
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"];

/** The folder the run's base was loaded from (hf and default models), or null for a built-in model. */
export function baseFolder(plan: Plan, job: JobSpec, baseDir: string): string | null {
  const spec = plan.models[job.run.model]!;
  if (spec.kind === "hf") return path.resolve(baseDir, spec.path);
  if (spec.kind === "default") return defaultBaseFolder(spec.family);
  return null;
}

/**
 * Exports every adapter of the run into `dir` (`<job dir>/adapter`): the folder itself when the run has
 * one adapter, else one sub-folder per adapter; plus the AdaLoRA-format folders and the pruned base
 * next to it (see the file comment). Returns the adapter folders written (LoRA, then AdaLoRA format).
 */
export function exportJobAdapters(plan: Plan, job: JobSpec, model: FamilyModel, dir: string, opts: { baseDir?: string } = {}): string[] {
  const jobDir = path.dirname(dir);
  const folderOf = (root: string, name: string) => (job.run.adapters.length > 1 ? path.join(root, name) : root);
  const source = opts.baseDir === undefined ? null : baseFolder(plan, job, opts.baseDir);
  const prunedBase = job.run.prune ? savePrunedBase(plan, job, model, path.join(jobDir, RUN_FOLDER.prunedBase), source) : null;
  const baseFor = (folder: string) => (prunedBase ? path.relative(folder, prunedBase).split(path.sep).join("/") : baseModelName(plan, job));
  const taskType = model.config.head === "classifier" ? "SEQ_CLS" : "CAUSAL_LM";
  const written: string[] = [];
  for (const name of job.run.adapters) {
    const spec = plan.adapters[name] ?? null;
    const target = folderOf(dir, name);
    exportAdapter(model, name, spec, target, { baseModel: baseFor(target), taskType });
    written.push(target);
    if (spec?.method !== "adalora") continue;
    const native = folderOf(path.join(jobDir, RUN_FOLDER.adaloraAdapter), name);
    exportAdapter(model, name, spec, native, { baseModel: baseFor(native), taskType, format: "adalora", totalStep: job.run.train.steps });
    written.push(native);
  }
  return written;
}

/**
 * Saves the pruned base model (with the original weights under PiSSA adapters, which the exported
 * adapters are relative to), the tokenizer files of the folder it came from (`source`; pruning
 * keeps the vocabulary) and a model card that says how it was made. Returns the folder.
 */
function savePrunedBase(plan: Plan, job: JobSpec, model: FamilyModel, dir: string, source: string | null): string {
  const saved = withOriginalBase(model, () => saveHfModel(model, dir));
  const copied: string[] = [];
  for (const name of source ? TOKENIZER_FILES : []) {
    const from = path.join(source!, name);
    if (!fs.existsSync(from)) continue;
    writeFileAtomic(path.join(dir, name), fs.readFileSync(from));
    copied.push(name);
  }
  writeFileAtomic(path.join(dir, "README.md"), [
    "---", "library_name: transformers", "tags:", "- peftlab", "- light-peft", "---", "",
    "# Pruned base model", "",
    `The base of run \`${job.run.name}\` (seed ${job.seed}, lr ${job.lr}) after Light-PEFT's early pruning of attention heads and FFN neurons, `
      + `from \`${baseModelName(plan, job)}\`, written by peftlab. The run's adapters are relative to these weights.`, "",
    ...(copied.length ? [`The tokenizer files (${copied.join(", ")}) are the original model's: pruning keeps the vocabulary.`, ""] : []),
    ...(saved.stockReadable ? [] : [`Note: ${saved.warnings.map((w) => w.replace(`${dir}: `, "")).join("; ")}.`, ""]),
  ].join("\n"));
  return dir;
}
