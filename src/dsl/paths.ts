// Path arithmetic for includes and data files, without node:path (the front end also runs in
// notebooks). Relative paths are relative to the directory of the file that names them.

/** True for `/x`, `\x`, `C:\x` and `C:/x`. */
export function isAbsolute(path: string): boolean {
  return /^(?:[\\/]|[A-Za-z]:[\\/])/.test(path);
}

/** The directory part of `path` ("" when there is none). */
export function dirname(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i < 0 ? "" : path.slice(0, i + 1 === 1 ? 1 : i);
}

/** Collapse `.` and `name/..` segments; keeps leading `..` and the root. */
export function normalize(path: string): string {
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split(/[\\/]+/)) {
    if (part === "" || part === ".") continue;
    if (part === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (part === ".." && absolute) continue;
    else out.push(part);
  }
  const joined = out.join("/");
  return absolute ? `/${joined}` : joined === "" ? "." : joined;
}

/** `rel` as seen from the file `from` (absolute paths are kept). */
export function resolveFrom(from: string, rel: string): string {
  if (isAbsolute(rel)) return normalize(rel);
  const dir = dirname(from);
  return normalize(dir === "" ? rel : `${dir}/${rel}`);
}

/** `to` relative to the directory `fromDir` (both as resolveFrom returns them). Absolute paths
 *  stay absolute when `fromDir` is relative, and the other way round. */
export function relativeTo(fromDir: string, to: string): string {
  const from = normalize(fromDir === "" ? "." : fromDir);
  if (isAbsolute(from) !== isAbsolute(to)) return to;
  const a = from === "." ? [] : from.split("/").filter((p) => p !== "");
  const b = to === "." ? [] : to.split("/").filter((p) => p !== "");
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  // Climbing out of `..` needs the working directory's name, which a pure function cannot know.
  if (a.slice(common).includes("..")) return to;
  const up = a.slice(common).map(() => "..");
  const rest = [...up, ...b.slice(common)].join("/");
  return rest === "" ? "." : rest;
}

/**
 * A path written in `file`, as the plan records it: relative to the directory of the main .peft
 * file (`mainFile`), which is where the runtime resolves plan paths from. Returns the path to read
 * now (relative to the working directory) and the path to record.
 */
export function planPath(file: string, written: string, mainFile: string): { read: string; record: string } {
  const read = resolveFrom(file, written);
  return { read, record: relativeTo(dirname(mainFile), read) };
}
