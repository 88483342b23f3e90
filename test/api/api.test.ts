// The model-folder API as a user calls it: everything imported from the package entry ("peftlab",
// i.e. dist/index.js after `npm run build`), on folders this file writes with Hugging Face's names.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALPHA, D, gpt2Folder, LAYERS, loraFolder, R, type Tensors } from "../fixtures/hf-folders.js";
import {
  adapterNames, initBackend, loadAdapter, loadModel, loadTokenizer, mergeAndUnload, safetensors, saveAdapter, saveModel, tf,
} from "peftlab";

const FIXTURES = path.resolve(__dirname, "../fixtures/tokenizers");
let tmp: string;

function readAll(file: string): Record<string, { shape: number[]; data: Float32Array }> {
  const f = safetensors.SafetensorsFile.open(file);
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const n of f.names()) {
    const t = f.read(n);
    out[n] = { shape: t.shape, data: t.data as Float32Array };
  }
  f.close();
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

let gptDir: string;
let loraDir: string;
let gptTensors: Tensors;
let loraTensors: Tensors;

beforeAll(async () => {
  await initBackend("cpu");
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-api-"));
  gptDir = path.join(tmp, "gpt2");
  loraDir = path.join(tmp, "lora");
  gptTensors = gpt2Folder(gptDir);
  loraTensors = loraFolder(loraDir);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("loadModel / saveModel", () => {
  it("a folder loaded and saved has the same tensors, its config keys and its tokenizer files; nothing is left allocated", async () => {
    const before = tf.memory().numTensors;
    const warnings: string[] = [];
    const model = await loadModel(gptDir, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
    expect(model.config.family).toBe("gpt2");
    const afterLoad = tf.memory().numTensors;
    const out = path.join(tmp, "saved");
    const saved = saveModel(model, out);
    expect(tf.memory().numTensors).toBe(afterLoad);
    expect(saved.files.map((f) => path.basename(f)).sort()).toEqual(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    const back = readAll(path.join(out, "model.safetensors"));
    // transformers' GPT2LMHeadModel writes the `transformer.` prefix the bare names omit; both load.
    expect(Object.keys(back).sort()).toEqual(Object.keys(gptTensors).map((n) => `transformer.${n}`).sort());
    for (const [name, t] of Object.entries(gptTensors)) {
      expect(back[`transformer.${name}`]!.shape, name).toEqual(t.shape);
      expect(maxDiff(back[`transformer.${name}`]!.data, t.data), name).toBe(0);
    }
    const config = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
    expect(config).toMatchObject({ bos_token_id: 7, eos_token_id: 7, task_specific_params: { "text-generation": { max_length: 50 } } });
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(["wasm", "native"])("on the %s backend (weights read into and written from its memory) the tensors are the same", async (backend) => {
    try {
      await initBackend(backend as "wasm");
    } catch (e) {
      if (backend === "native") return; // the addon is not built here
      throw e;
    }
    try {
      const model = await loadModel(gptDir);
      loadAdapter(model, loraDir);
      mergeAndUnload(model);
      const out = path.join(tmp, `merged-${backend}`);
      saveModel(model, out);
      model.dispose();
      const plain = await loadModel(gptDir);
      const out2 = path.join(tmp, `saved-${backend}`);
      saveModel(plain, out2);
      plain.dispose();
      const back = readAll(path.join(out2, "model.safetensors"));
      for (const [name, t] of Object.entries(gptTensors)) expect(maxDiff(back[`transformer.${name}`]!.data, t.data), name).toBe(0);
      const merged = readAll(path.join(out, "model.safetensors"));
      expect(maxDiff(merged["transformer.h.0.attn.c_attn.weight"]!.data, gptTensors["h.0.attn.c_attn.weight"]!.data)).toBeGreaterThan(1e-3);
      expect(maxDiff(merged["transformer.h.0.mlp.c_fc.weight"]!.data, gptTensors["h.0.mlp.c_fc.weight"]!.data)).toBe(0);
    } finally {
      await initBackend("cpu");
    }
  });

  it.each(["cpu", "wasm"])("%s: BF16 and F16 folders load as the float32 values of their bits, transposed ones too", async (backend) => {
    const dir = path.join(tmp, `half-${backend}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(gptDir, "config.json"), path.join(dir, "config.json"));
    const half: Record<string, { dtype: "BF16" | "F16" | "F32"; shape: number[]; data: Float32Array }> = {};
    Object.entries(gptTensors).forEach(([name, t], i) => void (half[name] = { ...t, dtype: i % 3 === 0 ? "BF16" : i % 3 === 1 ? "F16" : "F32" }));
    safetensors.writeSafetensors(path.join(dir, "model.safetensors"), half, { format: "pt" });
    const stored = readAll(path.join(dir, "model.safetensors")); // the file's values, decoded to float32
    await initBackend(backend as "cpu");
    try {
      const model = await loadModel(dir);
      const out = path.join(tmp, `half-saved-${backend}`);
      saveModel(model, out);
      model.dispose();
      const back = readAll(path.join(out, "model.safetensors"));
      for (const name of Object.keys(half)) expect(maxDiff(back[`transformer.${name}`]!.data, stored[name]!.data), `${name} (${half[name]!.dtype})`).toBe(0);
      const halfConv = Object.keys(half).filter((n) => /c_(attn|fc|proj)\.weight$/.test(n) && half[n]!.dtype !== "F32");
      expect(halfConv.length).toBeGreaterThan(0); // transposed on load and save
      for (const n of halfConv) expect(maxDiff(stored[n]!.data, gptTensors[n]!.data), n).toBeGreaterThan(0); // really rounded
    } finally {
      await initBackend("cpu");
    }
  });

  it("errors name the folder", async () => {
    await expect(loadModel(path.join(tmp, "nope"))).rejects.toThrow(/nope: not a model folder/);
    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty, { recursive: true });
    await expect(loadModel(empty)).rejects.toThrow(/empty/);
  });
});

describe("loadTokenizer", () => {
  it.each(["gpt2-bytelevel", "llama2-bytefallback", "llama3-split-bytelevel", "bert-wordpiece", "t5-unigram"])(
    "%s: encode gives Hugging Face's ids with its default special tokens", (name) => {
      const dir = path.join(FIXTURES, name);
      const tok = loadTokenizer(dir);
      const expected = JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8")) as { samples: { text: string; ids: number[] }[] };
      expect(expected.samples.length).toBeGreaterThanOrEqual(10);
      for (const s of expected.samples) expect(tok.encode(s.text), s.text).toEqual(s.ids);
      expect(tok.decode(tok.encode("Hello world"))).toMatch(/^\s*hello world\s*$/i);
    },
  );

  it("reads a tokenizer.json file too, and names a missing path", () => {
    const tok = loadTokenizer(path.join(FIXTURES, "gpt2-bytelevel", "tokenizer.json"));
    expect(tok.encode("Hello")).toEqual(tok.encodeOrdinary("Hello"));
    expect(() => loadTokenizer(path.join(tmp, "missing"))).toThrow(/missing: no such folder or file/);
  });
});

describe("loadAdapter / saveAdapter / mergeAndUnload", () => {
  it("a PEFT folder loaded and saved again has the same tensors", async () => {
    const model = await loadModel(gptDir);
    const base = tf.memory().numTensors;
    const loaded = loadAdapter(model, loraDir);
    expect(loaded.name).toBe("default");
    expect(loaded.modules).toEqual(["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"]);
    expect(adapterNames(model)).toEqual(["default"]);
    expect(tf.memory().numTensors).toBe(base + 2 * LAYERS);
    const out = path.join(tmp, "lora-again");
    saveAdapter(model, out);
    expect(tf.memory().numTensors).toBe(base + 2 * LAYERS);
    const back = readAll(path.join(out, "adapter_model.safetensors"));
    for (const [name, t] of Object.entries(loraTensors)) expect(maxDiff(back[name]!.data, t.data), name).toBe(0);
    expect(() => loadAdapter(model, loraDir)).toThrow(/already has an adapter named "default"/);
    expect(() => saveModel(model, path.join(tmp, "x"))).toThrow(/has adapter "default" attached/);
    model.dispose();
  });

  it("merging folds scale·B·A into every adapted weight, removes the adapter and frees its tensors", async () => {
    const model = await loadModel(gptDir);
    const base = tf.memory().numTensors;
    loadAdapter(model, loraDir, "mine");
    expect(mergeAndUnload(model)).toBe(model);
    expect(adapterNames(model)).toEqual([]);
    expect(tf.memory().numTensors).toBe(base);
    const out = path.join(tmp, "merged");
    saveModel(model, out);
    model.dispose();
    const merged = readAll(path.join(out, "model.safetensors"));
    const scale = ALPHA / R;
    for (let i = 0; i < LAYERS; i++) {
      const name = `h.${i}.attn.c_attn.weight`;
      const w = gptTensors[name]!.data; // [in D, out 3D]
      const a = loraTensors[`base_model.model.transformer.h.${i}.attn.c_attn.lora_A.weight`]!.data; // [R, D]
      const b = loraTensors[`base_model.model.transformer.h.${i}.attn.c_attn.lora_B.weight`]!.data; // [3D, R]
      const want = new Float64Array(w.length);
      for (let inp = 0; inp < D; inp++) {
        for (let o = 0; o < 3 * D; o++) {
          let s = 0;
          for (let k = 0; k < R; k++) s += b[o * R + k]! * a[k * D + inp]!;
          want[inp * 3 * D + o] = w[inp * 3 * D + o]! + scale * s;
        }
      }
      expect(maxDiff(merged[`transformer.${name}`]!.data, want), name).toBeLessThan(1e-6);
      expect(maxDiff(merged[`transformer.${name}`]!.data, w), `${name} changed`).toBeGreaterThan(1e-3);
    }
    expect(maxDiff(merged["transformer.h.0.attn.c_proj.weight"]!.data, gptTensors["h.0.attn.c_proj.weight"]!.data)).toBe(0);
  });

  it("errors name the adapter folder and the adapter", async () => {
    const model = await loadModel(gptDir);
    expect(() => loadAdapter(model, path.join(tmp, "no-adapter"))).toThrow(/no-adapter: not an adapter folder/);
    expect(() => saveAdapter(model, path.join(tmp, "a"))).toThrow(/saveAdapter: the model has no adapter/);
    expect(() => mergeAndUnload(model, "zzz")).toThrow(/no adapter named "zzz"/);
    model.dispose();
  });
});
