// The report's reproducibility section: source, resolved plan, seeds, versions, backends,
// data checksums and durations of every run folder.

import { fmtLr, fmtMs } from "./format.js";
import { escapeHtml as e } from "./html.js";
import type { Palette } from "./palette.js";
import { plotlyJsVersion } from "./plotlyjs.js";
import { runCell } from "./report-tables.js";
import type { StartEvent } from "../results/events.js";
import type { RunData } from "../results/run-data.js";
import type { ReportInput } from "../results/run-folder.js";

/** Facts the report looks for in a config.json (whose shape the runtime owns). */
export interface ConfigFacts {
  /** `versions: {name: version}` */
  versions: Record<string, string>;
  /** Every string field named like *checksum* or *sha256*, at the top level or one level down. */
  checksums: Record<string, string>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Extracts versions and checksums from a config.json, whatever else it holds. */
export function configFacts(config: unknown): ConfigFacts {
  const facts: ConfigFacts = { versions: {}, checksums: {} };
  if (!isRecord(config)) return facts;
  if (isRecord(config.versions)) {
    for (const [k, v] of Object.entries(config.versions)) if (typeof v === "string") facts.versions[k] = v;
  }
  const scan = (obj: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === "string" && /checksum|sha256/i.test(k)) facts.checksums[prefix + k] = v;
      else if (depth > 0 && isRecord(v) && k !== "versions") scan(v, `${prefix}${k}.`, depth - 1);
    }
  };
  scan(config, "", 2);
  return facts;
}

function statusBadge(d: RunData): string {
  if (d.result?.status === "finished") return `<span class="badge ok">finished</span>`;
  if (d.result?.status === "failed") return `<span class="badge failed">failed</span>`;
  return `<span class="badge failed">incomplete</span>`;
}

function runRow(d: RunData, palette: Palette): string {
  const backend = d.result?.backend ?? d.events.find((ev): ev is StartEvent => ev.type === "start")?.backend ?? "—";
  const steps = d.result?.steps ?? d.steps.at(-1)?.step ?? null;
  const problems = d.problems.length ? `<ul class="small">${d.problems.map((p) => `<li>${e(p)}</li>`).join("")}</ul>` : "";
  return `<tr><td>${runCell(d.run, palette)}</td><td class="num">${d.seed}</td><td class="num mono">${e(fmtLr(d.lr))}</td>` +
    `<td>${statusBadge(d)}${problems}</td><td>${e(backend)}</td><td class="num">${steps ?? "—"}</td>` +
    `<td class="num">${d.result ? fmtMs(d.result.wallMs) : "—"}</td><td class="mono small">${e(d.path ?? "")}</td></tr>`;
}

/** Merged key → values over all configs ("a; b" when seeds disagree). */
function merged(runs: readonly RunData[], pick: (f: ConfigFacts) => Record<string, string>): [string, string][] {
  const all = new Map<string, Set<string>>();
  for (const d of runs) {
    for (const [k, v] of Object.entries(pick(configFacts(d.config)))) all.set(k, (all.get(k) ?? new Set()).add(v));
  }
  return [...all].sort(([a], [b]) => a.localeCompare(b)).map(([k, vs]) => [k, [...vs].join("; ")]);
}

function kv(pairs: [string, string][], empty: string): string {
  if (pairs.length === 0) return `<p class="muted">${empty}</p>`;
  return `<dl class="kv">${pairs.map(([k, v]) => `<dt>${e(k)}</dt><dd class="mono">${e(v)}</dd>`).join("")}</dl>`;
}

/** The whole reproducibility section body. */
export function reproSection(input: ReportInput, palette: Palette): string {
  const totalMs = input.runs.reduce((s, d) => s + (d.result?.wallMs ?? 0), 0);
  const seeds = [...new Set(input.runs.map((d) => d.seed))].sort((a, b) => a - b);
  const backends = [...new Set(input.runs.map((d) => d.result?.backend).filter((b): b is string => !!b))];
  const src = input.plan?.source;
  const versions = merged(input.runs, (f) => f.versions);
  versions.push(["plotly.js (report)", plotlyJsVersion()], ["node (report)", process.version]);
  const configs = input.runs.filter((d) => d.config !== null);
  return [
    `<dl class="kv">`,
    `<dt>run directory</dt><dd class="mono">${e(input.dir)}</dd>`,
    `<dt>source</dt><dd class="mono">${src ? `${e(src.path)} · sha256 ${e(src.sha256)}` : "—"}</dd>`,
    `<dt>seeds</dt><dd>${e(seeds.join(", ") || "—")}</dd>`,
    `<dt>backend</dt><dd>${e(backends.join(", ") || "—")}${input.plan ? ` <span class="muted">(plan asked for ${e(input.plan.backend)})</span>` : ""}</dd>`,
    `<dt>total run time</dt><dd>${fmtMs(totalMs)} over ${input.runs.length} run folder(s)</dd>`,
    `<dt>summary</dt><dd>${input.summaryFrom === "summary.json" ? "read from summary.json" : "recomputed from result.json files"}</dd>`,
    `</dl>`,
    `<h3>Package versions</h3>`,
    kv(versions, "No versions recorded."),
    `<h3>Data checksums</h3>`,
    kv(merged(input.runs, (f) => f.checksums), "No config.json records a data checksum."),
    `<h3>Run folders</h3>`,
    `<div class="table-wrap"><table><thead><tr><th>run</th><th class="num">seed</th><th class="num">lr</th><th>status</th><th>backend</th><th class="num">steps</th><th class="num">wall time</th><th>folder</th></tr></thead><tbody>`,
    input.runs.map((d) => runRow(d, palette)).join("\n"),
    `</tbody></table></div>`,
    `<h3>Source (.peft)</h3>`,
    input.source === null ? `<p class="muted">source.peft is missing.</p>` : `<pre class="source">${e(input.source)}</pre>`,
    `<h3>Resolved plan</h3>`,
    input.plan ? `<details><summary>plan.json (${input.plan.runs.length} runs)</summary><pre>${e(JSON.stringify(input.plan, null, 2))}</pre></details>` : `<p class="muted">plan.json is missing.</p>`,
    configs.length ? `<h3>Run configs</h3>` + configs.map((d) => `<details><summary>${e(d.path ?? `${d.run}/${d.seed}`)}/config.json</summary><pre>${e(JSON.stringify(d.config, null, 2))}</pre></details>`).join("") : "",
  ].join("\n");
}
