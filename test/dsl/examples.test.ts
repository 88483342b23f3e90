// examples/: every file checks clean, and together they use every construct of the language.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile, parse, type Ast } from "../../src/dsl/index.js";
import { MODEL_FORMS } from "../../src/dsl/schema-models.js";
import { ADALORA_SCHEMA, BEAM_SCHEMA, LORA_SCHEMA, PRUNE_SCHEMA } from "../../src/dsl/schema-adapters.js";
import { BUILTIN_MODEL_SCHEMA, HF_MODEL_SCHEMA, JSONL_DATA_SCHEMA, LLAMA_MODEL_SCHEMA, PRETRAINED_MODEL_SCHEMA, taskDataSchema } from "../../src/dsl/schema-models.js";
import { TRAIN_SCHEMA } from "../../src/dsl/schema-train.js";
import { TASK_PARAMS } from "../../src/dsl/defaults.js";
import type { Schema } from "../../src/dsl/fields.js";
import { ROOT, exampleFiles, fsReader } from "./helpers.js";

const read = (path: string) => fsReader(join(ROOT, path));

describe("examples", () => {
  it.each(exampleFiles())("%s checks clean (no errors, no warnings)", (file) => {
    const r = compile({ path: file, text: read(file)! }, { readFile: read });
    expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  });

  it("together use every statement, form, property and value form", () => {
    const used = new Map<string, Set<string>>();
    const use = (group: string, item: string) => used.set(group, (used.get(group) ?? new Set()).add(item));
    const block = (group: string, b: Ast.Block | null) => {
      for (const p of b?.properties ?? []) {
        use(group, p.key.name);
        for (const a of p.args) {
          use("arg", a.kind);
          if (a.kind === "Number" && a.unit) use("unit", a.unit);
          if (a.kind === "Range") use("range", a.op);
          if (a.kind === "Word") use("word", a.name);
        }
      }
    };
    const texts: string[] = [];
    for (const file of exampleFiles()) {
      const text = readFileSync(join(ROOT, file), "utf8");
      texts.push(text);
      for (const s of parse(text, { path: file }).program.statements) {
        use("statement", s.kind);
        if (s.kind === "TrainDecl") use("train kind", s.name ? "named" : "unnamed");
        if (s.kind === "ModelDecl") {
          use("model form", s.form.name);
          const f = s.form.name;
          block(f === "hf" ? "hf model" : f === "pretrained" ? "pretrained model" : "builtin model", s.block);
        } else if (s.kind === "DataDecl") {
          use("data form", s.form.name);
          block(s.form.name === "jsonl" ? "jsonl data" : `task ${s.form.name}`, s.block);
          block("task data", s.form.name === "jsonl" ? null : s.block);
        } else if (s.kind === "AdapterDecl") {
          use("adapter method", s.method.name);
          block(s.method.name === "adalora" ? "adalora" : "lora", s.block);
        } else if (s.kind === "BeamDecl") block("beam", s.block);
        else if (s.kind === "PruneDecl") block("prune", s.block);
        else if (s.kind === "TrainDecl") block("train", s.block);
        else if (s.kind === "RunDecl") {
          use("run", s.train && s.overrides ? "with NAME {…}" : s.train ? "with NAME" : s.overrides ? "with {…}" : "plain");
          block("train", s.overrides);
        } else if (s.kind === "CompareDecl") {
          use("compare", s.name ? "named" : "unnamed");
          if (s.metrics.length) use("compare", "by");
          if (s.plots.length) use("compare", "plot");
        }
      }
    }
    const keysOf = (schema: Schema) => Object.values(schema).flatMap((f) => f.keys);
    const missing: string[] = [];
    const expectAll = (group: string, items: readonly string[]) => {
      for (const item of items) if (!used.get(group)?.has(item)) missing.push(`${group}: ${item}`);
    };
    expectAll("statement", ["ModelDecl", "DataDecl", "AdapterDecl", "BeamDecl", "PruneDecl", "TrainDecl", "RunDecl", "CompareDecl", "IncludeDecl", "BackendDecl"]);
    expectAll("model form", Object.keys(MODEL_FORMS));
    expectAll("data form", [...Object.keys(TASK_PARAMS), "jsonl"]);
    expectAll("adapter method", ["lora", "dora", "adalora", "peft"]);
    expectAll("builtin model", [...keysOf(LLAMA_MODEL_SCHEMA), ...keysOf(BUILTIN_MODEL_SCHEMA)]);
    expectAll("hf model", keysOf(HF_MODEL_SCHEMA));
    expectAll("pretrained model", keysOf(PRETRAINED_MODEL_SCHEMA));
    for (const task of Object.keys(TASK_PARAMS)) expectAll(`task ${task}`, Object.values(TASK_PARAMS[task]!).map((p) => p.key));
    expectAll("task data", keysOf(taskDataSchema("spam")));
    expectAll("jsonl data", keysOf(JSONL_DATA_SCHEMA));
    expectAll("lora", keysOf(LORA_SCHEMA));
    expectAll("adalora", keysOf(ADALORA_SCHEMA).filter((k) => !keysOf(LORA_SCHEMA).includes(k)));
    expectAll("beam", keysOf(BEAM_SCHEMA));
    expectAll("prune", keysOf(PRUNE_SCHEMA));
    expectAll("train", keysOf(TRAIN_SCHEMA));
    expectAll("train kind", ["named", "unnamed"]);
    expectAll("run", ["plain", "with NAME", "with {…}", "with NAME {…}"]);
    expectAll("compare", ["named", "unnamed", "by", "plot"]);
    expectAll("arg", ["Number", "String", "Word", "List", "Range"]);
    expectAll("unit", ["%", "steps"]);
    expectAll("range", ["->", ".."]);
    expectAll("word", ["matching", "per", "layer", "global", "auto", "until", "cosine", "linear", "constant", "warmup", "min", "every", "off", "end", "on", "half", "betas", "eps", "char", "byte", "model", "bpe", "yes"]);
    expect(missing).toEqual([]);
    const all = texts.join("\n");
    for (const construct of ["# ", "// ", "include \"", "backend ", "epochs "]) expect(all).toContain(construct);
  });
});
