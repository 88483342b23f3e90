// Looking at an exported adapter folder in a cell: adapter_config.json and the tensors of
// adapter_model.safetensors (names, shapes, dtypes — read from the header, no weights loaded).

import * as fs from "node:fs";
import * as path from "node:path";
import { SafetensorsFile } from "../runtime/io/safetensors.js";
import { fmtBytes } from "../viz/format.js";
import { escapeHtml as e } from "../viz/html.js";
import type { DisplayChannel } from "./channel.js";
import { showHtml } from "./show.js";
import { channel } from "./session.js";

/** What an adapter folder holds. */
export interface AdapterDescription {
  dir: string;
  /** adapter_config.json as written. */
  config: Record<string, unknown>;
  files: { name: string; bytes: number }[];
  tensors: { name: string; dtype: string; shape: number[] }[];
}

/** Reads an adapter folder's config and tensor list. Throws naming the file when it is not one. */
export function describeAdapter(dir: string): AdapterDescription {
  const cfgFile = path.join(dir, "adapter_config.json");
  if (!fs.existsSync(cfgFile)) throw new Error(`describeAdapter: ${cfgFile} does not exist (not a PEFT adapter folder)`);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(fs.readFileSync(cfgFile, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`describeAdapter: ${cfgFile} is not valid JSON (${(err as Error).message})`);
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) throw new Error(`describeAdapter: ${cfgFile} must hold a JSON object, got ${JSON.stringify(config).slice(0, 40)}`);
  const files = fs.readdirSync(dir).sort().map((name) => ({ name, bytes: fs.statSync(path.join(dir, name)).size }));
  const st = SafetensorsFile.open(path.join(dir, "adapter_model.safetensors"));
  try {
    const tensors = st.names().map((name) => {
      const info = st.info(name);
      return { name, dtype: info.dtype, shape: info.shape };
    });
    return { dir, config, files, tensors };
  } finally {
    st.close();
  }
}

/** `dir` relative to the working directory (the notebook's) when it lies inside it. */
function shownPath(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : dir;
}

/** An adapter description as html: files, the main config fields, and the tensors. */
export function adapterHtml(a: AdapterDescription, maxTensors = 12): string {
  const keys = ["peft_type", "task_type", "base_model_name_or_path", "r", "lora_alpha", "use_rslora", "target_modules", "rank_pattern", "modules_to_save"];
  const cfg = keys.filter((k) => a.config[k] !== undefined && a.config[k] !== null).map((k) =>
    `<tr><td style="padding:1px 10px;color:#6b7280">${e(k)}</td><td style="padding:1px 10px;font-family:monospace">${e(JSON.stringify(a.config[k]))}</td></tr>`);
  const tensors = a.tensors.slice(0, maxTensors).map((t) => `${t.name}  ${t.dtype} [${t.shape.join(", ")}]`);
  const more = a.tensors.length > maxTensors ? `\n… and ${a.tensors.length - maxTensors} more` : "";
  return `<div style="font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:13px">` +
    `<div><b>${e(shownPath(a.dir))}</b>: ${a.files.map((f) => `${e(f.name)} (${e(fmtBytes(f.bytes))})`).join(", ")}</div>` +
    `<table style="border-collapse:collapse;margin:4px 0">${cfg.join("")}</table>` +
    `<pre style="font-size:12px;margin:4px 0">${e(tensors.join("\n") + more)}</pre></div>`;
}

/** Shows an adapter folder (or, when it cannot be read, why). Use describeAdapter for the data. */
export function showAdapter(dir: string, target: DisplayChannel = channel()): void {
  try {
    const a = describeAdapter(dir);
    showHtml(adapterHtml(a), `${shownPath(a.dir)}: ${a.tensors.length} tensors, r=${String(a.config.r)}`, target);
  } catch (err) {
    const message = (err as Error).message;
    showHtml(`<div style="color:#b91c1c">✗ ${e(message)}</div>`, message, target);
  }
}
