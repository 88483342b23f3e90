// Export of a BeamLoRA adapter in stock PEFT LoRA form (research notes §1.9): the gate is folded
// into A (A' = diag(s)·A), which is exact because ΔW = scaling·B·diag(s)·A.
import type { FamilyModel } from "../../models/model.js";
import { LoraAdapter } from "../../lora.js";

/** A row-major float32 matrix, ready for a safetensors writer (dtype F32). */
export interface PlainMatrix {
  shape: [number, number];
  data: Float32Array;
}

/** What a PEFT exporter writes for one module: `lora_A.weight` = A (gate folded) and `lora_B.weight` = B. */
export interface BeamExportModule {
  A: PlainMatrix;
  B: PlainMatrix;
}

/**
 * Per module path (in model order), the adapter `adapter`'s folded A [r, in] and B [out, r] as
 * plain typed arrays. Works with or without a gate (without one, A is returned unchanged).
 */
export function beamExportTensors(model: FamilyModel, adapter: string): Map<string, BeamExportModule> {
  const out = new Map<string, BeamExportModule>();
  for (const [path, l] of model.linears()) {
    const a = l.adapters.get(adapter);
    if (!(a instanceof LoraAdapter)) continue;
    const folded = a.foldedA();
    const A: PlainMatrix = { shape: [folded.shape[0], folded.shape[1]], data: Float32Array.from(folded.dataSync()) };
    folded.dispose();
    const B: PlainMatrix = { shape: a.B.shape as [number, number], data: Float32Array.from(a.B.dataSync()) };
    out.set(path, { A, B });
  }
  if (out.size === 0) throw new Error(`Error in beamExportTensors: no LoRA adapter named "${adapter}" is attached to the model`);
  return out;
}
