// The .peft grammar: one Chevrotain CstParser whose rules are class properties.
//
// Statements start with a keyword. Blocks hold comma- or line-separated properties; a property is
// a key followed by the values on the same line (`lr 3e-4 cosine warmup 3%`), and a comma followed
// by a string, number, list or `matching` continues the same property (`target "q_proj", "v_proj"`).

import { CstParser, type TokenType } from "chevrotain";
import {
  ALL_TOKENS, Adapter, Arrow, Backend, Beam, By, Comma, Compare, Data, DotDot, Equals, Include, Key, LBracket, LCurly,
  Identifier, Model, Name, NumberLit, On, Percent, Plot, Plus, Prune, RBracket, RCurly, Run, Stray, StringLit, Train, UnterminatedString, With,
} from "./lexer.js";
import { tokenEnd } from "./span.js";
import { syntaxErrorProvider } from "./syntax-errors.js";

/** Token types that can start a property value: numbers, strings, lists, `->`, `..` and words. */
const VALUE_START = new Set<TokenType>([NumberLit, StringLit, UnterminatedString, LBracket, Arrow, DotDot, ...ALL_TOKENS.filter((t) => (t.CATEGORIES ?? []).includes(Name))]);

/** The .peft parser. Use the shared instance `parser` through `parse` (syntax.ts). */
export class PeftParser extends CstParser {
  constructor() {
    super(ALL_TOKENS, { recoveryEnabled: true, maxLookahead: 3, errorMessageProvider: syntaxErrorProvider });
    this.performSelfAnalysis();
  }

  /** Source text of the current input; line breaks between tokens end a property. */
  public text = "";

  /** The next token is a value on the same line as the previous token. */
  private valueOnSameLine(): boolean {
    const next = this.LA(1);
    if (!VALUE_START.has(next.tokenType)) return false;
    const text = this.text;
    for (let i = tokenEnd(this.LA(0)); i < next.startOffset; i++) if (text.charCodeAt(i) === 10) return false;
    return true;
  }

  /** The next two tokens are a comma and a string, number, list or `matching` (a selector's
   *  regex marker): the same property goes on. Any other word after a comma starts a property. */
  private continuesProperty(): boolean {
    if (this.LA(1).tokenType !== Comma) return false;
    const next = this.LA(2);
    const type = next.tokenType;
    return type === StringLit || type === NumberLit || type === LBracket || type === UnterminatedString || (next.image === "matching" && type === Identifier);
  }

  /** Statements are alternatives of the top-level loop itself (no wrapper rule per statement). */
  public program = this.RULE("program", () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.modelDecl) },
        { ALT: () => this.SUBRULE(this.dataDecl) },
        { ALT: () => this.SUBRULE(this.adapterDecl) },
        { ALT: () => this.SUBRULE(this.beamDecl) },
        { ALT: () => this.SUBRULE(this.pruneDecl) },
        { ALT: () => this.SUBRULE(this.trainDecl) },
        { ALT: () => this.SUBRULE(this.runDecl) },
        { ALT: () => this.SUBRULE(this.compareDecl) },
        { ALT: () => this.SUBRULE(this.includeDecl) },
        { ALT: () => this.SUBRULE(this.backendDecl) },
        { ALT: () => this.SUBRULE(this.stray) },
      ]);
    });
  });

  /** Tokens that cannot start a statement. The grammar accepts them so that parsing goes on with
   *  the next statement; the AST builder reports them ("expected a statement, found …"). */
  public stray = this.RULE("stray", () => {
    this.AT_LEAST_ONE(() => this.CONSUME(Stray));
  });

  /** `model base = decoder { layers 4, width 128 }` or `model mine = hf "path"`. */
  public modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(Model);
    this.CONSUME(Name, { LABEL: "name" });
    this.CONSUME(Equals);
    this.CONSUME(Key, { LABEL: "kind" });
    this.OPTION(() => this.CONSUME(StringLit, { LABEL: "path" }));
    this.OPTION2(() => this.SUBRULE(this.block));
  });

  /** `data arith = addition { digits 3 }` or `data mine = jsonl "file.jsonl" { … }`. */
  public dataDecl = this.RULE("dataDecl", () => {
    this.CONSUME(Data);
    this.CONSUME(Name, { LABEL: "name" });
    this.CONSUME(Equals);
    this.CONSUME(Key, { LABEL: "kind" });
    this.OPTION(() => this.CONSUME(StringLit, { LABEL: "path" }));
    this.OPTION2(() => this.SUBRULE(this.block));
  });

  /** `adapter lora8 = lora { rank 8 }` or `adapter old = peft "path/to/adapter"`. */
  public adapterDecl = this.RULE("adapterDecl", () => {
    this.CONSUME(Adapter);
    this.CONSUME(Name, { LABEL: "name" });
    this.CONSUME(Equals);
    this.CONSUME(Key, { LABEL: "method" });
    this.OPTION(() => this.CONSUME(StringLit, { LABEL: "path" }));
    this.OPTION2(() => this.SUBRULE(this.block));
  });

  /** `beam wide on lora8 { every 200 steps }`. */
  public beamDecl = this.RULE("beamDecl", () => {
    this.CONSUME(Beam);
    this.CONSUME(Name, { LABEL: "name" });
    this.CONSUME(On);
    this.CONSUME2(Name, { LABEL: "adapter" });
    this.OPTION(() => this.SUBRULE(this.block));
  });

  /** `prune light { estimate 10% }`. */
  public pruneDecl = this.RULE("pruneDecl", () => {
    this.CONSUME(Prune);
    this.CONSUME(Name, { LABEL: "name" });
    this.OPTION(() => this.SUBRULE(this.block));
  });

  /** `train { steps 1200 }` (defaults for every run) or `train fast { … }` (named). */
  public trainDecl = this.RULE("trainDecl", () => {
    this.CONSUME(Train);
    this.OPTION(() => this.CONSUME(Name, { LABEL: "name" }));
    this.SUBRULE(this.block);
  });

  /** `run beam = base + lora8 + wide on arith with fast { lr 1e-3 }`. */
  public runDecl = this.RULE("runDecl", () => {
    this.CONSUME(Run);
    this.CONSUME(Name, { LABEL: "name" });
    this.CONSUME(Equals);
    this.CONSUME2(Name, { LABEL: "model" });
    this.MANY(() => {
      this.CONSUME(Plus);
      this.CONSUME3(Name, { LABEL: "parts" });
    });
    this.CONSUME(On);
    this.CONSUME4(Name, { LABEL: "data" });
    this.OPTION(() => {
      this.CONSUME(With);
      this.OR([
        {
          ALT: () => {
            this.CONSUME5(Name, { LABEL: "train" });
            this.OPTION2(() => this.SUBRULE(this.block));
          },
        },
        { ALT: () => this.SUBRULE2(this.block) },
      ]);
    });
  });

  /** `compare main = lora, beam by accuracy, step_time plot loss`. */
  public compareDecl = this.RULE("compareDecl", () => {
    this.CONSUME(Compare);
    this.OPTION(() => {
      this.CONSUME(Name, { LABEL: "name" });
      this.CONSUME(Equals);
    });
    this.CONSUME2(Name, { LABEL: "runs" });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.CONSUME3(Name, { LABEL: "runs" });
    });
    this.OPTION2(() => {
      this.CONSUME(By);
      this.CONSUME(Key, { LABEL: "metrics" });
      this.MANY2(() => {
        this.CONSUME2(Comma);
        this.CONSUME2(Key, { LABEL: "metrics" });
      });
    });
    this.OPTION3(() => {
      this.CONSUME(Plot);
      this.CONSUME3(Key, { LABEL: "plots" });
      this.MANY3(() => {
        this.CONSUME3(Comma);
        this.CONSUME4(Key, { LABEL: "plots" });
      });
    });
  });

  /** `include "common.peft"`. */
  public includeDecl = this.RULE("includeDecl", () => {
    this.CONSUME(Include);
    this.CONSUME(StringLit, { LABEL: "path" });
  });

  /** `backend wasm` or `backend "wasm"`. */
  public backendDecl = this.RULE("backendDecl", () => {
    this.CONSUME(Backend);
    this.OR([
      { ALT: () => this.CONSUME(StringLit, { LABEL: "value" }) },
      { ALT: () => this.CONSUME(Key, { LABEL: "value" }) },
    ]);
  });

  /** `{ property, property … }`: commas or line breaks separate properties. */
  public block = this.RULE("block", () => {
    this.CONSUME(LCurly);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.property) },
        { ALT: () => this.CONSUME(Comma) },
      ]);
    });
    this.CONSUME(RCurly);
  });

  /** `key value value …` on one line; `, value …` goes on with the same property. The values
   *  are kept as one flat token sequence (the AST builder pairs `%`, `->` and `..` with numbers). */
  public property = this.RULE("property", () => {
    this.CONSUME(Key, { LABEL: "key" });
    this.MANY({
      GATE: () => this.valueOnSameLine() || this.continuesProperty(),
      DEF: () => {
        this.OPTION(() => this.CONSUME(Comma));
        this.OR([
          {
            ALT: () => {
              this.CONSUME(NumberLit, { LABEL: "items" });
              this.OPTION2(() => this.CONSUME(Percent, { LABEL: "items" }));
            },
          },
          { ALT: () => this.CONSUME(StringLit, { LABEL: "items" }) },
          { ALT: () => this.CONSUME(Name, { LABEL: "items" }) },
          { ALT: () => this.CONSUME(Arrow, { LABEL: "items" }) },
          { ALT: () => this.CONSUME(DotDot, { LABEL: "items" }) },
          { ALT: () => this.SUBRULE(this.list) },
        ]);
      },
    });
  });

  /** `[value, value …]`. */
  public list = this.RULE("list", () => {
    this.CONSUME(LBracket);
    this.MANY_SEP({
      SEP: Comma,
      DEF: () => {
        this.OR([
          {
            ALT: () => {
              this.CONSUME(NumberLit, { LABEL: "items" });
              this.OPTION(() => this.CONSUME(Percent, { LABEL: "items" }));
            },
          },
          { ALT: () => this.CONSUME(StringLit, { LABEL: "items" }) },
          { ALT: () => this.CONSUME(Name, { LABEL: "items" }) },
        ]);
      },
    });
    this.CONSUME(RBracket);
  });
}

/** The shared parser instance (building one runs the grammar analysis, which is slow). */
export const parser = new PeftParser();

