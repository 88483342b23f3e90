// Tokens of the .peft language and the lexer.
//
// Keywords come before Identifier and use `longer_alt: Identifier`, so `models` is a name, not
// `model` + `s`. Every keyword also belongs to the `Name` category, so any word may name a
// declaration (`run beam = …` is fine); statement keywords other than `train` are not `Key`s, so a
// forgotten `}` does not swallow the next statement as a property.

import { createToken, Lexer, type IToken, type TokenType } from "chevrotain";

/** Any word usable as a declared name or a reference. */
export const Name = createToken({ name: "Name", pattern: Lexer.NA, label: "a name" });
/** Any word usable as a property key or a word value inside a block. */
export const Key = createToken({ name: "Key", pattern: Lexer.NA, label: "a word" });

/** Any token that cannot start a statement (the parser's `stray` rule collects runs of them). */
export const Stray = createToken({ name: "Stray", pattern: Lexer.NA, label: "a token" });

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "a name", categories: [Name, Key, Stray] });

function keyword(word: string, isKey: boolean): TokenType {
  const name = word[0]!.toUpperCase() + word.slice(1);
  return createToken({ name, pattern: new RegExp(word), label: `'${word}'`, longer_alt: Identifier, categories: isKey ? [Name, Key, Stray] : [Name] });
}

export const Model = keyword("model", false);
export const Data = keyword("data", false);
export const Adapter = keyword("adapter", false);
export const Beam = keyword("beam", false);
export const Prune = keyword("prune", false);
export const Train = createToken({ name: "Train", pattern: /train/, label: "'train'", longer_alt: Identifier, categories: [Name, Key] });
export const Run = keyword("run", false);
export const Compare = keyword("compare", false);
export const Include = keyword("include", false);
export const Backend = keyword("backend", false);
export const On = keyword("on", true);
export const With = keyword("with", true);
export const By = keyword("by", true);
export const Plot = keyword("plot", true);

/** Keywords that start a top-level statement. */
export const STATEMENT_KEYWORDS = [Model, Data, Adapter, Beam, Prune, Train, Run, Compare, Include, Backend];
/** Every keyword, in lexer order. */
export const KEYWORDS = [...STATEMENT_KEYWORDS, On, With, By, Plot];

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\f\v]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: "Comment", pattern: /(?:#|\/\/)[^\n\r]*/, group: Lexer.SKIPPED });

export const StringLit = createToken({ name: "StringLit", pattern: /"(?:[^"\\\r\n]|\\[^\r\n])*"/, label: "a string", categories: [Stray] });
/** A string that reaches the end of its line; the parser accepts it as a string, the lexer reports it. */
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"(?:[^"\\\r\n]|\\[^\r\n])*\\?/, label: "a string", categories: [StringLit, Stray] });
export const Arrow = createToken({ name: "Arrow", pattern: /->/, label: "'->'", categories: [Stray] });
export const NumberLit = createToken({ name: "NumberLit", pattern: /-?(?:\d(?:_?\d)*(?:\.\d(?:_?\d)*)?|\.\d+)(?:[eE][+-]?\d+)?/, label: "a number", categories: [Stray] });
export const DotDot = createToken({ name: "DotDot", pattern: /\.\./, label: "'..'", categories: [Stray] });
export const Percent = createToken({ name: "Percent", pattern: /%/, label: "'%'", categories: [Stray] });
export const LCurly = createToken({ name: "LCurly", pattern: /\{/, label: "'{'", categories: [Stray] });
export const RCurly = createToken({ name: "RCurly", pattern: /\}/, label: "'}'", categories: [Stray] });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/, label: "'['", categories: [Stray] });
export const RBracket = createToken({ name: "RBracket", pattern: /\]/, label: "']'", categories: [Stray] });
export const Comma = createToken({ name: "Comma", pattern: /,/, label: "','", categories: [Stray] });
export const Equals = createToken({ name: "Equals", pattern: /=/, label: "'='", categories: [Stray] });
export const Plus = createToken({ name: "Plus", pattern: /\+/, label: "'+'", categories: [Stray] });

/** All token types in match order. */
export const ALL_TOKENS: TokenType[] = [
  WhiteSpace, Comment, StringLit, UnterminatedString, Arrow, NumberLit, DotDot, Percent,
  LCurly, RCurly, LBracket, RBracket, Comma, Equals, Plus,
  Name, Key, Stray, ...KEYWORDS, Identifier,
];


/** The keyword spelled `word`, if any. */
export function keywordText(token: TokenType): string | undefined {
  return KEYWORDS.includes(token) ? String(token.PATTERN).slice(1, -1) : undefined;
}

const lexer = new Lexer(ALL_TOKENS, { positionTracking: "onlyOffset", ensureOptimizations: true });

/** A lexing error: `length` characters at `offset` start no token. */
export interface LexError {
  offset: number;
  length: number;
}

/** Tokens of `text` and the spans no token matched. */
export interface LexResult {
  tokens: IToken[];
  errors: LexError[];
}

/** Split `text` into tokens. Linear in the text length. */
export function lex(text: string): LexResult {
  const result = lexer.tokenize(text);
  return { tokens: result.tokens, errors: result.errors.map((err) => ({ offset: err.offset, length: err.length })) };
}
