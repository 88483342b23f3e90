// Gradients tfjs 4.22 does not define, registered for every backend (gradients are global).
//
// - Comparisons and logical ops (Greater, Less, Equal, …): zero. tfjs defines one for GreaterEqual
//   only, so `tf.where(tf.greater(x, 0), x, …)` fails in backprop with "gradient function not
//   found for Greater" although no gradient flows through a boolean.
// - StridedSlice and GatherNd: the gradient routes dy back to the positions that were read. We
//   compute those positions by applying the same op to an index tensor (0 … size-1 in x's shape)
//   and scatter dy with UnsortedSegmentSum, which handles every mask and duplicate index.
// - Einsum: the gradient of one operand is another einsum of dy with the other operand, broadcast
//   over indices that only that operand had.
//
// Each gradient is registered only when none exists, so a later tfjs version's own wins.

import * as tf from "../tf.js";
import { parseEinsum } from "./einsum.js";

const BINARY = ["a", "b"];
const ZERO_GRAD_KERNELS: [string, string[]][] = [
  ["Greater", BINARY], ["Less", BINARY], ["LessEqual", BINARY], ["Equal", BINARY], ["NotEqual", BINARY],
  ["LogicalAnd", BINARY], ["LogicalOr", BINARY], ["LogicalXor", BINARY], ["LogicalNot", ["x"]],
];

function zeroGrad([kernelName, inputs]: [string, string[]]): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: inputs,
    gradFunc: (_dy, saved) => Object.fromEntries(saved.map((t, i) => [inputs[i]!, () => tf.zerosLike(t)])),
  };
}

/** Flat positions 0 … size-1 laid out in `shape`. */
function positions(shape: number[]): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.reshape(tf.range(0, size, 1, "int32"), shape);
}

/** dx of shape `shape` where dy[i] is added at flat position pos[i]. */
function scatterBack(dy: tf.Tensor, pos: tf.Tensor, shape: number[]): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.reshape(tf.unsortedSegmentSum(tf.reshape(dy, [-1]), tf.reshape(pos, [-1]), size), shape);
}

const stridedSliceGrad: tf.GradConfig = {
  kernelName: "StridedSlice",
  inputsToSave: ["x"],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const a = attrs as Record<string, number | number[]>;
    return {
      x: () => {
        const pos = tf.stridedSlice(positions(x.shape), a["begin"] as number[], a["end"] as number[], a["strides"] as number[],
          a["beginMask"] as number, a["endMask"] as number, a["ellipsisMask"] as number, a["newAxisMask"] as number, a["shrinkAxisMask"] as number);
        return scatterBack(dy as tf.Tensor, pos, x.shape);
      },
    };
  },
};

const gatherNdGrad: tf.GradConfig = {
  kernelName: "GatherNd",
  inputsToSave: ["params", "indices"],
  gradFunc: (dy, saved) => {
    const [params, indices] = saved as [tf.Tensor, tf.Tensor];
    return {
      params: () => scatterBack(dy as tf.Tensor, tf.gatherND(positions(params.shape), indices), params.shape),
      indices: () => tf.zerosLike(indices),
    };
  },
};

/** Gradient of operand `k` of an einsum whose output gradient is dy. */
function einsumOperandGrad(equation: string, dy: tf.Tensor, operands: tf.Tensor[], k: number): tf.Tensor {
  const spec = parseEinsum(equation, operands.length);
  const term = spec.inputs[k]!;
  const others = spec.inputs.filter((_, i) => i !== k);
  const reachable = spec.output + others.join("");
  const kept = [...term].filter((c) => reachable.includes(c)).join("");
  const eq = `${[spec.output, ...others].join(",")}->${kept}`;
  let g = tf.einsum(eq, dy, ...operands.filter((_, i) => i !== k));
  if (kept.length < term.length) {
    // Indices only this operand had were summed away: every position got the same gradient.
    const target = operands[k]!.shape;
    g = tf.broadcastTo(tf.reshape(g, [...term].map((c, i) => (kept.includes(c) ? target[i]! : 1))), target);
  }
  return g;
}

const einsumGrad: tf.GradConfig = {
  kernelName: "Einsum",
  saveAllInputs: true,
  gradFunc: (dy, saved, attrs) => {
    const equation = String(attrs["equation"]);
    return Object.fromEntries(saved.map((_, k) => [String(k), () => einsumOperandGrad(equation, dy as tf.Tensor, saved, k)]));
  },
};

/** Registers the gradients above where tfjs has none. Idempotent. */
export function registerMissingGradients(): string[] {
  const added: string[] = [];
  const configs = [...ZERO_GRAD_KERNELS.map(zeroGrad), stridedSliceGrad, gatherNdGrad, einsumGrad];
  for (const config of configs) {
    if (tf.getGradient(config.kernelName)) continue;
    tf.registerGradient(config);
    added.push(config.kernelName);
  }
  return added;
}
