// Weight-file layer: safetensors, Hugging Face config.json and tensor layouts, PEFT adapter folders.
// Pure file formats on typed arrays; nothing here imports TensorFlow.js.

export * from "./safetensors.js";
export * from "./hf-config.js";
export * from "./peft-format.js";
export { withAtomicFile, writeFileAtomic } from "./atomic.js";
