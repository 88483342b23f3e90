import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { describeAdapter } from "../../src/notebook/adapter.js";
import { compileExperiment } from "../../src/notebook/experiment.js";
import { resetPlotlySent } from "../../src/notebook/plotly.js";
import { run, type NotebookRun } from "../../src/notebook/run.js";
import { connect, disconnect } from "../../src/notebook/session.js";
import { figuresFor } from "../../src/notebook/show.js";
import { PLOTLY, plotTitle, RecordingChannel } from "./helpers.js";

const TINY = `
backend cpu
model base = decoder { layers 1, width 32, heads 2, context 16 }
data sums = addition { digits 1, train 64, validation 16, test 16 }
adapter a = lora { rank 4, alpha 8, target "q_proj", "v_proj" }
beam b on a { every 4 steps, snapshot 2 steps, top_p 0.9 constant }
prune p { estimate 4 steps, heads 50% per layer, neurons 25% global, modules 50%, ranks 50% }
train { steps 12, batch 8, lr 3e-3, seeds 1, eval every 50% on 16 examples, log every 1 steps, checkpoint off }
run lora = base + a on sums
run beam = base + a + b on sums
run light = base + a + p on sums
compare methods = lora, beam, light by loss, trainable_params plot loss, importance, masks, params
`;

describe("run(experiment) in a (recorded) notebook cell", () => {
  const rec = new RecordingChannel();
  const exportDir = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-nb-export-"));
  const runFolder = path.join(exportDir, "run-folder");
  let out: NotebookRun;

  beforeAll(async () => {
    resetPlotlySent();
    connect(rec);
    const exp = compileExperiment(TINY, { show: false });
    expect(exp.diagnosticsText()).toBe("");
    out = await run(exp, { refreshMs: 0, exportTo: exportDir, out: runFolder });
  }, 120_000);
  afterAll(() => {
    disconnect();
    fs.rmSync(exportDir, { recursive: true, force: true });
  });

  test("returns every result.json and summary.json", () => {
    expect(out.error).toBeNull();
    expect(out.ok).toBe(true);
    expect(out.backend).toBe("cpu");
    expect(out.results.map((r) => [r.run, r.seed, r.status])).toEqual([["lora", 1, "finished"], ["beam", 1, "finished"], ["light", 1, "finished"]]);
    expect(out.summary.runs.map((r) => r.run)).toEqual(["lora", "beam", "light"]);
    expect(out.summary.comparisons[0]!.name).toBe("methods");
    expect(JSON.parse(JSON.stringify(out.summary))).toEqual(out.summary);
    expect(out.runs.map((d) => d.steps.length)).toEqual([12, 12, 12]);
  });

  test("the progress bar is one output updated in place, ending with every job done", () => {
    const first = rec.messages[0]!;
    expect(String(first.data["text/html"])).toContain("0/3 jobs done");
    const updates = rec.messages.filter((m) => m.displayId === first.displayId);
    expect(updates.length).toBeGreaterThan(6);
    expect(updates.slice(1).every((m) => m.update)).toBe(true);
    const last = String(updates.at(-1)!.data["text/plain"]);
    expect(last.split("\n")).toEqual([
      expect.stringMatching(/^backend: cpu/),
      expect.stringMatching(/^lora seed 1: 12\/12 finished/),
      expect.stringMatching(/^beam seed 1: 12\/12 finished/),
      expect.stringMatching(/^light seed 1: 12\/12 finished/),
    ]);
  });

  test("live charts: loss, eval, importance and masks, each one output updated while training", () => {
    const figureIds = new Map<string, string>();
    for (const m of rec.messages) {
      const title = plotTitle(m.data);
      if (title && m.displayId && !m.update) figureIds.set(title, m.displayId);
    }
    const titles = [...figureIds.keys()];
    for (const want of [/loss/i, /accuracy|exact match|loss/i, /BeamLoRA rank importance — beam/, /Light-PEFT masks during estimation — light/]) {
      expect(titles.some((t) => want.test(t)), `${want} in ${titles.join(" | ")}`).toBe(true);
    }
    const lossId = figureIds.get(titles.find((t) => /training loss/i.test(t)) ?? titles[0]!)!;
    const lossUpdates = rec.messages.filter((m) => m.displayId === lossId && m.update);
    expect(lossUpdates.length).toBeGreaterThan(3);
    for (const m of rec.messages.filter((x) => plotTitle(x.data))) {
      expect(Object.keys(m.data).sort()).toEqual([PLOTLY, "text/html", "text/plain"].sort());
    }
  });

  test("plotly.js is sent once, before the first figure", () => {
    const loaders = rec.messages.filter((m) => String(m.data["text/html"] ?? "").includes("DecompressionStream"));
    expect(loaders).toHaveLength(1);
    const firstFigure = rec.messages.findIndex((m) => plotTitle(m.data));
    expect(rec.messages.indexOf(loaders[0]!)).toBeLessThan(firstFigure);
  });

  test("ends with the summary and the comparison's non-live plots", () => {
    const outs = rec.outputs();
    const summary = outs.find((o) => String(o["text/html"] ?? "").includes("compare methods"));
    expect(summary).toBeDefined();
    expect(String(summary!["text/plain"])).toMatch(/beam − lora, Test loss: [+−±]/);
    expect(outs.map(plotTitle)).toContainEqual(expect.stringMatching(/param/i));
  });

  test("exportTo writes a PEFT adapter per job", () => {
    expect(out.adapters.map((a) => [a.run, a.seed])).toEqual([["lora", 1], ["beam", 1], ["light", 1]]);
    const a = describeAdapter(out.adapters[0]!.paths[0]!);
    expect(a.dir).toBe(path.join(exportDir, "lora", "1"));
    expect(a.config).toMatchObject({ peft_type: "LORA", r: 4, lora_alpha: 8 });
    expect(a.tensors.map((t) => t.name)).toContain("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
    expect(a.tensors.find((t) => t.name.endsWith("q_proj.lora_A.weight"))!.shape).toEqual([4, 32]);
  });

  test("writes a run folder like `peftlab run`'s, with report.html, and says where", () => {
    expect(out.folder).toBe(runFolder);
    for (const f of ["plan.json", "source.peft", "summary.json", "report.html"]) expect(fs.existsSync(path.join(runFolder, f)), f).toBe(true);
    for (const r of ["lora", "beam", "light"]) {
      for (const f of ["config.json", "metrics.jsonl", "events.jsonl", "result.json", "adapter/adapter_config.json"]) {
        expect(fs.existsSync(path.join(runFolder, r, "1", f)), `${r}/1/${f}`).toBe(true);
      }
    }
    expect(JSON.parse(fs.readFileSync(path.join(runFolder, "summary.json"), "utf8"))).toEqual(out.summary);
    expect(JSON.parse(fs.readFileSync(path.join(runFolder, "lora", "1", "config.json"), "utf8")).data.sha256).toMatch(/^[0-9a-f]{64}$/);
    const shown = rec.outputs().map((o) => String(o["text/plain"] ?? "")).join("\n");
    expect(shown).toContain(`run folder: ${runFolder}`);
    expect(shown).toMatch(/report: .*report\.html/);
  });

  test("figuresFor rebuilds any plot from the returned data with the report's builders", () => {
    const figs = figuresFor(out, ["importance", "masks", "time"]);
    expect(figs.map((f) => f.key)).toEqual(expect.arrayContaining(["importance:beam", "masks:light", "time"]));
  });
});

describe("run never throws", () => {
  test.each([
    ["an experiment with errors", "model base = decoder { layers 2, widht 64 }", /not run: <cell \d+> has 1 error/],
    ["a model folder that does not exist", `backend cpu
model m = hf "does/not/exist" { head causal_lm }
data sums = addition { digits 1, train 16, validation 8, test 8 }
adapter a = lora { rank 2, target "q_proj" }
train { steps 2, batch 4 }
run r = m + a on sums`, /^1 job\(s\) failed: r seed 1: /m],
  ])("%s: shown in the cell, reported in the result", async (_name, text, shown) => {
    const rec = new RecordingChannel();
    connect(rec);
    try {
      const exp = compileExperiment(text, { show: false });
      const out = await run(exp, { out: false });
      expect(out.folder).toBeNull();
      expect(out.ok).toBe(false);
      expect(out.error).not.toBeNull();
      expect(rec.outputs().map((o) => String(o["text/plain"] ?? "")).join("\n")).toMatch(shown);
      expect(rec.outputs().map((o) => String(o["text/plain"] ?? "")).join("\n")).toContain(out.error);
    } finally {
      disconnect();
    }
  }, 60_000);
});

describe("the backend line", () => {
  test("is shown by the first run of a kernel session, not repeated by the runs after it", async () => {
    const text = `backend cpu
model base = decoder { layers 1, width 16, heads 2, context 16 }
data sums = addition { digits 1, train 16, validation 8, test 8 }
adapter a = lora { rank 2, target "q_proj" }
train { steps 2, batch 4, checkpoint off }
run r = base + a on sums`;
    const shown = async (): Promise<boolean> => {
      const rec = new RecordingChannel();
      connect(rec);
      try {
        const out = await run(compileExperiment(text, { show: false }), { summary: false, out: false, refreshMs: 0 });
        expect(out.ok).toBe(true);
        return rec.messages.some((m) => String(m.data["text/plain"] ?? "").includes("backend: cpu"));
      } finally {
        disconnect();
      }
    };
    await shown(); // the first run in this process may or may not be this one
    expect(await shown()).toBe(false);
  }, 60_000);
});

describe("run writes a run folder by default", () => {
  test("a new runs/<cell name>-<date>-<time> next to the experiment each time, with report.html; out: false writes none", async () => {
    const rec = new RecordingChannel();
    connect(rec);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-nb-default-"));
    try {
      const text = `backend cpu
model base = decoder { layers 1, width 16, heads 2, context 16 }
data sums = addition { digits 1, train 16, validation 8, test 8 }
adapter a = lora { rank 2, target "q_proj" }
train { steps 2, batch 4, checkpoint off }
run r = base + a on sums`;
      const exp = compileExperiment(text, { show: false, baseDir: dir, file: "<cell 7>" });
      const out = await run(exp, { summary: false });
      expect(out.error).toBeNull();
      expect(path.relative(dir, out.folder!)).toMatch(/^runs\/cell-7-\d{8}-\d{6}$/);
      expect(fs.existsSync(path.join(out.folder!, "report.html"))).toBe(true);
      expect(fs.readFileSync(path.join(out.folder!, "source.peft"), "utf8")).toBe(text);
      // Run again at once: a folder of its own, even within the same second.
      const again = await run(exp, { summary: false });
      expect(again.ok).toBe(true);
      expect(again.folder).not.toBe(out.folder);
      expect(fs.existsSync(path.join(again.folder!, "report.html"))).toBe(true);
      const none = await run(compileExperiment(text, { show: false, baseDir: dir, file: "<cell 8>" }), { summary: false, out: false });
      expect(none.ok).toBe(true);
      expect(none.folder).toBeNull();
      expect(fs.readdirSync(path.join(dir, "runs")).filter((f) => f.startsWith("cell-8"))).toEqual([]);
    } finally {
      disconnect();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
