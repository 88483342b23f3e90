// safetensors: reader, writer, sharded models. One import for everything a loader needs.
//
//   const f = SafetensorsFile.open("model.safetensors");   // validates the header, reads no data
//   const t = f.read("model.norm.weight");                  // { dtype, shape, data: Float32Array }
//   writeSafetensors("out.safetensors", { w: t }, { format: "pt" });

export {
  DTYPE_SIZE, SUPPORTED_DTYPES, bf16BitsToNumber, f16BitsToNumber, findNonFinite, numberToBf16Bits,
  numberToF16Bits, numel, toInt32Array,
  type Dtype, type KnownDtype, type NonFinite, type Tensor, type TensorData, type WritableData, type WritableTensor,
} from "./safetensors-dtypes.js";
export { MAX_HEADER_BYTES, SafetensorsError } from "./safetensors-header.js";
export { SafetensorsFile, type OpenOptions, type TensorInfo, type TensorSource } from "./safetensors-file.js";
export { writeSafetensors, type WriteOptions } from "./safetensors-write.js";
export { INDEX_FILE, SINGLE_FILE, openSharded, openWeights } from "./safetensors-sharded.js";
