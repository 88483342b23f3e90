// A property written in the wrong block says where it belongs.
import { describe, expect, it } from "vitest";
import { located, run } from "./helpers.js";

describe("a property in the wrong block", () => {
  it.each([
    ["train { warmup 3% }", "warmup", "the train block has no property 'warmup'; the warm-up is part of the learning rate: `lr 3e-4 cosine warmup 3%`"],
    ["train { cosine }", "cosine", "the train block has no property 'cosine'; the schedule is part of the learning rate: `lr 3e-4 cosine`"],
    ["train { betas 0.9 0.99 }", "betas", "the train block has no property 'betas'; the betas are part of the optimiser: `optimizer adamw betas 0.9 0.999`"],
    ["train { rank 8 }", "rank", "the train block has no property 'rank'; 'rank' belongs in an adapter block: `adapter NAME = lora { rank INT }`"],
    ["adapter a = lora { steps 100 }", "steps", "a lora adapter has no property 'steps'; 'steps' belongs in a train block: `train { steps INT (steps) | NUMBER (epochs) }`"],
    ["prune p { heads 25%, digits 3 }", "digits", "a prune schedule has no property 'digits'; 'digits' belongs in a data block: `data NAME = addition { digits INT }`"],
    ["model m = decoder { layers 2, batch 8 }", "batch", "a decoder model has no property 'batch'; 'batch' belongs in a train block: `train { batch INT }`"],
  ])("%s", (text, at, message) => {
    const r = run(`${text}\n`);
    expect(located(r)).toEqual([`PEFT2005 ${JSON.stringify(at)}`]);
    expect(r.diagnostics[0]!.message).toBe(message);
  });

  it("a typo still gets its did-you-mean, and an unknown word the list of properties", () => {
    expect(run("adapter a = lora { rnak 8 }\n").diagnostics[0]!.message).toBe("a lora adapter has no property 'rnak'; did you mean 'rank'?");
    expect(run("train { zzz 1 }\n").diagnostics[0]!.message).toMatch(/the train block has no property 'zzz'; expected one of 'steps', /);
  });
});

describe("learning-rate grid and batch checks", () => {
  it("lr [1e-3, 1e-3] runs one configuration, with a warning at the repeat", () => {
    const r = run("model base = decoder { layers 2, width 64, heads 4, context 32 }\ndata sums = addition { digits 2 }\nadapter lora8 = lora { rank 8 }\nrun r = base + lora8 on sums with { lr [1e-3, 3e-4, 1e-3] }\n");
    expect(r.plan!.runs[0]!.train.lrs).toEqual([1e-3, 3e-4]);
    expect(located(r)).toEqual(['PEFT3112 "1e-3"']);
    expect(r.diagnostics[0]!.span.start).toBe(r.sources.get("t.peft")!.lastIndexOf("1e-3"));
  });

  it("a batch above the training split is a warning; within it, none", () => {
    const base = "model base = decoder { layers 2, width 64, heads 4, context 32 }\ndata small = addition { digits 2, train 20 }\nadapter lora8 = lora { rank 8 }\n";
    expect(located(run(`${base}run r = base + lora8 on small with { batch 32 }\n`))).toEqual(['PEFT3113 "32"']);
    expect(run(`${base}run r = base + lora8 on small with { batch 20 }\n`).diagnostics).toEqual([]);
  });
});
