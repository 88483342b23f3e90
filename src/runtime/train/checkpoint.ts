// Checkpoints of a training job: trainable tensors and their AdamW moments in a safetensors
// file, everything else (step, plug-in state, data position, log sizes) in state.json. Written
// to a temporary folder and swapped in by rename, so a kill at any moment leaves either the old
// or the new checkpoint, never half of one.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "../tensor/tf.js";
import { SafetensorsFile, writeSafetensors, type WritableTensor } from "../io/safetensors.js";
import { writeFileAtomic } from "../io/atomic.js";
import type { Trainer } from "./trainer.js";

export const CHECKPOINT_VERSION = 1;

export interface CheckpointState {
  version: typeof CHECKPOINT_VERSION;
  step: number;
  optimizerStep: number;
  lastFiniteLoss: number | null;
  peakBytes: number;
  /** Per plug-in name. */
  plugins: Record<string, unknown>;
  /** Whatever the job needs to continue: data position, log sizes, timings. */
  job: Record<string, unknown>;
}

function tensorOf(v: tf.Tensor): WritableTensor {
  return { dtype: "F32", shape: v.shape.slice(), data: v.dataSync() as Float32Array };
}

/** Writes `dir` (e.g. …/checkpoint) atomically. */
export function saveCheckpoint(dir: string, trainer: Trainer, job: Record<string, unknown>): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const tensors: Record<string, WritableTensor> = {};
  for (const [name, v] of trainer.trainableVariables()) {
    tensors[`param/${name}`] = tensorOf(v);
    if (trainer.optimizer.hasMoments(v)) {
      const m = trainer.optimizer.momentsOf(v);
      tensors[`adam_m/${name}`] = tensorOf(m.m);
      tensors[`adam_v/${name}`] = tensorOf(m.v);
    }
  }
  writeSafetensors(path.join(tmp, "tensors.safetensors"), tensors, { format: "peftlab-checkpoint" });
  const plugins: Record<string, unknown> = {};
  for (const p of trainer.plugins) if (p.saveState) plugins[p.name] = p.saveState();
  const state: CheckpointState = {
    version: CHECKPOINT_VERSION,
    step: trainer.step,
    optimizerStep: trainer.optimizer.step,
    lastFiniteLoss: trainer.lastFiniteLoss,
    peakBytes: trainer.peakBytes,
    plugins,
    job,
  };
  writeFileAtomic(path.join(tmp, "state.json"), JSON.stringify(state));
  const old = `${dir}.old-${process.pid}`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

/** Sibling folders an interrupted saveCheckpoint of `dir` may leave: `<dir>.tmp-PID` and `<dir>.old-PID`. */
function leftovers(dir: string): { tmp: string[]; old: string[] } {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  const names = fs.existsSync(parent) ? fs.readdirSync(parent) : [];
  const pick = (kind: string) => {
    const prefix = `${base}.${kind}-`;
    return names.filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length))).map((n) => path.join(parent, n));
  };
  return { tmp: pick("tmp"), old: pick("old") };
}

/** The step of a complete checkpoint folder (its state.json is written last), or null. */
function completeStep(dir: string): number | null {
  try {
    const state = JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")) as Partial<CheckpointState>;
    return typeof state.step === "number" && fs.existsSync(path.join(dir, "tensors.safetensors")) ? state.step : null;
  } catch {
    return null;
  }
}

/**
 * Makes `dir` the newest complete checkpoint that a kill left behind, and removes the rest.
 * saveCheckpoint renames dir → dir.old-PID, then dir.tmp-PID → dir: a kill between the two leaves
 * no `dir`, but a complete temporary copy (newer) and the old one. Returns the step of the
 * checkpoint now in `dir`, or null when there is none.
 */
export function recoverCheckpoint(dir: string): number | null {
  const { tmp, old } = leftovers(dir);
  let step = completeStep(dir);
  if (step === null) {
    const candidates = [...tmp, ...old].map((d) => ({ d, step: completeStep(d) })).filter((c) => c.step !== null);
    const best = candidates.sort((a, b) => b.step! - a.step!)[0];
    if (best) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(best.d, dir);
      step = best.step;
    }
  }
  for (const d of [...tmp, ...old]) fs.rmSync(d, { recursive: true, force: true });
  return step;
}

/** Removes a checkpoint folder and every temporary or old copy beside it. */
export function removeCheckpoint(dir: string): void {
  const { tmp, old } = leftovers(dir);
  for (const d of [dir, ...tmp, ...old]) fs.rmSync(d, { recursive: true, force: true });
}

/** Reads state.json of a checkpoint folder, or null when there is none. */
export function readCheckpointState(dir: string): CheckpointState | null {
  const file = path.join(dir, "state.json");
  if (!fs.existsSync(file)) return null;
  let state: CheckpointState;
  try {
    state = JSON.parse(fs.readFileSync(file, "utf8")) as CheckpointState;
  } catch (e) {
    throw new Error(`checkpoint ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (state.version !== CHECKPOINT_VERSION) {
    throw new Error(`checkpoint ${file} has version ${String(state.version)}; this peftlab reads version ${CHECKPOINT_VERSION}`);
  }
  return state;
}

/**
 * Restores a trainer from a checkpoint. Plug-in state is loaded first (it may change the model's
 * structure, e.g. Light-PEFT's pruning), then every trainable tensor and its moments by name.
 */
export function restoreCheckpoint(dir: string, trainer: Trainer, state: CheckpointState): void {
  for (const p of trainer.plugins) {
    if (p.loadState && p.name in state.plugins) p.loadState(state.plugins[p.name], trainer);
  }
  const file = SafetensorsFile.open(path.join(dir, "tensors.safetensors"));
  try {
    const vars = trainer.trainableVariables();
    for (const [name, v] of vars) {
      const key = `param/${name}`;
      if (!file.has(key)) throw new Error(`checkpoint ${dir} has no tensor for "${name}"`);
      assignFrom(file, key, v, dir);
      if (file.has(`adam_m/${name}`)) {
        const m = trainer.optimizer.momentsOf(v);
        assignFrom(file, `adam_m/${name}`, m.m, dir);
        assignFrom(file, `adam_v/${name}`, m.v, dir);
      }
    }
    for (const n of file.names()) {
      const name = n.slice(n.indexOf("/") + 1);
      if (!vars.has(name)) throw new Error(`checkpoint ${dir} holds "${name}", which this run does not train; was the .peft file changed?`);
    }
  } finally {
    file.close();
  }
  trainer.step = state.step;
  trainer.optimizer.step = state.optimizerStep;
  trainer.lastFiniteLoss = state.lastFiniteLoss;
  trainer.peakBytes = state.peakBytes;
}

function assignFrom(file: SafetensorsFile, key: string, v: tf.Variable, dir: string): void {
  const t = file.read(key);
  if (t.shape.join(",") !== v.shape.join(",")) {
    throw new Error(`checkpoint ${dir}: "${key}" is [${t.shape}] but the run expects [${v.shape}]`);
  }
  const value = tf.tensor(t.data as Float32Array, t.shape, "float32");
  v.assign(value);
  value.dispose();
}
