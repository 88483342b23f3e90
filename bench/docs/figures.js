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

const zeroLine = (x = 0, dash = "dot") => ({ type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color: "#6b7280", dash } });

/** A forest plot: one row per comparison, the mean difference and its 95 % interval. */
function forest(title, subtitle, rows, shapes) {
  const layout = baseLayout(title, "difference in test exact match (other − LoRA)", "", {
    subtitle, showlegend: false, height: 150 + 34 * rows.length, margin: { l: 230 },
    yaxis: axis("", { autorange: "reversed" }), shapes,
  });
  return {
    data: [{
      type: "scatter", mode: "markers", x: rows.map((r) => r.d), y: rows.map((r) => r.label), marker: { size: 10, color: rows.map((r) => r.c) },
      error_x: { type: "data", symmetric: false, array: rows.map((r) => (r.ci ? r.ci[1] - r.d : 0)), arrayminus: rows.map((r) => (r.ci ? r.d - r.ci[0] : 0)), color: "#374151", thickness: 1.5, width: 6 },
    }],
    layout,
  };
}

/** BeamLoRA − LoRA per task and rank, with the paper's claimed gain marked. */
export function beamDiffFigure(b) {
  const rows = b.by_task.map((t) => ({ label: `${t.task}, rank ${t.rank} (${t.seeds} seeds)`, d: t.diff, ci: t.ci95, c: METHOD_COLOURS.beamlora }));
  return forest("BeamLoRA − LoRA at equal rank, each at its own chosen lr", `paired by seed; bars: Student-t 95 % interval; dashed: the paper's claimed gain (+${b.claimed_gain})`, rows, [zeroLine(), zeroLine(b.claimed_gain, "dash")]);
}

/** Test exact match of LoRA and BeamLoRA per task and rank (mean ± sd over seeds) and chance. */
export function beamScoresFigure(b) {
  const x = b.by_task.map((t) => `${t.task} r${t.rank}`);
  /** @type {object[]} */
  const data = ["lora", "beamlora"].map((m) => ({
    type: "bar", name: METHOD_NAMES[m], x, y: b.by_task.map((t) => t[m].mean),
    error_y: { type: "data", array: b.by_task.map((t) => t[m].std ?? 0), visible: true, color: "#374151", thickness: 1.2, width: 5 },
    marker: { color: METHOD_COLOURS[m] },
  }));
  data.push({ type: "scatter", mode: "markers", name: "chance (most common answer)", x, y: b.by_task.map((t) => t.chance), marker: { symbol: "line-ew-open", size: 30, color: "#111827", line: { width: 2 } } });
  const layout = baseLayout("Test exact match at each method's validation-chosen learning rate", "task and rank", "test exact match", {
    subtitle: "mean over seeds; error bars ± 1 standard deviation", barmode: "group", height: 380, yaxis: axis("test exact match", { rangemode: "tozero" }),
  });
  return { data, layout };
}

/** Light-PEFT's trade-off: step time ÷ LoRA against the accuracy difference, memory in the labels. */
export function paretoFigure(p) {
  const f = p.frontier.filter((x) => Number.isFinite(x.step_time_ratio) && Number.isFinite(x.accuracy_diff));
  const trace = (pts, name, color) => ({
    type: "scatter", mode: "markers+text", name, x: pts.map((x) => x.step_time_ratio), y: pts.map((x) => x.accuracy_diff),
    text: pts.map((x) => `${x.settings.name} (mem ${x.peak_memory_ratio?.toPrecision(2)}, trainable ${Math.round((x.trainable_vs_lora ?? 0) * 100)} %)`),
    textposition: pts.map((_, i) => (i % 2 ? "bottom center" : "top center")), // neighbours' labels on alternate sides
    marker: { size: 11, color },
    error_y: { type: "data", symmetric: false, array: pts.map((x) => (x.accuracy_ci95 ? x.accuracy_ci95[1] - x.accuracy_diff : 0)), arrayminus: pts.map((x) => (x.accuracy_ci95 ? x.accuracy_diff - x.accuracy_ci95[0] : 0)), color: "#374151", thickness: 1.2, width: 5 },
  });
  const xs = [...f.map((x) => x.step_time_ratio), 1];
  const layout = baseLayout("Light-PEFT trade-off against LoRA: step time and accuracy", "step time ÷ LoRA's after pruning (left = faster)", "test exact match − LoRA's", {
    subtitle: `own validation-chosen lr each; bars: 95 % interval; dashed: the headline, ≥ ${p.headline_target.speedup}× faster; memory ÷ LoRA in the labels`,
    height: 480,
    xaxis: axis("step time ÷ LoRA's after pruning (left = faster)", { range: [Math.min(...xs) - 0.15, Math.max(...xs) + 0.15] }),
    shapes: [zeroLine(p.headline_target.step_time_ratio_at_most, "dash"), { type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: 0, y1: 0, line: { color: "#6b7280", dash: "dot" } }],
  });
  const lora = { type: "scatter", mode: "markers+text", name: "LoRA", x: [1], y: [0], text: ["LoRA"], textposition: "bottom center", marker: { size: 11, symbol: "diamond", color: RUN_COLOURS[0] } };
  return { data: [trace(f.filter((x) => x.pareto), "Pareto set (nothing faster, lighter and more accurate)", RUN_COLOURS[2]), trace(f.filter((x) => !x.pareto), "dominated", "#9ca3af"), lora], layout };
}

/** Every variant − LoRA at rank 8 with the counter-claim's ±2-point band. */
export function baselinesFigure(list, margin = 0.02) {
  const rows = list.map((e, i) => ({ label: `${e.method} (lr ${e.lr})`, d: e.diff, ci: e.ci95, c: RUN_COLOURS[(i + 1) % RUN_COLOURS.length] }));
  return forest("LoRA variants − LoRA at rank 8, each at its own chosen lr", `paired by seed; bars: Student-t 95 % interval; shaded: ±${margin}, the counter-claim's margin`, rows, [
    zeroLine(),
    { type: "rect", xref: "x", yref: "paper", x0: -margin, x1: margin, y0: 0, y1: 1, fillcolor: "#10b981", opacity: 0.12, line: { width: 0 } },
  ]);
}

/** The rank-importance heatmap over time of one cell's representative BeamLoRA job. */
export function heatmapFigure(t) {
  const h = t?.heatmap;
  if (!h || h.importance.length === 0) return null;
  const events = h.importance.map((e) => ({ type: "beam.importance", step: e.step, criterion: h.criterion ?? "gate", modules: e.modules }));
  const prunes = h.prunes.map((e) => ({ type: "beam.prune", ...e }));
  return importanceHeatmap(events, undefined, { prunes, title: `BeamLoRA rank importance over time — ${t.task}, rank ${t.rank}, seed ${h.seed}, lr ${h.lr}, τ ${h.tau}` });
}

/** Every figure of the document, by file stem; missing sections give no figure. */
export function docFigures(doc) {
  const figs = {};
  if (doc.matmul || doc.train_step) figs["speed"] = speedFigure(doc);
  if (doc.profile && !doc.profile.error) figs["profile"] = profileFigure(doc.profile);
  const b = doc.beamlora;
  if (b && !b.error && Array.isArray(b.by_task)) {
    figs["beamlora-scores"] = beamScoresFigure(b);
    figs["beamlora-differences"] = beamDiffFigure(b);
    for (const t of b.by_task) {
      const f = heatmapFigure(t);
      if (f) figs[`beamlora-importance-${t.task}-r${t.rank}`] = f;
    }
  }
  if (doc.lightpeft && !doc.lightpeft.error && Array.isArray(doc.lightpeft.frontier)) figs["lightpeft-pareto"] = paretoFigure(doc.lightpeft);
  if (Array.isArray(doc.baselines) && doc.baselines.length) figs["baselines"] = baselinesFigure(doc.baselines);
  return figs;
}
