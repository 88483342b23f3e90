// Lexer, parser and AST: shapes, half-open spans, units, ranges, recovery.
import { describe, expect, it } from "vitest";
import { parse, type Ast } from "../../src/dsl/index.js";
import { tokenSpan, LineIndex } from "../../src/dsl/span.js";
import { lex } from "../../src/dsl/lexer.js";

function only<K extends Ast.Statement["kind"]>(text: string, kind: K): Extract<Ast.Statement, { kind: K }> {
  const r = parse(text, { path: "t.peft" });
  expect(r.diagnostics).toEqual([]);
  expect(r.program.statements).toHaveLength(1);
  const s = r.program.statements[0]!;
  expect(s.kind).toBe(kind);
  return s as Extract<Ast.Statement, { kind: K }>;
}

const at = (text: string, node: { span: { start: number; end: number } }) => text.slice(node.span.start, node.span.end);

describe("tokens", () => {
  it("turns Chevrotain's inclusive end into a half-open span in one helper", () => {
    expect(tokenSpan({ image: "rank", startOffset: 3, endOffset: 6 } as never)).toEqual({ start: 3, end: 7 });
    expect(tokenSpan({ image: "rank", startOffset: 3 } as never)).toEqual({ start: 3, end: 7 });
    expect(tokenSpan({ image: "", startOffset: NaN } as never, 9)).toEqual({ start: 9, end: 9 });
  });

  it("lexes keywords with longer_alt, numbers with units and exponents, and comments", () => {
    const { tokens, errors } = lex("models model 3e-4 10_000 -0.5 10% 1..3 -> # c\n// c2\n\"a\\\"b\"");
    expect(errors).toEqual([]);
    expect(tokens.map((t) => `${t.tokenType.name}:${t.image}`)).toEqual([
      "Identifier:models", "Model:model", "NumberLit:3e-4", "NumberLit:10_000", "NumberLit:-0.5", "NumberLit:10", "Percent:%",
      "NumberLit:1", "DotDot:..", "NumberLit:3", "Arrow:->", "StringLit:\"a\\\"b\"",
    ]);
  });
});

describe("statements", () => {
  it("model with a path and a block", () => {
    const text = 'model mine = hf "models/x" { head classifier, labels 3 }';
    const m = only(text, "ModelDecl");
    expect([at(text, m.name), at(text, m.form), at(text, m.path!), m.path!.value]).toEqual(["mine", "hf", '"models/x"', "models/x"]);
    expect(m.block!.properties.map((p) => at(text, p))).toEqual(["head classifier", "labels 3"]);
    expect(at(text, m)).toBe(text);
  });

  it("run with parts, data and a named train block plus overrides", () => {
    const text = "run beam = base + lora8 + wide on arith with fast { lr 1e-3 }";
    const r = only(text, "RunDecl");
    expect([r.name.name, r.model.name, r.parts.map((p) => p.name), r.data.name, r.train!.name]).toEqual(["beam", "base", ["lora8", "wide"], "arith", "fast"]);
    expect(at(text, r.overrides!)).toBe("{ lr 1e-3 }");
  });

  it("keywords can be names: a run called beam, a data set called data", () => {
    const text = "run beam = model + run on data";
    const r = only(text, "RunDecl");
    expect([r.name.name, r.model.name, r.parts[0]!.name, r.data.name]).toEqual(["beam", "model", "run", "data"]);
  });

  it("compare with and without a name", () => {
    const named = only("compare main = a, b by accuracy, loss plot eval", "CompareDecl");
    expect([named.name?.name, named.runs.map((r) => r.name), named.metrics.map((m) => m.name), named.plots.map((p) => p.name)]).toEqual(["main", ["a", "b"], ["accuracy", "loss"], ["eval"]]);
    const unnamed = only("compare a, b", "CompareDecl");
    expect([unnamed.name, unnamed.runs.map((r) => r.name)]).toEqual([null, ["a", "b"]]);
  });

  it("include, backend (word or string) and an unnamed train block", () => {
    expect(only('include "x.peft"', "IncludeDecl").path.value).toBe("x.peft");
    expect(only("backend wasm", "BackendDecl").value.name).toBe("wasm");
    expect(only('backend "cpu"', "BackendDecl").value.name).toBe("cpu");
    expect(only("train { steps 3 }", "TrainDecl").name).toBeNull();
  });

  it("keeps statements in source order", () => {
    const r = parse("run r = m + a on d\nmodel m = decoder\nadapter a = lora\ndata d = addition\n");
    expect(r.program.statements.map((s) => s.kind)).toEqual(["RunDecl", "ModelDecl", "AdapterDecl", "DataDecl"]);
  });
});

describe("property values", () => {
  const props = (text: string) => only(`adapter a = lora {\n${text}\n}`, "AdapterDecl").block!.properties;

  it("a property takes the values on its line; a line break or comma ends it", () => {
    const p = props("rank 8\nalpha 16, dropout 0.05");
    expect(p.map((x) => [x.key.name, x.args.length])).toEqual([["rank", 1], ["alpha", 1], ["dropout", 1]]);
  });

  it("a comma followed by a string, number or list continues the property", () => {
    const [target, seeds] = props('target "q_proj", "v_proj", matching ".*o_proj"\nseeds 1, 2, [3, 4]');
    expect(target!.args.map((a) => a.kind)).toEqual(["String", "String", "Word", "String"]);
    expect(seeds!.args.map((a) => a.kind)).toEqual(["Number", "Number", "List"]);
  });

  it("numbers carry units: %, steps, epochs; ranges bind -> and ..", () => {
    const text = "top_p 95% -> 1.0 cosine until 200 steps\nseeds 1..3\nepochs 2 epochs";
    const block = `adapter a = lora {\n${text}\n}`;
    const [topP, seeds, epochs] = only(block, "AdapterDecl").block!.properties;
    const range = topP!.args[0] as Ast.RangeArg;
    expect(range.kind).toBe("Range");
    expect([range.op, (range.from as Ast.NumberArg).value, (range.from as Ast.NumberArg).unit, (range.to as Ast.NumberArg).value]).toEqual(["->", 95, "%", 1]);
    expect(at(block, range)).toBe("95% -> 1.0");
    const until = topP!.args[3] as Ast.NumberArg;
    expect([until.value, until.unit, at(block, until)]).toEqual([200, "steps", "200 steps"]);
    expect((seeds!.args[0] as Ast.RangeArg).op).toBe("..");
    expect((epochs!.args[0] as Ast.NumberArg).unit).toBe("epochs");
  });

  it("strings resolve only \\\" \\\\ \\n \\t; other backslashes stay (regexes need no doubling)", () => {
    const [p] = props('target matching "a\\.b\\"c\\\\d\\te"');
    expect((p!.args[1] as Ast.StringArg).value).toBe('a\\.b"c\\d\te');
  });
});

describe("spans", () => {
  it("every node's span is half-open, inside the file, and covers its text", () => {
    const text = "model base = decoder { layers 4, width 128 }\nbeam b on a { top_p 0.9 -> 1.0 cosine, every 20 steps }\n";
    const r = parse(text);
    const spans: [string, Ast.Node][] = [];
    const walk = (node: unknown): void => {
      if (!node || typeof node !== "object") return;
      if (Array.isArray(node)) return node.forEach(walk);
      const n = node as Ast.Node & Record<string, unknown>;
      if ("kind" in n && "span" in n) spans.push([n.kind, n]);
      for (const [k, v] of Object.entries(n)) if (k !== "span") walk(v);
    };
    walk(r.program);
    expect(spans.length).toBeGreaterThan(20);
    for (const [, node] of spans) {
      expect(node.span.start).toBeGreaterThanOrEqual(0);
      expect(node.span.end).toBeLessThanOrEqual(text.length);
      expect(node.span.start).toBeLessThanOrEqual(node.span.end);
    }
    const idents = spans.filter(([k]) => k === "Ident").map(([, n]) => at(text, n));
    expect(idents).toEqual(["base", "decoder", "layers", "width", "b", "a", "top_p", "every"]);
  });

  it("LineIndex maps offsets to 1-based lines and columns", () => {
    const index = new LineIndex("ab\r\ncd\n\nxyz");
    expect([index.position(0), index.position(4), index.position(8), index.position(99)]).toEqual([
      { line: 1, column: 1 }, { line: 2, column: 1 }, { line: 4, column: 1 }, { line: 4, column: 4 },
    ]);
    expect(index.lineText(0)).toBe("ab");
  });
});

describe("error recovery", () => {
  it("reports every bad statement, not just the first", () => {
    const text = "modle a = decoder\nmodel b = decoder { layers 4 }\nrun r = a + x onn d\nadapter q = lora { rank -> }\nmodel c = \n";
    const r = parse(text, { path: "t.peft" });
    const found = r.diagnostics.map((d) => `${d.code}:${text.slice(d.span.start, d.span.end)}`);
    expect(found).toEqual(["PEFT1004:modle", "PEFT1004:onn", "PEFT1004:->", "PEFT1005:"]);
    expect(r.program.statements.some((s) => s.kind === "ModelDecl" && s.name.name === "b")).toBe(true);
  });

  it("a forgotten closing brace is reported and the next statement still parses", () => {
    const text = "adapter a = lora { rank 8\nrun r = m + a on d\n";
    const r = parse(text);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["PEFT1004"]);
    expect(r.diagnostics[0]!.message).toContain("expected '}'");
    expect(r.program.statements.map((s) => s.kind)).toEqual(["AdapterDecl", "RunDecl"]);
  });
});
