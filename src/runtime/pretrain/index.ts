// Base-model pretraining, as the public API exposes it: train a small llama or gpt2 from scratch on
// text (`pretrain`, `savePretrained`), the corpora it reads (the built-in English text, the mix with
// synthetic arithmetic and code), and the cached default base that a run without a `base` uses.
export {
  pretrain, savePretrained, validatePretrainSpec, PRETRAIN_DEFAULTS,
  type PretrainSpec, type PretrainStep, type PretrainResult, type PretrainOptions,
} from "./pretrain.js";
export { builtinCorpus, readTextFiles, BUILTIN_CORPUS } from "./data.js";
export { mixedCorpus, type CorpusMix, type MixedCorpus } from "./corpus.js";
export {
  ensureDefaultBase, defaultBaseDir, isCompleteBase, cacheRoot, defaultCorpus, shippedBaseDir, shippedBase,
  DEFAULT_BASE_SPEC, DEFAULT_CORPUS_MIX, DEFAULT_BASE_VERSION, MARKER_FILE,
  type DefaultFamily, type EnsureOptions,
} from "./default-base.js";
