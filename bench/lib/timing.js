// Small timing and statistics helpers shared by the benchmarks.

/** Median of a non-empty list. */
export function median(xs) {
  if (xs.length === 0) throw new RangeError("median: empty list");
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `fn` `warmup` times, then times `repeats` calls; returns the milliseconds of each timed call. */
export function timeCalls(fn, { warmup = 2, repeats = 10 } = {}) {
  for (let i = 0; i < warmup; i++) fn();
  const ms = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** {median, best, n} of a list of milliseconds. */
export function summarizeMs(ms) {
  return { ms_median: median(ms), ms_best: Math.min(...ms), n: ms.length };
}

/** a / b, or null when either side is missing or b is not positive. */
export function ratio(a, b) {
  return typeof a === "number" && typeof b === "number" && b > 0 && Number.isFinite(a) ? a / b : null;
}

/** Rounds to `digits` significant digits (for JSON that people read); null stays null. */
export function sig(x, digits = 4) {
  if (x === null || x === undefined || !Number.isFinite(x)) return x ?? null;
  return x === 0 ? 0 : Number(x.toPrecision(digits));
}
