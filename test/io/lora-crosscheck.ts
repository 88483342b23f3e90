// Runs test/python/lora_merge_check.py (an independent reading of our files with numpy / torch) and
// compares its W + scaling · B @ A outputs with our adapted modules on the same input.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import * as tf from "../../src/runtime/tensor/tf.js";
import { canonicalModulePath } from "../../src/runtime/adapters/peft-io.js";
import type { FamilyModel } from "../../src/runtime/models/model.js";
import { inferenceCtx } from "../../src/runtime/tensor/nn.js";
import { maxAbsDiff } from "./model-fixtures.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("../python/lora_merge_check.py", import.meta.url));
const hasNumpy = fs.existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import numpy"]).status === 0;
/** False when the check cannot run here (no python3 with numpy) and PEFTLAB_REQUIRE_PYTHON is not 1. */
export const canCrossCheck = hasNumpy || process.env.PEFTLAB_REQUIRE_PYTHON === "1";
if (!canCrossCheck) console.warn(`LoRA python cross-check skipped: ${PYTHON} with numpy not found (apt-get install python3-torch)`);

interface PyModule { r: number; scaling: number; y: number[]; y_merged: number[] | null }

/**
 * Checks adapter `adapter` of `model` against the exported folders: python's W + scaling·B@A on a fixed
 * input must match our adapted module's output, and so must our merged base. Returns the checked HF paths.
 */
export function pythonCrossCheck(model: FamilyModel, adapter: string, baseDir: string, adapterDir: string, mergedDir: string): string[] {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" };
  const res = spawnSync(PYTHON, [SCRIPT, baseDir, adapterDir, mergedDir], { encoding: "utf8", env });
  if (res.status !== 0) throw new Error(`lora_merge_check.py failed (${res.status}): ${res.stdout}${res.stderr}`);
  const py = JSON.parse(res.stdout) as { torch: boolean; modules: Record<string, PyModule> };
  if (process.env.PEFTLAB_REQUIRE_PYTHON === "1") expect(py.torch, `PEFTLAB_REQUIRE_PYTHON=1: ${PYTHON} must import torch`).toBe(true);
  const linears = model.linears();
  for (const [hf, p] of Object.entries(py.modules)) {
    const l = linears.get(canonicalModulePath(hf, model.config)!)!;
    expect(l.adapters.get(adapter)!.rank, hf).toBe(p.r);
    const nIn = l.inFeatures;
    const x = Float32Array.from({ length: 3 * nIn }, (_, i) => Math.sin(0.1 + 0.37 * i));
    const y = tf.tidy(() => l.apply(tf.tensor2d(x, [3, nIn]), inferenceCtx()).dataSync());
    expect(maxAbsDiff(p.y, y), `${hf}: ours vs W + scaling·B@A`).toBeLessThan(1e-4);
    expect(maxAbsDiff(p.y_merged!, p.y), `${hf}: our merged file vs W + scaling·B@A`).toBeLessThan(1e-4);
  }
  return Object.keys(py.modules);
}
