// The `--queue URL` option that `peftlab run`, `peftlab worker` and `peftlab queue` share: its help
// text and its check (the URL's syntax only; reaching the server is the command's business).
import { parseQueueUrl } from "../runtime/run/queue-url.js";
import { stringOption, type ParsedValues } from "./args.js";

/** How a queue URL is written, for the options' help. */
export const QUEUE_URL_SYNTAX = "redis://[:PASSWORD@]HOST[:PORT][/DB], or rediss:// for TLS";

/** The `--queue` option as the argument tables declare it, with `help` before the syntax. */
export function queueOption(help = ""): { type: "string"; value: string; help: string } {
  return { type: "string", value: "URL", help: help ? `${help}: ${QUEUE_URL_SYNTAX}` : QUEUE_URL_SYNTAX };
}

/**
 * The `--queue` URL given, checked: `{url, display}` (display with the password hidden), `{problem}`
 * when it is missing or malformed, or null when it is absent and `required` is false.
 */
export function queueUrlOf(values: ParsedValues, required: boolean): { url: string; display: string } | { problem: string } | null {
  const url = stringOption(values, "queue");
  if (url === undefined) return required ? { problem: "missing --queue URL" } : null;
  try {
    return { url, display: parseQueueUrl(url).display };
  } catch (e) {
    return { problem: (e as Error).message };
  }
}
