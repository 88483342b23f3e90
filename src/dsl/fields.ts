// Reading block properties against a schema: the value forms (`8`, `33%`, `200 steps`,
// `0.95 -> 1.0 cosine`), unknown and duplicate keys, and extra values. Every error names the
// property and points at the offending value.

import type { Arg, Block, Property, ScalarArg } from "./ast.js";
import type { DiagnosticId } from "./catalogue.js";
import type { MessageArgs } from "./diagnostics.js";
import type { Reporter, Spanned } from "./reporter.js";
import { clip, didYouMean, quoteList } from "./suggest.js";

/** A length in steps, or a fraction of the run's training steps (`10%`). */
export type Amount = { kind: "steps"; steps: number } | { kind: "fraction"; fraction: number };

/** A value read from a property, with the node it came from. */
export interface Read<T> {
  value: T;
  node: Spanned;
}

/** One property of a block: its key words, how to read its values, and docs. */
export interface FieldSpec<T> {
  /** Words that set the field; the first is the canonical one. Two keys of one field conflict. */
  keys: readonly string[];
  /** Value form, for the grammar document, e.g. "INT" or "RATIO [per layer | global]". */
  form: string;
  /** Default, in words, for the grammar document. */
  default: string;
  summary: string;
  read(c: ArgCursor): T | undefined;
}

/** A block schema: field slot → spec. */
export type Schema = Record<string, FieldSpec<unknown>>;

/** What a block said: slot → value, the property that set it, and the file it is in. */
export type Fields<S extends Schema> = { [K in keyof S]?: { value: NonNullable<ReturnType<S[K]["read"]>>; prop: Property; file: string } };

/** Human description of an argument for messages. */
export function describeArg(arg: Arg): string {
  switch (arg.kind) {
    case "Number":
      return `number ${clip(arg.text)}${arg.unit === "%" ? "%" : arg.unit ? ` ${arg.unit}` : ""}`;
    case "String":
      return `string "${clip(arg.value)}"`;
    case "Word":
      return `'${clip(arg.name)}'`;
    case "List":
      return "a list";
    case "Range":
      return `range ${describeArg(arg.from)} ${arg.op} ${describeArg(arg.to)}`;
  }
}

/** Number text for messages: as written, with its unit. */
function shown(arg: ScalarArg): string {
  return arg.kind === "Number" ? `${clip(arg.text)}${arg.unit === "%" ? "%" : arg.unit ? ` ${arg.unit}` : ""}` : describeArg(arg);
}

/** Options for numeric readers. */
export interface NumberOptions {
  min: number;
  max: number;
  /** Exclude `min` itself (e.g. a learning rate must be above 0). */
  above?: boolean;
  integer?: boolean;
  /** Words for the allowed range in messages, e.g. "an integer from 1 to 4096" (a function
   *  builds it only when a message needs it). */
  allowed: string | (() => string);
}

function text(words: string | (() => string)): string {
  return typeof words === "string" ? words : words();
}

/** Walks the values of one property. Readers consume values and report what is wrong. */
export class ArgCursor {
  private index = 0;

  constructor(
    public prop: Property,
    readonly file: string,
    readonly reporter: Reporter,
    /** Keys of the enclosing block, to hint at a missing comma. */
    readonly blockKeys: readonly string[],
  ) {}

  /** Move to another property of the same block (one cursor serves a whole block). */
  reset(prop: Property): this {
    this.prop = prop;
    this.index = 0;
    return this;
  }

  /** The property's name, as messages quote it. */
  get label(): string {
    return this.prop.key.name;
  }

  get key(): string {
    return this.prop.key.name;
  }

  peek(offset = 0): Arg | undefined {
    return this.prop.args[this.index + offset];
  }

  next(): Arg | undefined {
    return this.prop.args[this.index++];
  }

  done(): boolean {
    return this.index >= this.prop.args.length;
  }

  /** Report `id` at `node` (default: the property key) and return undefined. */
  fail(id: DiagnosticId, args: MessageArgs, node: Spanned = this.prop.key): undefined {
    this.reporter.report(id, args, this.file, node);
    return undefined;
  }

  /** Report a missing value at the end of the property. */
  missing(expected: string): undefined {
    return this.fail("missingValue", { prop: `'${this.label}'`, expected }, this.prop);
  }

  /** The next value, which must be a number; reports and skips anything else. */
  private takeNumber(expected: string | (() => string)): Extract<Arg, { kind: "Number" }> | undefined {
    const arg = this.next();
    if (!arg) return this.missing(text(expected));
    if (arg.kind !== "Number") return this.fail("wrongType", { prop: `'${this.label}'`, expected: text(expected), found: describeArg(arg) }, arg);
    return arg;
  }

  /** Check a plain number against its range. */
  checkRange(arg: ScalarArg & { kind: "Number" }, value: number, o: NumberOptions): boolean {
    const label = `'${this.label}'`;
    if (o.integer && !Number.isInteger(value)) {
      this.fail("notInteger", { prop: label, value: shown(arg) }, arg);
      return false;
    }
    if (value < o.min || value > o.max || (o.above === true && value === o.min) || !Number.isFinite(value)) {
      this.fail("outOfRange", { prop: label, allowed: text(o.allowed), value: shown(arg) }, arg);
      return false;
    }
    return true;
  }

  /** A unitless number in range. */
  number(o: NumberOptions): Read<number> | undefined {
    const arg = this.takeNumber(o.allowed);
    if (!arg) return undefined;
    if (arg.unit !== null) return this.fail("badUnit", { prop: `'${this.label}'`, unit: arg.unit === "%" ? "'%'" : `'${arg.unit}'`, expected: text(o.allowed) }, arg);
    return this.checkRange(arg, arg.value, o) ? { value: arg.value, node: arg } : undefined;
  }

  /** A whole number in range. */
  int(min: number, max: number, noun = "a whole number"): Read<number> | undefined {
    return this.number({ min, max, integer: true, allowed: () => `${noun} from ${min} to ${fmt(max)}` });
  }

  /** A ratio: `33%` or a fraction `0.33`; `exclusiveMax` rejects 100%. */
  ratio(exclusiveMax = false, what = "a ratio"): Read<number> | undefined {
    const arg = this.takeNumber(() => ratioAllowed(exclusiveMax, what));
    return arg ? this.ratioOf(arg, exclusiveMax, what) : undefined;
  }

  /** Read one scalar (e.g. an end of a range) as a ratio. */
  ratioOf(arg: ScalarArg, exclusiveMax = false, what = "a ratio"): Read<number> | undefined {
    const allowed = () => ratioAllowed(exclusiveMax, what);
    const label = () => `'${this.label}'`;
    if (arg.kind !== "Number") return this.fail("wrongType", { prop: label(), expected: allowed(), found: describeArg(arg) }, arg);
    if (arg.unit === "steps" || arg.unit === "epochs") return this.fail("badUnit", { prop: label(), unit: `'${arg.unit}'`, expected: allowed() }, arg);
    const value = arg.unit === "%" ? arg.value / 100 : arg.value;
    if (arg.unit === "%" && value > 1) return this.fail("ratioOver100", { prop: label(), value: shown(arg) }, arg);
    if (value < 0 || value > 1 || (exclusiveMax && value === 1) || !Number.isFinite(value)) return this.fail("outOfRange", { prop: label(), allowed: allowed(), value: shown(arg) }, arg);
    return { value, node: arg };
  }

  /** Steps (`200`, `200 steps`) or a share of training (`10%`). */
  amount(minSteps: number, allowPercent = true): Read<Amount> | undefined {
    const allowed = allowPercent ? "a number of steps, or a share of training like 10%" : "a number of steps";
    const arg = this.takeNumber(allowed);
    if (!arg) return undefined;
    const label = `'${this.label}'`;
    if (arg.unit === "%") {
      if (!allowPercent) return this.fail("badUnit", { prop: label, unit: "'%'", expected: allowed }, arg);
      if (arg.value > 100) return this.fail("ratioOver100", { prop: label, value: shown(arg) }, arg);
      if (arg.value < 0 || (minSteps > 0 && arg.value === 0)) return this.fail("outOfRange", { prop: label, allowed: `a share above 0%`, value: shown(arg) }, arg);
      return { value: { kind: "fraction", fraction: arg.value / 100 }, node: arg };
    }
    if (arg.unit === "epochs") return this.fail("badUnit", { prop: label, unit: "'epochs'", expected: allowed }, arg);
    const range: NumberOptions = { min: minSteps, max: 1e9, integer: true, allowed: () => `a whole number of steps from ${minSteps} to 1e9` };
    return this.checkRange(arg, arg.value, range) ? { value: { kind: "steps", steps: arg.value }, node: arg } : undefined;
  }

  /** One of `allowed` words (reports unknown words with a suggestion). */
  word<W extends string>(allowed: readonly W[], what: string): Read<W> | undefined {
    const arg = this.next();
    const expected = `${what}: ${quoteList(allowed)}`;
    if (!arg) return this.missing(expected);
    if (arg.kind !== "Word") return this.fail("wrongType", { prop: `'${this.label}'`, expected, found: describeArg(arg) }, arg);
    if (!(allowed as readonly string[]).includes(arg.name)) {
      return this.fail("unknownWord", { what, name: arg.name, allowed: quoteList(allowed), hint: didYouMean(arg.name, allowed) }, arg);
    }
    return { value: arg.name as W, node: arg };
  }

  /** Consume the next value if it is one of `words`; returns the word or undefined. */
  optionalWord<W extends string>(words: readonly W[]): Read<W> | undefined {
    const arg = this.peek();
    if (arg?.kind === "Word" && (words as readonly string[]).includes(arg.name)) {
      this.index++;
      return { value: arg.name as W, node: arg };
    }
    return undefined;
  }

  /** A string value. */
  string(what: string): Read<string> | undefined {
    const arg = this.next();
    if (!arg) return this.missing(what);
    if (arg.kind !== "String") return this.fail("wrongType", { prop: `'${this.label}'`, expected: what, found: describeArg(arg) }, arg);
    return { value: arg.value, node: arg };
  }

  /** A flag: no value means true; or yes/no, true/false, on/off. */
  flag(): Read<boolean> | undefined {
    if (this.done()) return { value: true, node: this.prop.key };
    const word = this.word(["true", "false", "yes", "no", "on", "off"], "a switch");
    if (!word) return undefined;
    return { value: word.value === "true" || word.value === "yes" || word.value === "on", node: word.node };
  }

  /** Report any values left over (at most once per property). */
  finish(): void {
    const extra = this.peek();
    if (!extra) return;
    const hint = extra.kind === "Word" && this.blockKeys.includes(extra.name) ? ": separate properties with a comma or a line break" : "";
    this.fail("extraValue", { found: describeArg(extra), prop: `'${this.label}'`, hint }, extra);
    this.index = this.prop.args.length;
  }
}

function ratioAllowed(exclusiveMax: boolean, what: string): string {
  return `${what}: a percentage like 33% or a fraction from 0 to ${exclusiveMax ? "below " : ""}1`;
}

/** Build a field spec. */
export function field<T>(keys: readonly string[], form: string, dflt: string, summary: string, read: (c: ArgCursor) => T | undefined): FieldSpec<T> {
  return { keys, form, default: dflt, summary, read };
}

/** `auto`, or what `read` accepts. */
export function autoOr<T>(c: ArgCursor, read: () => Read<T> | undefined): Read<T | "auto"> | undefined {
  const auto = c.optionalWord(["auto"]);
  return auto ?? read();
}

/** Format large bounds compactly for messages. */
export function fmt(n: number): string {
  return n >= 1e6 ? n.toExponential().replace("e+", "e") : String(n);
}

/** Where a word that is not a property of some block belongs, e.g. that `warmup` is written
 *  after `lr`. Filled by src/dsl/placement.ts, which knows every block schema. */
type PlacementHint = (word: string, schema: Schema) => string;
let placementHint: PlacementHint = () => "";

/** Install the placement hint readBlock adds to "has no property" errors. */
export function setPlacementHint(hint: PlacementHint): void {
  placementHint = hint;
}

const keyCache = new WeakMap<Schema, { keyToSlot: Map<string, string>; keys: string[] }>();

/** Key word → slot of a schema, and every key word (cached per schema). */
function schemaKeys(schema: Schema): { keyToSlot: Map<string, string>; keys: string[] } {
  let entry = keyCache.get(schema);
  if (!entry) {
    const keyToSlot = new Map<string, string>();
    for (const [slot, spec] of Object.entries(schema)) for (const key of spec.keys) keyToSlot.set(key, slot);
    entry = { keyToSlot, keys: [...keyToSlot.keys()] };
    keyCache.set(schema, entry);
  }
  return entry;
}

/**
 * Read `block` against `schema`: unknown keys (with a suggestion), a field set twice (with a note
 * at the first), two keys of one field (`steps` and `epochs`), and each field's values.
 */
export function readBlock<S extends Schema>(block: Block | null, schema: S, title: string, file: string, reporter: Reporter): Fields<S> {
  const out: Record<string, { value: unknown; prop: Property; file: string }> = {};
  if (!block) return out as Fields<S>;
  const { keyToSlot, keys } = schemaKeys(schema);
  const seen: Record<string, Property> = {};
  let cursor: ArgCursor | null = null;
  for (const prop of block.properties) {
    const slot = keyToSlot.get(prop.key.name);
    if (slot === undefined) {
      const hint = placementHint(prop.key.name, schema) || didYouMean(prop.key.name, keys);
      reporter.report("unknownProperty", { block: title, name: prop.key.name, hint: hint || `; expected one of ${quoteList(keys)}` }, file, prop.key);
      continue;
    }
    const first = seen[slot];
    if (first) {
      const note = reporter.note(`first set here`, file, first.key);
      if (first.key.name === prop.key.name) reporter.report("duplicateProperty", { name: prop.key.name }, file, prop.key, [note]);
      else reporter.report("conflictingProperties", { a: first.key.name, b: prop.key.name, hint: "" }, file, prop.key, [note]);
      continue;
    }
    seen[slot] = prop;
    cursor = cursor ? cursor.reset(prop) : new ArgCursor(prop, file, reporter, keys);
    const value = schema[slot]!.read(cursor);
    if (value === undefined) continue;
    cursor.finish();
    out[slot] = { value, prop, file };
  }
  return out as Fields<S>;
}
