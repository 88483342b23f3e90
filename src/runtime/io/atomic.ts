// Atomic file writes: write a temporary file next to the target, fsync, then rename over it.
// A crash or an error leaves either the old file or the new one, never half of one.

import * as fs from "node:fs";
import * as path from "node:path";

/** Runs `write(fd)` on a temporary file in the target's folder and renames it to `target` on success. */
export function withAtomicFile(target: string, write: (fd: number) => void): void {
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  const fd = fs.openSync(tmp, "wx");
  let done = false;
  try {
    write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    done = true;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (!done) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes `data` to `target` atomically. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  withAtomicFile(target, (fd) => {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    writeAll(fd, bytes);
  });
}

/** Writes every byte of `bytes` at the current position (writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
}
