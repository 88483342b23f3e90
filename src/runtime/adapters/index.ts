// The adapter methods beyond plain LoRA (DoRA, PiSSA, AdaLoRA), their construction from a plan, their
// conversion to the tensors HF PEFT stores and their attachment from read tensors. LoRA itself lives in
// ../lora.ts; PEFT folders are written and read by ../io/adapter-io.ts (exportAdapter / importAdapter).
export { AdaLoraAdapter, adaloraScale, type AdaLoraOptions } from "./adalora.js";
export {
  type AdaLoraAdapterConfig, type AdaLoraConfigOptions, type AdaLoraFolder, type AdaLoraModuleTensors, adaloraTensorName, buildAdaLoraConfig,
  readAdaLoraFolder, writeAdaLoraFolder,
} from "./adalora-format.js";
export { buildAdapter, checkAdapterSpec } from "./build.js";
export { DoraAdapter, detach, rowNorms } from "./dora.js";
export {
  type AdaLoraForm, type AdaLoraModule, type LoraForm, type LoraModule, type PissaMode, adaloraForm, alphaAtRank, foldAdaLora, loraForm, withOriginalBase,
} from "./export.js";
export { type AdaLoraSettings, type LoraSettings, type LoraWeights, assignFrom, attachAdaLora, attachLora } from "./import.js";
export { PissaLoraAdapter, type PissaFactors, type PissaOptions, type PlainLora, pissaConverted, pissaFactors } from "./pissa.js";
export { type Svd, reconstruct, svd, truncateSvd } from "./svd.js";
