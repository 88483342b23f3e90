import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { openSharded, openWeights, SafetensorsError, writeSafetensors, type WritableTensor } from "../../src/runtime/io/safetensors.js";
import { tempDir } from "./helpers.js";

const root = tempDir("shard");
let counter = 0;
const vec = (...v: number[]): WritableTensor => ({ dtype: "F32", shape: [v.length], data: new Float32Array(v) });

/** A model folder with two shards and an index; `edit` may change the index before it is written. */
function shardedModel(edit: (index: { metadata: object; weight_map: Record<string, string> }) => void = () => {}): string {
  const dir = path.join(root, `m${counter++}`);
  fs.mkdirSync(dir);
  writeSafetensors(path.join(dir, "model-00001-of-00002.safetensors"), { "a.weight": vec(1, 2), "b.weight": vec(3) }, { format: "pt" });
  writeSafetensors(path.join(dir, "model-00002-of-00002.safetensors"), { "c.weight": vec(4, 5, 6) }, { format: "pt" });
  const index = {
    metadata: { total_size: 24 },
    weight_map: {
      "a.weight": "model-00001-of-00002.safetensors",
      "b.weight": "model-00001-of-00002.safetensors",
      "c.weight": "model-00002-of-00002.safetensors",
    } as Record<string, string>,
  };
  edit(index);
  fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), JSON.stringify(index));
  return dir;
}

function errorOf(f: () => unknown): SafetensorsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error("expected an error");
}

describe("openSharded", () => {
  it("gives one view over every shard", () => {
    const dir = shardedModel();
    const src = openSharded(dir);
    expect(src.names()).toEqual(["a.weight", "b.weight", "c.weight"]);
    expect(src.metadata).toEqual({ total_size: "24" });
    expect(src.read("c.weight").data).toEqual(new Float32Array([4, 5, 6]));
    expect(src.read("a.weight").data).toEqual(new Float32Array([1, 2]));
    expect(src.info("c.weight").file).toBe(path.join(dir, "model-00002-of-00002.safetensors"));
    expect(src.warnings).toEqual([]);
    expect(() => src.read("z")).toThrow(/tensor "z": no such tensor in the weight_map/);
    src.close();
  });

  it("warns about shard tensors the index does not map, and hides them", () => {
    const src = openSharded(shardedModel((ix) => delete ix.weight_map["b.weight"]));
    expect(src.has("b.weight")).toBe(false);
    expect(src.warnings).toHaveLength(1);
    expect(src.warnings[0]).toMatch(/model-00001-of-00002\.safetensors: tensor "b.weight" is not mapped/);
    src.close();
  });

  it.each([
    ["a missing shard file", (ix: { weight_map: Record<string, string> }) => { ix.weight_map["d.weight"] = "model-00003.safetensors"; }, "MissingShard", /names shard "model-00003.safetensors" but .* does not exist/],
    ["a tensor in the wrong shard", (ix: { weight_map: Record<string, string> }) => { ix.weight_map["c.weight"] = "model-00001-of-00002.safetensors"; }, "TensorNotFound", /tensor "c.weight": weight_map puts it in "model-00001-of-00002.safetensors"/],
    ["a path outside the folder", (ix: { weight_map: Record<string, string> }) => { ix.weight_map["c.weight"] = "../evil.safetensors"; }, "InvalidIndex", /tensor "c.weight": weight_map value "..\/evil.safetensors" must be a plain file name/],
    ["no weight_map", (ix: { weight_map?: unknown }) => { delete ix.weight_map; }, "InvalidIndex", /weight_map is missing/],
  ])("rejects %s naming the index", (_label, edit, rule, msg) => {
    const dir = shardedModel(edit as never);
    const err = errorOf(() => openSharded(dir));
    expect(err.rule).toBe(rule);
    expect(err.message).toContain(path.join(dir, "model.safetensors.index.json"));
    expect(err.message).toMatch(msg);
  });

  it("rejects an index that is not JSON", () => {
    const dir = shardedModel();
    fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), "{oops");
    expect(errorOf(() => openSharded(dir)).rule).toBe("InvalidIndex");
  });

  it("passes through a broken shard's own error", () => {
    const dir = shardedModel();
    fs.truncateSync(path.join(dir, "model-00002-of-00002.safetensors"), 20);
    const err = errorOf(() => openSharded(dir));
    expect(err.file).toBe(path.join(dir, "model-00002-of-00002.safetensors"));
  });
});

describe("openWeights", () => {
  it("prefers model.safetensors, then the index", () => {
    const single = path.join(root, "single");
    fs.mkdirSync(single);
    writeSafetensors(path.join(single, "model.safetensors"), { w: vec(9) });
    const a = openWeights(single);
    expect(a.names()).toEqual(["w"]);
    a.close();
    const b = openWeights(shardedModel());
    expect(b.names()).toHaveLength(3);
    b.close();
  });

  it("explains what it looked for, mentioning pickled weights", () => {
    const dir = path.join(root, "pickled");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "pytorch_model.bin"), "x");
    const err = errorOf(() => openWeights(dir));
    expect(err.message).toMatch(/neither model.safetensors nor model.safetensors.index.json exists \(found pytorch_model.bin/);
  });
});
