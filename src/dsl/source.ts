// Bytes → source text: strict UTF-8 with the position of the first bad byte.

import { makeDiagnostic, type Diagnostic } from "./diagnostics.js";

/** Decoded text (bad bytes become U+FFFD) and, when the bytes were not UTF-8, an error at the first bad one. */
export interface DecodedSource {
  text: string;
  diagnostics: Diagnostic[];
}

/** Index of the first byte that breaks UTF-8, with why; null when all bytes are valid. */
export function firstInvalidUtf8(bytes: Uint8Array): { index: number; reason: string } | null {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return { index: i, reason: `byte 0x${b.toString(16).padStart(2, "0")} cannot start a character` };
    let code = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined) return { index: i, reason: "the file ends inside a multi-byte character" };
      if ((c & 0xc0) !== 0x80) return { index: i, reason: `byte 0x${b.toString(16)} is not followed by a continuation byte` };
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return { index: i, reason: `bytes at this position encode no valid character` };
    i += need + 1;
  }
  return null;
}

/** Decode a .peft file's bytes; invalid UTF-8 becomes a PEFT1003 error at the first bad byte. */
export function decodeSource(bytes: Uint8Array, path: string): DecodedSource {
  const text = new TextDecoder("utf-8").decode(bytes);
  const bad = firstInvalidUtf8(bytes);
  if (!bad) return { text, diagnostics: [] };
  const offset = new TextDecoder("utf-8").decode(bytes.subarray(0, bad.index)).length;
  return { text, diagnostics: [makeDiagnostic("invalidEncoding", { detail: bad.reason }, path, { start: offset, end: offset + 1 })] };
}
