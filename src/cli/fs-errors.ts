// File-system failures as one line a user can act on: the path and the cause, not a stack.
// Every command's uncaught error passes through fsErrorMessage (main.ts), so the mapping of
// error codes to causes lives here only.

/** The cause of each error code a full disk, a read-only mount or a wrong path gives. */
const CAUSES: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is exhausted",
  EROFS: "the file system is mounted read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a part of the path is a file, not a folder",
  EEXIST: "it exists and is a file, not a folder",
  EISDIR: "it is a folder, not a file",
  ENOENT: "no such file or folder",
  ENAMETOOLONG: "the path is too long",
  EMFILE: "too many open files",
};

/**
 * One line for a Node file-system error (an Error with an errno `code`): "cannot <verb> PATH: cause".
 * Null when `err` is not a file-system error this table knows (then it is a bug worth a stack).
 */
export function fsErrorMessage(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const { code, path, syscall } = err as NodeJS.ErrnoException;
  if (typeof code !== "string" || !(code in CAUSES)) return null;
  const verb = syscall === "open" || syscall === "read" ? "open" : syscall === "mkdir" ? "create the folder" : "write";
  const where = typeof path === "string" ? ` ${path}` : "";
  return `cannot ${verb}${where}: ${CAUSES[code]} (${code})`;
}
