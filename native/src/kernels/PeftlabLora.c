/*
 * PeftlabLora: the LoRA path delta = (x · Aᵀ) · Bᵀ · scale, plus base [N, out] when given (the
 * frozen layer's output, so that one call yields the adapted layer's output), saving
 * hs = (x · Aᵀ) · scale.
 *   Arguments: heap, xOffset [N, in], aOffset [r, in], bOffset [out, r], baseOffset (−1: none),
 *              deltaOffset [N, out], hsOffset [N, r], N, in, r, out, scale
 * PeftlabLoraGrad: with gs = (dy · B) · scale [N, r]:
 *   dx = gs · A,  dA = gsᵀ · x,  dB = dyᵀ · hs
 *   Arguments: heap, dyOffset, xOffset, aOffset, bOffset, hsOffset, dxOffset, dAOffset, dBOffset,
 *              N, in, r, out, scale
 * With AVX2 and in, out multiples of 8, the products run on pl_mm_avx2 with r padded to a multiple
 * of 8 (the narrow products, r = 8 or so, cost pl_sgemm more in packing than in arithmetic):
 * threads split rows of N for hs, delta, gs and dx, and the outputs of dA (32 columns at a time)
 * and dB (rows) for the two sums over N, so each element is one sum in a fixed order. Otherwise
 * (and on the plain C path) the products are pl_sgemm calls, whose results do not depend on how
 * they are split over threads either.
 */
#include <string.h>
#include "fused_math.h"

#define ROWS_PER_TASK 64

static int64_t round8(int64_t n) { return (n + 7) & ~(int64_t)7; }

/* dst [rows × ldd] ← src [rows × lds], the first `cols` columns; zero beyond them up to ldd. */
static void copy_pad(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; i++) {
    memcpy(dst + i * ldd, src + i * lds, (size_t)cols * sizeof(float));
    memset(dst + i * ldd + cols, 0, (size_t)(ldd - cols) * sizeof(float));
  }
}

typedef struct {
  int64_t n, in, r, r8, out;
  float scale;
  const float *x, *A, *B, *base, *dy, *hs_in;
  float *delta, *hs, *dx, *dA, *dB;
  float *at, *bt, *bp, *gs, *hsp, *dbp; /* scratch: Aᵀ [in × r8], Bᵀ [r8 × out], B [out × r8], gs and hs [N × r8], dB [out × r8] */
  int failed;
} lora_job;

#if PL_X86
static int direct_ok(int64_t in, int64_t out) { return pl_use_avx2() && in % 8 == 0 && out % 8 == 0; }

static PL_AVX2 void fwd_rows(void *ctx, int64_t t0, int64_t t1) {
  lora_job *j = ctx;
  const int64_t i0 = t0 * ROWS_PER_TASK, i1 = t1 * ROWS_PER_TASK < j->n ? t1 * ROWS_PER_TASK : j->n, rows = i1 - i0;
  float *hsp = pl_scratch(3, (size_t)(rows * j->r8) * sizeof(float));
  if (!hsp) {
    j->failed = 1;
    return;
  }
  pl_mm_avx2(rows, j->in, j->r8, j->x + i0 * j->in, j->in, 1, j->at, j->r8, hsp, j->r8, 0, j->scale);
  for (int64_t i = 0; i < rows; i++) memcpy(j->hs + (i0 + i) * j->r, hsp + i * j->r8, (size_t)j->r * sizeof(float));
  float *delta = j->delta + i0 * j->out;
  pl_mm_avx2(rows, j->r8, j->out, hsp, j->r8, 1, j->bt, j->out, delta, j->out, 0, 1.0f);
  if (j->base)
    for (int64_t i = 0; i < rows * j->out; i++) delta[i] += j->base[i0 * j->out + i];
}

static PL_AVX2 void bwd_rows(void *ctx, int64_t t0, int64_t t1) {
  lora_job *j = ctx;
  const int64_t i0 = t0 * ROWS_PER_TASK, i1 = t1 * ROWS_PER_TASK < j->n ? t1 * ROWS_PER_TASK : j->n, rows = i1 - i0;
  float *gs = j->gs + i0 * j->r8;
  pl_mm_avx2(rows, j->out, j->r8, j->dy + i0 * j->out, j->out, 1, j->bp, j->r8, gs, j->r8, 0, j->scale);
  pl_mm_avx2(rows, j->r, j->in, gs, j->r8, 1, j->A, j->in, j->dx + i0 * j->in, j->in, 0, 1.0f);
}

/* dA columns [32·c0, 32·c1): Σ over all N rows of gsᵀ · x. */
static PL_AVX2 void bwd_da(void *ctx, int64_t c0, int64_t c1) {
  lora_job *j = ctx;
  for (int64_t c = c0; c < c1; c++) {
    const int64_t col = 32 * c, w = j->in - col < 32 ? j->in - col : 32;
    pl_mm_avx2(j->r, j->n, w, j->gs, 1, j->r8, j->x + col, j->in, j->dA + col, j->in, 0, 1.0f);
  }
}

/* dB rows [o0, o1) (padded to r8 columns): Σ over all N rows of dyᵀ · hs. */
static PL_AVX2 void bwd_db(void *ctx, int64_t o0, int64_t o1) {
  lora_job *j = ctx;
  pl_mm_avx2(o1 - o0, j->n, j->r8, j->dy + o0, 1, j->out, j->hsp, j->r8, j->dbp + o0 * j->r8, j->r8, 0, 1.0f);
}
#else
static int direct_ok(int64_t in, int64_t out) { (void)in; (void)out; return 0; }
#endif

static void scale_rows(float *p, int64_t n, float s) {
  for (int64_t i = 0; i < n; i++) p[i] *= s;
}

static int read_dims(pl_args *a, size_t first, int64_t d[4], float *scale) {
  for (int i = 0; i < 4; i++) d[i] = pl_int(a, first + i);
  *scale = (float)pl_num(a, first + 4);
  if (a->failed) return 0;
  if (d[0] < 0 || d[1] < 1 || d[2] < 1 || d[3] < 1) {
    pl_throw(a, "bad shape N=%lld in=%lld r=%lld out=%lld", (long long)d[0], (long long)d[1], (long long)d[2],
             (long long)d[3]);
    return 0;
  }
  return 1;
}

napi_value pl_kernel_PeftlabLora(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabLora", 12, &a)) return NULL;
  int64_t d[4];
  float scale;
  if (!read_dims(&a, 7, d, &scale)) return NULL;
  const int64_t n = d[0], in = d[1], r = d[2], out = d[3];
  const float *x = pl_f32(&a, 1, n * in), *A = pl_f32(&a, 2, r * in), *B = pl_f32(&a, 3, out * r);
  const float *base = pl_int(&a, 4) >= 0 ? pl_f32(&a, 4, n * out) : NULL;
  float *delta = pl_f32(&a, 5, n * out), *hs = pl_f32(&a, 6, n * r);
  if (a.failed) return NULL;
#if PL_X86
  if (direct_ok(in, out)) {
    lora_job j = {.n = n, .in = in, .r = r, .r8 = round8(r), .out = out, .scale = scale, .x = x, .base = base, .delta = delta, .hs = hs};
    j.at = pl_scratch(2, (size_t)(j.r8 * (in + out)) * sizeof(float));
    if (!j.at) return pl_throw(&a, "out of memory");
    j.bt = j.at + in * j.r8;
    for (int64_t e = 0; e < in; e++)
      for (int64_t q = 0; q < j.r8; q++) j.at[e * j.r8 + q] = q < r ? A[q * in + e] : 0.0f;
    for (int64_t q = 0; q < j.r8; q++)
      for (int64_t o = 0; o < out; o++) j.bt[q * out + o] = q < r ? B[o * r + q] : 0.0f;
    pl_parallel_for((n + ROWS_PER_TASK - 1) / ROWS_PER_TASK, 1, fwd_rows, &j);
    if (j.failed) return pl_throw(&a, "out of memory");
    return pl_undefined(env);
  }
#endif
  if (pl_sgemm(0, 1, n, r, in, x, in, A, in, hs, r, 1) != 0) return pl_throw(&a, "out of memory");
  scale_rows(hs, n * r, scale);
  if (pl_sgemm(0, 1, n, out, r, hs, r, B, r, delta, out, 1) != 0) return pl_throw(&a, "out of memory");
  if (base)
    for (int64_t i = 0; i < n * out; i++) delta[i] += base[i];
  return pl_undefined(env);
}

napi_value pl_kernel_PeftlabLoraGrad(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabLoraGrad", 14, &a)) return NULL;
  int64_t d[4];
  float scale;
  if (!read_dims(&a, 9, d, &scale)) return NULL;
  const int64_t n = d[0], in = d[1], r = d[2], out = d[3];
  const float *dy = pl_f32(&a, 1, n * out), *x = pl_f32(&a, 2, n * in), *A = pl_f32(&a, 3, r * in);
  const float *B = pl_f32(&a, 4, out * r), *hs = pl_f32(&a, 5, n * r);
  float *dx = pl_f32(&a, 6, n * in), *dA = pl_f32(&a, 7, r * in), *dB = pl_f32(&a, 8, out * r);
  if (a.failed) return NULL;
#if PL_X86
  if (direct_ok(in, out)) {
    lora_job j = {.n = n, .in = in, .r = r, .r8 = round8(r), .out = out, .scale = scale, .x = x, .A = A, .dy = dy,
                  .dx = dx, .dA = dA, .dB = dB};
    j.bp = pl_scratch(2, (size_t)(j.r8 * (2 * out + 2 * n)) * sizeof(float));
    if (!j.bp) return pl_throw(&a, "out of memory for %lld×%lld floats", (long long)n, (long long)j.r8);
    j.gs = j.bp + out * j.r8;
    j.hsp = j.gs + n * j.r8;
    j.dbp = j.hsp + n * j.r8;
    copy_pad(j.bp, j.r8, B, r, out, r);
    copy_pad(j.hsp, j.r8, hs, r, n, r);
    pl_parallel_for((n + ROWS_PER_TASK - 1) / ROWS_PER_TASK, 1, bwd_rows, &j);
    pl_parallel_for((in + 31) / 32, 1, bwd_da, &j);
    pl_parallel_for(out, 16, bwd_db, &j);
    for (int64_t o = 0; o < out; o++) memcpy(dB + o * r, j.dbp + o * j.r8, (size_t)r * sizeof(float));
    return pl_undefined(env);
  }
#endif
  float *gs = pl_scratch(2, (size_t)(n * r) * sizeof(float));
  if (!gs) return pl_throw(&a, "out of memory for %lld×%lld floats", (long long)n, (long long)r);
  int ok = pl_sgemm(0, 0, n, r, out, dy, out, B, r, gs, r, 1) == 0;
  scale_rows(gs, n * r, scale);
  ok = ok && pl_sgemm(0, 0, n, in, r, gs, r, A, in, dx, in, 1) == 0;
  ok = ok && pl_sgemm(1, 0, r, in, n, gs, r, x, in, dA, in, 1) == 0;
  ok = ok && pl_sgemm(1, 0, out, r, n, dy, out, hs, r, dB, r, 1) == 0;
  if (!ok) return pl_throw(&a, "out of memory");
  return pl_undefined(env);
}
