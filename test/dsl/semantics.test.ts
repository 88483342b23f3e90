// Semantic behaviours beyond single codes: includes, forward references, warnings vs errors.
import { describe, expect, it } from "vitest";
import { check, compile } from "../../src/dsl/index.js";
import { BASE, located, run } from "./helpers.js";

describe("semantics", () => {
  it("a duplicate across an include notes the first declaration in the other file", () => {
    const r = run('include "lib/models.peft"\nmodel base = gpt2 {}\n', { "lib/models.peft": "model base = decoder {}\n" });
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0]!;
    expect([d.code, d.file, d.notes?.[0]?.file, d.notes?.[0]?.message]).toEqual(["PEFT2002", "t.peft", "lib/models.peft", "first declared here"]);
  });

  it("diagnostics inside an included file carry that file's path", () => {
    const r = run('include "lib/bad.peft"\n', { "lib/bad.peft": "model m = decoder { layers 4 \n" });
    expect(r.diagnostics.map((d) => [d.file, d.code])).toEqual([["lib/bad.peft", "PEFT1005"]]);
  });

  it("paths in an included file are relative to that file", () => {
    const r = run('include "lib/data.peft"\n', { "lib/data.peft": 'include "more.peft"\n', "lib/more.peft": 'data d = jsonl "d.jsonl" {}\n', "lib/d.jsonl": '{"prompt": "1", "completion": "2"}\n' });
    expect(r.diagnostics).toEqual([]);
    expect(r.plan!.data.d).toMatchObject({ path: "lib/d.jsonl" });
  });

  it("allows references before declarations", () => {
    const r = run(`run r = base + lora8 on sums\n${BASE}`);
    expect(r.diagnostics).toEqual([]);
    expect(r.plan!.runs[0]!.model).toBe("base");
  });

  it("accepts keywords as names end to end", () => {
    const r = run("model model = decoder {}\ndata data = addition {}\nadapter lora = lora {}\nbeam beam on lora {}\nrun run = model + lora + beam on data\ncompare compare = run\n");
    expect(located(r)).toEqual(['PEFT4015 "run"']);
    expect(r.plan!.runs[0]).toMatchObject({ name: "run", model: "model", adapters: ["lora"], beam: "beam", data: "data" });
  });

  it("warnings do not stop the plan; errors do", () => {
    const warn = run(`${BASE}adapter a = lora { dropout 0.6 }\nrun r = base + a on sums\nrun r2 = base + lora8 on sums\n`);
    expect(warn.diagnostics.map((d) => d.severity)).toEqual(["warning"]);
    expect(warn.plan).not.toBeNull();
    const err = run(`${BASE}adapter a = lora { dropout 1 }\nrun r = base + a on sums\n`);
    expect(err.plan).toBeNull();
  });

  it("stops before semantics when there are syntax errors (no cascades)", () => {
    const r = run(`${BASE}run r = base + missing on sums\nadapter x = lora { rank -> }\n`);
    expect(located(r)).toEqual(['PEFT1004 "->"']);
  });

  it("a shared train block that fails for several runs is reported once per run, not duplicated", () => {
    const r = run(`${BASE}train { steps 10, lr 3e-4 warmup 20 steps }\nrun a = base + lora8 on sums\nrun b = base + lora8 on sums\n`);
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      "warm-up of 20 steps is not shorter than run 'a' (10 steps)",
      "warm-up of 20 steps is not shorter than run 'b' (10 steps)",
    ]);
  });

  it("check() reports what compile() reports", () => {
    const text = `${BASE}adapter a = lora { rank 0 }\n`;
    expect(check({ path: "t.peft", text }).diagnostics).toEqual(compile({ path: "t.peft", text }).diagnostics);
  });

  it("an unused declaration warns only in a file that has runs", () => {
    expect(located(run(BASE))).toEqual([]);
    expect(located(run(`${BASE}adapter spare = lora {}\nrun r = base + lora8 on sums\n`))).toEqual(['PEFT2008 "spare"']);
  });
});

describe("the pretrained base's head", () => {
  it.each([
    ["pretrained { family llama }", "data d = spam {}", { head: "auto", labels: "auto" }],
    ["pretrained { family gpt2, head classifier, labels 2 }", "data d = spam {}", { head: "classifier", labels: 2 }],
    ["pretrained { head causal_lm }", "data d = addition { digits 2 }", { head: "causal_lm", labels: "auto" }],
  ])("model m = %s with %s compiles to %j", (model, data, expected) => {
    const r = run(`model m = ${model}\n${data}\nadapter a = lora { target matching ".*(q_proj|c_attn)" }\nrun r = m + a on d`);
    expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
    expect(r.plan!.models.m).toMatchObject({ kind: "default", ...expected });
  });
});
