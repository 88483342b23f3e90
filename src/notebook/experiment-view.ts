// How an experiment looks in a cell: the diagnostics (the CLI's text, coloured, in a <pre>) or a
// compact summary of the compiled plan. Inline styles only, so nothing leaks into the page.

import type { Diagnostic } from "../dsl/diagnostics.js";
import type { Plan, RunSpec } from "../dsl/plan.js";
import { capDiagnostics, renderDiagnostic, renderDiagnostics, summarize } from "../dsl/render.js";
import { escapeHtml as e } from "../viz/html.js";
import { fmtLr } from "../viz/format.js";

/** What the views need from an Experiment. */
export interface ExperimentLike {
  readonly plan: Plan | null;
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: ReadonlyMap<string, string>;
  readonly file: string;
  readonly ok: boolean;
}

const COLOURS = { error: "#b91c1c", warning: "#b45309", note: "#1d4ed8", ok: "#047857" } as const;
const BOX = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:13px;line-height:1.45";
const PRE = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;background:#f9fafb;border:1px solid #e5e7eb;border-radius:6px;padding:10px 12px;margin:6px 0;overflow:auto;white-space:pre";

/** One rendered diagnostic with its heading line coloured by severity and note lines in blue. */
function diagnosticHtml(d: Diagnostic, sources: ReadonlyMap<string, string>): string {
  return renderDiagnostic(d, sources)
    .replace(/\n$/, "")
    .split("\n")
    .map((line, i) => {
      const colour = i === 0 ? COLOURS[d.severity === "error" ? "error" : "warning"] : /^\S+: note: /.test(line) ? COLOURS.note : null;
      return colour ? `<span style="color:${colour};font-weight:600">${e(line)}</span>` : e(line);
    })
    .join("\n");
}

function diagnosticsBlock(exp: ExperimentLike): string {
  if (exp.diagnostics.length === 0) return "";
  const { shown, more } = capDiagnostics(exp.diagnostics);
  return `<pre class="peftlab-diagnostics" style="${PRE}">${shown.map((d) => diagnosticHtml(d, exp.sources)).join("\n\n")}${more ? `\n\n${e(more.trimEnd())}` : ""}</pre>`;
}

/** "lora8 + beam beams" — the adapters and plug-ins of a run. */
function methodOf(run: RunSpec): string {
  return [...run.adapters, ...(run.beam ? [`beam ${run.beam}`] : []), ...(run.prune ? [`prune ${run.prune}`] : [])].join(" + ");
}

/** Number of jobs (runs × learning rates × seeds). */
export function jobCount(plan: Plan): number {
  return plan.runs.reduce((n, r) => n + r.train.lrs.length * r.train.seeds.length, 0);
}

function runsTable(plan: Plan): string {
  const th = (s: string, right = false) => `<th style="text-align:${right ? "right" : "left"};padding:3px 10px;border-bottom:1px solid #d1d5db">${s}</th>`;
  const td = (s: string, right = false) => `<td style="text-align:${right ? "right" : "left"};padding:3px 10px;border-bottom:1px solid #f3f4f6">${s}</td>`;
  const rows = plan.runs.map((r) =>
    `<tr>${td(`<b>${e(r.name)}</b>`)}${td(e(r.model))}${td(e(methodOf(r)))}${td(e(r.data))}${td(String(r.train.steps), true)}${td(String(r.train.batch), true)}` +
    `${td(e(r.train.lrs.map(fmtLr).join(", ")), true)}${td(e(r.train.seeds.join(" ")), true)}</tr>`,
  );
  return `<table style="border-collapse:collapse;margin:4px 0">` +
    `<thead><tr>${th("run")}${th("model")}${th("adapters and plug-ins")}${th("data")}${th("steps", true)}${th("batch", true)}${th("lr", true)}${th("seeds", true)}</tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table>`;
}

function comparisonsLine(plan: Plan): string {
  if (plan.comparisons.length === 0) return "";
  const items = plan.comparisons.map((c) =>
    `<b>${e(c.name)}</b>: ${e(c.runs.join(", "))}${c.metrics.length ? ` by ${e(c.metrics.join(", "))}` : ""}${c.plots.length ? ` · plots ${e(c.plots.join(", "))}` : ""}`);
  return `<div style="margin-top:4px">compare ${items.join("; ")}</div>`;
}

/** The html an experiment shows in its cell. */
export function experimentHtml(exp: ExperimentLike): string {
  if (!exp.ok || !exp.plan) {
    return `<div class="peftlab-experiment" style="${BOX}"><div style="color:${COLOURS.error};font-weight:600">✗ ${e(exp.file)}: ${e(summarize(exp.diagnostics))} — not compiled</div>${diagnosticsBlock(exp)}</div>`;
  }
  const plan = exp.plan;
  const warn = exp.diagnostics.length ? ` (${e(summarize(exp.diagnostics))})` : "";
  return `<div class="peftlab-experiment" style="${BOX}">` +
    `<div style="color:${COLOURS.ok};font-weight:600">✓ ${e(exp.file)} compiled: ${plan.runs.length} run${plan.runs.length === 1 ? "" : "s"}, ${jobCount(plan)} jobs (runs × learning rates × seeds), backend ${e(plan.backend)}${warn}</div>` +
    runsTable(plan) + comparisonsLine(plan) + diagnosticsBlock(exp) + `</div>`;
}

/** The plain-text form: the diagnostics as the CLI prints them, or one line per run. */
export function experimentText(exp: ExperimentLike): string {
  const diags = renderDiagnostics(exp.diagnostics, exp.sources);
  if (!exp.ok || !exp.plan) return `${exp.file}: ${summarize(exp.diagnostics)} — not compiled\n${diags}`;
  const runs = exp.plan.runs.map((r) => `  ${r.name} = ${r.model} + ${methodOf(r)} on ${r.data} (${r.train.steps} steps, seeds ${r.train.seeds.join(" ")})`);
  return `${exp.file} compiled: ${exp.plan.runs.length} runs, ${jobCount(exp.plan)} jobs\n${runs.join("\n")}\n${diags}`;
}
