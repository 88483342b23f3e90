// The data layer: tokenizers, built-in tasks, JSONL files, datasets and batching.
export * from "./types.js";
export * from "./tokenizers.js";
export { trainBpeJson, BYTE_TO_CHAR, type TrainBpeOptions, type HfAddedToken, type HfTokenizerJson } from "./bpe_train.js";
export { canonicalJson, datasetChecksum, buildTokenizer, jsonlSource, loadDataset, type LoadDatasetOptions } from "./dataset.js";
export { TASK_DEFAULTS, generateTask, resolveTaskParams } from "./tasks.js";
export { arithmeticAnswer } from "./arithmetic.js";
export { SPAM_LABELS, cleanEmail } from "./spam.js";
export { readJsonlLines, readGenerationJsonl, readClassificationJsonl, readClassificationFiles, cutShares, jsonlSplits } from "./jsonl.js";
export { Batcher, batchesOf, type BatchOptions, type BatcherState, type TruncationReport } from "./batching.js";
