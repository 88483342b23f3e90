// CST → AST: a Chevrotain visitor (checked by validateVisitor) that turns the concrete syntax tree
// into typed nodes with half-open spans. It tolerates trees repaired by error recovery: a missing
// token becomes an empty name at the nearest known position.

import type { CstNode, IToken } from "chevrotain";
import type * as Ast from "./ast.js";
import type * as Cst from "./cst-types.js";
import { Arrow, DotDot, NumberLit, Percent, STATEMENT_KEYWORDS, StringLit, UnterminatedString } from "./lexer.js";
import { parser } from "./parser.js";
import { joinSpans, tokenSpan, type Span } from "./span.js";
import { clip } from "./suggest.js";
import { describeExpected, describeToken, keywordHint } from "./syntax-errors.js";

/** A syntax problem found while building the AST (a misplaced `->`, a number beyond float range). */
export interface BuildProblem {
  id: "unexpectedToken" | "numberTooLarge";
  args: Record<string, string>;
  span: Span;
  /** Tokens between statements (reported unless a parser error on the same line explains them). */
  stray?: boolean;
}

const UNIT_WORDS: Record<string, "steps" | "epochs" | undefined> = { step: "steps", steps: "steps", epoch: "epochs", epochs: "epochs" };

const BaseVisitor = parser.getBaseCstVisitorConstructor();

/** Builds the AST of one file. Create one per file (it records the path and problems). */
export class AstBuilder extends BaseVisitor {
  readonly problems: BuildProblem[] = [];

  constructor(private readonly file: string) {
    super();
    this.validateVisitor();
  }

  /** The `program` rule: every statement, in source order. (The CST groups children by rule,
   *  so statements of each kind are built and then merged by position.) */
  program(ctx: Cst.ProgramCstChildren): Ast.Program {
    const statements: Ast.Statement[] = [];
    const add = <C>(nodes: { children: C }[] | undefined, build: (children: C) => Ast.Statement): void => {
      if (nodes) for (const node of nodes) statements.push(build.call(this, node.children));
    };
    add(ctx.modelDecl, this.modelDecl);
    add(ctx.dataDecl, this.dataDecl);
    add(ctx.adapterDecl, this.adapterDecl);
    add(ctx.beamDecl, this.beamDecl);
    add(ctx.pruneDecl, this.pruneDecl);
    add(ctx.trainDecl, this.trainDecl);
    add(ctx.runDecl, this.runDecl);
    add(ctx.compareDecl, this.compareDecl);
    add(ctx.includeDecl, this.includeDecl);
    add(ctx.backendDecl, this.backendDecl);
    statements.sort((x, y) => x.span.start - y.span.start);
    for (const node of ctx.stray ?? []) this.stray(node.children);
    const span = statements.length === 0 ? { start: 0, end: 0 } : joinSpans(statements[0]!.span, statements[statements.length - 1]!.span);
    return { kind: "Program", file: this.file, statements, span };
  }

  /** Tokens where a statement should start: one problem at the first of them. */
  stray(ctx: Cst.StrayCstChildren): void {
    const first = ctx.Stray?.[0];
    if (!first) return;
    this.problems.push({
      id: "unexpectedToken",
      args: { expected: describeExpected(STATEMENT_KEYWORDS), found: describeToken(first), hint: keywordHint(first, STATEMENT_KEYWORDS) },
      span: tokenSpan(first),
      stray: true,
    });
  }

  modelDecl(ctx: Cst.ModelDeclCstChildren): Ast.ModelDecl {
    const head = spanOf(ctx.Model, 0);
    const name = ident(ctx.name, head.end);
    const form = ident(ctx.kind, name.span.end);
    const path = ctx.path ? this.stringArg(ctx.path[0]!) : null;
    const block = ctx.block ? this.block(ctx.block[0]!.children, head.end) : null;
    return { kind: "ModelDecl", file: this.file, name, form, path, block, span: cover(head, name, form, path, block) };
  }

  dataDecl(ctx: Cst.DataDeclCstChildren): Ast.DataDecl {
    const head = spanOf(ctx.Data, 0);
    const name = ident(ctx.name, head.end);
    const form = ident(ctx.kind, name.span.end);
    const path = ctx.path ? this.stringArg(ctx.path[0]!) : null;
    const block = ctx.block ? this.block(ctx.block[0]!.children, head.end) : null;
    return { kind: "DataDecl", file: this.file, name, form, path, block, span: cover(head, name, form, path, block) };
  }

  adapterDecl(ctx: Cst.AdapterDeclCstChildren): Ast.AdapterDecl {
    const head = spanOf(ctx.Adapter, 0);
    const name = ident(ctx.name, head.end);
    const method = ident(ctx.method, name.span.end);
    const path = ctx.path ? this.stringArg(ctx.path[0]!) : null;
    const block = ctx.block ? this.block(ctx.block[0]!.children, head.end) : null;
    return { kind: "AdapterDecl", file: this.file, name, method, path, block, span: cover(head, name, method, path, block) };
  }

  beamDecl(ctx: Cst.BeamDeclCstChildren): Ast.BeamDecl {
    const head = spanOf(ctx.Beam, 0);
    const name = ident(ctx.name, head.end);
    const adapter = ident(ctx.adapter, name.span.end);
    const block = ctx.block ? this.block(ctx.block[0]!.children, head.end) : null;
    return { kind: "BeamDecl", file: this.file, name, adapter, block, span: cover(head, name, adapter, block) };
  }

  pruneDecl(ctx: Cst.PruneDeclCstChildren): Ast.PruneDecl {
    const head = spanOf(ctx.Prune, 0);
    const name = ident(ctx.name, head.end);
    const block = ctx.block ? this.block(ctx.block[0]!.children, head.end) : null;
    return { kind: "PruneDecl", file: this.file, name, block, span: cover(head, name, block) };
  }

  trainDecl(ctx: Cst.TrainDeclCstChildren): Ast.TrainDecl {
    const head = spanOf(ctx.Train, 0);
    const name = ctx.name ? ident(ctx.name, head.end) : null;
    const block = ctx.block ? this.block(ctx.block[0]!.children, name?.span.end ?? head.end) : emptyBlock(name?.span.end ?? head.end);
    return { kind: "TrainDecl", file: this.file, name, block, span: cover(head, name, block) };
  }

  runDecl(ctx: Cst.RunDeclCstChildren): Ast.RunDecl {
    const head = spanOf(ctx.Run, 0);
    const name = ident(ctx.name, head.end);
    const model = ident(ctx.model, name.span.end);
    const parts = (ctx.parts ?? []).map((t) => ident([t], model.span.end));
    const data = ident(ctx.data, (parts[parts.length - 1] ?? model).span.end);
    const train = ctx.train ? ident(ctx.train, data.span.end) : null;
    const overrides = ctx.block ? this.block(ctx.block[0]!.children, head.end) : null;
    return { kind: "RunDecl", file: this.file, name, model, parts, data, train, overrides, span: cover(head, name, model, ...parts, data, train, overrides) };
  }

  compareDecl(ctx: Cst.CompareDeclCstChildren): Ast.CompareDecl {
    const head = spanOf(ctx.Compare, 0);
    const name = ctx.name ? ident(ctx.name, head.end) : null;
    const runs = (ctx.runs ?? []).map((t) => ident([t], head.end));
    const metrics = (ctx.metrics ?? []).map((t) => ident([t], head.end));
    const plots = (ctx.plots ?? []).map((t) => ident([t], head.end));
    return { kind: "CompareDecl", file: this.file, name, runs, metrics, plots, span: cover(head, name, ...runs, ...metrics, ...plots) };
  }

  includeDecl(ctx: Cst.IncludeDeclCstChildren): Ast.IncludeDecl {
    const head = spanOf(ctx.Include, 0);
    const path = ctx.path ? this.stringArg(ctx.path[0]!) : { kind: "String" as const, value: "", span: { start: head.end, end: head.end } };
    return { kind: "IncludeDecl", file: this.file, path, span: cover(head, path) };
  }

  backendDecl(ctx: Cst.BackendDeclCstChildren): Ast.BackendDecl {
    const head = spanOf(ctx.Backend, 0);
    const token = ctx.value?.[0];
    const value: Ast.Ident = token && (token.tokenType === StringLit || token.tokenType === UnterminatedString)
      ? { kind: "Ident", name: this.stringArg(token).value, span: tokenSpan(token, head.end) }
      : ident(ctx.value, head.end);
    return { kind: "BackendDecl", file: this.file, value, span: cover(head, value) };
  }

  block(ctx: Cst.BlockCstChildren, fallback = 0): Ast.Block {
    const open = spanOf(ctx.LCurly, fallback);
    const properties = (ctx.property ?? []).map((node) => this.property(node.children));
    const last = properties[properties.length - 1];
    const close = ctx.RCurly?.[0] ? tokenSpan(ctx.RCurly[0], last?.span.end ?? open.end) : { start: last?.span.end ?? open.end, end: last?.span.end ?? open.end };
    return { kind: "Block", properties, span: joinSpans(open, close) };
  }

  property(ctx: Cst.PropertyCstChildren): Ast.Property {
    const key = ident(ctx.key, 0);
    const args = this.args(ctx.items ?? [], ctx.list ?? [], key.span.end);
    const last = args[args.length - 1];
    return { kind: "Property", key, args, span: last ? joinSpans(key.span, last.span) : key.span };
  }

  list(ctx: Cst.ListCstChildren, fallback = 0): Ast.ListArg {
    const open = spanOf(ctx.LBracket, fallback);
    const items: Ast.ScalarArg[] = [];
    const tokens = ctx.items ?? [];
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      const withPercent = token.tokenType === NumberLit && tokens[i + 1]?.tokenType === Percent ? tokens[++i] : undefined;
      items.push(this.scalar(token, withPercent));
    }
    const lastEnd = items[items.length - 1]?.span.end ?? open.end;
    const close = ctx.RBracket?.[0] ? tokenSpan(ctx.RBracket[0], lastEnd) : { start: lastEnd, end: lastEnd };
    return { kind: "List", items, span: joinSpans(open, close) };
  }

  /**
   * Turn the flat value tokens of a property (and its lists, by position) into arguments in one
   * pass: `%` joins its number, `a -> b` / `a .. b` become ranges, and a number followed by a
   * unit word (`200 steps`) takes the unit. An operator without a value on each side is reported.
   */
  private args(tokens: IToken[], lists: CstNode[], fallback: number): Ast.Arg[] {
    const out: Ast.Arg[] = [];
    const listArgs = lists.length === 0 ? null : lists.map((node) => this.list((node as Cst.ListCstNode).children, fallback));
    let li = 0;
    let op: Ast.RangeArg["op"] | null = null;
    let opSpan: Span | null = null;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      const span = tokenSpan(token, fallback);
      if (listArgs) while (li < listArgs.length && listArgs[li]!.span.start < span.start) op = this.addArg(out, listArgs[li++]!, op, opSpan);
      const type = token.tokenType;
      if (type === Arrow || type === DotDot) {
        if (op) this.operatorProblem(op, opSpan!, "after");
        const prev = out[out.length - 1];
        op = type === Arrow ? "->" : "..";
        opSpan = span;
        if (!prev || !isScalar(prev)) {
          this.operatorProblem(op, span, "before");
          op = null;
        }
        continue;
      }
      const percent = type === NumberLit && tokens[i + 1]?.tokenType === Percent ? tokens[++i] : undefined;
      op = this.addArg(out, this.scalar(token, percent), op, opSpan);
    }
    if (listArgs) while (li < listArgs.length) op = this.addArg(out, listArgs[li++]!, op, opSpan);
    if (op) this.operatorProblem(op, opSpan!, "after");
    return out;
  }

  /** Append `arg`, closing a pending range or taking a unit word; returns the pending operator (none). */
  private addArg(out: Ast.Arg[], arg: Ast.Arg, op: Ast.RangeArg["op"] | null, opSpan: Span | null): null {
    const prev = out[out.length - 1];
    if (op) {
      if (prev && isScalar(prev) && isScalar(arg)) out[out.length - 1] = { kind: "Range", op, from: prev, to: arg, span: joinSpans(prev.span, arg.span) };
      else this.operatorProblem(op, opSpan!, "after");
      return null;
    }
    if (arg.kind === "Word" && prev?.kind === "Number" && prev.unit === null) {
      const unit = UNIT_WORDS[arg.name];
      if (unit) {
        prev.unit = unit;
        prev.span = joinSpans(prev.span, arg.span);
        return null;
      }
    }
    out.push(arg);
    return null;
  }

  private operatorProblem(op: Ast.RangeArg["op"], span: Span, missing: "before" | "after"): void {
    this.problems.push({ id: "unexpectedToken", args: { expected: `a value ${missing} '${op}'`, found: `'${op}'`, hint: "" }, span });
  }

  private scalar(token: IToken, percent: IToken | undefined): Ast.ScalarArg {
    const span = tokenSpan(token);
    if (token.tokenType === NumberLit) {
      const text = token.image;
      const value = Number(text.indexOf("_") === -1 ? text : text.replace(/_/g, ""));
      if (!Number.isFinite(value)) this.problems.push({ id: "numberTooLarge", args: { text: clip(text) }, span });
      const full = percent ? joinSpans(span, tokenSpan(percent, span.end)) : span;
      return { kind: "Number", value, text, unit: percent ? "%" : null, span: full };
    }
    if (token.tokenType === StringLit || token.tokenType === UnterminatedString) return this.stringArg(token);
    return { kind: "Word", name: token.image, span };
  }

  private stringArg(token: IToken): Ast.StringArg {
    return { kind: "String", value: unquote(token.image, token.tokenType !== UnterminatedString), span: tokenSpan(token) };
  }
}

function isScalar(arg: Ast.Arg): arg is Ast.ScalarArg {
  return arg.kind === "Number" || arg.kind === "String" || arg.kind === "Word";
}

/** The string value of a (possibly unterminated) string literal. Only `\"`, `\\`, `\n` and `\t`
 *  are escapes; any other backslash is kept, so regexes like "attn\.q" need no doubling. */
export function unquote(image: string, closed = true): string {
  const body = image.slice(1, closed ? -1 : undefined);
  return body.replace(/\\(["\\nt])/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : c));
}

/** The span of the first of `tokens`, or an empty span at `fallback` when recovery left none. */
function spanOf(tokens: IToken[] | undefined, fallback: number): Span {
  const token = tokens?.[0];
  return token ? tokenSpan(token, fallback) : { start: fallback, end: fallback };
}

function ident(tokens: IToken[] | undefined, fallback: number): Ast.Ident {
  const token = tokens?.[0];
  if (!token) return { kind: "Ident", name: "", span: { start: fallback, end: fallback } };
  return { kind: "Ident", name: token.image, span: tokenSpan(token, fallback) };
}

function emptyBlock(at: number): Ast.Block {
  return { kind: "Block", properties: [], span: { start: at, end: at } };
}

/** The span from `head` to the end of the last present part. */
function cover(head: Span, ...parts: ({ span: Span } | null)[]): Span {
  let end = head.end;
  for (const part of parts) if (part && part.span.end > end) end = part.span.end;
  return { start: head.start, end };
}
