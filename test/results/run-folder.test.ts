import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadRunDir, RunDirError } from "../../src/results/run-folder.js";
import { renderReport } from "../../src/viz/report.js";
import { makeRunDir } from "../fixtures/make-run-dir.js";

const made: string[] = [];
const fixture = (opts: Parameters<typeof makeRunDir>[1] = {}) => {
  const fx = makeRunDir(undefined, opts);
  made.push(fx.dir);
  return fx;
};
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("loadRunDir", () => {
  test("a complete directory: every folder, in plan order, with events, results and summary.json", () => {
    const fx = fixture();
    const input = loadRunDir(fx.dir);
    expect(input.problems).toEqual([]);
    expect(input.summaryFrom).toBe("summary.json");
    expect(input.plan?.runs.map((r) => r.name)).toEqual(["beamlora", "lightpeft"]);
    expect(input.source).toContain("compare beam_vs_light");
    expect(input.runs.map((d) => `${d.run}/${d.seed}@${d.lr}`)).toEqual([
      "beamlora/0@0.0003", "beamlora/0@0.001", "beamlora/1@0.0003", "beamlora/1@0.001", "beamlora/2@0.0003", "beamlora/2@0.001",
      "lightpeft/0@0.0003", "lightpeft/1@0.0003", "lightpeft/2@0.0003",
    ]);
    const beam = input.runs[0]!;
    expect(beam.steps).toHaveLength(40);
    expect(beam.evals).toHaveLength(8);
    expect(beam.events.filter((e) => e.type === "beam.prune")).toHaveLength(3);
    expect(beam.result?.status).toBe("finished");
    expect(beam.path).toBe("beamlora/0-lr0.0003");
    expect(input.runs[8]!.events.some((e) => e.type === "lightpeft.prune")).toBe(true);
    expect(input.summary.runs.find((r) => r.run === "beamlora")!.lr).toBe(3e-4);
  });

  test("a failed seed and a killed seed are loaded with their problems", () => {
    const fx = fixture({ fail: { run: "lightpeft", seed: 1 }, killed: { run: "beamlora", seed: 2 } });
    const input = loadRunDir(fx.dir);
    const failed = input.runs.find((d) => d.run === "lightpeft" && d.seed === 1)!;
    expect(failed.result?.status).toBe("failed");
    expect(failed.problems).toEqual(["metrics.jsonl line 29 is not JSON (truncated write?)", "failed: loss became NaN at step 120 (lr too high?)"]);
    expect(failed.steps.at(-1)!.step).toBe(120);
    const killed = input.runs.filter((d) => d.run === "beamlora" && d.seed === 2);
    expect(killed.map((d) => d.result)).toEqual([null, null]);
    expect(killed[0]!.problems).toContain("no result.json: the run did not finish");
    expect(killed[0]!.lr).toBe(3e-4);
  });

  test.each([
    ["a run without \"failed\"", (j: any) => delete j.runs[0].failed, 'runs[0] has no "failed"'],
    ["a run whose seeds are not a list", (j: any) => (j.runs[1].seeds = 3), "runs[1].seeds is not a list"],
    ["a metric without a mean", (j: any) => delete j.runs[0].metrics.test_accuracy.mean, 'runs[0].metrics.test_accuracy has no "mean"'],
    ["a comparison without pairs", (j: any) => delete j.comparisons[0].pairs, 'comparisons[0] has no "pairs"'],
    ["no runs", (j: any) => delete j.runs, '"runs" is missing'],
    ["a wrong version", (j: any) => (j.version = 2), '"version" is 2, not 1'],
  ])("a structurally wrong summary.json (%s) is named, recomputed, and the report renders", (_, edit, named) => {
    const fx = fixture();
    const file = join(fx.dir, "summary.json");
    const json = JSON.parse(readFileSync(file, "utf8"));
    edit(json);
    writeFileSync(file, JSON.stringify(json));
    const input = loadRunDir(fx.dir);
    expect(input.summaryFrom).toBe("recomputed");
    expect(input.problems).toContain(`summary.json cannot be used: ${named}; recomputed from result.json files`);
    expect(renderReport(input)).toContain(`summary.json cannot be used: ${named.replace(/"/g, "&quot;")}`);
  });

  test("without summary.json the summary is recomputed and the report is told", () => {
    const fx = fixture({ summary: false });
    const input = loadRunDir(fx.dir);
    expect(input.summaryFrom).toBe("recomputed");
    expect(input.problems).toEqual(["summary.json is missing; recomputed from result.json files"]);
    expect(input.summary.comparisons[0]!.name).toBe("beam_vs_light");
  });

  test("damaged top-level files become problems, not crashes", () => {
    const fx = fixture();
    writeFileSync(join(fx.dir, "summary.json"), "{ not json");
    rmSync(join(fx.dir, "source.peft"));
    writeFileSync(join(fx.dir, "plan.json"), JSON.stringify({ version: 1 }));
    const input = loadRunDir(fx.dir);
    expect(input.problems).toEqual([
      "plan.json has no `runs` list; ignored",
      "source.peft is missing",
      expect.stringMatching(/^summary.json: cannot be read as JSON/),
    ]);
    expect(input.plan).toBeNull();
    expect(input.summaryFrom).toBe("recomputed");
    expect(input.summary.runs.map((r) => r.run)).toEqual(["beamlora", "lightpeft"]);
  });

  test("a plan run without any folder is reported", () => {
    const fx = fixture();
    rmSync(join(fx.dir, "lightpeft"), { recursive: true });
    expect(loadRunDir(fx.dir).problems).toContain('run "lightpeft" of the plan has no folder with results');
  });

  test.each([
    ["a missing directory", (root: string) => join(root, "nope"), /nope does not exist/],
    ["a file", (root: string) => { writeFileSync(join(root, "f.txt"), "x"); return join(root, "f.txt"); }, /f\.txt is a file, not a run directory/],
    ["an unrelated directory", (root: string) => { mkdirSync(join(root, "src/lib"), { recursive: true }); writeFileSync(join(root, "README.md"), ""); return root; },
      /is not a run directory: expected summary.json, plan.json and <run>\/<seed>\/ folders, found README.md, src/],
  ])("%s is a RunDirError that says what was expected", (_, make, message) => {
    const root = mkdtempSync(join(tmpdir(), "peftlab-notrun-"));
    made.push(root);
    const dir = make(root);
    expect(() => loadRunDir(dir)).toThrow(RunDirError);
    expect(() => loadRunDir(dir)).toThrow(message);
  });
});
