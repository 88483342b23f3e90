// Shared helpers of the io tests: a temporary folder per test file and hand-built raw files.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";

/** A fresh temporary folder removed after the test file. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `peftlab-${prefix}-`));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Bytes of a safetensors file with a given header (object, raw text or raw bytes) and data section. */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Buffer {
  const json = header instanceof Uint8Array
    ? Buffer.from(header)
    : Buffer.from(typeof header === "string" ? header : JSON.stringify(header), "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  return Buffer.concat([prefix, json, Buffer.from(data)]);
}

/** Little-endian bytes of float32 values. */
export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}
