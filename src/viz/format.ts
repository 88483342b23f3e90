// Number formatting shared by tables, hover text and titles.

/** Significant-digit formatting without exponent noise for everyday magnitudes. */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined) return "—";
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 8 });
}

/** Counts as 1.2k / 3.4M / 5.6B. */
export function fmtCount(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e9) return `${fmt(x / 1e9)}B`;
  if (a >= 1e6) return `${fmt(x / 1e6)}M`;
  if (a >= 1e3) return `${fmt(x / 1e3)}k`;
  return fmt(x);
}

/** Bytes as KiB / MiB / GiB. */
export function fmtBytes(x: number): string {
  const a = Math.abs(x);
  if (a >= 2 ** 30) return `${fmt(x / 2 ** 30)} GiB`;
  if (a >= 2 ** 20) return `${fmt(x / 2 ** 20)} MiB`;
  if (a >= 2 ** 10) return `${fmt(x / 2 ** 10)} KiB`;
  return `${fmt(x)} B`;
}

/** Milliseconds as ms / s / min. */
export function fmtMs(x: number): string {
  if (Math.abs(x) >= 60_000) return `${fmt(x / 60_000)} min`;
  if (Math.abs(x) >= 1000) return `${fmt(x / 1000)} s`;
  return `${fmt(x)} ms`;
}

/** A learning rate as written in configs (1e-4, 0.0003). */
export function fmtLr(lr: number | null): string {
  return lr === null ? "—" : String(lr);
}
