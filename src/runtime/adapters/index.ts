// The adapter methods beyond plain LoRA (DoRA, PiSSA, AdaLoRA), their construction from a plan and
// their export / import in HF PEFT formats. LoRA itself lives in ../lora.ts.
export { AdaLoraAdapter, adaloraScale, type AdaLoraOptions } from "./adalora.js";
export {
  type AdaLoraAdapterConfig, type AdaLoraExportOptions, type AdaLoraModuleTensors, attachAdaLoraFolder, exportAdaLora, readAdaLoraFolder,
  writeAdaLoraFolder,
} from "./adalora-format.js";
export { buildAdapter, checkAdapterSpec } from "./build.js";
export { DoraAdapter, detach, rowNorms } from "./dora.js";
export { type ExportOptions, type ExportedModule, type LoraFormatExport, alphaFor, exportAsLora, foldAdaLora, loraConfigFor, loraTensors } from "./export.js";
export { assignFrom, attachAdapterFolder } from "./import.js";
export { PissaLoraAdapter, type PissaFactors, type PissaOptions, type PlainLora, pissaConverted, pissaFactors } from "./pissa.js";
export { type Svd, reconstruct, svd, truncateSvd } from "./svd.js";
