// Gradient checkpointing per transformer block: the forward keeps only the block's input, and the
// backward pass runs the block's forward again (under its own gradient tape) to get the gradients
// of the input and of the block's trainable variables. Dropout draws the same seeds both times,
// so the gradients are those of the plain forward.
import * as tf from "../tensor/tf.js";
import type { ForwardCtx } from "../tensor/nn.js";
import type { Block, BlockAux } from "./model.js";

/** The trainable variables a block's forward reads: its active adapters' and its Light-PEFT masks. */
export function blockTrainables(blk: Block): tf.Variable[] {
  const out: tf.Variable[] = [];
  for (const l of blk.linears()) {
    for (const name of l.active) {
      if (l.merged.has(name)) continue;
      const a = l.adapters.get(name);
      if (a) for (const v of a.trainable().values()) if (v.trainable) out.push(v);
    }
  }
  for (const m of [blk.headMask, blk.neuronMask]) if (m?.trainable) out.push(m);
  return out;
}

/**
 * Runs a gradient computation inside the backward pass of another. TensorFlow.js keeps one tape:
 * a gradient started while none is being recorded makes a fresh one and clears it when done, which
 * would also drop the tape the outer backward pass is still walking. Put the outer one back.
 */
function nestedGradients<T>(run: () => T): T {
  const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
  const outer = state.activeTape;
  try {
    return run();
  } finally {
    state.activeTape = outer;
  }
}

/** blk.apply(x) whose activations are recomputed in the backward pass instead of kept. x [B, T, C] → [B, T, C]. */
export function recomputedBlock(blk: Block, x: tf.Tensor3D, ctx: ForwardCtx, aux: BlockAux): tf.Tensor3D {
  if (ctx.onAdapter) {
    throw new Error(`Error in model.layers.${blk.index}: recomputing blocks does not combine with adapter hooks (BeamLoRA, Light-PEFT importance), which need the forward's own tensors`);
  }
  const vars = blockTrainables(blk);
  const seeds: number[] = [];
  const recording: ForwardCtx = { ...ctx, nextSeed: () => { const s = ctx.nextSeed(); seeds.push(s); return s; } };
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor3D;
    save([input]);
    const value = blk.apply(input, recording, aux);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      let i = 0;
      const replay: ForwardCtx = { ...ctx, nextSeed: () => seeds[i++]! };
      const f = (xIn: tf.Tensor) => blk.apply(xIn as tf.Tensor3D, replay, aux);
      // Gradients by the tensors the forward reads: the saved input and the block's variables.
      return nestedGradients(() => tf.grads((xIn: tf.Tensor, ..._v: tf.Tensor[]) => f(xIn))([saved[0]!, ...vars], dy));
    };
    return { value, gradFunc };
  });
  return run(x, ...vars) as tf.Tensor3D;
}
