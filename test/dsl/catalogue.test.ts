// The diagnostics catalogue: stable, well-formed codes grouped by area.
import { describe, expect, it } from "vitest";
import { CATALOGUE, entryByCode, formatMessage, listChecks, makeDiagnostic } from "../../src/dsl/index.js";

const entries = Object.entries(CATALOGUE);

describe("catalogue", () => {
  it("has unique codes of the form PEFTnnnn", () => {
    const codes = entries.map(([, e]) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^PEFT[1-5]\d{3}$/);
  });

  it("groups codes by area", () => {
    const area = (code: string) => Number(code[4]);
    const syntax = ["unexpectedCharacter", "unterminatedString", "invalidEncoding", "unexpectedToken", "unexpectedEnd", "emptyFile", "tooManyErrors", "binaryFile", "numberTooLarge"];
    for (const id of syntax) expect(area(CATALOGUE[id as keyof typeof CATALOGUE].code), id).toBe(1);
    for (const id of ["undeclaredName", "duplicateName", "unknownProperty", "unknownWord"] as const) expect(area(CATALOGUE[id].code)).toBe(2);
    for (const id of ["outOfRange", "ratioOver100", "topPDecreasing", "periodTooLong", "estimateTooLong"] as const) expect(area(CATALOGUE[id].code)).toBe(3);
    for (const id of ["selectorMatchesNothing", "overlappingAdapters", "headTaskMismatch"] as const) expect(area(CATALOGUE[id].code)).toBe(4);
    for (const id of ["cannotRead", "includeCycle"] as const) expect(area(CATALOGUE[id].code)).toBe(5);
  });

  it("has a summary and a message for every entry", () => {
    for (const [id, e] of entries) {
      expect(e.summary.length, id).toBeGreaterThan(5);
      expect(e.message.length, id).toBeGreaterThan(5);
      expect(["error", "warning", "info"]).toContain(e.severity);
    }
  });

  it("fills templates, keeps unknown placeholders visible, and clips huge arguments", () => {
    expect(formatMessage("{a} and {b}", { a: "x" })).toBe("x and {b}");
    expect(formatMessage("{a}", { a: "y".repeat(10_000) }).length).toBeLessThan(400);
    const d = makeDiagnostic("outOfRange", { prop: "'rank'", allowed: "a whole number from 1 to 4096", value: "0" }, "f.peft", { start: 3, end: 4 });
    expect(d).toEqual({ severity: "error", code: "PEFT3002", message: "'rank' must be a whole number from 1 to 4096, got 0", file: "f.peft", span: { start: 3, end: 4 } });
    expect(entryByCode("PEFT3002")).toBe(CATALOGUE.outOfRange);
  });
});

describe("check registry", () => {
  it("registers named checks per statement kind in phases", () => {
    const checks = listChecks();
    expect(new Set(checks.map((c) => c.name)).size).toBe(checks.length);
    expect(new Set(checks.map((c) => c.phase))).toEqual(new Set(["declare", "interpret", "link", "validate"]));
    expect(checks.filter((c) => c.kind === "RunDecl").map((c) => c.name)).toContain("run-beam-length");
  });
});
