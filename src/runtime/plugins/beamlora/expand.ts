// The expansion step of one BeamLoRA module: every pruned slot m_j takes its parent
// p_j's SNAPSHOT row of A, column of B and their AdamW moments; the pair's gate logits are set to
// their average. Gate moments and the optimiser's step counter are left to the caller.
import * as tf from "../../tensor/tf.js";
import type { LoraAdapter } from "../../adapters/lora.js";
import type { AdamW } from "../../train/optim.js";
import { sourceIndex } from "./importance.js";
import { type ModuleSnapshot, requireGate } from "./snapshot.js";

/**
 * target ← its own slices, except at the pruned positions along `axis`, which take the parent's
 * slice of `source`. A gather from concat([target, source]) copies values bit for bit.
 */
export function inheritSlices(target: tf.Variable, source: tf.Tensor, pruned: number[], parents: number[], axis: 0 | 1): void {
  const r = target.shape[axis] as number;
  if (source.shape.join(",") !== target.shape.join(",")) {
    throw new Error(`Error in BeamLoRA.inheritSlices: ${target.name} is [${target.shape}] but its snapshot is [${source.shape}]`);
  }
  tf.tidy(() => {
    const idx = tf.tensor1d(sourceIndex(r, pruned, parents, r), "int32");
    target.assign(tf.gather(tf.concat([target, source], axis), idx, axis));
  });
}

/** Averages the gate logits of each (pruned, parent) pair: g[m] = g[p] = (g[m] + g[p]) / 2. */
export function averageGatePairs(gate: tf.Variable, pruned: number[], parents: number[]): void {
  const g = Float32Array.from(gate.dataSync());
  pruned.forEach((m, j) => {
    const avg = (g[m] + g[parents[j]]) / 2;
    g[m] = avg;
    g[parents[j]] = avg;
  });
  const next = tf.tensor1d(g);
  gate.assign(next);
  next.dispose();
}

/** Re-seeds the pruned slots of `adapter` from `snap` (see the file comment). */
export function expandModule(adapter: LoraAdapter, optimizer: AdamW, snap: ModuleSnapshot, pruned: number[], parents: number[]): void {
  if (pruned.length === 0) return;
  if (pruned.length !== parents.length) throw new Error(`Error in BeamLoRA at ${adapter.path}: ${pruned.length} pruned slots but ${parents.length} parents`);
  const mA = optimizer.momentsOf(adapter.A);
  const mB = optimizer.momentsOf(adapter.B);
  inheritSlices(adapter.A, snap.A, pruned, parents, 0); // rows of A [r, in]
  inheritSlices(mA.m, snap.mA, pruned, parents, 0);
  inheritSlices(mA.v, snap.vA, pruned, parents, 0);
  inheritSlices(adapter.B, snap.B, pruned, parents, 1); // columns of B [out, r]
  inheritSlices(mB.m, snap.mB, pruned, parents, 1);
  inheritSlices(mB.v, snap.vB, pruned, parents, 1);
  averageGatePairs(requireGate(adapter.gate, adapter.path), pruned, parents);
}
