// Writing a finished job's adapters as PEFT-compatible folders (DIR/<run>/<seed>/adapter/).
import * as path from "node:path";
import type { Plan } from "../dsl/plan.js";
import { exportAsLora } from "../runtime/adapters/export.js";
import type { JobSpec } from "../runtime/job.js";
import type { FamilyModel } from "../runtime/models/model.js";
import { savedModuleTensorName, writeAdapterFolder } from "../runtime/io/peft-format.js";
import type { WritableTensor } from "../runtime/io/safetensors.js";

/** The name recorded as base_model_name_or_path. */
export function baseModelName(plan: Plan, job: JobSpec): string {
  const spec = plan.models[job.run.model]!;
  if (spec.kind === "hf") return spec.path;
  if (spec.kind === "default") return `peftlab/default-${spec.family}`;
  return `peftlab/builtin/${job.run.model}`;
}

/**
 * Exports every adapter of the run: one folder when the run has one adapter, else one sub-folder
 * per adapter. A classifier head is trained fully and saved as a module to save.
 */
export function exportJobAdapters(plan: Plan, job: JobSpec, model: FamilyModel, dir: string): string[] {
  const written: string[] = [];
  const head = model.classifier;
  for (const name of job.run.adapters) {
    const target = job.run.adapters.length > 1 ? path.join(dir, name) : dir;
    const exp = exportAsLora(model, name, {
      taskType: model.config.head === "classifier" ? "SEQ_CLS" : "CAUSAL_LM",
      baseModel: baseModelName(plan, job),
      fanInFanOut: model.config.family === "gpt2",
      modulesToSave: head ? [head.path] : null,
    });
    const tensors: Record<string, WritableTensor> = { ...exp.tensors };
    if (head) {
      for (const [n, v] of head.params()) {
        const param = n.slice(head.path.length + 1);
        tensors[savedModuleTensorName(head.path, param)] = { dtype: "F32", shape: v.shape.slice(), data: v.dataSync() as Float32Array };
      }
    }
    writeAdapterFolder(target, exp.config, tensors);
    written.push(target);
  }
  return written;
}
