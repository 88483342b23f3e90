// The one catalogue of diagnostics. Codes are stable: never reuse or renumber one.
//   1xxx lexical and syntax     2xxx names and keywords     3xxx values
//   4xxx selectors and structure of runs                   5xxx files and includes
// Messages are templates: `{name}` is replaced by the argument of that name.

/** Severity of a diagnostic. Errors stop `compile`; warnings and infos do not. */
export type Severity = "error" | "warning" | "info";

/** One entry of the catalogue. */
export interface CatalogueEntry {
  code: string;
  severity: Severity;
  /** One line saying what the code is about (used by docs). */
  summary: string;
  /** Message template with `{placeholders}`. */
  message: string;
}

const e = (code: string, summary: string, message: string): CatalogueEntry => ({ code, severity: "error", summary, message });
const w = (code: string, summary: string, message: string): CatalogueEntry => ({ code, severity: "warning", summary, message });

/** Every diagnostic the front end can report, by symbolic id. */
export const CATALOGUE = {
  // ---- 1xxx lexical and syntax
  unexpectedCharacter: e("PEFT1001", "a character that starts no token", "unexpected character {char}"),
  unterminatedString: e("PEFT1002", "a string without its closing quote", "unterminated string: add a closing '\"' before the end of the line"),
  invalidEncoding: e("PEFT1003", "the file is not UTF-8 text", "the file is not valid UTF-8 text: {detail}"),
  unexpectedToken: e("PEFT1004", "a token the grammar does not allow here", "expected {expected}, found {found}{hint}"),
  unexpectedEnd: e("PEFT1005", "the file ends in the middle of a declaration", "unexpected end of file: expected {expected}"),
  emptyFile: e("PEFT1006", "a file that declares nothing", "the file is empty: declare at least one model, data set, adapter or run"),
  tooManyErrors: e("PEFT1007", "error reporting stopped early", "too many syntax errors; stopped reporting after {count}"),
  binaryFile: e("PEFT1008", "a binary file given as source", "this looks like a binary file, not .peft text ({detail})"),
  numberTooLarge: e("PEFT1009", "a number literal beyond the float range", "number {text} is too large to represent"),
  nestedBrackets: e("PEFT1010", "a list inside a list", "'{open}' inside {outer}: {plural} do not nest{more}"),

  // ---- 2xxx names and keywords
  undeclaredName: e("PEFT2001", "a reference to a name that is not declared", "{kind} '{name}' is not declared{hint}"),
  duplicateName: e("PEFT2002", "a name declared twice", "'{name}' is already declared (as {kind})"),
  wrongKindOfName: e("PEFT2003", "a name of the wrong kind", "'{name}' is {actual}, but {expected} is expected here"),
  unknownKind: e("PEFT2004", "an unknown model, data or adapter kind", "unknown {what} '{name}'; expected one of {allowed}{hint}"),
  unknownProperty: e("PEFT2005", "a property the block does not have", "{block} has no property '{name}'{hint}"),
  duplicateProperty: e("PEFT2006", "a property set twice in one block", "'{name}' is set twice in this block"),
  unknownWord: e("PEFT2007", "a word that is not one of the allowed values", "unknown {what} '{name}'; expected one of {allowed}{hint}"),
  unusedDeclaration: w("PEFT2008", "a declaration no run uses", "{kind} '{name}' is declared but never used"),
  duplicateListItem: w("PEFT2009", "the same name listed twice", "'{name}' is listed twice"),

  // ---- 3xxx values
  wrongType: e("PEFT3001", "a value of the wrong type", "{prop} expects {expected}, found {found}"),
  outOfRange: e("PEFT3002", "a number outside its allowed range", "{prop} must be {allowed}, got {value}"),
  notInteger: e("PEFT3003", "a fraction where a whole number is needed", "{prop} must be a whole number, got {value}"),
  badUnit: e("PEFT3004", "a unit the property does not take", "{prop} does not take {unit}: it expects {expected}"),
  ratioOver100: e("PEFT3005", "a ratio above 100%", "{prop} is a ratio and cannot exceed 100%, got {value}"),
  missingValue: e("PEFT3006", "a property without its value", "{prop} needs a value: {expected}"),
  extraValue: e("PEFT3007", "more values than the property takes", "unexpected {found} after {prop}{hint}"),
  topPDecreasing: e("PEFT3008", "a top-p schedule that falls", "top_p starts at {start}, above its end {end}: the threshold can only rise"),
  periodTooLong: e("PEFT3009", "a beam period longer than training", "beam period of {period} steps is longer than run '{run}' ({steps} steps)"),
  estimateTooLong: e("PEFT3010", "an estimation window as long as training", "estimation window of {estimate} steps is not shorter than run '{run}' ({steps} steps)"),
  warmupTooLong: e("PEFT3011", "a warm-up as long as training", "warm-up of {warmup} steps is not shorter than run '{run}' ({steps} steps)"),
  headsDoNotDivide: e("PEFT3012", "attention sizes that do not divide", "{what} ({a}) is not divisible by {by} ({b})"),
  splitsOver100: e("PEFT3013", "split fractions above 100%", "split fractions add up to {sum}, more than 100%"),
  conflictingProperties: e("PEFT3014", "two properties that contradict each other", "'{a}' and '{b}' cannot both be set{hint}"),
  snapshotAfterPeriod: e("PEFT3015", "a snapshot offset not inside the period", "snapshot offset of {offset} steps must be shorter than the beam period ({period} steps)"),
  constantRange: e("PEFT3016", "a constant schedule with two ends", "a constant top_p cannot go from {start} to {end}"),
  longerThanContext: e("PEFT3017", "a sequence cap above the model context", "max_length {length} exceeds the context ({context}) of model '{model}'"),
  tooManyExamples: e("PEFT3019", "more examples than a task can generate", "data '{data}' asks for {count} examples, but {task} with {param} has only {space} distinct ones"),
  microBatchDoesNotDivide: e("PEFT3020", "a micro-batch that does not divide the batch", "micro_batch {micro} does not divide batch {batch} of run '{run}': a step must be whole micro-batches"),
  adaloraWindow: e("PEFT3018", "an AdaLoRA schedule that leaves no steps", "AdaLoRA tinit + tfinal ({sum} steps) leaves no steps to allocate in run '{run}' ({steps} steps)"),
  oddPeriod: w("PEFT3101", "an odd beam period", "beam period {period} is odd: the snapshot falls at step {half} of each period, not exactly half-way"),
  highLearningRate: w("PEFT3102", "an unusually high learning rate", "learning rate {lr} is unusually high for adapter training (typical: 1e-4 to 1e-3)"),
  highDropout: w("PEFT3103", "a high adapter dropout", "dropout {value} drops most of the adapter input (typical: 0 to 0.1)"),
  rankAboveWidth: w("PEFT3104", "a rank at or above the layer width", "rank {rank} is not below the width ({width}) of model '{model}': the update is not low-rank"),
  neverBeforeEnd: w("PEFT3105", "an interval longer than training", "{what} every {every} steps never happens before run '{run}' ends ({steps} steps)"),
  duplicateSeed: w("PEFT3106", "a seed listed twice", "seed {seed} is listed twice; it runs once"),
  endAfterTraining: w("PEFT3107", "a schedule ending after training", "top_p reaches its end at step {step}, after run '{run}' ends ({steps} steps)"),
  capAboveHalf: w("PEFT3108", "a per-module cap above half the rank", "cap {cap} per module is above half the rank ({half}): pruned slots may copy other pruned slots"),
  ignoredProperty: w("PEFT3109", "a property that has no effect here", "{prop} has no effect {reason}"),
  noValidation: w("PEFT3110", "evaluation without validation data", "data '{data}' has no validation examples, so run '{run}' cannot evaluate during training"),
  prunesNothing: w("PEFT3111", "a prune ratio that removes nothing", "{prop} {ratio} of {count} {unit} removes none in model '{model}'"),
  duplicateLr: w("PEFT3112", "a learning rate listed twice", "learning rate {lr} is listed twice; it runs once"),
  batchAboveTrainSplit: w("PEFT3113", "a batch larger than the training split", "batch {batch} is larger than the training split of data '{data}' ({size} examples): every step repeats examples"),

  // ---- 4xxx selectors and structure
  selectorMatchesNothing: e("PEFT4001", "a target selector that matches no module", "{selector} matches no module of model '{model}' ({family}; modules look like '{example}'){hint}"),
  invalidRegex: e("PEFT4002", "a target regex that does not compile", "invalid regular expression {pattern}: {reason}"),
  targetsNothing: e("PEFT4003", "an adapter left with no module", "adapter '{adapter}' targets no module of model '{model}'{reason}"),
  patternMatchesNothing: w("PEFT4004", "a rank or alpha pattern that matches no target", "{prop} key '{key}' matches no module that adapter '{adapter}' targets in model '{model}'"),
  overlappingAdapters: e("PEFT4005", "two adapters on the same module", "adapters '{a}' and '{b}' both target '{module}' in run '{run}'"),
  beamAdapterMissing: e("PEFT4006", "a beam whose adapter is not in the run", "beam '{beam}' constrains adapter '{adapter}', which run '{run}' does not use"),
  tooManyInRun: e("PEFT4007", "two beams or two prune schedules in one run", "run '{run}' already has a {what} ('{first}'); a run takes at most one"),
  runWithoutAdapter: e("PEFT4008", "a run that trains no adapter", "run '{run}' has no adapter: add one, e.g. 'run {run} = {model} + lora8 on {data}'"),
  headTaskMismatch: e("PEFT4009", "a model head that does not fit the data", "model '{model}' has a {head} head, but data '{data}' is a {format} task{hint}"),
  methodConflict: e("PEFT4010", "a constraint on an adapter method it cannot handle", "{what} '{name}' cannot be applied to adapter '{adapter}', which uses {method}"),
  beamWithPrune: w("PEFT4011", "BeamLoRA and Light-PEFT in one run", "run '{run}' combines a beam and a prune schedule: Light-PEFT's rank pruning fixes ranks that BeamLoRA then reassigns"),
  gridWithoutValidation: e("PEFT4012", "a learning-rate grid without validation data", "run '{run}' tries {count} learning rates but data '{data}' has no validation split to choose on (the test split is never used for choosing)"),
  tokenizerNeedsHf: e("PEFT4013", "tokenizer 'model' on a random built-in model", "data '{data}' uses the model's tokenizer, but run '{run}' uses model '{model}', a random built-in model that ships none"),
  mixedTokenizer: w("PEFT4014", "one data set used by models with and without a tokenizer", "data '{data}' is used with models that ship a tokenizer (hf, pretrained) and random built-in ones; its tokenizer defaults to char: set 'tokenizer' explicitly"),
  compareFewRuns: w("PEFT4015", "a comparison of a single run", "comparison '{name}' has only one run"),
  epochsUnknownSize: e("PEFT4016", "epochs on data of unknown size", "cannot turn {epochs} epochs into steps: {reason}"),
  jsonlFields: e("PEFT4017", "JSONL fields of two formats", "{reason}"),
  memorySaverWithHooks: e("PEFT4019", "recompute or micro-batches with BeamLoRA or Light-PEFT", "run '{run}' uses {what} '{name}', which reads every adapter's activations of one whole forward per step: '{setting}' cannot be used with it"),
  denseBaseForAdapter: w("PEFT4020", "DoRA or PiSSA on a base held in fewer bits", "adapter '{adapter}' uses {what}, which needs the float32 weight of every module it adapts: in run '{run}' those weights of model '{model}' are dequantised into float32 tensors, and the '{precision}' precision saves no memory on them"),
  wrongHeadForFamily: e("PEFT4018", "a head the model family does not have", "{family} models have {allowed}, not {head}"),

  // ---- 5xxx files and includes
  cannotRead: e("PEFT5001", "a file that cannot be read", "cannot read {what} '{path}'{reason}"),
  includeCycle: e("PEFT5002", "a file that includes itself", "include cycle: {cycle}"),
  includedTwice: w("PEFT5003", "a file included twice", "'{path}' is already included; this include is ignored"),
  hfNoConfig: w("PEFT5004", "an HF folder without config.json", "'{path}' has no config.json: is it a Hugging Face model folder?"),
  jsonlBadLine: e("PEFT5005", "a JSONL line that does not fit", "line {line} of '{path}' {problem}"),
  includeTooDeep: e("PEFT5006", "includes nested too deeply", "includes are nested more than {max} deep"),
  jsonlNoFormat: e("PEFT5007", "a JSONL file whose keys fit no format", "line {line} of '{path}' has the keys {keys}, which fit neither generation (keys prompt, completion) nor classification (keys text, label): {hint}"),
  hfBadTokenizer: e("PEFT5008", "a model folder whose tokenizer the data needs but cannot be loaded", "the tokenizer of '{path}' cannot be loaded, and data '{data}' is encoded with it: {reason}"),
  adapterFolder: e("PEFT5010", "an adapter folder that cannot be used", "'{path}' is not a usable PEFT adapter folder: {reason}"),
  adapterFamily: e("PEFT5011", "an adapter made for another model family", "adapter '{adapter}' targets {modules}, modules of {family} models, but run '{run}' uses model '{model}' ({modelFamily})"),
  jsonlReplacementChar: w("PEFT5012", "a JSONL line holding U+FFFD", "line {line} of '{path}' holds U+FFFD, the character that stands for bytes that are not UTF-8: if the file is not UTF-8 text, save it as UTF-8 (a run names the first bad line)"),
  hfUnusedBadTokenizer: w("PEFT5009", "a model folder whose tokenizer cannot be loaded (not used)", "the tokenizer of '{path}' cannot be loaded (no run encodes its data with it, so this is not an error yet): {reason}"),
} as const satisfies Record<string, CatalogueEntry>;

/** Symbolic id of a catalogue entry, e.g. "outOfRange". */
export type DiagnosticId = keyof typeof CATALOGUE;

/** Longest argument text put into a message (a 2 MB name must not make a 2 MB message). */
export const MAX_ARGUMENT_LENGTH = 300;

/** Fill a message template; unknown placeholders stay visible so a missing argument is noticed. */
export function formatMessage(template: string, args: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    if (!(key in args)) return whole;
    const text = String(args[key]);
    return text.length > MAX_ARGUMENT_LENGTH ? `${text.slice(0, MAX_ARGUMENT_LENGTH)}…` : text;
  });
}

/** The catalogue entry with `code` (e.g. "PEFT3002"), if any. */
export function entryByCode(code: string): CatalogueEntry | undefined {
  return Object.values(CATALOGUE).find((entry) => entry.code === code);
}
