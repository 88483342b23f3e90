import { Rng } from "./rng.js";

export { Rng };

/** A uniform [0, 1) source drawing from `rng` (for initialisers that take a function). */
export function uniformOf(rng: Rng): () => number {
  return () => rng.next();
}
