// Sizes in config.json are checked against the weight file's shapes before the model is built:
// a config.json that asks for a million layers fails at once, naming the key, the value and the
// file's shapes, without allocating the layers.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadHfModel, saveHfModel } from "../../src/runtime/io/hf-model.js";
import { tempDir } from "./helpers.js";
import { hfModel } from "./model-fixtures.js";

function savedFolder(name: string): string {
  const dir = tempDir("peftlab-sizes-");
  const m = hfModel(name);
  saveHfModel(m, dir);
  m.dispose();
  return dir;
}

function withConfig(dir: string, over: Record<string, unknown>): void {
  const file = path.join(dir, "config.json");
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), ...over }));
}

describe("config.json sizes against the weight file, before allocation", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["llama", { num_hidden_layers: 1_000_000 }, /config\.json: num_hidden_layers = 1000000 does not fit the weights: .*model\.safetensors has 2 layers \(indices 0–1; the last is "model\.layers\.1\.[^"]+" \[\d+(, \d+)*\]\)/],
    ["gpt2", { n_layer: 1_000_000 }, /config\.json: n_layer = 1000000 does not fit the weights: .*has 2 layers .*"transformer\.h\.1\./],
    ["bert", { num_hidden_layers: 50_000 }, /num_hidden_layers = 50000 does not fit the weights: .*has 2 layers/],
    ["llama", { hidden_size: 4096, num_attention_heads: 32 }, /hidden_size = 4096 does not fit the weights: .*a token embedding of width 16: "model\.embed_tokens\.weight" \[37, 16\]/],
    ["gpt2", { vocab_size: 50_000_000 }, /vocab_size = 50000000 does not fit the weights: .*a token embedding of 37 rows: "transformer\.wte\.weight" \[37, 16\]/],
    ["llama", { intermediate_size: 100_000_000 }, /intermediate_size = 100000000 does not fit the weights: .*an MLP of width 24: "model\.layers\.0\.mlp\.gate_proj\.weight" \[24, 16\]/],
    ["gpt2", { n_inner: 100_000_000 }, /n_inner = 100000000 does not fit the weights: .*an MLP of width 24: "transformer\.h\.0\.mlp\.c_fc\.weight" \[16, 24\]/],
  ];
  it.each(cases)("%s with %j fails fast, naming the key, the value and the file's shapes", (family, over, message) => {
    const dir = savedFolder(family);
    withConfig(dir, over);
    const rss = process.memoryUsage().rss;
    const t0 = performance.now();
    expect(() => loadHfModel(dir)).toThrow(message);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 2 ** 20);
  });

  it("a folder whose sizes fit still loads", () => {
    const dir = savedFolder("llama");
    const { model } = loadHfModel(dir);
    expect(model.config.layers).toBe(2);
    model.dispose();
  });
});
