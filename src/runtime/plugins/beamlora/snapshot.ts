// The historical snapshot BeamLoRA re-seeds pruned ranks from:
// copies of A, B, the gate logits and the AdamW moments (m, v) of all three, for every module,
// taken T/2 steps before each prune step. The snapshot owns its tensors; dispose() frees them.
import * as tf from "../../tensor/tf.js";
import type { AdamW } from "../../train/optim.js";
import type { BeamModule } from "./importance.js";
import { type PlainTensor, fromPlain, toPlain } from "./plain.js";

const FIELDS = ["A", "B", "gate", "mA", "vA", "mB", "vB", "mGate", "vGate"] as const;
type Field = (typeof FIELDS)[number];

/** One module's copies. The gate and its moments are recorded for completeness (the official
 *  cache holds every LoRA tensor); the expansion only reads A, B and their moments. */
export type ModuleSnapshot = Record<Field, tf.Tensor>;

/** Plain-JSON form of a snapshot, for checkpoints. */
export interface PlainSnapshot {
  step: number;
  modules: Record<string, Record<Field, PlainTensor>>;
}

/** A copy of the moments of `v`, or zeros when the optimiser has not touched it yet. */
function momentCopy(optimizer: AdamW, v: tf.Variable, which: "m" | "v"): tf.Tensor {
  return optimizer.hasMoments(v) ? tf.clone(optimizer.momentsOf(v)[which]) : tf.zerosLike(v);
}

export class BeamSnapshot {
  private constructor(
    /** Completed optimiser steps when the snapshot was taken. */
    readonly step: number,
    readonly modules: Map<string, ModuleSnapshot>,
  ) {}

  /** Copies the current parameters and moments of every module. */
  static take(step: number, modules: readonly BeamModule[], optimizer: AdamW): BeamSnapshot {
    const out = new Map<string, ModuleSnapshot>();
    for (const { path, adapter } of modules) {
      const gate = requireGate(adapter.gate, path);
      out.set(path, {
        A: tf.clone(adapter.A),
        B: tf.clone(adapter.B),
        gate: tf.clone(gate),
        mA: momentCopy(optimizer, adapter.A, "m"),
        vA: momentCopy(optimizer, adapter.A, "v"),
        mB: momentCopy(optimizer, adapter.B, "m"),
        vB: momentCopy(optimizer, adapter.B, "v"),
        mGate: momentCopy(optimizer, gate, "m"),
        vGate: momentCopy(optimizer, gate, "v"),
      });
    }
    return new BeamSnapshot(step, out);
  }

  /** The snapshot of `path`; throws naming the module when it is missing. */
  module(path: string): ModuleSnapshot {
    const s = this.modules.get(path);
    if (!s) throw new Error(`Error in BeamLoRA: the snapshot of step ${this.step} has no module ${path}`);
    return s;
  }

  toPlain(): PlainSnapshot {
    const modules: PlainSnapshot["modules"] = {};
    for (const [path, s] of this.modules) {
      modules[path] = Object.fromEntries(FIELDS.map((f) => [f, toPlain(s[f])])) as Record<Field, PlainTensor>;
    }
    return { step: this.step, modules };
  }

  /** Rebuilds a snapshot from JSON, checking every tensor's shape against the live modules. */
  static fromPlain(p: PlainSnapshot, modules: readonly BeamModule[]): BeamSnapshot {
    if (!p || typeof p.step !== "number" || typeof p.modules !== "object") {
      throw new Error(`Error in BeamLoRA.loadState: snapshot must be {step, modules}, got ${JSON.stringify(p)?.slice(0, 80)}`);
    }
    const out = new Map<string, ModuleSnapshot>();
    try {
      for (const { path, adapter } of modules) {
        const m = p.modules[path];
        if (!m) throw new Error(`Error in BeamLoRA.loadState: the snapshot has no module ${path}`);
        const gate = requireGate(adapter.gate, path);
        const shapes: Record<Field, number[]> = {
          A: adapter.A.shape, B: adapter.B.shape, gate: gate.shape, mA: adapter.A.shape, vA: adapter.A.shape,
          mB: adapter.B.shape, vB: adapter.B.shape, mGate: gate.shape, vGate: gate.shape,
        };
        const entry: Partial<ModuleSnapshot> = {};
        out.set(path, entry as ModuleSnapshot);
        for (const f of FIELDS) entry[f] = fromPlain(m[f], shapes[f], `snapshot ${f} of ${path}`);
      }
    } catch (e) {
      for (const s of out.values()) for (const t of Object.values(s)) t?.dispose();
      throw e;
    }
    return new BeamSnapshot(p.step, out);
  }

  dispose(): void {
    for (const s of this.modules.values()) for (const f of FIELDS) s[f].dispose();
    this.modules.clear();
  }
}

export function requireGate(gate: tf.Variable | null, path: string): tf.Variable {
  if (!gate) throw new Error(`Error in BeamLoRA: the LoRA module ${path} has no gate (enableGate was not called)`);
  return gate;
}
