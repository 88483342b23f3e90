/*
 * PeftlabLayerNorm: y = (x − mean) · rsqrt(var + eps) · w + b over rows of C features.
 *   Arguments: heap, xOffset, wOffset, bOffset, yOffset, rows, C, eps
 * PeftlabLayerNormGrad: with x̂ = (x − mean) · r, r = rsqrt(var + eps) and g = dy · w,
 *   dx = r · (g − mean(g) − x̂ · mean(g · x̂))
 *   Arguments: heap, dyOffset, xOffset, wOffset, dxOffset, rows, C, eps
 * Threads split rows. The row loops are written once and compiled twice: for AVX2/FMA (the
 * compiler vectorises the elementwise loops) and for the baseline CPU.
 */
#include "fused_math.h"

typedef struct {
  const float *x, *w, *b, *dy;
  float *out;
  int64_t c;
  float eps;
} ln_job;

/* Mean and rsqrt(var + eps) of one row (sums in a fixed order). */
#define LN_STATS(x, c, eps, mean, r)                                  \
  do {                                                                \
    float s_ = 0;                                                     \
    for (int64_t i_ = 0; i_ < (c); i_++) s_ += (x)[i_];               \
    (mean) = s_ / (float)(c);                                         \
    float v_ = 0;                                                     \
    for (int64_t i_ = 0; i_ < (c); i_++) {                            \
      float d_ = (x)[i_] - (mean);                                    \
      v_ += d_ * d_;                                                  \
    }                                                                 \
    (r) = 1.0f / sqrtf(v_ / (float)(c) + (eps));                      \
  } while (0)

#define LN_FWD_BODY                                                                  \
  const int64_t c = j->c;                                                            \
  for (int64_t row = r0; row < r1; row++) {                                          \
    const float *x = j->x + row * c;                                                 \
    float *y = j->out + row * c;                                                     \
    float mean, r;                                                                   \
    LN_STATS(x, c, j->eps, mean, r);                                                 \
    for (int64_t i = 0; i < c; i++) y[i] = (x[i] - mean) * r * j->w[i] + j->b[i];    \
  }

#define LN_BWD_BODY                                                                  \
  const int64_t c = j->c;                                                            \
  for (int64_t row = r0; row < r1; row++) {                                          \
    const float *x = j->x + row * c, *dy = j->dy + row * c;                          \
    float *dx = j->out + row * c;                                                    \
    float mean, r;                                                                   \
    LN_STATS(x, c, j->eps, mean, r);                                                 \
    float sg = 0, sgx = 0;                                                           \
    for (int64_t i = 0; i < c; i++) {                                                \
      float g = dy[i] * j->w[i];                                                     \
      sg += g;                                                                       \
      sgx += g * (x[i] - mean) * r;                                                  \
    }                                                                                \
    const float mg = sg / (float)c, mgx = sgx / (float)c;                            \
    for (int64_t i = 0; i < c; i++)                                                  \
      dx[i] = r * (dy[i] * j->w[i] - mg - (x[i] - mean) * r * mgx);                  \
  }

#if PL_X86
static PL_AVX2 void ln_fwd_avx2(const ln_job *j, int64_t r0, int64_t r1) { LN_FWD_BODY }
static PL_AVX2 void ln_bwd_avx2(const ln_job *j, int64_t r0, int64_t r1) { LN_BWD_BODY }
#endif
static void ln_fwd_c(const ln_job *j, int64_t r0, int64_t r1) { LN_FWD_BODY }
static void ln_bwd_c(const ln_job *j, int64_t r0, int64_t r1) { LN_BWD_BODY }

PL_SIMD_TASK(ln_fwd_task, ln_fwd_avx2, ln_fwd_c)

PL_SIMD_TASK(ln_bwd_task, ln_bwd_avx2, ln_bwd_c)

napi_value pl_kernel_PeftlabLayerNorm(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabLayerNorm", 8, &a)) return NULL;
  ln_job j = {0};
  int64_t rows = pl_int(&a, 5);
  j.c = pl_int(&a, 6);
  j.eps = (float)pl_num(&a, 7);
  if (a.failed) return NULL;
  if (rows < 0 || j.c < 1) return pl_throw(&a, "bad shape rows=%lld C=%lld", (long long)rows, (long long)j.c);
  j.x = pl_f32(&a, 1, rows * j.c);
  j.w = pl_f32(&a, 2, j.c);
  j.b = pl_f32(&a, 3, j.c);
  j.out = pl_f32(&a, 4, rows * j.c);
  if (a.failed) return NULL;
  pl_parallel_for(rows, pl_row_grain(j.c), ln_fwd_task, &j);
  return pl_undefined(env);
}

napi_value pl_kernel_PeftlabLayerNormGrad(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabLayerNormGrad", 8, &a)) return NULL;
  ln_job j = {0};
  int64_t rows = pl_int(&a, 5);
  j.c = pl_int(&a, 6);
  j.eps = (float)pl_num(&a, 7);
  if (a.failed) return NULL;
  if (rows < 0 || j.c < 1) return pl_throw(&a, "bad shape rows=%lld C=%lld", (long long)rows, (long long)j.c);
  j.dy = pl_f32(&a, 1, rows * j.c);
  j.x = pl_f32(&a, 2, rows * j.c);
  j.w = pl_f32(&a, 3, j.c);
  j.out = pl_f32(&a, 4, rows * j.c);
  if (a.failed) return NULL;
  pl_parallel_for(rows, pl_row_grain(j.c), ln_bwd_task, &j);
  return pl_undefined(env);
}
