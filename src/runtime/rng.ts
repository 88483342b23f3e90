// A small seeded pseudo-random generator: xoshiro128** seeded through splitmix32.
//
// Deterministic across platforms (32-bit integer arithmetic only), cheap to copy, and its whole
// state is four integers plus the seed, so a checkpoint can store it and a resumed run continues
// the exact same stream. Not for cryptography.
//
// Below it, the seeded sources the weight initialisers draw from (uniformOf, SKIP_INIT) and the
// initialisers themselves (Kaiming-uniform, Gaussian), shared by models, adapters and weight loading.

/** Serialisable state of an {@link Rng}: the seed it was made from and the four state words. */
export interface RngState {
  seed: number;
  s: [number, number, number, number];
}

/** 32-bit FNV-1a hash of a string, used to mix labels into seeds. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Folds any finite number (negative, fractional, above 2^32) into a 32-bit seed. */
function seedWord(seed: number): number {
  if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
  const lo = Math.trunc(seed) >>> 0;
  const hi = Math.trunc(seed / 4294967296) >>> 0;
  const frac = Math.round((seed - Math.trunc(seed)) * 4294967296) >>> 0;
  return (lo ^ Math.imul(hi, 0x9e3779b1) ^ Math.imul(frac, 0x85ebca6b)) >>> 0;
}

/** splitmix32 step: returns [next state, output]. */
function splitmix32(x: number): [number, number] {
  const next = (x + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Seeded generator with a serialisable state. */
export class Rng {
  private s: [number, number, number, number] = [0, 0, 0, 0];
  private readonly seed: number;

  /** @param seed any finite number or a string (hashed); equal seeds give equal streams. */
  constructor(seed: number | string) {
    this.seed = typeof seed === "string" ? hashString(seed) : seedWord(seed);
    let x = this.seed;
    for (let i = 0; i < 4; i++) {
      const [nx, out] = splitmix32(x);
      x = nx;
      this.s[i] = out;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 bits of resolution. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n) without modulo bias; n must be an integer in [1, 2^32]. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
      throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number {
    if (hi < lo) throw new Error(`Rng.range: hi (${hi}) must be >= lo (${lo})`);
    return lo + this.int(hi - lo + 1);
  }

  /** Standard normal sample (Box–Muller; uses two uniforms per call, no cached spare). */
  normal(mean = 0, std = 1): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Rng.pick: empty array");
    return items[this.int(items.length)] as T;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** The current state, to store in a checkpoint. */
  state(): RngState {
    return { seed: this.seed, s: [this.s[0], this.s[1], this.s[2], this.s[3]] };
  }

  /** Continues from a state returned by {@link state}. */
  setState(state: RngState): void {
    const ok = Array.isArray(state?.s) && state.s.length === 4 && state.s.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
    if (!ok || (state.s[0] | state.s[1] | state.s[2] | state.s[3]) === 0) {
      throw new Error(`Rng.setState: expected {seed, s: four uint32 words, not all zero}, got ${JSON.stringify(state)}`);
    }
    if (state.seed !== this.seed) {
      throw new Error(`Rng.setState: state comes from seed ${state.seed}, this generator has seed ${this.seed}`);
    }
    this.s = [state.s[0], state.s[1], state.s[2], state.s[3]];
  }

  /** Makes a generator from a saved state (seed included). */
  static fromState(state: RngState): Rng {
    const rng = new Rng(state.seed);
    rng.setState(state);
    return rng;
  }

  /**
   * An independent generator for a named purpose ("data", "dropout", …). It depends only on this
   * generator's seed and the label, not on how many numbers were drawn, so adding draws in one
   * place never shifts another stream.
   */
  fork(label: string): Rng {
    return new Rng(`${this.seed}/${label}`);
  }
}

/** A uniform [0, 1) source drawing from `rng` (for initialisers that take a function). */
export function uniformOf(rng: Rng): () => number {
  return () => rng.next();
}

/**
 * A uniform source that {@link gaussian} recognises and answers with zeros, drawing nothing: for
 * a model whose weights a loader overwrites next (drawing 124M normal values took 10 s of a 16 s
 * GPT-2 load).
 */
export const SKIP_INIT: () => number = () => 0.5;

/** Kaiming-uniform with a = √5 for a [rows, fanIn] matrix: U(-1/√fanIn, 1/√fanIn). */
export function kaimingUniform(rows: number, fanIn: number, rand: () => number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn); // sqrt(6 / ((1 + a²) fanIn)) with a² = 5
  const out = new Float32Array(rows * fanIn);
  for (let i = 0; i < out.length; i++) out[i] = (rand() * 2 - 1) * bound;
  return out;
}

/** Standard normal samples by Box–Muller from a uniform source. */
export function gaussian(n: number, std: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  if (rand === SKIP_INIT) return out; // a loader fills these values next
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const m = Math.sqrt(-2 * Math.log(u));
    out[i] = m * Math.cos(2 * Math.PI * v) * std;
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v) * std;
  }
  return out;
}
