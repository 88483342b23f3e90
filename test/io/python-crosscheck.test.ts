// Cross-checks our safetensors reader and writer against test/python/safetensors_check.py, an independent
// implementation on numpy (and torch when installed: Debian's python3-torch). Skipped with a message when
// /usr/bin/python3 has no numpy, unless PEFTLAB_REQUIRE_PYTHON=1 (CI), which turns the skip into a failure.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SafetensorsFile, writeSafetensors, type Tensor, type WritableTensor } from "../../src/runtime/io/safetensors.js";
import { tempDir } from "./helpers.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("../python/safetensors_check.py", import.meta.url));
const hasNumpy = fs.existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import numpy"]).status === 0;
const required = process.env.PEFTLAB_REQUIRE_PYTHON === "1";
if (!hasNumpy && !required) {
  console.warn(`python cross-check skipped: ${PYTHON} with numpy not found (apt-get install python3-torch, or set PEFTLAB_REQUIRE_PYTHON=1 to fail instead)`);
}

interface Summary {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; sum: number | string; head: number[] }>;
  header_bytes: number;
  torch_checked: boolean;
}

function runPython(mode: "read" | "write", file: string): Summary {
  const res = spawnSync(PYTHON, [SCRIPT, mode, file], { encoding: "utf8", env: { ...process.env, OPENBLAS_NUM_THREADS: "1" } });
  if (res.status !== 0) throw new Error(`safetensors_check.py ${mode} failed (${res.status}): ${res.stdout}${res.stderr}`);
  return JSON.parse(res.stdout) as Summary;
}

/** Our reader's view in the script's summary format. */
function summariseOurs(file: string): Summary {
  const f = SafetensorsFile.open(file);
  const tensors: Summary["tensors"] = {};
  for (const name of f.names()) {
    const t: Tensor = f.read(name);
    const values = [...t.data];
    const isFloat = t.data instanceof Float32Array;
    const sum = isFloat ? values.reduce((a: number, v) => a + Number(v), 0) : String(values.reduce((a: bigint, v) => a + BigInt(v), 0n));
    tensors[name] = { dtype: t.dtype, shape: t.shape, sum, head: values.slice(0, 4).map(Number) };
  }
  const headerBytes = Number(fs.readFileSync(file).readBigUInt64LE(0));
  f.close();
  return { metadata: f.metadata, tensors, header_bytes: headerBytes, torch_checked: false };
}

function expectSameSummary(py: Summary, ours: Summary): void {
  expect(py.metadata).toEqual(ours.metadata);
  expect(py.header_bytes).toBe(ours.header_bytes);
  expect(Object.keys(py.tensors)).toEqual(Object.keys(ours.tensors)); // both in file order
  for (const [name, p] of Object.entries(py.tensors)) {
    const o = ours.tensors[name]!;
    expect({ name, dtype: p.dtype, shape: p.shape, head: p.head }).toEqual({ name, dtype: o.dtype, shape: o.shape, head: o.head });
    if (typeof p.sum === "string") expect(p.sum).toBe(o.sum);
    else expect(p.sum).toBeCloseTo(o.sum as number, 4);
  }
}

describe.skipIf(!hasNumpy && !required)("python cross-check", () => {
  const dir = tempDir("py");

  it("python reads what we write, by the reference layout rules", () => {
    const file = path.join(dir, "ours.safetensors");
    const n = 300;
    const wave = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 3.3);
    const tensors: Record<string, WritableTensor> = {
      "model.layers.0.self_attn.q_proj.weight": { dtype: "F32", shape: [20, 15], data: wave },
      "half": { dtype: "F16", shape: [n], data: wave },
      "brain": { dtype: "BF16", shape: [15, 20], data: wave },
      "double": { dtype: "F64", shape: [n], data: Float64Array.from(wave, (v) => v / 7) },
      "ids": { dtype: "I64", shape: [4], data: new BigInt64Array([-(2n ** 40n), 3n, 0n, 2n ** 35n]) },
      "small_ids": { dtype: "I32", shape: [3], data: new Int32Array([-1, 2, 2147483647]) },
      "bytes": { dtype: "U8", shape: [5], data: new Uint8Array([0, 1, 2, 254, 255]) },
      "flags": { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 1, 0]) },
      "ünï": { dtype: "F32", shape: [], data: new Float32Array([-0.5]) },
    };
    writeSafetensors(file, tensors, { format: "pt", producer: "peftlab" });
    const py = runPython("read", file);
    expectSameSummary(py, summariseOurs(file));
    expect(py.tensors.ids!.sum).toBe(String(-(2n ** 40n) + 3n + 2n ** 35n));
    if (required) expect(py.torch_checked, `PEFTLAB_REQUIRE_PYTHON=1: ${PYTHON} must import torch`).toBe(true);
    else if (!py.torch_checked) console.warn("python cross-check: torch not importable, decoded with numpy only");
  });

  it("we read what python writes, and rewrite it byte for byte", () => {
    const file = path.join(dir, "python.safetensors");
    const py = runPython("write", file);
    expectSameSummary(py, summariseOurs(file));
    const f = SafetensorsFile.open(file);
    const again: Record<string, WritableTensor> = {};
    for (const name of f.names()) again[name] = f.read(name);
    const copy = path.join(dir, "copy.safetensors");
    writeSafetensors(copy, again, f.metadata);
    f.close();
    expect(fs.readFileSync(copy).equals(fs.readFileSync(file))).toBe(true);
  });
});
