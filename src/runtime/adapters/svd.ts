// A thin singular value decomposition for the matrices adapters work on (PiSSA), in float64 on
// plain arrays. Two stages:
//
//   1. Preconditioning: the eigenvectors V₀ of the n×n Gram matrix MᵀM (Householder reduction to
//      tridiagonal form, then implicit QR steps with Wilkinson shifts) make the columns of M·V₀
//      orthogonal to about the square root of working precision.
//   2. One-sided Jacobi (Hestenes) on M·V₀, rotating V₀ alongside: plane rotations of column pairs
//      until every pair is orthogonal to working precision. From nearly orthogonal columns this
//      takes two or three sweeps instead of ten, and it is what makes the result exact: the
//      singular vectors are orthonormal and U·S·Vᵀ reproduces M to rounding, small singular
//      values included.
//
// M is the taller orientation of the matrix (m×n, m ≥ n). The Jacobi sweeps keep the squared
// column norms up to date from the rotation itself (‖a′‖² = ‖a‖² − t·γ) and recompute them at the
// start of each sweep. A 688×256 projection takes a fraction of a second.
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
const EPS_MACHINE = 2.220446049250313e-16;

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
  const cols0: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const col = new Float64Array(m);
    for (let i = 0; i < m; i++) col[i] = tall ? data[i * cols + j] : data[j * cols + i];
    cols0.push(col);
  }
  // V₀: eigenvectors of MᵀM (the rows of qt); G = M·V₀ column by column.
  const gram = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      const x = dot(cols0[a], cols0[b]);
      gram[a * n + b] = x;
      gram[b * n + a] = x;
    }
  }
  const qt = symmetricEigenvectors(gram, n, `${rows}×${cols}`);
  const v: Float64Array[] = [];
  const g: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const vj = qt.slice(j * n, (j + 1) * n);
    v.push(vj);
    const gj = new Float64Array(m);
    for (let i = 0; i < n; i++) {
      const w = vj[i];
      if (w === 0) continue;
      const c = cols0[i];
      for (let r = 0; r < m; r++) gj[r] += c[r] * w;
    }
    g.push(gj);
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
  const sq = new Float64Array(n);
  // A pair found orthogonal is not measured again until one of its columns has been rotated:
  // version[j] counts the rotations of column j, checked[p·n + q] is version[p] + version[q] + 1
  // (never 0) as it was when the pair last passed.
  const version = new Float64Array(n);
  const checked = new Float64Array(n * n);
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    for (let j = 0; j < n; j++) sq[j] = dot(g[j], g[j]);
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const stamp = version[p] + version[q] + 1;
        if (checked[p * n + q] === stamp) continue;
        const alpha = sq[p];
        const beta = sq[q];
        const gamma = dot(g[p], g[q]);
        if (gamma === 0 || Math.abs(gamma) <= EPS * Math.sqrt(alpha * beta)) {
          checked[p * n + q] = stamp;
          continue;
        }
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(g[p], g[q], c, s);
        rotate(v[p], v[q], c, s);
        sq[p] = Math.max(0, alpha - t * gamma);
        sq[q] = beta + t * gamma;
        version[p]++;
        version[q]++;
      }
    }
    if (!rotated) return;
  }
  throw new Error(`Error in svd: the Jacobi rotations of the ${what} matrix did not converge in ${MAX_SWEEPS} sweeps`);
}

/**
 * Orthonormal eigenvectors of the symmetric row-major n×n matrix `a` (overwritten), as the rows
 * of a row-major n×n array (Qᵀ), in no particular order: Householder reduction to tridiagonal form
 * T = Qᵀ·A·Q, then implicit symmetric QR steps with Wilkinson shifts on T, accumulated into Q.
 * Qᵀ is what is stored, so that each update reads and writes whole rows.
 */
function symmetricEigenvectors(a: Float64Array, n: number, what: string): Float64Array {
  const Qt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Qt[i * n + i] = 1;
  const h = new Float64Array(n);
  const u = new Float64Array(n);
  const p = new Float64Array(n);
  // Householder: for column k, reflect rows/columns k+1..n-1 so that A[k+2.., k] vanishes.
  for (let k = 0; k < n - 2; k++) {
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += a[i * n + k] * a[i * n + k];
    const x0 = a[(k + 1) * n + k];
    const tail = norm2 - x0 * x0;
    if (tail === 0) continue; // already tridiagonal in this column
    const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    // h = (x − α·e₁) / ‖x − α·e₁‖ on indices k+1..n-1.
    h.fill(0);
    h[k + 1] = x0 - alpha;
    for (let i = k + 2; i < n; i++) h[i] = a[i * n + k];
    const hn = Math.sqrt(tail + h[k + 1] * h[k + 1]);
    for (let i = k + 1; i < n; i++) h[i] /= hn;
    // A ← H·A·H with H = I − 2hhᵀ: A − 2hwᵀ − 2whᵀ where w = p − (hᵀp)h and p = A·h (on k..n-1).
    let hp = 0;
    for (let i = k; i < n; i++) {
      let sum = 0;
      for (let j = k + 1; j < n; j++) sum += a[i * n + j] * h[j];
      p[i] = sum;
      hp += h[i] * sum;
    }
    for (let i = k; i < n; i++) p[i] -= hp * h[i];
    for (let i = k; i < n; i++) {
      const hi = h[i];
      const wi = p[i];
      for (let j = k; j < n; j++) a[i * n + j] -= 2 * (hi * p[j] + wi * h[j]);
    }
    // Q ← Q·H, that is Qᵀ ← Qᵀ − 2h·(hᵀQᵀ).
    u.fill(0);
    for (let j = k + 1; j < n; j++) {
      const hj = h[j];
      for (let i = 0; i < n; i++) u[i] += hj * Qt[j * n + i];
    }
    for (let j = k + 1; j < n; j++) {
      const hj2 = 2 * h[j];
      for (let i = 0; i < n; i++) Qt[j * n + i] -= hj2 * u[i];
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
  for (let i = 0; i < n - 1; i++) e[i] = a[(i + 1) * n + i];
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(d[i]), i < n - 1 ? Math.abs(e[i]) : 0);
  // An off-diagonal below rounding of its neighbours, or of the matrix (the Gram matrix is only
  // known to that), splits T; the Jacobi sweeps afterwards make the result exact either way.
  const negligible = (i: number) => Math.abs(e[i]) <= EPS_MACHINE * (Math.abs(d[i]) + Math.abs(d[i + 1])) || Math.abs(e[i]) <= EPS_MACHINE * scale;
  let end = n - 1;
  let steps = 0;
  while (end > 0) {
    if (negligible(end - 1)) {
      e[end - 1] = 0;
      end--;
      continue;
    }
    let start = end - 1;
    while (start > 0 && !negligible(start - 1)) start--;
    if (++steps > 30 * n) throw new Error(`Error in svd: the eigenvalue iteration of the ${what} matrix did not converge`);
    // One implicit QR step on the unreduced block start..end, shift from its trailing 2×2.
    const dd = (d[end - 1] - d[end]) / 2;
    const en = e[end - 1];
    const mu = d[end] - (en * en) / (dd + (dd >= 0 ? 1 : -1) * Math.hypot(dd, en));
    let x = d[start] - mu;
    let z = e[start];
    for (let k = start; k < end; k++) {
      const r = Math.hypot(x, z);
      const c = r === 0 ? 1 : x / r;
      const s = r === 0 ? 0 : -z / r;
      if (k > start) e[k - 1] = r; // the bulge below e[k-1] is rotated away
      // The 2×2 block [[d_k, e_k], [e_k, d_k+1]] ← Gᵀ·B·G with G = [[c, s], [−s, c]].
      const dk = d[k];
      const ek = e[k];
      const dk1 = d[k + 1];
      d[k] = c * c * dk - 2 * c * s * ek + s * s * dk1;
      d[k + 1] = s * s * dk + 2 * c * s * ek + c * c * dk1;
      e[k] = c * s * (dk - dk1) + (c * c - s * s) * ek;
      if (k + 1 < end) {
        // Row k picks up −s·e[k+1] at column k+2: the next bulge.
        z = -s * e[k + 1];
        e[k + 1] *= c;
        x = e[k];
      }
      const rk = k * n;
      const rk1 = rk + n;
      for (let i = 0; i < n; i++) {
        const qk = Qt[rk + i];
        const qk1 = Qt[rk1 + i];
        Qt[rk + i] = c * qk - s * qk1;
        Qt[rk1 + i] = s * qk + c * qk1;
      }
    }
  }
  return Qt;
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

/**
 * The leading `q` singular components of the row-major `rows`×`cols` matrix `data` by randomized
 * subspace iteration (Halko, Martinsson & Tropp; what `torch.svd_lowrank(W, q, niter)` computes,
 * and PEFT's `init_lora_weights="pissa_niter_N"`): on the taller orientation M (m×n),
 *
 *   Q = orth(M·Ω)  with Ω [n, q] standard normal from `rand`,
 *   niter times:  Q = orth(Mᵀ·Q),  Q = orth(M·Q),
 *   B = Qᵀ·M [q, n] = Û·S·Vᵀ exactly (svd above),  U = Q·Û.
 *
 * Cost O(m·n·q·(2·niter + 2)) instead of the full decomposition's O(m·n²): seconds for a 1B
 * model's projections where the exact SVD takes minutes each. With a spectrum that decays past the
 * q-th value the result approaches the exact leading components quickly (each iteration multiplies
 * the error by about (σ_{q+1}/σ_q)²); with a flat spectrum the subspace is a good one, not the
 * exact one. `rand` gives uniform numbers in [0, 1), so the result follows its seed.
 */
export function lowRankSvd(data: ArrayLike<number>, rows: number, cols: number, q: number, niter: number, rand: () => number): Svd {
  if (!(Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0) || data.length !== rows * cols) {
    throw new RangeError(`Error in lowRankSvd: expected a ${rows}×${cols} matrix (${rows * cols} values), got ${data.length} values`);
  }
  const k = Math.min(rows, cols);
  if (!(Number.isInteger(q) && q >= 1 && q <= k)) throw new RangeError(`Error in lowRankSvd: q must be an integer in [1, ${k}] for a ${rows}×${cols} matrix, got ${q}`);
  if (!(Number.isInteger(niter) && niter >= 0)) throw new RangeError(`Error in lowRankSvd: niter must be a whole number ≥ 0, got ${niter}`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new RangeError(`Error in lowRankSvd: the ${rows}×${cols} matrix has a non-finite value at [${Math.floor(i / cols)}, ${i % cols}]`);
  }
  const tall = rows >= cols;
  const m = tall ? rows : cols;
  const n = tall ? cols : rows;
  // W·X (X [cols, q] → [rows, q]) or, transposed, Wᵀ·X (X [rows, q] → [cols, q]); both stream W by rows.
  const times = (x: Float64Array, transposed: boolean): Float64Array => {
    const out = new Float64Array((transposed ? cols : rows) * q);
    for (let i = 0; i < rows; i++) {
      for (let c = 0; c < cols; c++) {
        const w = data[i * cols + c];
        if (w === 0) continue;
        const o = transposed ? c * q : i * q;
        const xo = transposed ? i * q : c * q;
        for (let j = 0; j < q; j++) out[o + j] += w * x[xo + j];
      }
    }
    return out;
  };
  const mTimes = (x: Float64Array) => times(x, !tall); // M·X, X [n, q] → [m, q]
  const mtTimes = (x: Float64Array) => times(x, tall); // Mᵀ·X, X [m, q] → [n, q]
  const omega = new Float64Array(n * q);
  for (let i = 0; i < omega.length; i += 2) {
    // Box–Muller: two standard normals from two uniforms (1 − u keeps the logarithm finite).
    const radius = Math.sqrt(-2 * Math.log(1 - rand()));
    const angle = 2 * Math.PI * rand();
    omega[i] = radius * Math.cos(angle);
    if (i + 1 < omega.length) omega[i + 1] = radius * Math.sin(angle);
  }
  let basis = orthonormalColumns(mTimes(omega), m, q);
  for (let it = 0; it < niter; it++) {
    basis = orthonormalColumns(mTimes(orthonormalColumns(mtTimes(basis), n, q)), m, q);
  }
  // B = Qᵀ·M = (Mᵀ·Q)ᵀ [q, n]
  const mtq = mtTimes(basis);
  const b = new Float64Array(q * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < q; j++) b[j * n + i] = mtq[i * q + j];
  const small = svd(b, q, n); // Û [q, q], S [q], Vt [q, n]
  // U of M = Q·Û [m, q]
  const uM = new Float64Array(m * q);
  for (let i = 0; i < m; i++) {
    for (let t = 0; t < q; t++) {
      const x = basis[i * q + t];
      if (x === 0) continue;
      for (let j = 0; j < q; j++) uM[i * q + j] += x * small.U[t * q + j];
    }
  }
  if (tall) return { rows, cols, k: q, U: uM, S: small.S, Vt: small.Vt };
  // W = Mᵀ = Vᵀᵀ·S·Uᵀ: W's left vectors are M's right ones and the other way round.
  const U = new Float64Array(rows * q);
  for (let j = 0; j < q; j++) for (let i = 0; i < rows; i++) U[i * q + j] = small.Vt[j * n + i];
  const Vt = new Float64Array(q * cols);
  for (let i = 0; i < cols; i++) for (let j = 0; j < q; j++) Vt[j * cols + i] = uM[i * q + j];
  return { rows, cols, k: q, U, S: small.S, Vt };
}

/**
 * Orthonormal columns spanning those of the row-major `m`×`q` matrix `a` (modified Gram–Schmidt,
 * twice, which keeps them orthogonal to working precision). A column that depends on the ones
 * before it becomes zero: the matrix has rank below q, and its extra components get σ = 0.
 */
function orthonormalColumns(a: Float64Array, m: number, q: number): Float64Array {
  const cols: Float64Array[] = [];
  for (let j = 0; j < q; j++) {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) c[i] = a[i * q + j];
    const before = norm(c);
    for (let pass = 0; pass < 2; pass++) {
      for (const p of cols) {
        const x = dot(p, c);
        if (x !== 0) for (let i = 0; i < m; i++) c[i] -= x * p[i];
      }
    }
    const after = norm(c);
    if (after > before * 1e-12 && after > 0) for (let i = 0; i < m; i++) c[i] /= after;
    else c.fill(0);
    cols.push(c);
  }
  const out = new Float64Array(m * q);
  for (let j = 0; j < q; j++) for (let i = 0; i < m; i++) out[i * q + j] = cols[j][i];
  return out;
}
