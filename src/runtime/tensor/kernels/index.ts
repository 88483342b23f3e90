// Kernels and gradients that tfjs 4.22 lacks and our models need. See the files for details.

import * as tf from "../tf.js";
import { einsumConfig } from "./einsum.js";
import { unsortedSegmentSumConfig } from "./unsorted_segment_sum.js";
import { fixWasmKernelDtypes, wrapWasmKernels } from "./wasm_dtype_fixes.js";
import { transposedMatMul } from "./wasm_matmul.js";

export { registerMissingGradients } from "./gradients.js";
export { parseEinsum, type EinsumSpec } from "./einsum.js";

/** Kernels we implement for the wasm backend (tfjs-backend-wasm 4.22 has neither). */
export const WASM_KERNELS: readonly tf.KernelConfig[] = [unsortedSegmentSumConfig, einsumConfig];

/**
 * Registers {@link WASM_KERNELS} for the "wasm" backend where no kernel of that name is registered
 * yet, wraps the wasm kernels that mishandle some dtypes (see wasm_dtype_fixes.ts) and the slow
 * transposed BatchMatMul (see wasm_matmul.ts). Call after
 * importing @tensorflow/tfjs-backend-wasm; idempotent. Returns the names it added or wrapped.
 */
export function registerMissingWasmKernels(): string[] {
  const added: string[] = [...fixWasmKernelDtypes(), ...wrapWasmKernels([["BatchMatMul", transposedMatMul]])];
  for (const config of WASM_KERNELS) {
    if (tf.getKernel(config.kernelName, "wasm")) continue;
    tf.registerKernel(config);
    added.push(config.kernelName);
  }
  return added;
}
