// The output directory of `peftlab run`: its layout and its lock.
//
//   DIR/plan.json, DIR/source.peft, DIR/summary.json, DIR/report.html
//   DIR/<run>/<seed>[-lr<value>]/{config.json, metrics.jsonl, events.jsonl, result.json, adapter/, checkpoint/}
import * as fs from "node:fs";
import * as path from "node:path";

/** Folder name of one run × seed × lr job: `<seed>` or `<seed>-lr<value>` when a grid is declared. */
export function jobFolder(seed: number, lr: number, grid: boolean): string {
  return grid ? `${seed}-lr${lr}` : `${seed}`;
}

export class LockError extends Error {}

/**
 * Takes DIR/.lock for this process. A second `peftlab run` on the same DIR gets a clear error; a
 * lock left by a process that no longer exists (killed) is taken over. Returns the release function.
 */
export function acquireLock(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, ".lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lock, "wx");
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          if (fs.readFileSync(lock, "utf8").trim() === String(process.pid)) fs.unlinkSync(lock);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = Number.parseInt(fs.readFileSync(lock, "utf8").trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new LockError(`${dir} is in use by another peftlab run (pid ${holder}); wait for it to finish or choose another --out`);
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
