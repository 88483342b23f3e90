/*
 * PeftlabAttention: the attention core on projections in their [B, T, N·D] layout.
 *   scores = q_h · k_gᵀ / √D + bias,  bias = (1 − allowed) · (−1e9),
 *   allowed[i, j] = padMask[b, j] · (causal && j > i ? 0 : 1)
 *   P = softmax(scores) (per row), out_h = (P · m_h) · v_g, stats = each row's [max, log Σ exp(s − max)]
 *   with g = ⌊h / (H / K)⌋ (grouped-query heads) and m_h = headMask[h] (1 without a mask).
 *   (two numbers rather than their sum: a row with every key masked has a maximum near −1e9, where
 *   adding log Σ would be lost to rounding).
 *   Arguments: heap, qOffset, kOffset, vOffset, padMaskOffset, headMaskOffset, outOffset, statsOffset,
 *              B, T, H, K, D, causal, hasHeadMask
 * PeftlabAttentionGrad: recomputes P from the scores and stats, then, per head,
 *   dPm = dO · v_gᵀ,  dm_h = Σ dPm ⊙ P,  dv_g += (m_h P)ᵀ · dO,
 *   dS = P ⊙ (m_h dPm − rowsum(m_h dPm ⊙ P)) / √D,  dq_h = dS · k_g,  dk_g += dSᵀ · q_h
 *   Arguments: heap, dyOffset, qOffset, kOffset, vOffset, padMaskOffset, headMaskOffset, statsOffset,
 *              dqOffset, dkOffset, dvOffset, dHeadMaskOffset, B, T, H, K, D, causal, hasHeadMask
 * One (batch, head) holds its scores in cache, a block of rows at a time; under a causal mask a
 * block reads only the keys up to its last row (see key_limit). Nothing is stored between the
 * passes but the row stats. Threads split (batch, head) pairs in the forward and (batch,
 * key/value head) pairs in the backward, so the heads sharing a key/value head add into dk and dv
 * in a fixed order; dHeadMask sums per-batch parts in batch order.
 */
#include <stdlib.h>
#include <string.h>
#include "fused_math.h"

typedef struct {
  const float *q, *k, *v, *pad, *hm, *dy, *lse_in;
  float *out, *lse, *dq, *dk, *dv, *dm_part;
  int64_t b, t, h, kv, d;
  int causal, has_hm, failed;
  float scale;
} attn_job;

/* Scores of row i over keys [0, n) (in place): s[c] · scale + bias[i, c]. */
#define BIAS_ROW_BODY                                                   \
  const int64_t lim = j->causal ? (i + 1 < n ? i + 1 : n) : n;          \
  for (int64_t c = 0; c < lim; c++) s[c] = s[c] * j->scale + (1.0f - pad[c]) * -1e9f; \
  for (int64_t c = lim; c < n; c++) s[c] = s[c] * j->scale + -1e9f;

#if PL_X86
static PL_AVX2 void bias_row_avx2(const attn_job *j, float *s, const float *pad, int64_t i, int64_t n) { BIAS_ROW_BODY }
#endif
static void bias_row_c(const attn_job *j, float *s, const float *pad, int64_t i, int64_t n) { BIAS_ROW_BODY }

static void bias_row(const attn_job *j, float *s, const float *pad, int64_t i, int64_t n) {
#if PL_X86
  if (pl_use_avx2()) {
    bias_row_avx2(j, s, pad, i, n);
    return;
  }
#endif
  bias_row_c(j, s, pad, i, n);
}

#if PL_X86
/* s ← exp(s − sub); returns Σ. */
static PL_AVX2 float exp_row_avx2(float *s, int64_t n, float sub) {
  const __m256 sv = _mm256_set1_ps(sub);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 e = pl_exp8(_mm256_sub_ps(_mm256_loadu_ps(s + i), sv));
    _mm256_storeu_ps(s + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = pl_hsum8(acc);
  for (; i < n; i++) {
    s[i] = expf(s[i] - sub);
    sum += s[i];
  }
  return sum;
}

static PL_AVX2 float max_row_avx2(const float *s, int64_t n) {
  __m256 mv = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(s + i));
  float m = pl_hmax8(mv);
  for (; i < n; i++) m = s[i] > m ? s[i] : m;
  return m;
}
#endif

static float exp_row_c(float *s, int64_t n, float sub) {
  float sum = 0;
  for (int64_t i = 0; i < n; i++) {
    s[i] = expf(s[i] - sub);
    sum += s[i];
  }
  return sum;
}

static float max_row_c(const float *s, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; i++) m = s[i] > m ? s[i] : m;
  return m;
}

static float exp_row(float *s, int64_t n, float sub) {
#if PL_X86
  if (pl_use_avx2()) return exp_row_avx2(s, n, sub);
#endif
  return exp_row_c(s, n, sub);
}

static float max_row(const float *s, int64_t n) {
#if PL_X86
  if (pl_use_avx2()) return max_row_avx2(s, n);
#endif
  return max_row_c(s, n);
}

static float dot(const float *a, const float *b, int64_t n) {
#if PL_X86
  if (pl_use_avx2()) return pl_dot_avx2(a, b, n);
#endif
  return pl_dot_c(a, b, n);
}

/* Rows per block under a causal mask: block [i0, i1) reads keys [0, i1) only. */
#define ROW_BLOCK 32

/*
 * Keys that row block [i0, i1) of batch b must read. Under a causal mask a key after the block's
 * last row has probability exactly 0 (exp of −1e9 below the row's maximum), provided every row has
 * an allowed key to set that maximum: key 0 is allowed in every row when padMask[b, 0] ≠ 0. When it
 * is 0 (a leading pad), a row may have no allowed key at all, and its softmax then spreads over
 * every key, so all T are read.
 */
static int64_t key_limit(const attn_job *j, int64_t b, int64_t i1) {
  return j->causal && j->pad[b * j->t] != 0.0f ? i1 : j->t;
}

static int64_t row_block(const attn_job *j) { return j->causal ? ROW_BLOCK : j->t; }

/* ---- Direct AVX2 path for head sizes that are multiples of 32 -----------------------------------
 * The products above go through pl_sgemm, whose packing costs more than the arithmetic at these
 * sizes (T×T×D with T, D ≈ 64, 32). This path computes them with one register-blocked loop,
 * reading K and V transposed (K [T, D] → KT [D, T32], T32 = T rounded up to 32, zero padded), so
 * every product is C[m × w] (+)= k · A[m × n] · B[n × w] with w a multiple of 32. */
#if PL_X86
#define DIRECT_OK(j) (pl_use_avx2() && (j)->d % 32 == 0)

static int64_t round32(int64_t n) { return (n + 31) & ~(int64_t)31; }

/* XT[e, j] = X[j, e] for j < t (row stride ld), 0 for t ≤ j < t32. */
static void transpose_pad(const float *x, int64_t ld, int64_t t, int64_t d, int64_t t32, float *xt) {
  for (int64_t e = 0; e < d; e++) {
    for (int64_t r = 0; r < t; r++) xt[e * t32 + r] = x[r * ld + e];
    for (int64_t r = t; r < t32; r++) xt[e * t32 + r] = 0;
  }
}

/* One (batch, head) of the forward. Scratch: scores [rb × T32] then KT [D × T32]. */
static int fwd_direct(attn_job *j, int64_t b, int64_t h) {
  const int64_t t = j->t, d = j->d, hd = j->h * d, kd = j->kv * d, g = h / (j->h / j->kv), rb = row_block(j), t32 = round32(t);
  float *s = pl_scratch(2, (size_t)((rb + d) * t32) * sizeof(float));
  if (!s) return 0;
  float *kt = s + rb * t32;
  const float *qh = j->q + b * t * hd + h * d, *vg = j->v + b * t * kd + g * d;
  const float m = j->has_hm ? j->hm[h] : 1.0f;
  transpose_pad(j->k + b * t * kd + g * d, kd, t, d, t32, kt);
  for (int64_t i0 = 0; i0 < t; i0 += rb) {
    const int64_t i1 = i0 + rb < t ? i0 + rb : t, rows = i1 - i0, kl = key_limit(j, b, i1), w = round32(kl);
    pl_mm_avx2(rows, d, w, qh + i0 * hd, hd, 1, kt, t32, s, w, 0, 1.0f);
    for (int64_t i = i0; i < i1; i++) {
      float *row = s + (i - i0) * w;
      bias_row(j, row, j->pad + b * t, i, kl);
      const float mx = max_row(row, kl);
      const float sum = exp_row(row, kl, mx);
      float *st = j->lse + ((b * j->h + h) * t + i) * 2;
      st[0] = mx;
      st[1] = logf(sum);
      const float k = m / sum;
      for (int64_t c = 0; c < kl; c++) row[c] *= k;
    }
    pl_mm_avx2(rows, kl, d, s, w, 1, vg, kd, j->out + b * t * hd + i0 * hd + h * d, hd, 0, 1.0f);
  }
  return 1;
}

/* One (batch, key/value head) of the backward: every query head of the group.
 * Scratch: P and dS [rb × T32 each], then KT and VT [D × T32 each]. */
static int bwd_direct(attn_job *j, int64_t b, int64_t g) {
  const int64_t t = j->t, d = j->d, hd = j->h * d, kd = j->kv * d, rep = j->h / j->kv, rb = row_block(j), t32 = round32(t);
  float *pm = pl_scratch(2, (size_t)(2 * (rb + d) * t32) * sizeof(float));
  if (!pm) return 0;
  float *dp = pm + rb * t32, *kt = dp + rb * t32, *vt = kt + d * t32;
  const float *kg = j->k + b * t * kd + g * d, *vg = j->v + b * t * kd + g * d;
  float *dkg = j->dk + b * t * kd + g * d, *dvg = j->dv + b * t * kd + g * d;
  transpose_pad(kg, kd, t, d, t32, kt);
  transpose_pad(vg, kd, t, d, t32, vt);
  for (int64_t i = 0; i < t; i++) {
    memset(dkg + i * kd, 0, (size_t)d * sizeof(float));
    memset(dvg + i * kd, 0, (size_t)d * sizeof(float));
  }
  for (int64_t h = g * rep; h < (g + 1) * rep; h++) {
    const float *qh = j->q + b * t * hd + h * d, *doh = j->dy + b * t * hd + h * d;
    const float *stats = j->lse_in + (b * j->h + h) * t * 2;
    const float m = j->has_hm ? j->hm[h] : 1.0f;
    double dm = 0;
    for (int64_t i0 = 0; i0 < t; i0 += rb) {
      const int64_t i1 = i0 + rb < t ? i0 + rb : t, rows = i1 - i0, kl = key_limit(j, b, i1), w = round32(kl);
      pl_mm_avx2(rows, d, w, qh + i0 * hd, hd, 1, kt, t32, pm, w, 0, 1.0f);
      pl_mm_avx2(rows, d, w, doh + i0 * hd, hd, 1, vt, t32, dp, w, 0, 1.0f);
      for (int64_t i = i0; i < i1; i++) {
        float *prow = pm + (i - i0) * w, *drow = dp + (i - i0) * w;
        bias_row(j, prow, j->pad + b * t, i, kl);
        exp_row(prow, kl, stats[2 * i]);
        const float inv = expf(-stats[2 * i + 1]);
        for (int64_t c = 0; c < kl; c++) prow[c] *= inv;
        const float pd = dot(drow, prow, kl);
        dm += pd;
        const float rowdot = m * pd;
        for (int64_t c = 0; c < kl; c++) drow[c] = prow[c] * (m * drow[c] - rowdot) * j->scale;
      }
      /* dv_g[0, kl) += m · Pᵀ · dO;  dq_h rows = dS · k_g;  dk_g[0, kl) += dSᵀ · q_h */
      pl_mm_avx2(kl, rows, d, pm, 1, w, doh + i0 * hd, hd, dvg, kd, 1, m);
      pl_mm_avx2(rows, kl, d, dp, w, 1, kg, kd, j->dq + b * t * hd + i0 * hd + h * d, hd, 0, 1.0f);
      pl_mm_avx2(kl, rows, d, dp, 1, w, qh + i0 * hd, hd, dkg, kd, 1, 1.0f);
    }
    j->dm_part[b * j->h + h] = (float)dm;
  }
  return 1;
}
#else
#define DIRECT_OK(j) 0
static int fwd_direct(attn_job *j, int64_t b, int64_t h) { (void)j; (void)b; (void)h; return 0; }
static int bwd_direct(attn_job *j, int64_t b, int64_t g) { (void)j; (void)b; (void)g; return 0; }
#endif

static void fwd_task(void *ctx, int64_t p0, int64_t p1) {
  attn_job *j = ctx;
  const int64_t t = j->t, d = j->d, hd = j->h * d, kd = j->kv * d, rep = j->h / j->kv, rb = row_block(j);
  float *s = pl_scratch(2, (size_t)(rb * t) * sizeof(float));
  if (!s) {
    j->failed = 1;
    return;
  }
  if (DIRECT_OK(j)) {
    for (int64_t p = p0; p < p1; p++)
      if (!fwd_direct(j, p / j->h, p % j->h)) j->failed = 1;
    return;
  }
  for (int64_t p = p0; p < p1; p++) {
    const int64_t b = p / j->h, h = p % j->h, g = h / rep;
    const float *qh = j->q + b * t * hd + h * d, *kg = j->k + b * t * kd + g * d, *vg = j->v + b * t * kd + g * d;
    const float m = j->has_hm ? j->hm[h] : 1.0f;
    for (int64_t i0 = 0; i0 < t; i0 += rb) {
      const int64_t i1 = i0 + rb < t ? i0 + rb : t, rows = i1 - i0, kl = key_limit(j, b, i1);
      if (pl_sgemm(0, 1, rows, kl, d, qh + i0 * hd, hd, kg, kd, s, kl, 0) != 0) {
        j->failed = 1;
        return;
      }
      for (int64_t i = i0; i < i1; i++) {
        float *row = s + (i - i0) * kl;
        bias_row(j, row, j->pad + b * t, i, kl);
        const float mx = max_row(row, kl);
        const float sum = exp_row(row, kl, mx);
        float *st = j->lse + ((b * j->h + h) * t + i) * 2;
        st[0] = mx;
        st[1] = logf(sum);
        const float k = m / sum;
        for (int64_t c = 0; c < kl; c++) row[c] *= k;
      }
      if (pl_sgemm(0, 0, rows, d, kl, s, kl, vg, kd, j->out + b * t * hd + i0 * hd + h * d, hd, 0) != 0) j->failed = 1;
    }
  }
}

/* dst[n rows of stride ld] += k · src[n × d]. */
static void add_rows(float *dst, int64_t ld, const float *src, int64_t n, int64_t d, float k) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t c = 0; c < d; c++) dst[i * ld + c] += k * src[i * d + c];
}

static void bwd_task(void *ctx, int64_t p0, int64_t p1) {
  attn_job *j = ctx;
  const int64_t t = j->t, d = j->d, hd = j->h * d, kd = j->kv * d, rep = j->h / j->kv, rb = row_block(j);
  float *pm = pl_scratch(2, (size_t)(2 * rb * t) * sizeof(float));
  float *tmp = pl_scratch(3, (size_t)(t * d) * sizeof(float));
  if (!pm || !tmp) {
    j->failed = 1;
    return;
  }
  float *dp = pm + rb * t;
  if (DIRECT_OK(j)) {
    for (int64_t p = p0; p < p1; p++)
      if (!bwd_direct(j, p / j->kv, p % j->kv)) j->failed = 1;
    return;
  }
  for (int64_t p = p0; p < p1; p++) {
    const int64_t b = p / j->kv, g = p % j->kv;
    const float *kg = j->k + b * t * kd + g * d, *vg = j->v + b * t * kd + g * d;
    float *dkg = j->dk + b * t * kd + g * d, *dvg = j->dv + b * t * kd + g * d;
    for (int64_t i = 0; i < t; i++) {
      memset(dkg + i * kd, 0, (size_t)d * sizeof(float));
      memset(dvg + i * kd, 0, (size_t)d * sizeof(float));
    }
    for (int64_t h = g * rep; h < (g + 1) * rep; h++) {
      const float *qh = j->q + b * t * hd + h * d, *doh = j->dy + b * t * hd + h * d;
      const float *stats = j->lse_in + (b * j->h + h) * t * 2;
      const float m = j->has_hm ? j->hm[h] : 1.0f;
      double dm = 0;
      for (int64_t i0 = 0; i0 < t; i0 += rb) {
        const int64_t i1 = i0 + rb < t ? i0 + rb : t, rows = i1 - i0, kl = key_limit(j, b, i1);
        int ok = pl_sgemm(0, 1, rows, kl, d, qh + i0 * hd, hd, kg, kd, pm, kl, 0) == 0;
        ok = ok && pl_sgemm(0, 1, rows, kl, d, doh + i0 * hd, hd, vg, kd, dp, kl, 0) == 0;
        if (!ok) {
          j->failed = 1;
          return;
        }
        for (int64_t i = i0; i < i1; i++) {
          float *prow = pm + (i - i0) * kl, *drow = dp + (i - i0) * kl;
          bias_row(j, prow, j->pad + b * t, i, kl);
          exp_row(prow, kl, stats[2 * i]);
          const float inv = expf(-stats[2 * i + 1]);
          for (int64_t c = 0; c < kl; c++) prow[c] *= inv;
          const float pd = dot(drow, prow, kl); /* Σ_j dPm P over the row */
          dm += pd;
          const float rowdot = m * pd;
          for (int64_t c = 0; c < kl; c++) drow[c] = prow[c] * (m * drow[c] - rowdot) * j->scale;
        }
        /* dv_g[0, kl) += m · Pᵀ · dO, dq_h rows = dS · k_g, dk_g[0, kl) += dSᵀ · q_h */
        ok = pl_sgemm(1, 0, kl, d, rows, pm, kl, doh + i0 * hd, hd, tmp, d, 0) == 0;
        if (ok) add_rows(dvg, kd, tmp, kl, d, m);
        ok = ok && pl_sgemm(0, 0, rows, d, kl, dp, kl, kg, kd, j->dq + b * t * hd + i0 * hd + h * d, hd, 0) == 0;
        ok = ok && pl_sgemm(1, 0, kl, d, rows, dp, kl, qh + i0 * hd, hd, tmp, d, 0) == 0;
        if (!ok) {
          j->failed = 1;
          return;
        }
        add_rows(dkg, kd, tmp, kl, d, 1.0f);
      }
      j->dm_part[b * j->h + h] = (float)dm;
    }
  }
}

static int read_dims(pl_args *a, size_t first, attn_job *j) {
  j->b = pl_int(a, first);
  j->t = pl_int(a, first + 1);
  j->h = pl_int(a, first + 2);
  j->kv = pl_int(a, first + 3);
  j->d = pl_int(a, first + 4);
  j->causal = pl_int(a, first + 5) != 0;
  j->has_hm = pl_int(a, first + 6) != 0;
  if (a->failed) return 0;
  if (j->b < 0 || j->t < 1 || j->h < 1 || j->kv < 1 || j->d < 1 || j->h % j->kv) {
    pl_throw(a, "bad shape B=%lld T=%lld H=%lld K=%lld D=%lld (H must be a multiple of K)", (long long)j->b,
             (long long)j->t, (long long)j->h, (long long)j->kv, (long long)j->d);
    return 0;
  }
  j->scale = (float)(1.0 / sqrt((double)j->d));
  return 1;
}

static int64_t pair_grain(const attn_job *j) {
  double work = (double)j->t * j->t * j->d;
  return work >= 65536 ? 1 : (int64_t)(65536 / work) + 1;
}

napi_value pl_kernel_PeftlabAttention(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabAttention", 15, &a)) return NULL;
  attn_job j = {0};
  if (!read_dims(&a, 8, &j)) return NULL;
  const int64_t nq = j.b * j.t * j.h * j.d, nk = j.b * j.t * j.kv * j.d;
  j.q = pl_f32(&a, 1, nq);
  j.k = pl_f32(&a, 2, nk);
  j.v = pl_f32(&a, 3, nk);
  j.pad = pl_f32(&a, 4, j.b * j.t);
  j.hm = pl_f32(&a, 5, j.h);
  j.out = pl_f32(&a, 6, nq);
  j.lse = pl_f32(&a, 7, j.b * j.h * j.t * 2);
  if (a.failed) return NULL;
  pl_parallel_for(j.b * j.h, pair_grain(&j), fwd_task, &j);
  if (j.failed) return pl_throw(&a, "out of memory (T=%lld, D=%lld)", (long long)j.t, (long long)j.d);
  return pl_undefined(env);
}

napi_value pl_kernel_PeftlabAttentionGrad(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabAttentionGrad", 19, &a)) return NULL;
  attn_job j = {0};
  if (!read_dims(&a, 12, &j)) return NULL;
  const int64_t nq = j.b * j.t * j.h * j.d, nk = j.b * j.t * j.kv * j.d;
  j.dy = pl_f32(&a, 1, nq);
  j.q = pl_f32(&a, 2, nq);
  j.k = pl_f32(&a, 3, nk);
  j.v = pl_f32(&a, 4, nk);
  j.pad = pl_f32(&a, 5, j.b * j.t);
  j.hm = pl_f32(&a, 6, j.h);
  j.lse_in = pl_f32(&a, 7, j.b * j.h * j.t * 2);
  j.dq = pl_f32(&a, 8, nq);
  j.dk = pl_f32(&a, 9, nk);
  j.dv = pl_f32(&a, 10, nk);
  float *dhm = pl_f32(&a, 11, j.h);
  if (a.failed) return NULL;
  j.dm_part = malloc((size_t)(j.b * j.h + 1) * sizeof(float));
  if (!j.dm_part) return pl_throw(&a, "out of memory");
  pl_parallel_for(j.b * j.kv, pair_grain(&j), bwd_task, &j);
  for (int64_t h = 0; h < j.h; h++) {
    double s = 0;
    for (int64_t b = 0; b < j.b; b++) s += j.dm_part[b * j.h + h];
    dhm[h] = (float)s;
  }
  free(j.dm_part);
  if (j.failed) return pl_throw(&a, "out of memory (T=%lld, D=%lld)", (long long)j.t, (long long)j.d);
  return pl_undefined(env);
}
