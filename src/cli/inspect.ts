// `peftlab inspect DIR`: what a model or adapter folder holds, from its JSON files and the safetensors
// headers alone (no weights are read): family and sizes, tensors by dtype, parameter counts; for an
// adapter its type, base, targets, ranks and alphas per module.

import * as fs from "node:fs";
import * as path from "node:path";
import { loadHfConfig } from "../runtime/io/hf-config.js";
import { ADAPTER_CONFIG_FILE, ADAPTER_PREFIX, ADAPTER_WEIGHTS_FILE } from "../runtime/io/peft-format.js";
import { openWeights, SafetensorsFile, type TensorSource } from "../runtime/io/safetensors.js";
import { stringOption, withArgs, type ArgsSpec } from "./args.js";
import type { Command } from "./commands.js";

const ARGS: ArgsSpec = {
  synopsis: ["inspect [--format text|json] DIR"],
  description: "Summarises a Hugging Face model folder (config.json + model.safetensors or a sharded index) or a\n"
    + "PEFT adapter folder (adapter_config.json + adapter_model.safetensors): family, sizes, tensor shapes\n"
    + "and dtypes, parameter counts; for an adapter its type, base model, target modules and rank per module.\n"
    + "Only the JSON files and the safetensors headers are read.\n"
    + "Exit status: 0 ok, 1 DIR is neither kind of folder or cannot be read, 2 bad usage.",
  options: {
    format: { type: "string", value: "text|json", help: "how to print the summary", default: "text" },
  },
  examples: ["peftlab inspect models/gpt2", "peftlab inspect --format json runs/exp/lora/1/adapter"],
};

interface TensorRow {
  name: string;
  dtype: string;
  shape: number[];
}

function tensorRows(source: TensorSource): TensorRow[] {
  return source.names().map((name) => {
    const i = source.info(name);
    return { name, dtype: i.dtype, shape: i.shape };
  });
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function byDtype(rows: TensorRow[]): Record<string, { tensors: number; parameters: number }> {
  const out: Record<string, { tensors: number; parameters: number }> = {};
  for (const r of rows) {
    const d = (out[r.dtype] ??= { tensors: 0, parameters: 0 });
    d.tensors++;
    d.parameters += numel(r.shape);
  }
  return out;
}

/** The summary of a model folder. */
export function inspectModel(dir: string): Record<string, unknown> {
  const parsed = loadHfConfig(dir, { head: "auto", labels: "auto" });
  const c = parsed.config;
  const raw = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  const source = openWeights(dir);
  try {
    const rows = tensorRows(source);
    const tokenizer = ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "vocab.txt", "tokenizer.model"].filter((f) => fs.existsSync(path.join(dir, f)));
    return {
      kind: "model", dir, family: c.family, model_type: c.modelType, head: c.head,
      architectures: raw["architectures"] ?? null, torch_dtype: raw["torch_dtype"] ?? null,
      sizes: { layers: c.layers, hidden: c.hidden, heads: c.heads, kv_heads: c.kvHeads, head_dim: c.headDim, intermediate: c.intermediate, vocab: c.vocabSize, context: c.maxPositions, ...(c.head === "classifier" ? { labels: c.numLabels } : {}) },
      tie_embeddings: c.tieEmbeddings,
      weights: path.relative(dir, source.path) || path.basename(source.path),
      tensors: rows.length, parameters: rows.reduce((a, r) => a + numel(r.shape), 0), dtypes: byDtype(rows),
      shapes: Object.fromEntries(rows.map((r) => [r.name, r.shape])),
      tokenizer_files: tokenizer,
      warnings: [...parsed.warnings, ...source.warnings],
    };
  } finally {
    source.close();
  }
}

/** The summary of a PEFT adapter folder: per module its rank (lora_A rows) and its alpha. */
export function inspectAdapter(dir: string): Record<string, unknown> {
  const cfgFile = path.join(dir, ADAPTER_CONFIG_FILE);
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(cfgFile, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${cfgFile}: cannot be read as JSON: ${(e as Error).message}`);
  }
  const file = path.join(dir, ADAPTER_WEIGHTS_FILE);
  if (!fs.existsSync(file)) throw new Error(`${file}: missing (an adapter folder holds ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE})`);
  const f = SafetensorsFile.open(file);
  try {
    const rows = tensorRows(f);
    const modules = new Map<string, { rank: number | null; in: number | null; out: number | null }>();
    for (const r of rows) {
      const m = /^(.*)\.(lora_A|lora_B|lora_E)(?:\.[^.]+)?\.weight$|^(.*)\.(lora_A|lora_B|lora_E)$/.exec(r.name);
      if (!m) continue;
      const mod = (m[1] ?? m[3]!).replace(ADAPTER_PREFIX, "");
      const kind = m[2] ?? m[4]!;
      const e = modules.get(mod) ?? { rank: null, in: null, out: null };
      if (kind === "lora_A") [e.rank, e.in] = [r.shape[0] ?? null, r.shape[1] ?? null];
      if (kind === "lora_B") e.out = r.shape[0] ?? null;
      modules.set(mod, e);
    }
    const ranks = [...modules.values()].map((m) => m.rank).filter((r): r is number => r !== null);
    const saved = rows.filter((r) => !/\.lora_[ABE]/.test(r.name)).map((r) => r.name.replace(ADAPTER_PREFIX, ""));
    return {
      kind: "adapter", dir, peft_type: cfg["peft_type"] ?? null, task_type: cfg["task_type"] ?? null,
      base_model: cfg["base_model_name_or_path"] ?? null, r: cfg["r"] ?? null, lora_alpha: cfg["lora_alpha"] ?? null,
      use_rslora: cfg["use_rslora"] ?? false, use_dora: cfg["use_dora"] ?? false, fan_in_fan_out: cfg["fan_in_fan_out"] ?? false,
      target_modules: cfg["target_modules"] ?? null, rank_pattern: cfg["rank_pattern"] ?? {}, alpha_pattern: cfg["alpha_pattern"] ?? {},
      modules: modules.size, ranks: ranks.length ? { min: Math.min(...ranks), max: Math.max(...ranks) } : null,
      tensors: rows.length, parameters: rows.reduce((a, r) => a + numel(r.shape), 0), dtypes: byDtype(rows),
      per_module: Object.fromEntries([...modules].map(([k, v]) => [k, v])),
      modules_to_save: saved,
    };
  } finally {
    f.close();
  }
}

/** A model or an adapter folder, told apart by its JSON file. */
export function inspectFolder(dir: string): Record<string, unknown> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${dir}: not a folder (it does not exist or is not a directory)`);
  if (fs.existsSync(path.join(dir, ADAPTER_CONFIG_FILE))) return inspectAdapter(dir);
  if (fs.existsSync(path.join(dir, "config.json"))) return inspectModel(dir);
  throw new Error(`${dir}: neither a model folder (config.json) nor an adapter folder (${ADAPTER_CONFIG_FILE})`);
}

const count = (n: number) => n.toLocaleString("en-US");

function dtypeLine(d: Record<string, { tensors: number; parameters: number }>): string {
  return Object.entries(d).map(([k, v]) => `${k} ${count(v.tensors)} tensors, ${count(v.parameters)} parameters`).join("; ");
}

/** The text form of a summary. */
export function renderInspection(s: Record<string, unknown>): string {
  const lines: string[] = [];
  const dtypes = s["dtypes"] as Record<string, { tensors: number; parameters: number }>;
  if (s["kind"] === "model") {
    const z = s["sizes"] as Record<string, number>;
    lines.push(`model folder ${s["dir"]}`);
    lines.push(`  family       ${s["family"]} (model_type ${s["model_type"]}, ${s["head"]} head${s["architectures"] ? `, ${(s["architectures"] as string[]).join(", ")}` : ""})`);
    lines.push(`  sizes        ${Object.entries(z).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    lines.push(`  weights      ${s["weights"]}: ${count(s["tensors"] as number)} tensors, ${count(s["parameters"] as number)} parameters`);
    lines.push(`  dtypes       ${dtypeLine(dtypes)}`);
    lines.push(`  tokenizer    ${(s["tokenizer_files"] as string[]).join(", ") || "none"}`);
    lines.push("  shapes");
    for (const [name, shape] of Object.entries(s["shapes"] as Record<string, number[]>)) lines.push(`    ${name} [${shape.join(", ")}]`);
  } else {
    lines.push(`adapter folder ${s["dir"]}`);
    lines.push(`  type         ${s["peft_type"]}${s["use_dora"] ? " (DoRA)" : ""}${s["use_rslora"] ? " (rsLoRA)" : ""}, task ${s["task_type"]}`);
    lines.push(`  base model   ${s["base_model"] ?? "not named"}`);
    lines.push(`  r, alpha     ${s["r"]}, ${s["lora_alpha"]}${Object.keys(s["rank_pattern"] as object).length ? `; rank_pattern ${JSON.stringify(s["rank_pattern"])}` : ""}${Object.keys(s["alpha_pattern"] as object).length ? `; alpha_pattern ${JSON.stringify(s["alpha_pattern"])}` : ""}`);
    lines.push(`  targets      ${JSON.stringify(s["target_modules"])}`);
    lines.push(`  weights      ${count(s["tensors"] as number)} tensors, ${count(s["parameters"] as number)} parameters; ${dtypeLine(dtypes)}`);
    lines.push(`  modules      ${s["modules"]}${s["ranks"] ? ` (rank ${(s["ranks"] as { min: number; max: number }).min === (s["ranks"] as { max: number }).max ? (s["ranks"] as { min: number }).min : `${(s["ranks"] as { min: number }).min}–${(s["ranks"] as { max: number }).max}`})` : ""}`);
    for (const [name, m] of Object.entries(s["per_module"] as Record<string, { rank: number; in: number; out: number }>)) lines.push(`    ${name} rank ${m.rank} (${m.in} → ${m.out})`);
    if ((s["modules_to_save"] as string[]).length) lines.push(`  also saved   ${(s["modules_to_save"] as string[]).join(", ")}`);
  }
  for (const w of (s["warnings"] as string[] | undefined) ?? []) lines.push(`  warning: ${w}`);
  return `${lines.join("\n")}\n`;
}

export const inspectCommand: Command = {
  name: "inspect",
  summary: "summarise a model or adapter folder (family, shapes, dtypes, targets, ranks, parameters)",
  args: ARGS,
  run: (argv, io) => withArgs("inspect", ARGS, argv, io, ({ values, positionals }, usage) => {
    const format = stringOption(values, "format") ?? "text";
    if (format !== "text" && format !== "json") return usage(`--format must be text or json, not '${format}'`);
    if (positionals.length !== 1) return usage(positionals.length === 0 ? "missing DIR" : `only one DIR is allowed (got ${positionals.join(", ")})`);
    try {
      const s = inspectFolder(positionals[0]!);
      io.stdout(format === "json" ? `${JSON.stringify(s, null, 2)}\n` : renderInspection(s));
      return 0;
    } catch (e) {
      io.stderr(`peftlab inspect: ${(e as Error).message}\n`);
      return 1;
    }
  }),
};
