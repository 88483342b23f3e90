/*
 * PeftlabSwiGLU: y = g · σ(g) · u (llama's MLP activation, silu(gate) · up), elementwise.
 *   Arguments: heap, gateOffset, upOffset, yOffset, n
 * PeftlabSwiGLUGrad: dGate = dy · u · σ(g) · (1 + g · (1 − σ(g))), dUp = dy · g · σ(g)
 *   Arguments: heap, dyOffset, gateOffset, upOffset, dGateOffset, dUpOffset, n
 * Threads split the elements into contiguous chunks.
 */
#include "fused_math.h"

typedef struct {
  const float *dy, *g, *u;
  float *y, *du;
} swiglu_job;

#if PL_X86
static PL_AVX2 __m256 sigmoid8(__m256 g) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, pl_exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}

static PL_AVX2 void swiglu_fwd_avx2(const swiglu_job *j, int64_t i0, int64_t i1) {
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    __m256 g = _mm256_loadu_ps(j->g + i);
    _mm256_storeu_ps(j->y + i, _mm256_mul_ps(_mm256_mul_ps(g, sigmoid8(g)), _mm256_loadu_ps(j->u + i)));
  }
  if (i < i1) {
    __m256 g = pl_load_partial(j->g + i, i1 - i);
    pl_store_partial(j->y + i, _mm256_mul_ps(_mm256_mul_ps(g, sigmoid8(g)), pl_load_partial(j->u + i, i1 - i)), i1 - i);
  }
}

static PL_AVX2 void swiglu_bwd8(const swiglu_job *j, int64_t i, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 g = n == 8 ? _mm256_loadu_ps(j->g + i) : pl_load_partial(j->g + i, n);
  __m256 u = n == 8 ? _mm256_loadu_ps(j->u + i) : pl_load_partial(j->u + i, n);
  __m256 dy = n == 8 ? _mm256_loadu_ps(j->dy + i) : pl_load_partial(j->dy + i, n);
  __m256 s = sigmoid8(g);
  __m256 dg = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dy, u), s), _mm256_fmadd_ps(g, _mm256_sub_ps(one, s), one));
  __m256 du = _mm256_mul_ps(_mm256_mul_ps(dy, g), s);
  if (n == 8) {
    _mm256_storeu_ps(j->y + i, dg);
    _mm256_storeu_ps(j->du + i, du);
  } else {
    pl_store_partial(j->y + i, dg, n);
    pl_store_partial(j->du + i, du, n);
  }
}

static PL_AVX2 void swiglu_bwd_avx2(const swiglu_job *j, int64_t i0, int64_t i1) {
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8) swiglu_bwd8(j, i, 8);
  if (i < i1) swiglu_bwd8(j, i, i1 - i);
}
#endif

static void swiglu_fwd_c(const swiglu_job *j, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) j->y[i] = j->g[i] * pl_sigmoid(j->g[i]) * j->u[i];
}

static void swiglu_bwd_c(const swiglu_job *j, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) {
    float g = j->g[i], s = pl_sigmoid(g);
    j->y[i] = j->dy[i] * j->u[i] * s * (1.0f + g * (1.0f - s));
    j->du[i] = j->dy[i] * g * s;
  }
}

PL_SIMD_TASK(swiglu_fwd_task, swiglu_fwd_avx2, swiglu_fwd_c)

PL_SIMD_TASK(swiglu_bwd_task, swiglu_bwd_avx2, swiglu_bwd_c)

napi_value pl_kernel_PeftlabSwiGLU(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabSwiGLU", 5, &a)) return NULL;
  int64_t n = pl_int(&a, 4);
  if (a.failed) return NULL;
  if (n < 0) return pl_throw(&a, "negative size %lld", (long long)n);
  swiglu_job j = {.g = pl_f32(&a, 1, n), .u = pl_f32(&a, 2, n), .y = pl_f32(&a, 3, n)};
  if (a.failed) return NULL;
  pl_parallel_for(n, 8192, swiglu_fwd_task, &j);
  return pl_undefined(env);
}

napi_value pl_kernel_PeftlabSwiGLUGrad(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabSwiGLUGrad", 7, &a)) return NULL;
  int64_t n = pl_int(&a, 6);
  if (a.failed) return NULL;
  if (n < 0) return pl_throw(&a, "negative size %lld", (long long)n);
  swiglu_job j = {.dy = pl_f32(&a, 1, n), .g = pl_f32(&a, 2, n), .u = pl_f32(&a, 3, n), .y = pl_f32(&a, 4, n),
                  .du = pl_f32(&a, 5, n)};
  if (a.failed) return NULL;
  pl_parallel_for(n, 8192, swiglu_bwd_task, &j);
  return pl_undefined(env);
}
