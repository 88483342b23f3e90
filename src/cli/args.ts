// The one argument parser of every `peftlab` command: Node's util.parseArgs over a declared list
// of options, so `--opt value` and `--opt=value` both work, unknown options are usage errors, and
// `--help` is written from the same declaration (options, defaults, an example).
import { parseArgs } from "node:util";

/** One option of a command, as parsed and as `--help` shows it. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** May be given more than once (its values are collected in order). */
  multiple?: boolean;
  /** The placeholder shown in help for a string option, e.g. "DIR". */
  value?: string;
  help: string;
  /** The default as help shows it (the command applies it). */
  default?: string;
}

/** What a command declares about its arguments. */
export interface ArgsSpec {
  /** The usage lines after "usage: peftlab", e.g. "run FILE [options]". */
  synopsis: readonly string[];
  /** A paragraph under the usage line. */
  description: string;
  options: Readonly<Record<string, OptionSpec>>;
  /** Example command lines shown at the end of --help. */
  examples: readonly string[];
}

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

export interface ParsedArgs {
  values: ParsedValues;
  positionals: string[];
  help: boolean;
}

/** The --help text of a command. */
export function helpText(spec: ArgsSpec): string {
  const lines = spec.synopsis.map((s, i) => `${i === 0 ? "usage:" : "      "} peftlab ${s}`);
  lines.push("", ...spec.description.split("\n").map((l) => (l ? `  ${l}` : "")), "", "options:");
  const entries = [...Object.entries(spec.options), ["help", { type: "boolean", short: "h", help: "show this help" } as OptionSpec] as const];
  const heads = entries.map(([name, o]) => `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`);
  const width = Math.min(28, Math.max(...heads.map((h) => h.length)));
  entries.forEach(([, o], i) => {
    const head = heads[i]!;
    const text = `${o.help}${o.default !== undefined ? ` (default: ${o.default})` : ""}`;
    lines.push(head.length > width ? `  ${head}\n  ${" ".repeat(width)}  ${text}` : `  ${head.padEnd(width)}  ${text}`);
  });
  lines.push("", spec.examples.length > 1 ? "examples:" : "example:", ...spec.examples.map((e) => `  ${e}`));
  return `${lines.join("\n")}\n`;
}

/** The usage lines alone (shown after a usage error). */
export function usageText(spec: ArgsSpec): string {
  return `${spec.synopsis.map((s, i) => `${i === 0 ? "usage:" : "      "} peftlab ${s}`).join("\n")}\n  (peftlab ${spec.synopsis[0]!.split(" ")[0]} --help for the options)\n`;
}

/** Parses `argv` against `spec`; a string is a usage error naming the bad argument. */
export function parseCommandArgs(spec: ArgsSpec, argv: readonly string[]): ParsedArgs | string {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = { help: { type: "boolean", short: "h" } };
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    const out = values as ParsedValues;
    const help = out.help === true;
    delete out.help;
    return { values: out, positionals, help };
  } catch (e) {
    return usageMessage(e as Error & { code?: string });
  }
}

/** util.parseArgs's messages, shortened to the part a user needs. */
function usageMessage(e: Error & { code?: string }): string {
  const msg = e.message;
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const m = /Unknown option '([^']+)'/.exec(msg);
    return `unknown option ${m ? m[1] : msg}`;
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const m = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' (argument missing|does not take an argument)/.exec(msg);
    if (m) return m[2] === "argument missing" ? `option ${m[1]} needs a value` : `option ${m[1]} takes no value`;
  }
  return msg.split("\n")[0]!;
}

/** A string option's value (the last one when given twice). */
export function stringOption(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  return Array.isArray(v) ? v.at(-1) : typeof v === "string" ? v : undefined;
}

/** Where a command writes (the CLI's output object, src/cli/io.ts). */
interface Out {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Reports a usage error the one way every command does; returns exit status 2. */
export function usageError(command: string, spec: ArgsSpec, message: string, io: Out): number {
  io.stderr(`peftlab ${command}: ${message}\n${usageText(spec)}`);
  return 2;
}

/**
 * Parses `argv`, answers --help and usage errors, and otherwise calls `body` with the parsed
 * arguments; resolves to the exit status (0 ok, 1 problems found, 2 bad usage).
 */
export async function withArgs(
  command: string, spec: ArgsSpec, argv: readonly string[], io: Out,
  body: (args: ParsedArgs, usage: (message: string) => number) => Promise<number> | number,
): Promise<number> {
  const args = parseCommandArgs(spec, argv);
  if (typeof args === "string") return usageError(command, spec, args, io);
  if (args.help) {
    io.stdout(helpText(spec));
    return 0;
  }
  return body(args, (message) => usageError(command, spec, message, io));
}
