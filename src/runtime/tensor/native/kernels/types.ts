import type * as tf from "../../tf.js";
import type { NativeAddon } from "../addon.js";

/** The JavaScript side of one native kernel, registered over the wasm kernel of the same name. */
export interface NativeKernel {
  /** The tfjs kernel name (an existing wasm kernel it replaces, or a new one). */
  kernelName: string;
  /** The addon functions it calls: without them (an old binary) the kernel is not registered. */
  natives: string[];
  /**
   * Builds the kernel function. `original` is the wasm kernel it replaces (null for a new kernel
   * name): the fallback for inputs the native code does not handle.
   */
  make(addon: NativeAddon, original: tf.KernelFunc | null): tf.KernelFunc;
}
