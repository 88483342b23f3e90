// A kill inside saveCheckpoint: between its two renames (checkpoint → checkpoint.old-PID,
// checkpoint.tmp-PID → checkpoint) there is no checkpoint folder, but a complete copy beside it.
// A resume puts the newest complete copy back and removes the leftovers instead of starting at
// step 0; a lock left with a reused pid says which file to delete.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSource } from "../../../src/dsl/index.js";
import { runPlan } from "../../../src/runtime/run/run-plan.js";
import type { RunSink } from "../../../src/runtime/run/sink.js";
import { recoverCheckpoint, removeCheckpoint } from "../../../src/runtime/train/checkpoint.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-ckrecover-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A checkpoint folder; complete ones have tensors.safetensors and (written last) state.json. */
function fakeCheckpoint(dir: string, step: number | null): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "tensors.safetensors"), "");
  if (step !== null) fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify({ version: 1, step }));
}

const stepIn = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")).step as number;
const siblings = (dir: string) => fs.readdirSync(path.dirname(dir)).sort();

describe("recoverCheckpoint", () => {
  it.each([
    { name: "killed between the renames: the complete temporary copy (newer) wins", dir: null, tmp: 6, old: 3, expected: 6 },
    { name: "killed while writing the temporary copy: the old one is put back", dir: null, tmp: null, old: 3, expected: 3 },
    { name: "a complete checkpoint stays; stale copies of other processes are removed", dir: 5, tmp: 9, old: 2, expected: 5 },
    { name: "an incomplete checkpoint folder gives way to a complete copy", dir: null, tmp: 4, old: undefined, expected: 4 },
  ])("$name", ({ name, dir: dirStep, tmp: tmpStep, old: oldStep, expected }) => {
    const root = path.join(tmp, `unit-${name.replace(/\W+/g, "-")}`);
    const dir = path.join(root, "checkpoint");
    if (dirStep !== null) fakeCheckpoint(dir, dirStep);
    else fs.mkdirSync(dir, { recursive: true }); // what a kill mid-write can leave: no state.json
    if (tmpStep !== undefined) fakeCheckpoint(`${dir}.tmp-4242`, tmpStep);
    if (oldStep !== undefined) fakeCheckpoint(`${dir}.old-4242`, oldStep);
    expect(recoverCheckpoint(dir)).toBe(expected);
    expect(stepIn(dir)).toBe(expected);
    expect(siblings(dir)).toEqual(["checkpoint"]);
  });

  it("nothing to recover: null, and nothing is created", () => {
    const dir = path.join(tmp, "none", "checkpoint");
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.writeFileSync(path.join(path.dirname(dir), "checkpoint.tmp-77"), "a file, not a folder of ours"); // not a complete copy
    expect(recoverCheckpoint(dir)).toBeNull();
    expect(fs.existsSync(dir)).toBe(false);
  });

  it("removeCheckpoint removes the folder and its copies, and leaves other names alone", () => {
    const dir = path.join(tmp, "rm", "checkpoint");
    fakeCheckpoint(dir, 1);
    fakeCheckpoint(`${dir}.tmp-1`, 2);
    fakeCheckpoint(`${dir}.old-2`, 1);
    fakeCheckpoint(`${dir}.tmp-x`, 1);
    removeCheckpoint(dir);
    expect(siblings(dir)).toEqual(["checkpoint.tmp-x"]);
  });
});

const SOURCE = `backend cpu
model base = decoder { layers 1, width 16, heads 2, context 16 }
data sums = addition { digits 1, train 32, validation 8, test 8 }
adapter a = lora { rank 2, alpha 4, target "q_proj", "v_proj" }
train { steps 8, batch 4, lr 3e-3, seeds 1, log every 1 steps, checkpoint off }
run one = base + a on sums
`;

describe("resume after a kill between the renames", () => {
  const plan = () => compileSource(SOURCE, "ck.peft").plan!;

  it("continues from the recovered checkpoint's step (not 0), ends like an uninterrupted run, and leaves no copies", async () => {
    const full = await runPlan(plan(), { folder: path.join(tmp, "full"), source: SOURCE });
    const dir = path.join(tmp, "killed");
    const stop = new AbortController();
    const aborter: RunSink = { event: (_job, e) => void (e.type === "step" && e.step === 3 && stop.abort()) };
    expect((await runPlan(plan(), { folder: dir, source: SOURCE, signal: stop.signal, sinks: [aborter] })).interrupted).toBe(true);
    const ck = path.join(dir, "one", "1", "checkpoint");
    fs.renameSync(ck, `${ck}.tmp-999999`); // the state a kill right after "checkpoint → checkpoint.old" leaves, seen from the new copy
    fakeCheckpoint(`${ck}.old-999999`, 0);
    const notes: string[] = [];
    const second = await runPlan(plan(), { folder: dir, source: SOURCE, resume: true, sinks: [{ note: (l) => void notes.push(l) }] });
    expect(notes).toContain("one/1: resuming from the checkpoint at step 3");
    expect(second.results[0]!.metrics).toEqual(full.results[0]!.metrics);
    expect(fs.readdirSync(path.join(dir, "one", "1")).filter((n) => n.startsWith("checkpoint"))).toEqual([]);
  }, 120_000);

  it("a lock held by a live process that is not a run says which file to delete", async () => {
    const dir = path.join(tmp, "locked");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, ".lock"), `${process.ppid}\n`);
    await expect(runPlan(plan(), { folder: dir, source: SOURCE })).rejects.toThrow(
      `If no peftlab run is using it (process ${process.ppid} may be another program that reused the number of a killed run), delete ${path.join(dir, ".lock")} and run again`,
    );
  });
});
