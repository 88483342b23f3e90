// Internals that bench/ measures or draws with, gathered in one entry so that bench imports no deep
// dist/ paths. Not public API: nothing here is promised to stay (the package's "exports" map does
// not list this file); the public entries are "peftlab" (src/index.ts) and "peftlab/dsl".
export { HfTokenizer } from "./tokenizers/hf-tokenizer.js";
export { trainBpeJson } from "./runtime/data/bpe_train.js";
export { loadTokenizer } from "./runtime/data/tokenizers.js";
export { spamExamples } from "./runtime/data/spam.js";
export { arithmeticExamples } from "./runtime/data/arithmetic.js";
export { codeExamples } from "./runtime/data/code_task.js";
export { Embedding, LayerNorm, Linear, RMSNorm } from "./runtime/tensor/nn.js";
export { axis, baseLayout } from "./viz/figure.js";
export { RUN_COLOURS } from "./viz/palette.js";
export { plotlyJsSource } from "./viz/plotlyjs.js";
export { loadAddon } from "./runtime/tensor/native/index.js";
export { pissaFactors } from "./runtime/adapters/pissa.js";
