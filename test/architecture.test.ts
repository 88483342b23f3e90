// The folder-level dependency rules that README.md's "Architecture" section states, checked on the
// import statements of every file under src/ (type-only imports and re-exports count too):
// - each folder imports only folders listed below it in the README's table (no cycles between
//   folders, runtime's sub-folders included);
// - only the tensor layer (src/runtime/tensor) imports TensorFlow.js.
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const SRC = path.join(ROOT, "src");

/** Every .ts file under src/, as a path relative to the repository root with "/" separators. */
function sourceFiles(dir = SRC): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith(".ts")) out.push(path.relative(ROOT, p).split(path.sep).join("/"));
  }
  return out;
}

/** The folders of the README's architecture table, top row first (a row may name several). */
function architectureRows(): string[][] {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Architecture");
  if (start < 0) throw new Error("README.md has no '## Architecture' section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const rows: string[][] = [];
  for (const line of section.split("\n")) {
    if (!line.startsWith("| `src/")) continue;
    const first = line.split("|")[1]!;
    rows.push([...first.matchAll(/`(src\/[^`]+)`/g)].map((m) => m[1]!));
  }
  return rows;
}

const ROWS = architectureRows();
const FOLDERS = ROWS.flat();

/** The README folder a file belongs to: the longest listed path that contains it. */
function folderOf(file: string): string | undefined {
  let best: string | undefined;
  for (const f of FOLDERS) {
    if ((file === f || file.startsWith(f + "/")) && (best === undefined || f.length > best.length)) best = f;
  }
  return best;
}

function rowOf(folder: string): number {
  return ROWS.findIndex((r) => r.includes(folder));
}

interface Import {
  from: string;
  specifier: string;
  /** The imported file (relative specifiers only), relative to the repository root. */
  target?: string;
}

function importsOf(file: string): Import[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map(({ fileName }) => {
    if (!fileName.startsWith(".")) return { from: file, specifier: fileName };
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), fileName)).replace(/\.js$/, ".ts");
    return { from: file, specifier: fileName, target };
  });
}

const FILES = sourceFiles();
const IMPORTS = FILES.flatMap(importsOf);

describe("architecture (README.md, Architecture)", () => {
  it("lists the folders in a table, every source file in one of them", () => {
    expect(ROWS.length).toBeGreaterThan(5);
    expect(FILES.filter((f) => folderOf(f) === undefined)).toEqual([]);
  });

  it("every relative import names a file that exists", () => {
    const missing = IMPORTS.filter((i) => i.target !== undefined && !fs.existsSync(path.join(ROOT, i.target)));
    expect(missing.map((i) => `${i.from}: ${i.specifier}`)).toEqual([]);
  });

  it("each folder imports only folders listed below it (no cycles between folders)", () => {
    const upward: string[] = [];
    let across = 0;
    for (const i of IMPORTS) {
      if (i.target === undefined) continue;
      const a = folderOf(i.from)!;
      const b = folderOf(i.target);
      if (b === undefined || a === b) continue;
      across++;
      const ra = rowOf(a);
      const rb = rowOf(b);
      if (rb < ra) upward.push(`${i.from} imports ${i.specifier} (${a} → ${b}, listed above it)`);
    }
    expect(upward).toEqual([]);
    expect(across, "imports between folders seen").toBeGreaterThan(100);
  });

  it("the language, the results layer, the figures, tokenizers and PEFT rules import no runtime", () => {
    const tensorFree = ["src/dsl", "src/results", "src/viz", "src/tokenizers", "src/peft"];
    for (const f of tensorFree) expect(FOLDERS, `README table lists ${f}`).toContain(f);
    const bad = IMPORTS.filter(
      (i) => tensorFree.includes(folderOf(i.from)!) && i.target !== undefined && i.target.startsWith("src/runtime/"),
    );
    expect(bad.map((i) => `${i.from}: ${i.specifier}`)).toEqual([]);
  });

  it("weight I/O does not import adapters", () => {
    const bad = IMPORTS.filter((i) => folderOf(i.from) === "src/runtime/io" && i.target?.startsWith("src/runtime/adapters/"));
    expect(bad.map((i) => `${i.from}: ${i.specifier}`)).toEqual([]);
  });

  it("only the tensor layer (src/runtime/tensor) imports TensorFlow.js", () => {
    const bad = IMPORTS.filter((i) => i.specifier.startsWith("@tensorflow/") && folderOf(i.from) !== "src/runtime/tensor");
    expect(bad.map((i) => `${i.from}: ${i.specifier}`)).toEqual([]);
  });
});
