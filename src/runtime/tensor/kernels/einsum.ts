// Einsum for the wasm backend (tfjs-backend-wasm 4.22 has none), built from the wasm kernels
// Sum, Transpose, Reshape and BatchMatMul: a two-operand einsum is one batched matrix product
// after moving batch / free / contracted indices into place, so it never materialises the
// broadcast product of both operands.
//
// Supported like tfjs' own einsum: one or two operands, an explicit output ("ij,jk->ik"), no
// ellipsis, no index repeated within one operand.

import * as tf from "../tf.js";
import { runWasmKernel } from "./wasm_util.js";

const NAME = "Einsum";

/** A parsed equation: index letters of each operand and of the output. */
export interface EinsumSpec {
  inputs: string[];
  output: string;
}

/** Parses and validates an einsum equation for `numInputs` operands. */
export function parseEinsum(equation: string, numInputs: number): EinsumSpec {
  const eq = equation.replace(/\s+/g, "");
  const bad = (why: string) => new Error(`${NAME}: equation "${equation}": ${why}`);
  if (eq.includes(".")) throw bad("ellipsis (...) is not supported");
  const arrow = eq.split("->");
  if (arrow.length > 2) throw bad("more than one '->'");
  const inputs = arrow[0]!.split(",");
  if (inputs.length !== numInputs) throw bad(`has ${inputs.length} operand(s) but ${numInputs} tensor(s) were given`);
  if (numInputs < 1 || numInputs > 2) throw bad("only one or two operands are supported");
  for (const term of [...inputs, arrow[1] ?? ""]) {
    if (!/^[a-zA-Z]*$/.test(term)) throw bad(`"${term}" must contain only letters`);
    if (new Set(term).size !== term.length) throw bad(`index repeated within "${term}"`);
  }
  const output = arrow[1];
  if (output === undefined) throw bad("the output must be explicit (\"ij,jk->ik\"), as in tfjs");
  for (const c of output) if (!inputs.some((t) => t.includes(c))) throw bad(`output index '${c}' appears in no operand`);
  return { inputs, output };
}

/** Size of every index letter, checking that operands agree. */
function indexSizes(spec: EinsumSpec, shapes: number[][]): Map<string, number> {
  const sizes = new Map<string, number>();
  spec.inputs.forEach((term, k) => {
    const shape = shapes[k]!;
    if (shape.length !== term.length) throw new Error(`${NAME}: operand ${k} has rank ${shape.length} but "${term}" names ${term.length} dims`);
    [...term].forEach((c, i) => {
      const d = shape[i]!;
      const prev = sizes.get(c);
      if (prev !== undefined && prev !== d) throw new Error(`${NAME}: index '${c}' has size ${prev} and ${d}`);
      sizes.set(c, d);
    });
  });
  return sizes;
}

/** Tracks intermediate tensor infos and frees them at the end. */
class Scratch {
  private readonly infos: tf.TensorInfo[] = [];
  constructor(private readonly backend: { disposeData(id: tf.DataId): boolean }) {}
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo {
    const out = runWasmKernel(name, inputs, attrs, this.backend);
    this.infos.push(out);
    return out;
  }
  /** Frees everything except `keep`. */
  release(keep: tf.TensorInfo): void {
    for (const info of this.infos) if (info !== keep) this.backend.disposeData(info.dataId);
  }
}

/** Sums `term`'s indices that are not in `needed` away; returns the new tensor and its term. */
function sumAway(s: Scratch, x: tf.TensorInfo, term: string, needed: string): [tf.TensorInfo, string] {
  const axes = [...term].map((c, i) => (needed.includes(c) ? -1 : i)).filter((i) => i >= 0);
  if (axes.length === 0) return [x, term];
  const out = s.run("Sum", { x }, { axis: axes, keepDims: false });
  return [out, [...term].filter((c) => needed.includes(c)).join("")];
}

/** Transposes `x` (indices `from`) into the order `to` (a permutation of `from`). */
function permute(s: Scratch, x: tf.TensorInfo, from: string, to: string): tf.TensorInfo {
  const perm = [...to].map((c) => from.indexOf(c));
  if (perm.every((p, i) => p === i)) return x;
  return s.run("Transpose", { x }, { perm });
}

function reshape(s: Scratch, x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return s.run("Reshape", { x }, { shape });
}

const product = (letters: string, sizes: Map<string, number>) => [...letters].reduce((a, c) => a * sizes.get(c)!, 1);

function einsumTwo(s: Scratch, a: tf.TensorInfo, b: tf.TensorInfo, spec: EinsumSpec, sizes: Map<string, number>): tf.TensorInfo {
  const [ta, tb] = spec.inputs as [string, string];
  const out = spec.output;
  const [a1, ta1] = sumAway(s, a, ta, out + tb);
  const [b1, tb1] = sumAway(s, b, tb, out + ta);
  const batch = [...ta1].filter((c) => tb1.includes(c) && out.includes(c)).join("");
  const contr = [...ta1].filter((c) => tb1.includes(c) && !out.includes(c)).join("");
  const freeA = [...ta1].filter((c) => !tb1.includes(c)).join("");
  const freeB = [...tb1].filter((c) => !ta1.includes(c)).join("");
  const [nb, na, nc, nbb] = [batch, freeA, contr, freeB].map((l) => product(l, sizes)) as [number, number, number, number];
  const a3 = reshape(s, permute(s, a1, ta1, batch + freeA + contr), [nb, na, nc]);
  const b3 = reshape(s, permute(s, b1, tb1, batch + contr + freeB), [nb, nc, nbb]);
  const mm = s.run("BatchMatMul", { a: a3, b: b3 }, { transposeA: false, transposeB: false });
  const term = batch + freeA + freeB;
  const full = reshape(s, mm, [...term].map((c) => sizes.get(c)!));
  return permute(s, full, term, out);
}

/** The kernel function, exported for tests. */
export const einsumWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const operands = Object.keys(inputs)
    .sort((x, y) => Number(x) - Number(y))
    .map((k) => inputs[k]!);
  const spec = parseEinsum(String(attrs?.["equation"]), operands.length);
  const sizes = indexSizes(spec, operands.map((t) => t.shape));
  const s = new Scratch(backend as { disposeData(id: tf.DataId): boolean });
  let result: tf.TensorInfo;
  if (operands.length === 1) {
    const [x1, t1] = sumAway(s, operands[0]!, spec.inputs[0]!, spec.output);
    result = permute(s, x1, t1, spec.output);
  } else {
    result = einsumTwo(s, operands[0]!, operands[1]!, spec, sizes);
  }
  // The engine must receive a tensor it does not already hold: copy if we return an input as is.
  if (operands.includes(result)) result = s.run("Identity", { x: result }, {});
  s.release(result);
  return result;
};

export const einsumConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: "wasm",
  kernelFunc: einsumWasm,
};
