// A thin singular value decomposition for the small matrices adapters work on (PiSSA): one-sided
// Jacobi (Hestenes) in float64 on plain arrays. It orthogonalises the columns of the taller
// orientation of the matrix by plane rotations until every pair is orthogonal to working precision,
// so it is accurate for small singular values too. Cost per sweep ≈ n²·m for an m×n (m ≥ n) matrix;
// a few hundred wide takes well under a second.

/** W = U · diag(S) · Vt with k = min(rows, cols) components, S descending. Row-major arrays. */
export interface Svd {
  rows: number;
  cols: number;
  k: number;
  /** [rows, k] */
  U: Float64Array;
  /** [k] */
  S: Float64Array;
  /** [k, cols] */
  Vt: Float64Array;
}

const MAX_SWEEPS = 80;
const EPS = 1e-15;

/**
 * Thin SVD of the row-major `rows`×`cols` matrix `data`. Deterministic; throws on non-finite input
 * or when the rotations fail to converge (which needs a pathological matrix).
 */
export function svd(data: ArrayLike<number>, rows: number, cols: number): Svd {
  if (!(Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0) || data.length !== rows * cols) {
    throw new RangeError(`Error in svd: expected a ${rows}×${cols} matrix (${rows * cols} values), got ${data.length} values`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new RangeError(`Error in svd: the ${rows}×${cols} matrix has a non-finite value at [${Math.floor(i / cols)}, ${i % cols}]`);
  }
  const tall = rows >= cols;
  // Work on M = W (tall) or M = Wᵀ (wide): m×n with m ≥ n, stored as n columns of length m.
  const m = tall ? rows : cols;
  const n = tall ? cols : rows;
  const g: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const col = new Float64Array(m);
    for (let i = 0; i < m; i++) col[i] = tall ? data[i * cols + j] : data[j * cols + i];
    g.push(col);
  }
  const v: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const col = new Float64Array(n);
    col[j] = 1;
    v.push(col);
  }
  orthogonalise(g, v, `${rows}×${cols}`);
  // M = G Vᵀ with orthogonal columns in G: σ_j = ‖g_j‖, u_j = g_j / σ_j.
  const sigma = g.map(norm);
  const order = sigma.map((_, j) => j).sort((a, b) => sigma[b] - sigma[a] || a - b);
  const k = n;
  const Uout = new Float64Array(rows * k);
  const S = new Float64Array(k);
  const Vt = new Float64Array(k * cols);
  order.forEach((j, c) => {
    const s = sigma[j];
    S[c] = s;
    const inv = s > 0 ? 1 / s : 0;
    // Left vectors of M are g_j/σ; right vectors are v_j. For a wide W they swap roles.
    for (let i = 0; i < m; i++) {
      const left = g[j][i] * inv;
      if (tall) Uout[i * k + c] = left;
      else Vt[c * cols + i] = left;
    }
    for (let i = 0; i < n; i++) {
      if (tall) Vt[c * cols + i] = v[j][i];
      else Uout[i * k + c] = v[j][i];
    }
  });
  return { rows, cols, k, U: Uout, S, Vt };
}

/** Rotates column pairs of `g` (and the same pairs of `v`) until all columns of `g` are orthogonal. */
function orthogonalise(g: Float64Array[], v: Float64Array[], what: string): void {
  const n = g.length;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const alpha = dot(g[p], g[p]);
        const beta = dot(g[q], g[q]);
        const gamma = dot(g[p], g[q]);
        if (gamma === 0 || Math.abs(gamma) <= EPS * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(g[p], g[q], c, s);
        rotate(v[p], v[q], c, s);
      }
    }
    if (!rotated) return;
  }
  throw new Error(`Error in svd: the Jacobi rotations of the ${what} matrix did not converge in ${MAX_SWEEPS} sweeps`);
}

function rotate(a: Float64Array, b: Float64Array, c: number, s: number): void {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    a[i] = c * x - s * y;
    b[i] = s * x + c * y;
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/** The leading `r` components of an SVD: U_r [rows, r], S_r [r], Vt_r [r, cols]. */
export function truncateSvd(d: Svd, r: number): Svd {
  if (!(Number.isInteger(r) && r >= 1 && r <= d.k)) {
    throw new RangeError(`Error in truncateSvd: r must be an integer in [1, ${d.k}] for a ${d.rows}×${d.cols} matrix, got ${r}`);
  }
  const U = new Float64Array(d.rows * r);
  for (let i = 0; i < d.rows; i++) for (let c = 0; c < r; c++) U[i * r + c] = d.U[i * d.k + c];
  return { rows: d.rows, cols: d.cols, k: r, U, S: d.S.slice(0, r), Vt: d.Vt.slice(0, r * d.cols) };
}

/** U · diag(S) · Vt as a row-major rows×cols float64 array (for tests and residuals). */
export function reconstruct(d: Svd): Float64Array {
  const out = new Float64Array(d.rows * d.cols);
  for (let i = 0; i < d.rows; i++) {
    for (let c = 0; c < d.k; c++) {
      const us = d.U[i * d.k + c] * d.S[c];
      if (us === 0) continue;
      for (let j = 0; j < d.cols; j++) out[i * d.cols + j] += us * d.Vt[c * d.cols + j];
    }
  }
  return out;
}
