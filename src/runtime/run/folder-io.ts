// Writing a run folder safely (its layout: src/results/run-folder.ts): the lock that keeps two runs
// out of one folder, and append-only JSON-lines logs that a resume can cut back.
import * as fs from "node:fs";
import * as path from "node:path";
import { RUN_FOLDER } from "../../results/run-folder.js";

export class LockError extends Error {}

/**
 * Takes DIR/.lock for this process. A second run on the same DIR gets a clear error; a
 * lock left by a process that no longer exists (killed) is taken over. Returns the release function,
 * which also runs if the process exits first (process.exit on a second Ctrl-C).
 */
export function acquireLock(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, RUN_FOLDER.lock);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lock, "wx");
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off("exit", release);
        try {
          if (fs.readFileSync(lock, "utf8").trim() === String(process.pid)) fs.unlinkSync(lock);
        } catch {
          /* already gone */
        }
      };
      process.on("exit", release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = Number.parseInt(fs.readFileSync(lock, "utf8").trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new LockError(
          `${dir} is in use by another peftlab run (pid ${holder}); wait for it to finish or choose another output folder. ` +
            `If no peftlab run is using it (process ${holder} may be another program that reused the number of a killed run), delete ${lock} and run again`,
        );
      }
      fs.unlinkSync(lock); // stale: its owner is gone
    }
  }
  throw new LockError(`could not lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Appends JSON lines to a file, flushing each line (so a kill loses at most the line being written). */
export class JsonlWriter {
  private fd: number;
  constructor(readonly file: string, truncateTo: number | null) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (truncateTo === null) {
      this.fd = fs.openSync(file, "w");
    } else {
      this.fd = fs.openSync(file, fs.existsSync(file) ? "r+" : "w");
      fs.ftruncateSync(this.fd, Math.min(truncateTo, fs.fstatSync(this.fd).size));
      fs.closeSync(this.fd);
      this.fd = fs.openSync(file, "a");
    }
  }
  write(obj: unknown): void {
    fs.writeSync(this.fd, `${JSON.stringify(obj)}\n`);
  }
  /** Bytes written so far (recorded in checkpoints so a resume can cut what came after). */
  size(): number {
    return fs.fstatSync(this.fd).size;
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}
