// Adapters: `adapter NAME = lora | dora | adalora { … }`, or `adapter NAME = peft "folder"` (./peft-adapter.ts).

import type * as Ast from "../ast.js";
import { ADALORA_DEFAULTS, ADAPTER_DEFAULTS } from "../defaults.js";
import { readBlock, type Fields } from "../fields.js";
import { regexError } from "../../peft/targets.js";
import type { AdapterMethod, AdapterSpec, ModelFamily, Selector } from "../plan.js";
import { ADALORA_SCHEMA, LORA_SCHEMA, type PatternEntry, type SelectorValue } from "../schema-adapters.js";
import { didYouMean, quoteList } from "../suggest.js";
import { familyName, familyOfModel, peftAdapter, targetFamilies, type PeftAdapterInfo } from "./peft-adapter.js";
import type { Analysis } from "./analysis.js";
import { defineCheck } from "./registry.js";

const METHODS: AdapterMethod[] = ["lora", "dora", "adalora"];
/** The form of an existing adapter folder. */
const PEFT_FORM = "peft";

const peftInfos = new WeakMap<Ast.AdapterDecl, PeftAdapterInfo>();

/** A selector value as the plan holds it: several regexes become one alternation. */
export function toSelector(value: SelectorValue | undefined): Selector {
  if (!value) return { regex: null, names: [] };
  const regexes = value.regexes.map((r) => r.value);
  const regex = regexes.length === 0 ? null : regexes.length === 1 ? regexes[0]! : regexes.map((r) => `(?:${r})`).join("|");
  return { regex, names: [...new Set(value.names.map((n) => n.value))] };
}

function toPattern(entries: PatternEntry[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of entries ?? []) out[entry.key.value] = entry.value.value;
  return out;
}

defineCheck("interpret", "AdapterDecl", "adapter-method", (decl, a) => {
  const method = decl.method.name as AdapterMethod;
  if (decl.method.name === PEFT_FORM) {
    const info = peftAdapter(decl, a);
    if (!info) return;
    peftInfos.set(decl, info);
    a.adapters.set(decl, { spec: info.spec, fields: {} });
    return;
  }
  if (!METHODS.includes(method)) {
    const forms = [...METHODS, PEFT_FORM];
    a.reporter.report("unknownKind", { what: "adapter method", name: method, allowed: quoteList(forms), hint: didYouMean(method, forms) }, decl.file, decl.method);
    return;
  }
  if (decl.path) {
    a.reporter.report("extraValue", { found: `string "${decl.path.value}"`, prop: `'${method}'`, hint: ": only 'peft' adapters take a folder path" }, decl.file, decl.path);
  }
  const title = `a ${method} adapter`;
  const f: Fields<typeof ADALORA_SCHEMA> = method === "adalora"
    ? readBlock(decl.block, ADALORA_SCHEMA, title, decl.file, a.reporter)
    : readBlock(decl.block, LORA_SCHEMA, title, decl.file, a.reporter);
  const initR = f.initRank?.value.value ?? ADALORA_DEFAULTS.initR;
  const r = method === "adalora" ? initR : f.rank?.value.value ?? ADAPTER_DEFAULTS.r;
  const spec: AdapterSpec = {
    method,
    r,
    alpha: f.alpha?.value.value ?? ADAPTER_DEFAULTS.alphaPerRank * r,
    dropout: f.dropout?.value.value ?? ADAPTER_DEFAULTS.dropout,
    rslora: f.rslora?.value.value ?? ADAPTER_DEFAULTS.rslora,
    init: f.init?.value.value.init ?? ADAPTER_DEFAULTS.init,
    ...(f.init?.value.value.niter ? { pissaNiter: f.init.value.value.niter } : {}),
    target: f.target ? toSelector(f.target.value.value) : { regex: null, names: [...ADAPTER_DEFAULTS.targetNames] },
    exclude: toSelector(f.exclude?.value.value),
    rankPattern: toPattern(f.rankPattern?.value.value),
    alphaPattern: toPattern(f.alphaPattern?.value.value),
    adalora: method !== "adalora" ? null : {
      initR,
      targetR: f.targetRank?.value.value ?? ADALORA_DEFAULTS.targetR,
      tinit: f.tinit?.value.value ?? ADALORA_DEFAULTS.tinit,
      tfinal: f.tfinal?.value.value ?? ADALORA_DEFAULTS.tfinal,
      deltaT: f.deltaT?.value.value ?? ADALORA_DEFAULTS.deltaT,
      beta1: f.beta1?.value.value ?? ADALORA_DEFAULTS.beta1,
      beta2: f.beta2?.value.value ?? ADALORA_DEFAULTS.beta2,
      orthRegWeight: f.orthReg?.value.value ?? ADALORA_DEFAULTS.orthRegWeight,
    },
  };
  a.adapters.set(decl, { spec, fields: f });
});

defineCheck("interpret", "AdapterDecl", "adapter-regexes", (decl, a) => {
  const f = a.adapters.get(decl)?.fields;
  if (!f) return;
  for (const sel of [f.target, f.exclude]) {
    for (const re of sel?.value.value.regexes ?? []) {
      const reason = regexError(re.value);
      if (reason) a.reporter.report("invalidRegex", { pattern: `"${re.value}"`, reason }, decl.file, re.node);
    }
  }
  for (const pattern of [f.rankPattern, f.alphaPattern]) {
    const seen = new Set<string>();
    for (const entry of pattern?.value.value ?? []) {
      const reason = regexError(`(?:.*\\.)?(?:${entry.key.value})`);
      if (reason) a.reporter.report("invalidRegex", { pattern: `"${entry.key.value}"`, reason }, decl.file, entry.key.node);
      if (seen.has(entry.key.value)) a.reporter.report("duplicateListItem", { name: entry.key.value }, decl.file, entry.key.node);
      seen.add(entry.key.value);
    }
  }
});

defineCheck("validate", "AdapterDecl", "adapter-values", (decl, a) => {
  const info = a.adapters.get(decl);
  if (!info) return;
  const { spec, fields: f } = info;
  if (spec.dropout >= 0.5 && f.dropout) a.reporter.report("highDropout", { value: spec.dropout }, decl.file, f.dropout.value.node);
  if (spec.method !== "adalora") return;
  if (f.rank) a.reporter.report("ignoredProperty", { prop: "'rank'", reason: "on an adalora adapter: it starts at init_rank and shrinks toward target_rank" }, decl.file, f.rank.prop.key);
  const ada = spec.adalora!;
  if (ada.targetR > ada.initR) {
    const at = f.targetRank?.value.node ?? f.initRank?.value.node ?? decl.method;
    a.reporter.report("outOfRange", { prop: "'target_rank'", allowed: `at most init_rank (${ada.initR})`, value: ada.targetR }, decl.file, at);
  }
});

/** Nodes of the selector items a user wrote (for per-item "matches nothing" checks). */
export function targetItems(f: Fields<typeof LORA_SCHEMA>): { text: string; regex: boolean; node: Ast.StringArg }[] {
  const v = f.target?.value.value;
  if (!v) return [];
  return [...v.names.map((n) => ({ text: n.value, regex: false, node: n.node })), ...v.regexes.map((r) => ({ text: r.value, regex: true, node: r.node }))];
}

/**
 * For a `peft` adapter whose target modules belong to other families than `model`'s: those families
 * and modules, and the model's family; else null (a fresh adapter, or nothing to tell).
 */
export function peftFamilyMismatch(decl: Ast.AdapterDecl, model: Ast.ModelDecl, a: Analysis): { families: ModelFamily[]; modules: string[]; family: ModelFamily } | null {
  const targets = targetFamilies(peftInfos.get(decl)?.targetList ?? null);
  if (!targets) return null;
  const family = familyOfModel(model, a);
  if (family === null || targets.families.includes(family)) return null;
  return { ...targets, family };
}

defineCheck("validate", "AdapterDecl", "peft-adapter-family", (decl, a) => {
  for (const run of a.runsUsingAdapter(decl)) {
    const m = peftFamilyMismatch(decl, run.model, a);
    if (!m) continue;
    const targets = m;
    const family = m.family;
    a.reporter.report("adapterFamily", {
      adapter: decl.name.name, modules: quoteList(targets.modules), family: targets.families.map(familyName).join(" or "),
      run: run.decl.name.name, model: run.model.name.name, modelFamily: familyName(family),
    }, decl.file, decl.path ?? decl.method);
  }
});
