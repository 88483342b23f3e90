// Parser error messages. Chevrotain asks this provider for a message string; we return a small
// JSON record (what was expected, a did-you-mean hint) that syntax.ts turns into a catalogue
// diagnostic, so the wording lives in the catalogue like every other message.

import { EOF, tokenLabel, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain";
import { KEYWORDS, Key, NumberLit, STATEMENT_KEYWORDS, StringLit, UnterminatedString, keywordText } from "./lexer.js";
import { clip, didYouMean, quoteList } from "./suggest.js";

/** What the parser wanted and what it found, carried through Chevrotain's message string. */
export interface SyntaxErrorInfo {
  expected: string;
  hint: string;
}

const STATEMENT_SET = new Set(STATEMENT_KEYWORDS);

/** Describe a set of expected token types in words. */
export function describeExpected(types: TokenType[]): string {
  const unique = [...new Set(types)];
  if (unique.length > 0 && unique.every((t) => STATEMENT_SET.has(t)) && unique.length >= STATEMENT_KEYWORDS.length - 1) {
    return `a statement (${quoteList(STATEMENT_KEYWORDS.map((t) => keywordText(t)!))})`;
  }
  const labels = [...new Set(unique.map((t) => tokenLabel(t)))];
  if (labels.length === 1) return labels[0]!;
  return `one of ${labels.slice(0, -1).join(", ")} or ${labels[labels.length - 1]}`;
}

/** A did-you-mean hint when a word was found where a keyword was expected. */
export function keywordHint(actual: IToken | undefined, expected: TokenType[]): string {
  if (!actual || actual.tokenType === EOF || !/^[A-Za-z_]\w*$/.test(actual.image)) return "";
  const words = expected.map((t) => keywordText(t)).filter((w): w is string => w !== undefined);
  return didYouMean(actual.image, words);
}

/** Thrown out of the parser once a file has more errors than are worth reporting, so that
 *  garbage (10,000 nested brackets) costs bounded time. */
export class ParseAbort extends Error {
  constructor() {
    super("too many syntax errors");
  }
}

/** Parser errors per file before parsing stops (see ParseAbort). */
export const MAX_PARSER_ERRORS = 60;
let errorsInThisParse = 0;

/** Start counting errors for a new parse. */
export function resetErrorBudget(): void {
  errorsInThisParse = 0;
}

function count(): void {
  errorsInThisParse++;
  if (errorsInThisParse > MAX_PARSER_ERRORS) throw new ParseAbort();
}

function encode(expected: TokenType[], actual: IToken | undefined): string {
  const info: SyntaxErrorInfo = { expected: describeExpected(expected), hint: keywordHint(actual, expected) };
  return JSON.stringify(info);
}

/** Read back what `encode` wrote (messages from elsewhere are passed through as `expected`). */
export function decodeSyntaxError(message: string): SyntaxErrorInfo {
  try {
    const parsed = JSON.parse(message) as SyntaxErrorInfo;
    if (typeof parsed.expected === "string" && typeof parsed.hint === "string") return parsed;
  } catch {
    // not ours
  }
  return { expected: message, hint: "" };
}

/** The provider handed to the parser. */
/** What the word after `=` is, per rule, for "expected …" messages. */
const KIND_WORDS: Record<string, string> = {
  modelDecl: "a model kind (decoder, llama, gpt2, encoder, bert, hf or pretrained)",
  dataDecl: "a data kind (addition, subtraction, multiplication, arithmetic, code, sort, reverse, spam or jsonl)",
  adapterDecl: "an adapter method (lora, dora, adalora, or peft \"folder\")",
};

export const syntaxErrorProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual, ruleName }) => {
    count();
    const kind = expected === Key ? KIND_WORDS[ruleName] : undefined;
    return kind ? JSON.stringify({ expected: kind, hint: "" } satisfies SyntaxErrorInfo) : encode([expected], actual);
  },
  // Called from the parser's `finally`: it must not throw.
  buildNotAllInputParsedMessage: ({ firstRedundant }) => encode(STATEMENT_KEYWORDS, firstRedundant),
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual }) => {
    count();
    return encode(expectedPathsPerAlt.flatMap((alt) => alt.map((path) => path[0]!).filter((t) => t !== undefined)), actual[0]);
  },
  buildEarlyExitMessage: ({ expectedIterationPaths, actual }) => {
    count();
    return encode(expectedIterationPaths.map((path) => path[0]!).filter((t) => t !== undefined), actual[0]);
  },
};

const KEYWORD_SET = new Set(KEYWORDS);

/** "'modle'", "number 12", "string \"x\"", "keyword 'run'"; long images are shortened. */
export function describeToken(token: IToken): string {
  if (token.tokenType === EOF) return "end of file";
  const image = clip(token.image);
  if (token.tokenType === NumberLit) return `number ${image}`;
  if (token.tokenType === StringLit || token.tokenType === UnterminatedString) return `string ${image}`;
  if (KEYWORD_SET.has(token.tokenType)) return `keyword '${image}'`;
  return `'${image}'`;
}

