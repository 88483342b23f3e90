// The typed AST of a .peft file. Every node carries a half-open span into its file's text;
// statements also carry the path of that file (includes merge statements of several files).

import type { Span } from "./span.js";

/** A word as written: a declared name, a reference, a kind or a property key. */
export interface Ident {
  kind: "Ident";
  name: string;
  span: Span;
}

export interface NumberArg {
  kind: "Number";
  value: number;
  /** The literal as written, e.g. "3e-4". */
  text: string;
  /** `%` written after it, or a unit word (`200 steps`), or none. */
  unit: "%" | "steps" | "epochs" | null;
  span: Span;
}

export interface StringArg {
  kind: "String";
  /** The value with escapes resolved. */
  value: string;
  span: Span;
}

export interface WordArg {
  kind: "Word";
  name: string;
  span: Span;
}

export type ScalarArg = NumberArg | StringArg | WordArg;

export interface ListArg {
  kind: "List";
  items: ScalarArg[];
  span: Span;
}

/** `0.95 -> 1.0` (a schedule) or `1..3` (an inclusive integer range). */
export interface RangeArg {
  kind: "Range";
  op: "->" | "..";
  from: ScalarArg;
  to: ScalarArg;
  span: Span;
}

export type Arg = ScalarArg | ListArg | RangeArg;

/** `key value value …` inside a block. */
export interface Property {
  kind: "Property";
  key: Ident;
  args: Arg[];
  span: Span;
}

export interface Block {
  kind: "Block";
  properties: Property[];
  span: Span;
}

interface StatementBase {
  /** Path of the file the statement was written in. */
  file: string;
  span: Span;
}

export interface ModelDecl extends StatementBase {
  kind: "ModelDecl";
  name: Ident;
  /** decoder, llama, gpt2, encoder, bert, hf, pretrained (checked later). */
  form: Ident;
  path: StringArg | null;
  block: Block | null;
}

export interface DataDecl extends StatementBase {
  kind: "DataDecl";
  name: Ident;
  /** A task name (addition, spam, …) or jsonl. */
  form: Ident;
  path: StringArg | null;
  block: Block | null;
}

export interface AdapterDecl extends StatementBase {
  kind: "AdapterDecl";
  name: Ident;
  /** lora, dora, adalora, or peft (an adapter folder, `path`). */
  method: Ident;
  path: StringArg | null;
  block: Block | null;
}

export interface BeamDecl extends StatementBase {
  kind: "BeamDecl";
  name: Ident;
  adapter: Ident;
  block: Block | null;
}

export interface PruneDecl extends StatementBase {
  kind: "PruneDecl";
  name: Ident;
  block: Block | null;
}

export interface TrainDecl extends StatementBase {
  kind: "TrainDecl";
  /** null for the unnamed block that sets defaults for every run. */
  name: Ident | null;
  block: Block;
}

export interface RunDecl extends StatementBase {
  kind: "RunDecl";
  name: Ident;
  model: Ident;
  /** Adapters, beams and prune schedules after `+`, in order. */
  parts: Ident[];
  data: Ident;
  /** `with fast` */
  train: Ident | null;
  /** `with { … }` overrides */
  overrides: Block | null;
}

export interface CompareDecl extends StatementBase {
  kind: "CompareDecl";
  name: Ident | null;
  runs: Ident[];
  metrics: Ident[];
  plots: Ident[];
}

export interface IncludeDecl extends StatementBase {
  kind: "IncludeDecl";
  path: StringArg;
}

export interface BackendDecl extends StatementBase {
  kind: "BackendDecl";
  value: Ident;
}

export type Statement =
  | ModelDecl | DataDecl | AdapterDecl | BeamDecl | PruneDecl | TrainDecl | RunDecl | CompareDecl | IncludeDecl | BackendDecl;

/** Declarations that bind a name. */
export type NamedDecl = ModelDecl | DataDecl | AdapterDecl | BeamDecl | PruneDecl | TrainDecl | RunDecl | CompareDecl;

export interface Program {
  kind: "Program";
  file: string;
  statements: Statement[];
  span: Span;
}

/** Every AST node. */
export type Node = Program | Statement | Block | Property | Arg | Ident;

/** The `kind` of every AST node. */
export type NodeKind = Node["kind"];

/** Human words for declaration kinds, used in messages ("an adapter"). */
export const DECL_NOUN: Record<NamedDecl["kind"], string> = {
  ModelDecl: "a model",
  DataDecl: "a data set",
  AdapterDecl: "an adapter",
  BeamDecl: "a beam",
  PruneDecl: "a prune schedule",
  TrainDecl: "a train block",
  RunDecl: "a run",
  CompareDecl: "a comparison",
};
