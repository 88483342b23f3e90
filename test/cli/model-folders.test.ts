// `peftlab tokenize`, `peftlab merge` and `peftlab inspect`, spawned as a user runs them (the built CLI,
// bin/peftlab.js), on folders this file writes in Hugging Face layout.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { safetensors } from "peftlab";
import { ALPHA, D, gpt2Folder, LAYERS, loraFolder, R, type Tensors } from "../fixtures/hf-folders.js";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(ROOT, "bin/peftlab.js");
const TOKENIZERS = path.join(ROOT, "test/fixtures/tokenizers");
let tmp: string;
let gpt: string;
let lora: string;
let gptTensors: Tensors;
let loraTensors: Tensors;

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: "utf8", env: { ...process.env, PEFTLAB_BACKEND: "cpu" }, timeout: 120_000 });
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-cli-folders-"));
  gpt = path.join(tmp, "gpt2");
  lora = path.join(tmp, "lora");
  gptTensors = gpt2Folder(gpt);
  loraTensors = loraFolder(lora);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("peftlab tokenize", () => {
  it.each(["llama2-bytefallback", "bert-wordpiece", "gpt2-bytelevel"])("%s: one JSON array per text, Hugging Face's ids", (name) => {
    const dir = path.join(TOKENIZERS, name);
    const samples = (JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8")) as { samples: { text: string; ids: number[]; idsPlain: number[] }[] }).samples.slice(0, 4);
    const res = cli(["tokenize", dir, ...samples.map((s) => s.text)]);
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    expect(res.stdout.trimEnd().split("\n").map((l) => JSON.parse(l))).toEqual(samples.map((s) => s.ids));
    const plain = cli(["tokenize", "--plain", dir, samples[0]!.text]);
    expect(JSON.parse(plain.stdout)).toEqual(samples[0]!.idsPlain);
  });

  it("usage errors and an unreadable folder", () => {
    expect(cli(["tokenize", gpt]).stderr).toMatch(/peftlab tokenize: no TEXT given/);
    expect(cli(["tokenize", gpt]).status).toBe(2);
    const res = cli(["tokenize", lora, "hi"]);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(path.join(lora, "tokenizer.json"));
    expect(cli(["tokenize", "--help"]).stdout).toMatch(/^usage: peftlab tokenize \[--plain\] MODEL_DIR TEXT\.\.\./);
  });
});

describe("peftlab merge", () => {
  it("writes a Hugging Face folder with W + scale·B·A in the adapted modules and the base's tokenizer files", () => {
    const out = path.join(tmp, "merged");
    const res = cli(["merge", "--model", gpt, "--adapter", lora, "--out", out]);
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/merged 2 modules of .*lora into .*gpt2; wrote model\.safetensors, config\.json, tokenizer\.json, tokenizer_config\.json to /);
    expect(fs.readdirSync(out).sort()).toEqual(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    expect(JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"))).toMatchObject({ model_type: "gpt2", bos_token_id: 7 });
    const f = safetensors.SafetensorsFile.open(path.join(out, "model.safetensors"));
    const w = f.read("transformer.h.1.attn.c_attn.weight").data as Float32Array; // [in, out]
    const untouched = f.read("transformer.h.1.mlp.c_fc.weight").data as Float32Array;
    f.close();
    const base = gptTensors["h.1.attn.c_attn.weight"]!.data;
    const a = loraTensors["base_model.model.transformer.h.1.attn.c_attn.lora_A.weight"]!.data;
    const b = loraTensors["base_model.model.transformer.h.1.attn.c_attn.lora_B.weight"]!.data;
    let err = 0;
    for (let i = 0; i < D; i++) {
      for (let o = 0; o < 3 * D; o++) {
        let s = 0;
        for (let k = 0; k < R; k++) s += b[o * R + k]! * a[k * D + i]!;
        err = Math.max(err, Math.abs(w[i * 3 * D + o]! - (base[i * 3 * D + o]! + (ALPHA / R) * s)));
      }
    }
    expect(err).toBeLessThan(1e-6);
    expect(Array.from(untouched)).toEqual(Array.from(gptTensors["h.1.mlp.c_fc.weight"]!.data));
  });

  it("errors name the folder", () => {
    const noAdapter = cli(["merge", "--model", gpt, "--adapter", path.join(tmp, "missing"), "--out", path.join(tmp, "o")]);
    expect(noAdapter.status).toBe(1);
    expect(noAdapter.stderr).toMatch(/peftlab merge: .*missing: not an adapter folder/);
    const noModel = cli(["merge", "--model", path.join(tmp, "nomodel"), "--adapter", lora, "--out", path.join(tmp, "o")]);
    expect(noModel.status).toBe(1);
    expect(noModel.stderr).toMatch(/nomodel: not a model folder/);
    const usage = cli(["merge", "--model", gpt]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/missing --adapter, --out/);
  });
});

describe("peftlab inspect", () => {
  it("a model folder: family, sizes, dtypes, parameters, shapes", () => {
    const res = cli(["inspect", "--format", "json", gpt]);
    expect(res.status).toBe(0);
    const s = JSON.parse(res.stdout);
    const params = Object.values(gptTensors).reduce((n, t) => n + t.data.length, 0);
    expect(s).toMatchObject({
      kind: "model", family: "gpt2", model_type: "gpt2", head: "causal_lm",
      sizes: { layers: LAYERS, hidden: D, heads: 4, vocab: 50, context: 32, intermediate: 4 * D },
      tensors: Object.keys(gptTensors).length, parameters: params, dtypes: { F32: { tensors: Object.keys(gptTensors).length, parameters: params } },
      tokenizer_files: ["tokenizer.json", "tokenizer_config.json"],
    });
    expect(s.shapes["h.0.attn.c_attn.weight"]).toEqual([D, 3 * D]);
    const text = cli(["inspect", gpt]).stdout;
    expect(text).toMatch(/family\s+gpt2 \(model_type gpt2, causal_lm head, GPT2LMHeadModel\)/);
    expect(text).toContain(`h.0.attn.c_attn.weight [${D}, ${3 * D}]`);
  });

  it("an adapter folder: type, targets, ranks per module, parameters", () => {
    const s = JSON.parse(cli(["inspect", "--format=json", lora]).stdout);
    expect(s).toMatchObject({
      kind: "adapter", peft_type: "LORA", r: R, lora_alpha: ALPHA, target_modules: ["c_attn"], fan_in_fan_out: true,
      modules: LAYERS, ranks: { min: R, max: R }, parameters: LAYERS * (R * D + 3 * D * R),
      per_module: { "transformer.h.0.attn.c_attn": { rank: R, in: D, out: 3 * D } },
    });
    expect(cli(["inspect", lora]).stdout).toMatch(/transformer\.h\.1\.attn\.c_attn rank 4 \(16 → 48\)/);
  });

  it("a folder of neither kind is an error naming it", () => {
    const res = cli(["inspect", TOKENIZERS]);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(`${TOKENIZERS}: neither a model folder (config.json) nor an adapter folder (adapter_config.json)`);
  });
});
