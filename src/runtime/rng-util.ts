import { Rng } from "./rng.js";

export { Rng };

/** A uniform [0, 1) source drawing from `rng` (for initialisers that take a function). */
export function uniformOf(rng: Rng): () => number {
  return () => rng.next();
}

/**
 * A uniform source that the initialisers (`gaussian` in lora.ts) recognise and answer with zeros,
 * drawing nothing: for a model whose weights a loader overwrites next (drawing 124M normal values
 * took 10 s of a 16 s GPT-2 load).
 */
export const SKIP_INIT: () => number = () => 0.5;
