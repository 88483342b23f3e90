// An in-memory CliIO for calling main() in tests.
import type { CliIO } from "../../src/cli/io.js";

export interface Captured extends CliIO {
  out: string;
  err: string;
}

/** Files by path (strings are UTF-8 encoded); reads of anything else return null. */
export function memoryIO(files: Record<string, string | Uint8Array>): Captured {
  const io: Captured = {
    out: "",
    err: "",
    stdout: (t) => void (io.out += t),
    stderr: (t) => void (io.err += t),
    readFile: (path) => {
      const f = files[path];
      if (f === undefined) return null;
      return typeof f === "string" ? new TextEncoder().encode(f) : f;
    },
  };
  return io;
}
