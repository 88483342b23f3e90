// The module paths the language's checks know (builtinModulePaths) are the Linear layers each
// built-in family really builds, so a selector the checks accept is one the injector can apply.
import { describe, expect, it } from "vitest";
import { builtinModulePaths } from "../../src/dsl/modules.js";
import type { BuiltinModelSpec } from "../../src/dsl/plan.js";
import { createModel } from "../../src/runtime/models/index.js";
import { familyConfigFromSpec } from "../../src/runtime/models/config.js";
import { seeded, useCpu } from "./helpers.js";

const CASES: [BuiltinModelSpec["family"], BuiltinModelSpec["head"]][] = [
  ["llama", "causal_lm"], ["llama", "classifier"], ["gpt2", "causal_lm"], ["gpt2", "classifier"], ["bert", "classifier"],
];

describe("builtinModulePaths = the model's Linear paths", () => {
  useCpu();
  it.each(CASES)("%s with a %s head", (family, head) => {
    const spec: BuiltinModelSpec = {
      kind: "builtin", family, head, layers: 2, hidden: 16, heads: 2, kvHeads: 2, intermediate: 32, context: 16, vocab: 40, labels: 3, initSeed: 1, precision: "f32",
    };
    const model = createModel(familyConfigFromSpec(spec, 40, 3), seeded(1));
    try {
      expect([...model.linears().keys()].sort()).toEqual([...builtinModulePaths(spec)].sort());
    } finally {
      model.dispose();
    }
  });
});
