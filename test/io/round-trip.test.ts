// Faithful round trips: a folder that was only loaded and saved keeps the config.json keys peftlab
// does not compute.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadHfModel, saveHfModel } from "../../src/runtime/io/hf-model.js";
import { tempDir } from "./helpers.js";
import { hfModel } from "./model-fixtures.js";

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;

describe("config.json load → save", () => {
  it.each(["llama", "gpt2", "bert"])("%s: unknown keys survive, the sizes are peftlab's", (family) => {
    const src = tempDir("peftlab-rt-");
    const m = hfModel(family);
    saveHfModel(m, src);
    m.dispose();
    const extra = { bos_token_id: 1, eos_token_id: 2, torch_dtype: "bfloat16", transformers_version: "4.46.0", my_option: { nested: [1, "a"] } };
    const cfgFile = path.join(src, "config.json");
    const written = { ...readJson(cfgFile), ...extra };
    fs.writeFileSync(cfgFile, JSON.stringify(written));

    const { model } = loadHfModel(src);
    const out = tempDir("peftlab-rt-out-");
    saveHfModel(model, out);
    model.dispose();
    const back = readJson(path.join(out, "config.json"));
    expect(back).toMatchObject(extra);
    expect(Object.keys(back).sort()).toEqual(Object.keys(written).sort());
    for (const [k, v] of Object.entries(written)) expect(back[k], k).toEqual(v);
  });

  it("a stale peftlab_layers list of the source does not survive", () => {
    const src = tempDir("peftlab-rt-");
    const m = hfModel("llama");
    saveHfModel(m, src);
    m.dispose();
    const cfgFile = path.join(src, "config.json");
    const layers = [{ heads: 4, kv_heads: 2, intermediate: 24 }, { heads: 4, kv_heads: 2, intermediate: 24 }];
    fs.writeFileSync(cfgFile, JSON.stringify({ ...readJson(cfgFile), peftlab_layers: layers }));
    const { model } = loadHfModel(src);
    const out = tempDir("peftlab-rt-out-");
    saveHfModel(model, out);
    model.dispose();
    expect(readJson(path.join(out, "config.json"))).not.toHaveProperty("peftlab_layers");
  });
});
