// PEFT's target rules (src/peft/targets.ts), the one matcher behind the language's checks and the
// weight I/O, as one table of cases in the style of PEFT's own check_target_module_exists tests.
import { describe, expect, it } from "vitest";
import {
  matchesName, matchesTargetModules, patternMatches, regexError, resolvePattern, selectTargets, type ModuleList,
} from "../../src/peft/targets.js";

const Q = "model.layers.0.self_attn.q_proj";

// [target_modules, module path, targeted?]
const TARGET_CASES: [ModuleList, string, boolean][] = [
  // a list entry: the whole path, or a dotted suffix of it
  [["q_proj"], Q, true],
  [["q_proj"], "q_proj", true],
  [["self_attn.q_proj"], Q, true],
  [[Q], Q, true],
  [["0.self_attn.q_proj"], Q, true],
  [["q_proj"], "model.layers.0.self_attn.qq_proj", false],
  [["proj"], Q, false],
  [["_proj"], Q, false],
  [["attn.q_proj"], Q, false],
  [["q_proj"], `${Q}.weight`, false],
  [["k_proj", "v_proj"], Q, false],
  [["k_proj", "q_proj"], Q, true],
  [[], Q, false],
  [["lm_head"], "lm_head", true],
  [["lm_head"], "x.lm_head2", false],
  // a string: one regular expression that must match the whole path
  ["q_proj", Q, false],
  ["(q|v)_proj", Q, false],
  [".*q_proj", Q, true],
  [".*\\.(q|v)_proj", "model.layers.0.self_attn.v_proj", true],
  [".*\\.(q|v)_proj", "model.layers.0.self_attn.v_proj.x", false],
  ["model\\.layers\\.\\d+\\.self_attn\\.(q|v)_proj", "model.layers.12.self_attn.q_proj", true],
  ["model\\.layers\\.[01]\\..*", "model.layers.10.mlp.up_proj", false],
  ["lm_head|score", "score", true],
  ["lm_head|score", "model.score", false],
  // a string is never a name: no suffix rule for it
  ["self_attn.q_proj", Q, false],
  // an invalid regular expression matches nothing
  ["(", "(", false],
];

// [pattern key, module path, matches?] under `(.*\.)?(key)$`
const PATTERN_CASES: [string, string, boolean][] = [
  ["q_proj", Q, true],
  ["layers.0.self_attn.q_proj", Q, true],
  [Q, Q, true],
  ["_proj", Q, false],
  ["proj", Q, false],
  ["layers.1.self_attn.q_proj", "model.layers.10.self_attn.q_proj", false],
  ["layers\\.[01]\\..*q_proj", "model.layers.1.self_attn.q_proj", true],
  ["(q|v)_proj", "model.layers.3.self_attn.v_proj", true],
  ["q_proj", `${Q}.lora_A`, false],
  ["(", Q, false],
];

describe("target_modules", () => {
  it.each(TARGET_CASES)("%j targets %s: %s", (target, path, hit) => {
    expect(matchesTargetModules(target, path)).toBe(hit);
  });

  it("a list entry is the name rule; a regex is never one", () => {
    for (const [target, path, hit] of TARGET_CASES) {
      if (Array.isArray(target)) expect(target.some((n) => matchesName(path, n)), `${target} ${path}`).toBe(hit);
    }
  });

  it("exclude_modules wins over target_modules, in both forms", () => {
    const paths = ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj", "lm_head"];
    expect(selectTargets(paths, ["q_proj", "v_proj"], "model\\.layers\\.0\\..*")).toEqual(["model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"]);
    expect(selectTargets(paths, ".*proj", ["q_proj", "v_proj"])).toEqual([]);
    expect(selectTargets(paths, ".*", ["layers.1.self_attn.q_proj"])).toEqual(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.v_proj", "lm_head"]);
    expect(selectTargets(paths, ["lm_head"], null)).toEqual(["lm_head"]);
  });
});

describe("rank_pattern and alpha_pattern", () => {
  it.each(PATTERN_CASES)("key %s matches %s: %s", (key, path, hit) => {
    expect(patternMatches(key, path)).toBe(hit);
  });

  it.each([
    [{ q_proj: 4 }, Q, 4],
    [{ q_proj: 4 }, "model.layers.0.self_attn.qq_proj", 8],
    [{ proj: 4 }, Q, 8],
    [{ "0.self_attn.q_proj": 4 }, Q, 4],
    [{ "0.self_attn.q_proj": 4 }, "model.layers.10.self_attn.q_proj", 8],
    [{ "layers\\.[01]\\..*q_proj": 2 }, "model.layers.1.self_attn.q_proj", 2],
    [{ [Q]: 3 }, Q, 3],
    [{ q_proj: 4, "layers.0.self_attn.q_proj": 2 }, Q, 4],
    [{ "layers.0.self_attn.q_proj": 2, q_proj: 4 }, Q, 2],
    [{}, "x", 8],
  ])("resolvePattern(%j, %s) = %i (first key in file order wins)", (pattern, path, r) => {
    expect(resolvePattern(pattern, path, 8)).toBe(r);
  });
});

describe("regexError", () => {
  it("names what is wrong with an invalid expression, and nothing for a valid one", () => {
    expect(regexError(".*q_proj")).toBeNull();
    expect(regexError("(")).toMatch(/\S/);
  });
});
