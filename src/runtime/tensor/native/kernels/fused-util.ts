// What the fused-op kernels (Peftlab*.ts, the JavaScript sides of native/src/kernels/Peftlab*.c)
// share: reading float32 inputs, making outputs, and calling the addon with heap offsets.
import type * as tf from "../../tf.js";
import type { NativeAddon } from "../addon.js";
import { heapOf, offsetOf, type WasmInternals, wasmInternals } from "../heap.js";
import type { NativeKernel } from "./types.js";

/** One call of a fused kernel: its inputs, the outputs it makes, and the addon call. */
export class FusedCall {
  readonly backend: WasmInternals;
  private readonly outputs: tf.TensorInfo[] = [];

  constructor(readonly kernel: string, private readonly args: Parameters<tf.KernelFunc>[0]) {
    this.backend = wasmInternals(args.backend, kernel);
  }

  /** Input `name`, required to exist and to have `dtype`. */
  input(name: string, dtype: tf.DataType = "float32"): tf.TensorInfo {
    const t = this.args.inputs[name];
    if (!t) throw new Error(`${this.kernel} (native): input "${name}" is missing`);
    if (t.dtype !== dtype) throw new Error(`${this.kernel} (native): input "${name}" must be ${dtype}, got ${t.dtype} [${t.shape.join(", ")}]`);
    return t;
  }

  attr<T>(name: string): T {
    const v = this.args.attrs?.[name];
    if (v === undefined) throw new Error(`${this.kernel} (native): attribute "${name}" is missing`);
    return v as T;
  }

  /** A new float32 (or `dtype`) output, returned by {@link done} in the order made. */
  output(shape: number[], dtype: tf.DataType = "float32"): tf.TensorInfo {
    const t = this.backend.makeOutput(shape, dtype);
    this.outputs.push(t);
    return t;
  }

  offset(t: tf.TensorInfo): number {
    return offsetOf(this.backend, t, this.kernel);
  }

  /**
   * Calls the addon function with the heap (read now, after every output was made) and `rest`.
   * When it throws, the outputs made so far are freed before the error propagates.
   */
  run(fn: (...args: unknown[]) => void, ...rest: number[]): void {
    try {
      fn(heapOf(this.backend), ...rest);
    } catch (err) {
      for (const t of this.outputs) this.backend.disposeData(t.dataId, true);
      this.outputs.length = 0;
      throw err;
    }
  }

  done(): tf.TensorInfo[] {
    return this.outputs;
  }
}

/** Elements in a shape. */
export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A fused kernel whose native function has the kernel's own name. */
export function fusedKernel(kernelName: string, body: (call: FusedCall, fn: (...args: unknown[]) => void) => void): NativeKernel {
  return {
    kernelName,
    natives: [kernelName],
    make: (addon: NativeAddon) => {
      const fn = addon[kernelName] as (...args: unknown[]) => void;
      return (args) => {
        const call = new FusedCall(kernelName, args);
        body(call, fn);
        const out = call.done();
        return out.length === 1 ? out[0]! : out;
      };
    },
  };
}

/**
 * A norm over the last axis (RMSNorm, LayerNorm, and their input gradients): the float32 inputs
 * `inputNames` in order (one of them "x", one the [C] "weight"), one output shaped like x, then the
 * native call (inputs…, output, rows, C, eps).
 */
export function rowNormKernel(kernelName: string, inputNames: readonly string[]): NativeKernel {
  return fusedKernel(kernelName, (call, fn) => {
    const inputs = inputNames.map((name) => call.input(name));
    const x = call.input("x");
    const c = call.input("weight").shape[0]!;
    const out = call.output(x.shape);
    const rows = sizeOf(x.shape) / c;
    if (rows > 0) call.run(fn, ...inputs.map((t) => call.offset(t)), call.offset(out), rows, c, call.attr<number>("eps"));
  });
}
