// The state shared by the semantic phases: the symbol table and what each declaration means.
// Phases fill it in order (declare → interpret → link → validate); compile reads it.

import type * as Ast from "../ast.js";
import { DECL_NOUN } from "../ast.js";
import type { Fields } from "../fields.js";
import type { AdapterSpec, BeamSpec, DataSpec, ModelSpec, PruneSpec, TrainSpec } from "../plan.js";
import type { Reporter, Spanned } from "../reporter.js";
import type { ADALORA_SCHEMA, BEAM_SCHEMA, PRUNE_SCHEMA } from "../schema-adapters.js";
import type { LLAMA_MODEL_SCHEMA } from "../schema-models.js";
import type { TRAIN_SCHEMA } from "../schema-train.js";
import { didYouMean } from "../suggest.js";

/** Reads a file relative to nothing (paths are already resolved); null when it cannot be read. */
export type ReadFile = (path: string) => string | null;

export interface ModelInfo {
  spec: ModelSpec;
  /** What a built-in model's block said (empty for other kinds). */
  fields: Fields<typeof LLAMA_MODEL_SCHEMA>;
  /** An hf folder as the compiler reads it (the plan records it relative to the main file). */
  readPath?: string;
}

export interface DataInfo {
  spec: DataSpec;
  /** The block set `tokenizer` (otherwise it is chosen from the models that use the data). */
  tokenizerSet: boolean;
  format: "generation" | "classification";
  /** Node to point at for problems with the data's size or file. */
  node: Spanned;
}

export interface AdapterInfo {
  spec: AdapterSpec;
  fields: Fields<typeof ADALORA_SCHEMA>;
}

export interface BeamInfo {
  adapter: Ast.AdapterDecl | null;
  fields: Fields<typeof BEAM_SCHEMA>;
}

export interface PruneInfo {
  fields: Fields<typeof PRUNE_SCHEMA>;
}

/** The train fields that apply to a run: global, then named, then `with { … }`, later winning. */
export type TrainFields = Fields<typeof TRAIN_SCHEMA>;

export interface RunInfo {
  decl: Ast.RunDecl;
  model: Ast.ModelDecl;
  adapters: Ast.AdapterDecl[];
  beam: Ast.BeamDecl | null;
  prune: Ast.PruneDecl | null;
  data: Ast.DataDecl;
  trainFields: TrainFields;
  /** Resolved settings; null when they could not be resolved (already reported). */
  train: TrainSpec | null;
  beamSpec: BeamSpec | null;
  pruneSpec: PruneSpec | null;
}

export interface CompareInfo {
  name: string;
  runs: Ast.RunDecl[];
}

/** Options of the semantic phases. */
export interface AnalysisOptions {
  readFile?: ReadFile;
}

/** Everything the phases learn about a program. */
export class Analysis {
  readonly symbols = new Map<string, Ast.NamedDecl>();
  globalTrain: Ast.TrainDecl | null = null;
  backend: Ast.BackendDecl | null = null;
  readonly models = new Map<Ast.ModelDecl, ModelInfo>();
  readonly data = new Map<Ast.DataDecl, DataInfo>();
  readonly adapters = new Map<Ast.AdapterDecl, AdapterInfo>();
  readonly beams = new Map<Ast.BeamDecl, BeamInfo>();
  readonly prunes = new Map<Ast.PruneDecl, PruneInfo>();
  readonly trains = new Map<Ast.TrainDecl, Fields<typeof TRAIN_SCHEMA>>();
  readonly runs = new Map<Ast.RunDecl, RunInfo>();
  readonly compares = new Map<Ast.CompareDecl, CompareInfo>();
  /** Declarations some run or comparison refers to. */
  readonly used = new Set<Ast.NamedDecl>();
  /** Names given to comparisons so far (unnamed ones get `a_vs_b`, made unique). */
  readonly compareNames = new Set<string>();
  private readonly fileCache = new Map<string, string | null>();
  private readonly namesByKinds = new Map<string, string[]>();
  private byAdapter: Map<Ast.AdapterDecl, RunInfo[]> | null = null;
  private byData: Map<Ast.DataDecl, RunInfo[]> | null = null;
  private mainRuns: boolean | null = null;

  constructor(
    readonly statements: readonly Ast.Statement[],
    readonly mainFile: string,
    readonly reporter: Reporter,
    readonly options: AnalysisOptions = {},
  ) {}

  /** Read a file through the injected reader (cached); null when absent or unreadable. */
  readFile(path: string): string | null {
    if (!this.options.readFile) return null;
    if (!this.fileCache.has(path)) {
      let text: string | null;
      try {
        text = this.options.readFile(path);
      } catch {
        text = null;
      }
      this.fileCache.set(path, text);
    }
    return this.fileCache.get(path)!;
  }

  /** Whether a file reader was given (without one, file checks are skipped or reported). */
  get canReadFiles(): boolean {
    return this.options.readFile !== undefined;
  }

  /**
   * Look up `ref` expecting a declaration of `kind`; reports an undeclared name (with a
   * suggestion among names of that kind) or a name of the wrong kind. Marks the target used.
   */
  lookup<K extends Ast.NamedDecl["kind"]>(ref: Ast.Ident, file: string, kinds: readonly K[], noun: string): Extract<Ast.NamedDecl, { kind: K }> | null {
    const decl = this.symbols.get(ref.name);
    if (!decl) {
      this.reporter.report("undeclaredName", { kind: noun, name: ref.name, hint: didYouMean(ref.name, this.namesOf(kinds)) }, file, ref);
      return null;
    }
    if (!(kinds as readonly string[]).includes(decl.kind)) {
      const note = this.reporter.note(`'${ref.name}' is declared here`, decl.file, decl.name ?? decl);
      this.reporter.report("wrongKindOfName", { name: ref.name, actual: DECL_NOUN[decl.kind], expected: withArticle(noun) }, file, ref, [note]);
      return null;
    }
    this.used.add(decl);
    return decl as Extract<Ast.NamedDecl, { kind: K }>;
  }

  /** Declared names of the given kinds (cached: the symbol table is complete before any lookup,
   *  and a file with 50,000 undeclared references must not rebuild the list 50,000 times). */
  private namesOf(kinds: readonly string[]): string[] {
    const key = kinds.join(",");
    let names = this.namesByKinds.get(key);
    if (!names) {
      names = [...this.symbols.values()].filter((d) => kinds.includes(d.kind)).map((d) => d.name!.name);
      this.namesByKinds.set(key, names);
    }
    return names;
  }

  /** Runs that use `adapter` (valid after the link phase). */
  runsUsingAdapter(adapter: Ast.AdapterDecl): readonly RunInfo[] {
    if (!this.byAdapter) {
      this.byAdapter = new Map();
      for (const run of this.runs.values()) for (const d of run.adapters) this.byAdapter.set(d, [...(this.byAdapter.get(d) ?? []), run]);
    }
    return this.byAdapter.get(adapter) ?? [];
  }

  /** Runs that use `data` (valid after the link phase). */
  runsUsingData(data: Ast.DataDecl): readonly RunInfo[] {
    if (!this.byData) {
      this.byData = new Map();
      for (const run of this.runs.values()) {
        const list = this.byData.get(run.data);
        if (list) list.push(run);
        else this.byData.set(run.data, [run]);
      }
    }
    return this.byData.get(data) ?? [];
  }

  /** Whether the main file declares any run. */
  get mainFileHasRuns(): boolean {
    this.mainRuns ??= this.statements.some((s) => s.kind === "RunDecl" && s.file === this.mainFile);
    return this.mainRuns;
  }

  /** The statements of one kind, in source order. */
  all<K extends Ast.Statement["kind"]>(kind: K): Extract<Ast.Statement, { kind: K }>[] {
    return this.statements.filter((s): s is Extract<Ast.Statement, { kind: K }> => s.kind === kind);
  }
}

/** "a model", "an adapter". */
export function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? "an" : "a"} ${noun}`;
}
