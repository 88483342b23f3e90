// Shared helpers of the DSL tests.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { compile, type CompileResult, type Diagnostic } from "../../src/dsl/index.js";

export const ROOT = join(import.meta.dirname, "..", "..");
export const EXAMPLES = join(ROOT, "examples");

/** A reader over the real file system (null when missing), as the CLI passes. */
export function fsReader(path: string): string | null {
  try {
    return statSync(path).isFile() ? readFileSync(path, "utf8") : null;
  } catch {
    return null;
  }
}

/** Every .peft file under examples/, as paths relative to the repository root. */
export function exampleFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".peft")) out.push(relative(ROOT, path));
    }
  };
  walk(EXAMPLES);
  return out;
}

/** Compile a snippet (as `t.peft`), with optional extra in-memory files for includes. */
export function run(text: string, files: Record<string, string> = {}): CompileResult {
  return compile({ main: "t.peft", files: { ...files, "t.peft": text } });
}

/** The text each diagnostic's span covers, with its code: `PEFT3002 "0"`. */
export function located(result: CompileResult): string[] {
  return result.diagnostics.map((d) => `${d.code} ${JSON.stringify(slice(result, d))}`);
}

/** The source text under a diagnostic's span. */
export function slice(result: CompileResult, d: Pick<Diagnostic, "file" | "span">): string {
  return (result.sources.get(d.file) ?? "").slice(d.span.start, d.span.end);
}

/** A small valid program to build snippets on: a model, data, an adapter and a run. */
export const BASE = `model base = decoder { layers 2, width 64, heads 4, context 32 }
data sums = addition { digits 2 }
adapter lora8 = lora { rank 8 }
`;
