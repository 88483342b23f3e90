// The Python cross-checks on folders named the way Hugging Face names them, made here from tiny models:
// a GPT-2 folder with bare names (`h.0.attn.c_attn.weight`, as the hub's gpt2 checkpoint), BF16 weights
// and its BOOL / scalar attention buffers, and a Llama folder with `model.` names, BF16 weights and
// rotary `inv_freq` buffers. Each is loaded, given a BF16 LoRA adapter, merged, and checked by
// test/python/lora_merge_check.py (W + scaling · B @ A in torch) and test/python/safetensors_check.py.
// Skipped when /usr/bin/python3 has no numpy unless PEFTLAB_REQUIRE_PYTHON=1, which also requires torch.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { exportAdapter, importAdapter } from "../../src/runtime/adapters/peft-io.js";
import { loadHfModel, mergeAndUnload, saveHfModel } from "../../src/runtime/io/hf-model.js";
import { SafetensorsFile, writeSafetensors, type WritableTensor } from "../../src/runtime/io/safetensors.js";
import { useCpu } from "../runtime/helpers.js";
import { tempDir } from "./helpers.js";
import { canCrossCheck, pythonCrossCheck } from "./lora-crosscheck.js";
import { addLora, hfModel } from "./model-fixtures.js";

beforeAll(useCpu);
const root = tempDir("py-hf-names");
let n = 0;
const fresh = () => path.join(root, `d${n++}`);
const PYTHON = "/usr/bin/python3";
const SAFETENSORS_SCRIPT = fileURLToPath(new URL("../python/safetensors_check.py", import.meta.url));
const ENV = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" };

/**
 * Rewrites the model.safetensors of `dir` as Hugging Face's checkpoint of that family stores it:
 * names through `rename`, float weights in BF16, plus `extra` buffers.
 */
function asHfCheckpoint(dir: string, rename: (name: string) => string, extra: Record<string, WritableTensor>): void {
  const file = path.join(dir, "model.safetensors");
  const f = SafetensorsFile.open(file);
  const tensors: Record<string, WritableTensor> = {};
  for (const name of f.names()) tensors[rename(name)] = { ...f.read(name), dtype: "BF16" };
  f.close();
  writeSafetensors(file, { ...tensors, ...extra }, { format: "pt" });
}

const FAMILIES = [
  {
    name: "gpt2", modules: ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn", "transformer.h.0.mlp.c_proj"],
    rename: (n: string) => n.replace(/^transformer\./, ""),
    extra: (): Record<string, WritableTensor> => {
      const mask = Uint8Array.from({ length: 16 * 16 }, (_, i) => (i % 16 <= Math.floor(i / 16) ? 1 : 0));
      const out: Record<string, WritableTensor> = {};
      for (const l of [0, 1]) {
        out[`h.${l}.attn.bias`] = { dtype: "BOOL", shape: [1, 1, 16, 16], data: mask };
        out[`h.${l}.attn.masked_bias`] = { dtype: "F32", shape: [], data: Float32Array.of(-1e4) };
      }
      return out;
    },
    bare: "h.0.attn.c_attn.weight",
  },
  {
    name: "llama", modules: ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.v_proj", "model.layers.1.mlp.down_proj"],
    rename: (n: string) => n,
    extra: (): Record<string, WritableTensor> => {
      const invFreq = Float32Array.from({ length: 2 }, (_, i) => 1 / 10000 ** ((2 * i) / 4));
      return Object.fromEntries([0, 1].map((l) => [`model.layers.${l}.self_attn.rotary_emb.inv_freq`, { dtype: "F32", shape: [2], data: invFreq }]));
    },
    bare: "model.layers.0.self_attn.q_proj.weight",
  },
];

describe.skipIf(!canCrossCheck)("python cross-checks on folders with Hugging Face's names", () => {
  it.each(FAMILIES)("$name: load, adapt, merge; python reads every file and agrees", (fam) => {
    const m = hfModel(fam.name);
    const hfDir = fresh();
    saveHfModel(m, hfDir);
    m.dispose();
    asHfCheckpoint(hfDir, fam.rename, fam.extra());

    // python reads the HF-named file (BOOL buffers, BF16) the way our reader does.
    const st = spawnSync(PYTHON, [SAFETENSORS_SCRIPT, "read", path.join(hfDir, "model.safetensors")], { encoding: "utf8", env: ENV });
    expect(st.status, st.stdout + st.stderr).toBe(0);
    const summary = JSON.parse(st.stdout) as { tensors: Record<string, { dtype: string }>; torch_checked: boolean };
    expect(summary.tensors[fam.bare]!.dtype).toBe("BF16");
    if (process.env.PEFTLAB_REQUIRE_PYTHON === "1") expect(summary.torch_checked, "PEFTLAB_REQUIRE_PYTHON=1 needs torch in /usr/bin/python3").toBe(true);

    const model = loadHfModel(hfDir).model;
    addLora(model, fam.modules, { r: 4, alpha: 8, seed: 5 });
    const adapterDir = fresh();
    exportAdapter(model, "default", null, adapterDir, { taskType: "CAUSAL_LM", dtype: "BF16" });
    // The model's adapter must hold what the BF16 file holds: read it back as another user would.
    for (const l of model.linears().values()) l.removeAdapter("default");
    importAdapter(model, adapterDir, "default");
    const mergedDir = fresh();
    mergeAndUnload(model, "default", mergedDir);
    const checked = pythonCrossCheck(model, "default", hfDir, adapterDir, mergedDir);
    expect(checked.sort()).toEqual([...fam.modules].sort());
    model.dispose();
  });
});
