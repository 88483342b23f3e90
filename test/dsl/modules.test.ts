// Module paths of the built-in families and HF PEFT target matching.
import { describe, expect, it } from "vitest";
import { builtinModulePaths, compileSource, matchesSelector, selectModules } from "../../src/dsl/index.js";

describe("builtinModulePaths", () => {
  it("lists the linear layers of each family with Hugging Face names", () => {
    expect(builtinModulePaths({ family: "llama", head: "causal_lm", layers: 1 })).toEqual([
      "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj", "model.layers.0.self_attn.v_proj", "model.layers.0.self_attn.o_proj",
      "model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj", "model.layers.0.mlp.down_proj", "lm_head",
    ]);
    expect(builtinModulePaths({ family: "gpt2", head: "classifier", layers: 1 })).toEqual([
      "transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_fc", "transformer.h.0.mlp.c_proj",
    ]);
    expect(builtinModulePaths({ family: "bert", head: "classifier", layers: 1 })).toEqual([
      "bert.encoder.layer.0.attention.self.query", "bert.encoder.layer.0.attention.self.key", "bert.encoder.layer.0.attention.self.value",
      "bert.encoder.layer.0.attention.output.dense", "bert.encoder.layer.0.intermediate.dense", "bert.encoder.layer.0.output.dense",
      "bert.pooler.dense",
    ]);
    expect(builtinModulePaths({ family: "llama", head: "causal_lm", layers: 3 })).toHaveLength(3 * 7 + 1);
  });
});

describe("selectors (HF PEFT rules)", () => {
  const paths = builtinModulePaths({ family: "llama", head: "causal_lm", layers: 2 });
  const sel = (regex: string | null, ...names: string[]) => ({ regex, names });

  it("a name matches the whole path or a dotted suffix, never a bare substring", () => {
    expect(matchesSelector("model.layers.0.self_attn.q_proj", sel(null, "q_proj"))).toBe(true);
    expect(matchesSelector("model.layers.0.self_attn.q_proj", sel(null, "self_attn.q_proj"))).toBe(true);
    expect(matchesSelector("model.layers.0.self_attn.q_proj", sel(null, "proj"))).toBe(false);
    expect(matchesSelector("model.layers.0.self_attn.q_proj", sel(null, "_proj"))).toBe(false);
    expect(matchesSelector("lm_head", sel(null, "lm_head"))).toBe(true);
  });

  it("a regex must match the full path", () => {
    expect(matchesSelector("model.layers.0.self_attn.q_proj", sel("q_proj"))).toBe(false);
    expect(matchesSelector("model.layers.0.self_attn.q_proj", sel(".*q_proj"))).toBe(true);
    expect(matchesSelector("model.layers.0.self_attn.q_proj", sel("model\\.layers\\.\\d+\\.self_attn\\.(q|v)_proj"))).toBe(true);
    expect(matchesSelector("x", sel("("))).toBe(false);
  });

  it("exclude wins over target", () => {
    expect(selectModules(paths, sel(null, "q_proj", "v_proj"), sel("model\\.layers\\.0\\..*"))).toEqual([
      "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj",
    ]);
    expect(selectModules(paths, sel(".*proj"), sel(null, "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"))).toEqual([]);
  });
});

describe("plan paths", () => {
  it("records paths relative to the main file's directory, reading them relative to the writer", async () => {
    const { planPath, relativeTo, resolveFrom } = await import("../../src/dsl/paths.js");
    expect(planPath("examples/shared/common.peft", "../data/x.jsonl", "examples/main.peft")).toEqual({ read: "examples/data/x.jsonl", record: "data/x.jsonl" });
    expect(planPath("t.peft", "d/x.jsonl", "t.peft")).toEqual({ read: "d/x.jsonl", record: "d/x.jsonl" });
    expect(planPath("a/b.peft", "/abs/x", "a/b.peft")).toEqual({ read: "/abs/x", record: "/abs/x" });
    expect([relativeTo("examples", "data/x"), relativeTo("..", "../x"), relativeTo("/a/b", "/c")]).toEqual(["../data/x", "x", "../../c"]);
    expect([resolveFrom("x/y.peft", "./z/../w"), resolveFrom("y.peft", "../w"), resolveFrom("C:\\p\\y.peft", "C:\\q")]).toEqual(["x/w", "../w", "C:/q"]);
  });
});

describe("checks know only modules an adapter can target", () => {
  it.each([
    ['model m = decoder { layers 1, head classifier }\ndata mail = spam {}', "score", "mail"],
    ['model m = gpt2 { layers 1 }\ndata sums = addition { digits 2 }', "lm_head", "sums"],
    ['model m = bert { layers 1, hidden 32, heads 2 }\ndata mail = spam {}', "classifier", "mail"],
  ])("%s: target %s matches nothing (PEFT4001)", (decls, target, data) => {
    const { diagnostics } = compileSource(`${decls}\nadapter a = lora { target "${target}" }\nrun r = m + a on ${data}`, "t.peft");
    expect(diagnostics.filter((d) => d.severity === "error").map((d) => d.code)).toEqual(["PEFT4001"]);
  });
});
