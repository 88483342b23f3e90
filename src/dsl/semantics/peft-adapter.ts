// Existing adapters: `adapter old = peft "path/to/adapter"`. The folder's adapter_config.json gives
// the adapter's method, rank, alpha, dropout, targets and patterns (the plan records them and the
// folder); the runtime attaches the folder's weights. Checks: the folder and its config can be read,
// the config is a LoRA or AdaLoRA one, and its target modules belong to the family of every run's
// model (a diagnostic on the declaration).

import type * as Ast from "../ast.js";
import { ADAPTER_DEFAULTS } from "../defaults.js";
import { planPath } from "../paths.js";
import type { AdapterSpec, ModelFamily, Selector } from "../plan.js";
import type { Analysis } from "./analysis.js";

/** Module names (last path segment) each family's linear layers have. */
const FAMILY_MODULES: Record<ModelFamily, readonly string[]> = {
  llama: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
  gpt2: ["c_attn", "c_proj", "c_fc"],
  bert: ["query", "key", "value", "dense"],
};

const FAMILY_NAMES: Record<ModelFamily, string> = { llama: "Llama-style (llama, mistral, qwen2)", gpt2: "GPT-2", bert: "BERT-style (bert, roberta)" };

/** The family of a Hugging Face model_type, or null when peftlab does not know it. */
function familyOfModelType(t: unknown): ModelFamily | null {
  if (t === "gpt2") return "gpt2";
  if (t === "llama" || t === "mistral" || t === "qwen2") return "llama";
  if (t === "bert" || t === "roberta") return "bert";
  return null;
}

export interface PeftAdapterInfo {
  spec: AdapterSpec;
  /** The folder as read (for messages). */
  readPath: string;
  /** target_modules when it is a list (null: a regex or absent). */
  targetList: string[] | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function numberMap(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === "number") out[k] = x;
  return out;
}

function selectorOf(v: unknown): Selector {
  if (typeof v === "string") return { regex: v, names: [] };
  if (Array.isArray(v)) return { regex: null, names: v.filter((x): x is string => typeof x === "string") };
  return { regex: null, names: [] };
}

/** Reads the folder's adapter_config.json into an AdapterSpec; reports why it cannot (null then). */
export function peftAdapter(decl: Ast.AdapterDecl, a: Analysis): PeftAdapterInfo | null {
  if (!decl.path) {
    a.reporter.report("missingValue", { prop: "'peft'", expected: 'the path of a PEFT adapter folder in quotes, e.g. peft "runs/exp/lora/1/adapter"' }, decl.file, decl.method);
    return null;
  }
  if (decl.block) {
    a.reporter.report("extraValue", { found: "a block", prop: "'peft'", hint: ": a peft adapter takes its settings from the folder's adapter_config.json" }, decl.file, decl.block);
  }
  const where = planPath(decl.file, decl.path.value, a.mainFile);
  const fail = (reason: string): null => {
    a.reporter.report("adapterFolder", { path: decl.path!.value, reason }, decl.file, decl.path!);
    return null;
  };
  let cfg: Record<string, unknown> = {};
  if (a.canReadFiles) {
    const text = a.readFile(`${where.read}/adapter_config.json`);
    if (text === null) return fail("it has no readable adapter_config.json (does the folder exist?)");
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!isObject(parsed)) return fail("adapter_config.json is not a JSON object");
      cfg = parsed;
    } catch (e) {
      return fail(`adapter_config.json is not valid JSON (${(e as Error).message})`);
    }
    const type = cfg["peft_type"];
    if (type !== "LORA" && type !== "ADALORA") return fail(`adapter_config.json has peft_type ${JSON.stringify(type ?? null)}; peftlab reads LORA and ADALORA adapters`);
    for (const key of ["r", "lora_alpha"]) {
      if (cfg[key] !== undefined && !(typeof cfg[key] === "number" && (cfg[key] as number) > 0)) return fail(`adapter_config.json: ${key} must be a positive number, got ${JSON.stringify(cfg[key])}`);
    }
  }
  const ada = cfg["peft_type"] === "ADALORA";
  const r = typeof cfg[ada ? "init_r" : "r"] === "number" ? (cfg[ada ? "init_r" : "r"] as number) : ADAPTER_DEFAULTS.r;
  const alpha = typeof cfg["lora_alpha"] === "number" ? (cfg["lora_alpha"] as number) : ADAPTER_DEFAULTS.alphaPerRank * r;
  const num = (k: string, d: number) => (typeof cfg[k] === "number" ? (cfg[k] as number) : d);
  const spec: AdapterSpec = {
    method: ada ? "adalora" : cfg["use_dora"] === true ? "dora" : "lora",
    r, alpha,
    dropout: num("lora_dropout", 0),
    rslora: cfg["use_rslora"] === true,
    init: "kaiming",
    target: selectorOf(cfg["target_modules"]),
    exclude: selectorOf(cfg["exclude_modules"]),
    rankPattern: ada ? {} : numberMap(cfg["rank_pattern"]),
    alphaPattern: ada ? {} : numberMap(cfg["alpha_pattern"]),
    adalora: !ada ? null : {
      initR: r, targetR: num("target_r", r), tinit: num("tinit", 0), tfinal: num("tfinal", 0), deltaT: num("deltaT", 1),
      beta1: num("beta1", 0.85), beta2: num("beta2", 0.85), orthRegWeight: num("orth_reg_weight", 0.5),
    },
    from: where.record,
  };
  const list = Array.isArray(cfg["target_modules"]) ? (cfg["target_modules"] as unknown[]).filter((x): x is string => typeof x === "string") : null;
  return { spec, readPath: where.read, targetList: list };
}

/** The family of a model declaration, when the compiler can tell (an hf folder: its config.json). */
export function familyOfModel(decl: Ast.ModelDecl, a: Analysis): ModelFamily | null {
  const info = a.models.get(decl);
  if (!info) return null;
  const spec = info.spec;
  if (spec.kind === "builtin" || spec.kind === "default") return spec.family;
  if (!a.canReadFiles || !info.readPath) return null;
  const text = a.readFile(`${info.readPath}/config.json`);
  if (text === null) return null;
  try {
    return familyOfModelType((JSON.parse(text) as { model_type?: unknown }).model_type);
  } catch {
    return null;
  }
}

/**
 * The families whose modules the adapter's target list names, when it names any module of a known
 * family (null: cannot tell, e.g. a regex or names peftlab does not know).
 */
export function targetFamilies(targets: string[] | null): { families: ModelFamily[]; modules: string[] } | null {
  if (!targets || targets.length === 0) return null;
  const last = targets.map((t) => t.split(".").at(-1)!);
  const families = (Object.keys(FAMILY_MODULES) as ModelFamily[]).filter((f) => last.some((m) => FAMILY_MODULES[f].includes(m)));
  if (families.length === 0) return null;
  return { families, modules: [...new Set(last)] };
}

export function familyName(f: ModelFamily): string {
  return FAMILY_NAMES[f];
}
