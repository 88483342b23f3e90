// The run folder: its layout, and loading one back. Written by runPlan (src/runtime/run/), whoever
// called it (`peftlab run`, the notebook's run(), train() with a folder):
//   DIR/plan.json  DIR/source.peft  DIR/summary.json  DIR/report.html
//   DIR/<run>/<seed>[-lr<value>]/{config.json, metrics.jsonl, events.jsonl, result.json, predictions.jsonl,
//                                 adapter/, adapter-adalora/, pruned-base/, checkpoint/}
// Loading is tolerant of runs that failed or stopped early: what is missing becomes a `problem`
// the report shows.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Plan } from "../dsl/plan.js";
import type { Prediction, RunEvent, RunResult } from "./events.js";
import { buildSummary, type Summary } from "./summary.js";
import { newRunData, recordEvent, type RunData } from "./run-data.js";

/** Folder name of one run × seed × lr job: `<seed>`, or `<seed>-lr<value>` when the run has an lr grid. */
export function jobFolder(seed: number, lr: number, grid: boolean): string {
  return grid ? `${seed}-lr${lr}` : `${seed}`;
}

/** The file and folder names of a run folder (see the file comment). */
export const RUN_FOLDER = {
  plan: "plan.json",
  source: "source.peft",
  summary: "summary.json",
  report: "report.html",
  lock: ".lock",
  config: "config.json",
  metrics: "metrics.jsonl",
  events: "events.jsonl",
  result: "result.json",
  predictions: "predictions.jsonl",
  adapter: "adapter",
  adaloraAdapter: "adapter-adalora",
  prunedBase: "pruned-base",
  checkpoint: "checkpoint",
} as const;

/** Everything a report is made from. */
export interface ReportInput {
  /** The run directory as given. */
  dir: string;
  plan: Plan | null;
  /** Text of source.peft, when present. */
  source: string | null;
  summary: Summary;
  /** Where `summary` came from. */
  summaryFrom: "summary.json" | "recomputed";
  /** Every run × seed × lr folder, in plan order, then by seed and lr. */
  runs: RunData[];
  /** Problems with the directory as a whole (missing or unreadable files, runs without folders). */
  problems: string[];
}

/** DIR is missing or is not a run directory. */
export class RunDirError extends Error {
  override name = "RunDirError";
}

const SEED_DIR = /^(\d+)(?:-lr(.+))?$/;

function readJson(path: string, problems: string[], what: string): unknown {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    problems.push(`${what}: cannot be read as JSON (${(e as Error).message})`);
    return undefined;
  }
}

function isEvent(v: unknown): v is RunEvent {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string";
}

/** Reads a .jsonl of events into `data`; bad lines become problems (a crashed run may leave half a line). */
function readEvents(path: string, label: string, data: RunData): void {
  if (!existsSync(path)) {
    data.problems.push(`${label} is missing`);
    return;
  }
  readFileSync(path, "utf8").split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      data.problems.push(`${label} line ${i + 1} is not JSON (truncated write?)`);
      return;
    }
    if (isEvent(ev)) recordEvent(data, ev);
    else data.problems.push(`${label} line ${i + 1} is not an event (no "type")`);
  });
}

/** How many predictions of each job the report shows. */
export const PREDICTION_SAMPLE = 5;

function isPrediction(v: unknown): v is Prediction {
  const p = v as Partial<Prediction> | null;
  return typeof p === "object" && p !== null && typeof p.input === "string" && typeof p.target === "string" && typeof p.prediction === "string" && typeof p.correct === "boolean";
}

/** The first PREDICTION_SAMPLE lines of predictions.jsonl and the counts over every line. */
function readPredictions(path: string, data: RunData): void {
  if (!existsSync(path)) return;
  const sample: Prediction[] = [];
  let total = 0;
  let correct = 0;
  readFileSync(path, "utf8").split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let p: unknown;
    try {
      p = JSON.parse(line);
    } catch {
      data.problems.push(`predictions.jsonl line ${i + 1} is not JSON`);
      return;
    }
    if (!isPrediction(p)) {
      data.problems.push(`predictions.jsonl line ${i + 1} lacks input, target, prediction or correct`);
      return;
    }
    total++;
    if (p.correct) correct++;
    if (sample.length < PREDICTION_SAMPLE) sample.push(p);
  });
  data.predictions = sample;
  data.predictionCounts = { total, correct };
}

function isResult(v: unknown): v is RunResult {
  const r = v as Partial<RunResult> | null;
  return typeof r === "object" && r !== null && typeof r.run === "string" && typeof r.seed === "number" && typeof r.lr === "number" && typeof r.metrics === "object";
}

function loadSeed(root: string, runDir: string, seedDir: string, m: RegExpExecArray): RunData {
  const path = join(runDir, seedDir);
  const rel = `${runDir}/${seedDir}`;
  const data = newRunData(runDir, Number(m[1]), m[2] !== undefined && Number.isFinite(Number(m[2])) ? Number(m[2]) : null);
  data.path = rel;
  const full = join(root, path);
  data.config = readJson(join(full, "config.json"), data.problems, `${rel}/config.json`) ?? null;
  if (data.config === null && !existsSync(join(full, "config.json"))) data.problems.push("config.json is missing");
  readEvents(join(full, "metrics.jsonl"), "metrics.jsonl", data);
  readEvents(join(full, "events.jsonl"), "events.jsonl", data);
  readPredictions(join(full, RUN_FOLDER.predictions), data);
  const result = readJson(join(full, "result.json"), data.problems, "result.json");
  if (result === undefined && !existsSync(join(full, "result.json"))) data.problems.push("no result.json: the run did not finish");
  else if (result !== undefined && !isResult(result)) data.problems.push("result.json lacks run, seed, lr or metrics");
  else if (isResult(result)) {
    data.result = result;
    data.run = result.run;
    data.seed = result.seed;
    data.lr = result.lr;
    if (result.status === "failed") data.problems.push(`failed: ${result.error ?? "no error message recorded"}`);
  }
  return data;
}

function subdirs(path: string): string[] {
  return readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name).sort();
}

function checkDir(dir: string): void {
  if (!existsSync(dir)) throw new RunDirError(`${dir} does not exist (expected a run directory written by \`peftlab run\`)`);
  if (!statSync(dir).isDirectory()) throw new RunDirError(`${dir} is a file, not a run directory`);
}

function orderRuns(runs: RunData[], plan: Plan | null): RunData[] {
  const order = new Map((plan?.runs ?? []).map((r, i) => [r.name, i]));
  const rank = (d: RunData) => order.get(d.run) ?? order.size;
  return runs.sort((a, b) => rank(a) - rank(b) || a.run.localeCompare(b.run) || a.seed - b.seed || (a.lr ?? 0) - (b.lr ?? 0));
}

/** Loads a run directory. Throws RunDirError when `dir` is missing or holds no run at all. */
export function loadRunDir(dir: string): ReportInput {
  checkDir(dir);
  const problems: string[] = [];
  const planJson = readJson(join(dir, "plan.json"), problems, "plan.json");
  const plan = planJson && typeof planJson === "object" && Array.isArray((planJson as Plan).runs) ? (planJson as Plan) : null;
  if (planJson !== undefined && !plan) problems.push("plan.json has no `runs` list; ignored");
  if (planJson === undefined && !problems.some((p) => p.startsWith("plan.json"))) problems.push("plan.json is missing: run order and comparisons are unknown");
  const runs: RunData[] = [];
  for (const runDir of subdirs(dir)) {
    for (const seedDir of subdirs(join(dir, runDir))) {
      const m = SEED_DIR.exec(seedDir);
      if (m) runs.push(loadSeed(dir, runDir, seedDir, m));
    }
  }
  const hasSummary = existsSync(join(dir, "summary.json"));
  if (runs.length === 0 && !plan && !hasSummary) {
    const found = readdirSync(dir).slice(0, 12).join(", ") || "nothing";
    throw new RunDirError(`${dir} is not a run directory: expected summary.json, plan.json and <run>/<seed>/ folders, found ${found}`);
  }
  for (const r of plan?.runs ?? []) if (!runs.some((d) => d.run === r.name)) problems.push(`run ${JSON.stringify(r.name)} of the plan has no folder with results`);
  const sourcePath = join(dir, "source.peft");
  const source = existsSync(sourcePath) ? readFileSync(sourcePath, "utf8") : null;
  if (source === null) problems.push("source.peft is missing");
  const { summary, from } = loadSummary(dir, runs, plan, problems);
  return { dir, plan, source, summary, summaryFrom: from, runs: orderRuns(runs, plan), problems };
}

type Check = [field: string, ok: (v: unknown) => boolean, what: string];
const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
const isNumOrNull = (v: unknown) => v === null || typeof v === "number";
const RUN_FIELDS: Check[] = [
  ["run", (v) => typeof v === "string", "a string"],
  ["lr", isNumOrNull, "a number or null"],
  ["seeds", Array.isArray, "a list"],
  ["failed", Array.isArray, "a list"],
  ["metrics", isObject, "an object"],
];
const STAT_FIELDS: Check[] = [
  ["mean", (v) => typeof v === "number", "a number"],
  ["n", (v) => typeof v === "number", "a number"],
  ["std", isNumOrNull, "a number or null"],
];
const COMPARISON_FIELDS: Check[] = [
  ["name", (v) => typeof v === "string", "a string"],
  ["runs", Array.isArray, "a list"],
  ["metrics", Array.isArray, "a list"],
  ["pairs", Array.isArray, "a list"],
];

function checkFields(v: unknown, where: string, fields: Check[]): string | null {
  if (!isObject(v)) return `${where} is not an object`;
  for (const [field, ok, what] of fields) {
    const value = (v as Record<string, unknown>)[field];
    if (value === undefined) return `${where} has no "${field}"`;
    if (!ok(value)) return `${where}.${field} is not ${what}`;
  }
  return null;
}

/**
 * What is structurally wrong with a summary.json, naming the first missing or mistyped field
 * (e.g. `runs[0] has no "failed"`); null when the report can read it.
 */
export function summaryProblem(json: unknown): string | null {
  if (!isObject(json)) return "it is not a JSON object";
  const s = json as Record<string, unknown>;
  if (s.version !== 1) return `"version" is ${JSON.stringify(s.version)}, not 1`;
  if (!Array.isArray(s.runs)) return `"runs" is ${s.runs === undefined ? "missing" : "not a list"}`;
  if (!Array.isArray(s.comparisons)) return `"comparisons" is ${s.comparisons === undefined ? "missing" : "not a list"}`;
  for (const [i, r] of s.runs.entries()) {
    const bad = checkFields(r, `runs[${i}]`, RUN_FIELDS);
    if (bad) return bad;
    for (const [key, stat] of Object.entries((r as { metrics: Record<string, unknown> }).metrics)) {
      const badStat = checkFields(stat, `runs[${i}].metrics.${key}`, STAT_FIELDS);
      if (badStat) return badStat;
    }
  }
  for (const [i, c] of s.comparisons.entries()) {
    const bad = checkFields(c, `comparisons[${i}]`, COMPARISON_FIELDS);
    if (bad) return bad;
  }
  return null;
}

function loadSummary(dir: string, runs: RunData[], plan: Plan | null, problems: string[]): { summary: Summary; from: ReportInput["summaryFrom"] } {
  const json = readJson(join(dir, "summary.json"), problems, "summary.json") as Summary | undefined;
  const problem = json === undefined ? null : summaryProblem(json);
  if (json !== undefined && problem === null) return { summary: json, from: "summary.json" };
  if (json !== undefined) problems.push(`summary.json cannot be used: ${problem}; recomputed from result.json files`);
  else if (!problems.some((p) => p.startsWith("summary.json"))) problems.push("summary.json is missing; recomputed from result.json files");
  const results = runs.flatMap((d) => (d.result ? [d.result] : []));
  const summary = buildSummary(results, { runs: plan?.runs ?? [], comparisons: plan?.comparisons ?? [] });
  return { summary, from: "recomputed" };
}
