// Block schemas of `adapter`, `beam` and `prune` declarations.

import type { StringArg } from "./ast.js";
import { ADALORA_DEFAULTS, ADAPTER_DEFAULTS, BEAM_DEFAULTS, PRUNE_DEFAULTS } from "./defaults.js";
import { describeArg, field, type Amount, type ArgCursor, type Read } from "./fields.js";
import type { BeamImportance, PruneScope } from "./plan.js";

/** A target or exclude selector as written: regexes (`matching "…"`) and names, with their nodes. */
export interface SelectorValue {
  regexes: { value: string; node: StringArg }[];
  names: { value: string; node: StringArg }[];
}

/** Read `"name", "name", matching "regex"` (a list `["a", "b"]` also gives names). */
function readSelector(c: ArgCursor): Read<SelectorValue> | undefined {
  const out: SelectorValue = { regexes: [], names: [] };
  const expected = 'module names in quotes, or matching "regex"';
  if (c.done()) return c.missing(expected);
  while (!c.done()) {
    const matching = c.optionalWord(["matching"]);
    const arg = c.next();
    if (arg === undefined) return c.missing("a regular expression in quotes");
    if (matching) {
      if (arg.kind !== "String") return c.fail("wrongType", { prop: `'${c.label}'`, expected: "a regular expression in quotes", found: describeArg(arg) }, arg);
      out.regexes.push({ value: arg.value, node: arg });
    } else if (arg.kind === "String") {
      out.names.push({ value: arg.value, node: arg });
    } else if (arg.kind === "List" && arg.items.every((i) => i.kind === "String")) {
      for (const item of arg.items) out.names.push({ value: (item as StringArg).value, node: item as StringArg });
    } else {
      return c.fail("wrongType", { prop: `'${c.label}'`, expected, found: describeArg(arg) }, arg);
    }
  }
  return { value: out, node: c.prop };
}

/** A pattern entry: module-path key → number. */
export interface PatternEntry {
  key: { value: string; node: StringArg };
  value: Read<number>;
}

/** Read `"q_proj" 4, "v_proj" 16`. */
function readPattern(c: ArgCursor, integer: boolean): Read<PatternEntry[]> | undefined {
  const entries: PatternEntry[] = [];
  if (c.done()) return c.missing('pairs of a module key in quotes and a number, e.g. "q_proj" 4');
  while (!c.done()) {
    const key = c.string("a module key in quotes");
    if (!key) return undefined;
    const value = integer ? c.int(1, 4096, "a rank") : c.number({ min: 0, max: 1e6, above: true, allowed: "a number above 0" });
    if (!value) return undefined;
    entries.push({ key: { value: key.value, node: key.node as StringArg }, value });
  }
  return { value: entries, node: c.prop };
}

const ranked = (c: ArgCursor) => c.int(1, 4096);

/** What `init` says: the method, and for PiSSA the iterations of the randomized SVD (null: exact). */
export interface InitValue {
  init: "kaiming" | "gaussian" | "pissa";
  niter: number | null;
}

const MAX_NITER = 100;

/** Read `kaiming`, `gaussian`, `pissa`, `pissa niter 4` or PEFT's spelling `pissa_niter_4`. */
function readInit(c: ArgCursor): Read<InitValue> | undefined {
  const first = c.peek();
  const peft = first?.kind === "Word" ? /^pissa_niter_(\d+)$/.exec(first.name) : null;
  if (first && peft) {
    c.next();
    const niter = Number(peft[1]);
    if (niter < 1 || niter > MAX_NITER) return c.fail("outOfRange", { prop: "'init'", allowed: `pissa_niter_N with N from 1 to ${MAX_NITER}`, value: `'${peft[0]}'` }, first);
    return { value: { init: "pissa", niter }, node: first };
  }
  const word = c.word(["kaiming", "gaussian", "pissa"] as const, "an init");
  if (!word) return undefined;
  if (word.value === "pissa" && c.optionalWord(["niter"])) {
    const niter = c.int(1, MAX_NITER, "a number of iterations");
    return niter ? { value: { init: "pissa", niter: niter.value }, node: word.node } : undefined;
  }
  return { value: { init: word.value, niter: null }, node: word.node };
}

/** lora and dora blocks. */
export const LORA_SCHEMA = {
  rank: field(["rank", "r"], "INT", String(ADAPTER_DEFAULTS.r), "rank r of each update B·A", ranked),
  alpha: field(["alpha"], "NUMBER", `${ADAPTER_DEFAULTS.alphaPerRank}·rank`, "scaling numerator (scaling = alpha / r)", (c) => c.number({ min: 0, max: 1e6, above: true, allowed: "a number above 0" })),
  dropout: field(["dropout"], "RATIO", String(ADAPTER_DEFAULTS.dropout), "dropout on the adapter input", (c) => c.ratio(true, "a dropout probability")),
  rslora: field(["rslora"], "[yes | no]", "no", "rank-stabilised scaling alpha / sqrt(r)", (c) => c.flag()),
  init: field(["init"], "kaiming | gaussian | pissa [niter INT]", ADAPTER_DEFAULTS.init, "initialisation of A (B starts at zero); PiSSA with `niter N` (or PEFT's `pissa_niter_N`): randomized SVD, N iterations", readInit),
  target: field(["target"], 'STRING, … | matching "REGEX"', "the query and value projections", "modules that get an adapter", readSelector),
  exclude: field(["exclude"], 'STRING, … | matching "REGEX"', "none", "modules never adapted (wins over target)", readSelector),
  rankPattern: field(["rank_pattern"], 'STRING INT, …', "none", "rank per module-path suffix", (c) => readPattern(c, true)),
  alphaPattern: field(["alpha_pattern"], 'STRING NUMBER, …', "none", "alpha per module-path suffix", (c) => readPattern(c, false)),
};

const beta = (c: ArgCursor) => c.number({ min: 0, max: 1, allowed: "a number from 0 to below 1" });
const steps0 = (c: ArgCursor) => c.int(0, 1e9, "a number of steps");

/** adalora blocks: LoRA fields plus the rank allocator. */
export const ADALORA_SCHEMA = {
  ...LORA_SCHEMA,
  initRank: field(["init_rank"], "INT", String(ADALORA_DEFAULTS.initR), "initial rank per module", ranked),
  targetRank: field(["target_rank"], "INT", String(ADALORA_DEFAULTS.targetR), "target average rank", ranked),
  tinit: field(["tinit"], "INT", String(ADALORA_DEFAULTS.tinit), "warm-up steps without pruning", steps0),
  tfinal: field(["tfinal"], "INT", String(ADALORA_DEFAULTS.tfinal), "final steps with the allocation frozen", steps0),
  deltaT: field(["delta_t"], "INT", String(ADALORA_DEFAULTS.deltaT), "steps between reallocations", (c) => c.int(1, 1e9, "a number of steps")),
  beta1: field(["beta1"], "NUMBER", String(ADALORA_DEFAULTS.beta1), "EMA of sensitivity", beta),
  beta2: field(["beta2"], "NUMBER", String(ADALORA_DEFAULTS.beta2), "EMA of uncertainty", beta),
  orthReg: field(["orth_reg"], "NUMBER", String(ADALORA_DEFAULTS.orthRegWeight), "orthogonality coefficient", (c) => c.number({ min: 0, max: 1e3, allowed: "a number from 0 to 1000" })),
};

/** What `top_p` says. */
export interface TopPValue {
  start: Read<number>;
  end: Read<number> | null;
  schedule: Read<"cosine" | "linear" | "constant"> | null;
  until: Read<Amount> | null;
}

/** Read `0.95 -> 1.0 cosine until 66%` (each part after the first is optional). */
function readTopP(c: ArgCursor): Read<TopPValue> | undefined {
  const first = c.peek();
  let start: Read<number> | undefined;
  let end: Read<number> | null = null;
  if (first?.kind === "Range" && first.op === "->") {
    c.next();
    start = c.ratioOf(first.from, false, "a threshold");
    const to = c.ratioOf(first.to, false, "a threshold");
    if (!start || !to) return undefined;
    end = to;
  } else {
    start = c.ratio(false, "a threshold");
    if (!start) return undefined;
  }
  const schedule = c.optionalWord(["cosine", "linear", "constant"] as const) ?? null;
  let until: Read<Amount> | null = null;
  if (c.optionalWord(["until"])) {
    until = c.amount(1) ?? null;
    if (!until) return undefined;
  }
  return { value: { start, end, schedule, until }, node: c.prop };
}

/** Read `2 per module` or `half`. */
function readCap(c: ArgCursor): Read<"half" | number> | undefined {
  const half = c.optionalWord(["half"]);
  const cap = half ?? c.int(1, 4096, "a number of ranks");
  if (cap && c.optionalWord(["per"])) c.optionalWord(["module"]);
  return cap;
}

/** What `importance` says: a criterion and how often to record it. */
export interface ImportanceValue {
  criterion: Read<BeamImportance> | null;
  every: Read<Amount> | null;
}

function readImportance(c: ArgCursor): Read<ImportanceValue> | undefined {
  let criterion: Read<BeamImportance> | null = null;
  const head = c.peek();
  if (head?.kind === "Word" && head.name !== "every") {
    criterion = c.word(["gate", "first_order", "activation"] as const, "an importance criterion") ?? null;
    if (!criterion) return undefined;
  }
  let every: Read<Amount> | null = null;
  if (c.optionalWord(["every"])) {
    every = c.amount(0) ?? null;
    if (!every) return undefined;
  }
  if (!criterion && !every) return c.missing("a criterion (gate, first_order, activation) and/or 'every N steps'");
  return { value: { criterion, every }, node: c.prop };
}

/** beam blocks (BeamLoRA constraints). */
export const BEAM_SCHEMA = {
  temperature: field(["temperature", "tau"], "NUMBER | auto", "auto (0.05, or 0.03 when lr < 1e-4)", "softmax temperature of the rank gates", (c) => c.optionalWord(["auto"]) ?? c.number({ min: 0, max: 10, above: true, allowed: "a number above 0, at most 10" })),
  every: field(["every", "period"], "STEPS | RATIO", "steps/12, even, at least 2", "prune-and-expand period T", (c) => c.amount(1)),
  snapshot: field(["snapshot"], "STEPS", "half the period", "steps after each period start at which a snapshot is taken", (c) => c.amount(1, false)),
  topP: field(["top_p"], "RATIO [-> RATIO] [cosine | linear | constant] [until STEPS | RATIO]", `${BEAM_DEFAULTS.topPStart} -> ${BEAM_DEFAULTS.topPEnd} ${BEAM_DEFAULTS.schedule} until 2/3 of training`, "dynamic top-p threshold", readTopP),
  cap: field(["cap"], "INT [per module] | half", "half", "most ranks pruned per module at one step", readCap),
  importance: field(["importance"], "[gate | first_order | activation] [every STEPS]", `${BEAM_DEFAULTS.importance} every half period`, "rank importance criterion and how often it is recorded", readImportance),
};

/** Read a ratio and an optional scope: `33% per layer`, `50% global`. */
function readScoped(c: ArgCursor): Read<{ ratio: Read<number>; scope: Read<PruneScope> | null }> | undefined {
  const ratio = c.ratio(true, "a share to remove");
  if (!ratio) return undefined;
  c.optionalWord(["per"]);
  const scope = c.optionalWord(["layer", "global"] as const) ?? null;
  return { value: { ratio, scope }, node: ratio.node };
}

/** prune blocks (Light-PEFT schedules). */
export const PRUNE_SCHEMA = {
  estimate: field(["estimate"], "STEPS | RATIO", `${PRUNE_DEFAULTS.estimateFraction * 100}% of training`, "length of the estimation window", (c) => c.amount(1)),
  heads: field(["heads"], "RATIO [per layer | global]", `${PRUNE_DEFAULTS.heads.ratio} per layer`, "attention heads removed", readScoped),
  neurons: field(["neurons"], "RATIO [per layer | global]", `${PRUNE_DEFAULTS.neurons.ratio} global`, "FFN neurons removed", readScoped),
  l1: field(["l1"], "NUMBER", String(PRUNE_DEFAULTS.l1), "L1 coefficient on the masks", (c) => c.number({ min: 0, max: 1, allowed: "a number from 0 to 1" })),
  maskLr: field(["mask_lr"], "NUMBER", String(PRUNE_DEFAULTS.maskLrFactor), "mask learning rate as a multiple of the run's", (c) => c.number({ min: 0, max: 1e4, above: true, allowed: "a factor above 0" })),
  modules: field(["modules"], "RATIO", String(PRUNE_DEFAULTS.moduleRatio), "adapter modules removed", (c) => c.ratio(true, "a share to remove")),
  ranks: field(["ranks"], "RATIO [per layer | global]", `${PRUNE_DEFAULTS.rankRatio} global`, "ranks removed among surviving modules", readScoped),
};
