// What the models, the batcher and the API need from a tokenizer (no tensors here, so the language
// checks can load a model folder's tokenizer too).

export type TokenizerKind = "char" | "byte" | "hf";

export interface Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly sepId?: number;
  /** Text → ids, without bos/eos (the batcher adds them). */
  encode(text: string): number[];
  /** Ids → text; special tokens (pad, bos, eos, …) are left out. */
  decode(ids: readonly number[]): string;
  /** Plain JSON from which `tokenizerFromJSON` rebuilds the same tokenizer. */
  toJSON(): unknown;
}
