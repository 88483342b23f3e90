// The README's experiment example must stay valid .peft.
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { compileSource } from "../src/dsl/index.js";

it("the README's example compiles without errors", () => {
  const readme = fs.readFileSync(path.resolve(__dirname, "../README.md"), "utf8");
  const block = /```peft\n([\s\S]*?)```/.exec(readme);
  expect(block).not.toBeNull();
  const { plan, diagnostics } = compileSource(block![1]!, "README.md");
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  expect(plan!.runs.map((r) => r.name)).toEqual(["lora", "beam", "light"]);
});
