// Figures of docs/benchmarks.md, built from a bench JSON document as plain Plotly {data, layout}
// objects with the project's own layout helpers (and its BeamLoRA importance heatmap), so they
// look like the report's. render.js turns them into SVG files.
import { importanceHeatmap } from "../../dist/index.js";
import { axis, baseLayout, RUN_COLOURS } from "../../dist/internal.js";

const METHOD_COLOURS = { lora: RUN_COLOURS[0], beamlora: RUN_COLOURS[1], lightpeft: RUN_COLOURS[2] };
const METHOD_NAMES = { lora: "LoRA", beamlora: "BeamLoRA", lightpeft: "Light-PEFT" };

/** Speed ratios against the same-run baselines (above 1 = faster than the baseline). */
export function speedFigure(doc) {
  const bars = [];
  const add = (label, r) => typeof r === "number" && bars.push({ label, r });
  const mb = doc.matmul?.backend ?? "wasm";
  const tb = doc.train_step?.backend ?? "wasm";
  add(`matmul 1024², ${mb} vs torch (1 thread)`, doc.matmul?.ratio);
  add(`matmul 1024², ${mb} vs torch (all ${doc.matmul?.cores} cores each)`, doc.matmul?.ratio_all_cores);
  if (mb !== "wasm") add("matmul 1024², wasm vs torch (1 thread)", doc.matmul?.ratio_wasm);
  add(`LoRA step, ${tb} vs torch (1 thread)`, doc.train_step?.ratio);
  add(`LoRA step, ${tb} vs torch (all ${doc.train_step?.cores} cores each)`, doc.train_step?.ratio_all_cores);
  if (tb !== "wasm") add("LoRA step, wasm vs torch (1 thread)", doc.train_step?.ratio_wasm);
  add("default-base pretraining, native vs wasm", doc.pretrain?.speedup_vs_wasm);
  const cpu = doc.train_step?.backends?.cpu;
  if (cpu?.available && doc.train_step?.torch_tokens_per_s) add("LoRA step, cpu backend vs torch (1 thread)", cpu.tokens_per_s / doc.train_step.torch_tokens_per_s);
  if (doc.dsl?.lines_per_s) add("DSL compile vs its goal (200k lines/s)", doc.dsl.lines_per_s / doc.dsl.goal);
  const layout = baseLayout("Speed relative to the baseline measured in the same run", "ratio (log scale; above 1 = faster)", "", {
    subtitle: "ours ÷ reference; torch is Debian's python3-torch on the BLAS named in the text",
    height: 120 + 34 * bars.length, showlegend: false, margin: { l: 300 },
    xaxis: axis("ratio (log scale; above 1 = faster)", { type: "log" }),
    yaxis: axis("", { automargin: true, autorange: "reversed" }),
    shapes: [{ type: "line", xref: "x", yref: "paper", x0: 1, x1: 1, y0: 0, y1: 1, line: { color: "#6b7280", dash: "dot" } }],
  });
  return { data: [{ type: "bar", orientation: "h", x: bars.map((b) => b.r), y: bars.map((b) => b.label), marker: { color: bars.map((b) => (b.r >= 1 ? "#009E73" : "#D55E00")) }, text: bars.map((b) => b.r.toPrecision(3)), textposition: "outside" }], layout };
}

/** Share of step time per model part, forward and backward stacked. */
export function profileFigure(p) {
  const rows = p.by_part.filter((r) => r.share >= 0.002);
  const layout = baseLayout(`Where a LoRA training step's time goes (${p.backend})`, "share of step time", "", {
    subtitle: `${p.step_ms} ms per step; ${(p.outside_kernels_share * 100).toFixed(1)} % outside kernels (JavaScript, tape, tensor creation)`,
    height: 140 + 28 * rows.length, barmode: "stack", margin: { l: 190 },
    xaxis: axis("share of step time", { tickformat: ".0%" }),
    yaxis: axis("", { autorange: "reversed" }),
  });
  const trace = (name, key, color) => ({ type: "bar", orientation: "h", name, x: rows.map((r) => r[key]), y: rows.map((r) => r.name), marker: { color } });
  return { data: [trace("forward", "forward_share", "#0072B2"), trace("backward", "backward_share", "#E69F00")], layout };
}

/** Test score per task and method: mean over seeds with ± one standard deviation, and the chance level. */
export function scoresFigure(doc) {
  const tasks = Object.keys(doc.beamlora?.tasks ?? {});
  const score = (task, method) => (method === "lightpeft" ? doc.lightpeft?.tasks?.[task]?.lightpeft : doc.beamlora.tasks[task][method]) ?? {};
  /** @type {object[]} */
  const data = ["lora", "beamlora", "lightpeft"].map((m) => ({
    type: "bar", name: METHOD_NAMES[m], x: tasks, y: tasks.map((t) => score(t, m).mean ?? null),
    error_y: { type: "data", array: tasks.map((t) => score(t, m).std ?? 0), visible: true, color: "#374151", thickness: 1.2, width: 5 },
    marker: { color: METHOD_COLOURS[m] },
  }));
  data.push({ type: "scatter", mode: "markers", name: "chance (most common answer)", x: tasks, y: tasks.map((t) => doc.beamlora.tasks[t].chance), marker: { symbol: "line-ew-open", size: 40, color: "#111827", line: { width: 2 } } });
  const layout = baseLayout("Test score at each method's validation-chosen learning rate", "task", "test exact match / accuracy", {
    subtitle: "mean over seeds; error bars ± 1 standard deviation", barmode: "group", height: 380, yaxis: axis("test exact match / accuracy", { rangemode: "tozero" }),
  });
  return { data, layout };
}

/** Paired differences (method − LoRA) with their 95 % intervals, per task. */
export function diffFigure(doc) {
  const rows = [];
  for (const [task, t] of Object.entries(doc.beamlora?.tasks ?? {})) rows.push({ label: `${task}: BeamLoRA − LoRA`, d: t.paired_diff.mean, ci: t.paired_diff.ci95, c: METHOD_COLOURS.beamlora });
  for (const [task, t] of Object.entries(doc.lightpeft?.tasks ?? {})) rows.push({ label: `${task}: Light-PEFT − LoRA`, d: t.accuracy_diff, ci: t.accuracy_diff_ci95, c: METHOD_COLOURS.lightpeft });
  const layout = baseLayout("Paired test-score differences against LoRA (same seeds)", "difference in test exact match / accuracy", "", {
    subtitle: "mean of per-seed differences; bars: Student-t 95 % interval", showlegend: false, height: 140 + 34 * rows.length, margin: { l: 220 },
    yaxis: axis("", { autorange: "reversed" }),
    shapes: [{ type: "line", xref: "x", yref: "paper", x0: 0, x1: 0, y0: 0, y1: 1, line: { color: "#6b7280", dash: "dot" } }],
  });
  return {
    data: [{
      type: "scatter", mode: "markers", x: rows.map((r) => r.d), y: rows.map((r) => r.label), marker: { size: 10, color: rows.map((r) => r.c) },
      error_x: { type: "data", symmetric: false, array: rows.map((r) => (r.ci ? r.ci[1] - r.d : 0)), arrayminus: rows.map((r) => (r.ci ? r.d - r.ci[0] : 0)), color: "#374151", thickness: 1.5, width: 6 },
    }],
    layout,
  };
}

/** Light-PEFT's costs as a share of LoRA's, per task. */
export function lightFigure(doc) {
  const tasks = Object.keys(doc.lightpeft?.tasks ?? {});
  const measures = [
    ["step_time_ratio", "step time after pruning"],
    ["peak_memory_ratio", "tensor memory after pruning"],
    ["peak_memory_ratio_whole_run", "peak tensor memory, whole run"],
    ["trainable_vs_lora", "trainable parameters"],
    ["foundation_pruned", "foundation parameters removed"],
  ];
  const data = tasks.map((task, i) => ({
    type: "bar", name: task, x: measures.map((m) => m[1]), y: measures.map((m) => doc.lightpeft.tasks[task][m[0]]), marker: { color: RUN_COLOURS[3 + i] },
  }));
  const layout = baseLayout("Light-PEFT relative to plain LoRA", "", "ratio to LoRA (or share)", {
    subtitle: "mean over seeds at each run's chosen learning rate; 1 = same as LoRA; the last group is the share of the foundation removed", barmode: "group", height: 420,
    yaxis: axis("ratio to LoRA (or share)", { rangemode: "tozero" }),
    shapes: [{ type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: 1, y1: 1, line: { color: "#6b7280", dash: "dot" } }],
  });
  return { data, layout };
}

/** The rank-importance heatmap over time of the first task's representative BeamLoRA job. */
export function heatmapFigure(doc, task) {
  const h = doc.beamlora?.tasks?.[task]?.heatmap;
  if (!h || h.importance.length === 0) return null;
  const events = h.importance.map((e) => ({ type: "beam.importance", step: e.step, criterion: h.criterion ?? "gate", modules: e.modules }));
  const prunes = h.prunes.map((e) => ({ type: "beam.prune", ...e }));
  return importanceHeatmap(events, undefined, { prunes, title: `BeamLoRA rank importance over time — ${task}, seed ${h.seed}, lr ${h.lr}` });
}

/** Every figure of the document, by file stem; missing sections give no figure. */
export function docFigures(doc) {
  const figs = {};
  if (doc.matmul || doc.train_step) figs["speed"] = speedFigure(doc);
  if (doc.profile && !doc.profile.error) figs["profile"] = profileFigure(doc.profile);
  if (doc.beamlora && !doc.beamlora.error) {
    figs["scores"] = scoresFigure(doc);
    figs["differences"] = diffFigure(doc);
    for (const task of Object.keys(doc.beamlora.tasks)) {
      const f = heatmapFigure(doc, task);
      if (f) figs[`beamlora-importance-${task}`] = f;
    }
  }
  if (doc.lightpeft && !doc.lightpeft.error) figs["lightpeft"] = lightFigure(doc);
  return figs;
}
