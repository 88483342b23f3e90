/*
 * PeftlabRMSNorm: y = x · rsqrt(mean(x²) + eps) · w over rows of C features (HF LlamaRMSNorm).
 *   Arguments: heap, xOffset, wOffset, yOffset, rows, C, eps
 * PeftlabRMSNormGrad: with r = rsqrt(mean(x²) + eps) and g = dy · w,
 *   dx = r · g − x · r³ · (Σ g·x) / C
 *   Arguments: heap, dyOffset, xOffset, wOffset, dxOffset, rows, C, eps
 * PeftlabRMSNormGradWeight: dw[c] = Σ_rows dy · x · r (full-parameter training; in fine-tuning the
 * norm weights are frozen and this is not called).
 *   Arguments: heap, dyOffset, xOffset, dwOffset, rows, C, eps
 * Threads split rows (each row reduced by one thread); the weight gradient, a sum over rows, is
 * split by columns instead, each column summed over every row in row order. Results do not depend
 * on the split.
 */
#include <stdlib.h>
#include "fused_math.h"

typedef struct {
  const float *x, *w, *dy;
  float *out;
  int64_t c;
  float eps;
} rms_job;

#if PL_X86
static PL_AVX2 void rms_fwd_avx2(const rms_job *j, int64_t r0, int64_t r1) {
  const int64_t c = j->c;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * c;
    float *y = j->out + r * c;
    const float s = 1.0f / sqrtf(pl_dot_avx2(x, x, c) / (float)c + j->eps);
    const __m256 sv = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= c; i += 8)
      _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sv), _mm256_loadu_ps(j->w + i)));
    for (; i < c; i++) y[i] = x[i] * s * j->w[i];
  }
}

static PL_AVX2 void rms_bwd_avx2(const rms_job *j, int64_t r0, int64_t r1) {
  const int64_t c = j->c;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * c, *dy = j->dy + r * c;
    float *dx = j->out + r * c;
    const float s = 1.0f / sqrtf(pl_dot_avx2(x, x, c) / (float)c + j->eps);
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= c; i += 8)
      acc = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_loadu_ps(j->w + i)), _mm256_loadu_ps(x + i), acc);
    float dot = pl_hsum8(acc);
    for (; i < c; i++) dot += dy[i] * j->w[i] * x[i];
    const float k = s * s * s * dot / (float)c;
    const __m256 sv = _mm256_set1_ps(s), kv = _mm256_set1_ps(k);
    for (i = 0; i + 8 <= c; i += 8) {
      __m256 g = _mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_loadu_ps(j->w + i));
      _mm256_storeu_ps(dx + i, _mm256_fnmadd_ps(_mm256_loadu_ps(x + i), kv, _mm256_mul_ps(g, sv)));
    }
    for (; i < c; i++) dx[i] = dy[i] * j->w[i] * s - x[i] * k;
  }
}
#endif

static void rms_fwd_c(const rms_job *j, int64_t r0, int64_t r1) {
  const int64_t c = j->c;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * c;
    float *y = j->out + r * c;
    const float s = 1.0f / sqrtf(pl_dot_c(x, x, c) / (float)c + j->eps);
    for (int64_t i = 0; i < c; i++) y[i] = x[i] * s * j->w[i];
  }
}

static void rms_bwd_c(const rms_job *j, int64_t r0, int64_t r1) {
  const int64_t c = j->c;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * c, *dy = j->dy + r * c;
    float *dx = j->out + r * c;
    const float s = 1.0f / sqrtf(pl_dot_c(x, x, c) / (float)c + j->eps);
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t i = 0; i < c; i++) acc[i & 7] += dy[i] * j->w[i] * x[i];
    const float dot = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    const float k = s * s * s * dot / (float)c;
    for (int64_t i = 0; i < c; i++) dx[i] = dy[i] * j->w[i] * s - x[i] * k;
  }
}

PL_SIMD_TASK(rms_fwd_task, rms_fwd_avx2, rms_fwd_c)

PL_SIMD_TASK(rms_bwd_task, rms_bwd_avx2, rms_bwd_c)

napi_value pl_kernel_PeftlabRMSNorm(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabRMSNorm", 7, &a)) return NULL;
  rms_job j = {0};
  int64_t rows = pl_int(&a, 4);
  j.c = pl_int(&a, 5);
  j.eps = (float)pl_num(&a, 6);
  if (a.failed) return NULL;
  if (rows < 0 || j.c < 1) return pl_throw(&a, "bad shape rows=%lld C=%lld", (long long)rows, (long long)j.c);
  j.x = pl_f32(&a, 1, rows * j.c);
  j.w = pl_f32(&a, 2, j.c);
  j.out = pl_f32(&a, 3, rows * j.c);
  if (a.failed) return NULL;
  pl_parallel_for(rows, pl_row_grain(j.c), rms_fwd_task, &j);
  return pl_undefined(env);
}

napi_value pl_kernel_PeftlabRMSNormGrad(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabRMSNormGrad", 8, &a)) return NULL;
  rms_job j = {0};
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
  pl_parallel_for(rows, pl_row_grain(j.c), rms_bwd_task, &j);
  return pl_undefined(env);
}

typedef struct {
  const float *x, *dy;
  float *dw, *scale;
  int64_t rows, c;
  float eps;
} rmsw_job;

static void rmsw_scale_task(void *ctx, int64_t r0, int64_t r1) {
  rmsw_job *j = ctx;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * j->c;
    float ss = 0;
    for (int64_t i = 0; i < j->c; i++) ss += x[i] * x[i];
    j->scale[r] = 1.0f / sqrtf(ss / (float)j->c + j->eps);
  }
}

static void rmsw_col_task(void *ctx, int64_t c0, int64_t c1) {
  rmsw_job *j = ctx;
  for (int64_t c = c0; c < c1; c++) j->dw[c] = 0;
  for (int64_t r = 0; r < j->rows; r++) {
    const float *x = j->x + r * j->c, *dy = j->dy + r * j->c;
    const float s = j->scale[r];
    for (int64_t c = c0; c < c1; c++) j->dw[c] += dy[c] * x[c] * s;
  }
}

napi_value pl_kernel_PeftlabRMSNormGradWeight(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabRMSNormGradWeight", 7, &a)) return NULL;
  rmsw_job j = {0};
  j.rows = pl_int(&a, 4);
  j.c = pl_int(&a, 5);
  j.eps = (float)pl_num(&a, 6);
  if (a.failed) return NULL;
  if (j.rows < 0 || j.c < 1) return pl_throw(&a, "bad shape rows=%lld C=%lld", (long long)j.rows, (long long)j.c);
  j.dy = pl_f32(&a, 1, j.rows * j.c);
  j.x = pl_f32(&a, 2, j.rows * j.c);
  j.dw = pl_f32(&a, 3, j.c);
  if (a.failed) return NULL;
  j.scale = malloc((size_t)(j.rows + 1) * sizeof(float));
  if (!j.scale) return pl_throw(&a, "out of memory");
  pl_parallel_for(j.rows, pl_row_grain(j.c), rmsw_scale_task, &j);
  pl_parallel_for(j.c, 16, rmsw_col_task, &j);
  free(j.scale);
  return pl_undefined(env);
}
