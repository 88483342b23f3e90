/*
 * PeftlabSoftmaxCrossEntropy: loss = −Σᵣ wᵣ · log softmax(logitsᵣ)[tᵣ] / max(Σ w, 1), and each
 * row's log-sum-exp (saved for the backward). A target outside [0, C) picks nothing (like a zero
 * one-hot row).
 *   Arguments: heap, logitsOffset, targetsOffset (int32), weightsOffset, lossOffset, lseOffset, N, C
 * PeftlabSoftmaxCrossEntropyGrad: dLogits[r, c] = dy · wᵣ / max(Σ w, 1) · (softmax[r, c] − [c = tᵣ])
 *   Arguments: heap, dyOffset (scalar), logitsOffset, targetsOffset, weightsOffset, lseOffset, dLogitsOffset, N, C
 * Threads split rows; the sums over rows run on the calling thread in row order (in double).
 */
#include "fused_math.h"

typedef struct {
  const float *logits, *w, *lse_in, *dy;
  const int32_t *t;
  float *lse, *dl;
  int64_t c;
  float scale; /* dy / max(Σ w, 1), backward */
} ce_job;

#if PL_X86
static PL_AVX2 float row_lse_avx2(const float *x, int64_t c) {
  __m256 mv = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= c; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
  float m = pl_hmax8(mv);
  for (; i < c; i++) m = x[i] > m ? x[i] : m;
  const __m256 mb = _mm256_set1_ps(m);
  __m256 acc = _mm256_setzero_ps();
  for (i = 0; i + 8 <= c; i += 8) acc = _mm256_add_ps(acc, pl_exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mb)));
  if (i < c) {
    __m256 e = pl_exp8(_mm256_sub_ps(pl_load_partial(x + i, c - i), mb));
    __m256 keep = _mm256_cmp_ps(_mm256_set_ps(7, 6, 5, 4, 3, 2, 1, 0), _mm256_set1_ps((float)(c - i)), _CMP_LT_OQ);
    acc = _mm256_add_ps(acc, _mm256_and_ps(e, keep));
  }
  return m + logf(pl_hsum8(acc));
}

static PL_AVX2 void ce_fwd_avx2(const ce_job *j, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) j->lse[r] = row_lse_avx2(j->logits + r * j->c, j->c);
}

static PL_AVX2 void ce_bwd_avx2(const ce_job *j, int64_t r0, int64_t r1) {
  const int64_t c = j->c;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->logits + r * c;
    float *d = j->dl + r * c;
    const float k = j->scale * j->w[r];
    const __m256 kv = _mm256_set1_ps(k), lb = _mm256_set1_ps(j->lse_in[r]);
    int64_t i = 0;
    for (; i + 8 <= c; i += 8) _mm256_storeu_ps(d + i, _mm256_mul_ps(kv, pl_exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), lb))));
    if (i < c) pl_store_partial(d + i, _mm256_mul_ps(kv, pl_exp8(_mm256_sub_ps(pl_load_partial(x + i, c - i), lb))), c - i);
    const int32_t t = j->t[r];
    if (t >= 0 && t < c) d[t] -= k;
  }
}
#endif

static float row_lse_c(const float *x, int64_t c) {
  float m = -INFINITY;
  for (int64_t i = 0; i < c; i++) m = x[i] > m ? x[i] : m;
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < c; i++) acc[i & 7] += expf(x[i] - m);
  return m + logf(((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7])));
}

static void ce_fwd_c(const ce_job *j, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) j->lse[r] = row_lse_c(j->logits + r * j->c, j->c);
}

static void ce_bwd_c(const ce_job *j, int64_t r0, int64_t r1) {
  const int64_t c = j->c;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->logits + r * c;
    float *d = j->dl + r * c;
    const float k = j->scale * j->w[r], l = j->lse_in[r];
    for (int64_t i = 0; i < c; i++) d[i] = k * expf(x[i] - l);
    const int32_t t = j->t[r];
    if (t >= 0 && t < c) d[t] -= k;
  }
}

PL_SIMD_TASK(ce_fwd_task, ce_fwd_avx2, ce_fwd_c)

PL_SIMD_TASK(ce_bwd_task, ce_bwd_avx2, ce_bwd_c)

static int64_t ce_grain(int64_t c) { return c >= 2048 ? 1 : 2048 / (c + 1) + 1; }

static float weight_total(const float *w, int64_t n) {
  double s = 0;
  for (int64_t r = 0; r < n; r++) s += w[r];
  return (float)(s > 1 ? s : 1);
}

napi_value pl_kernel_PeftlabSoftmaxCrossEntropy(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabSoftmaxCrossEntropy", 8, &a)) return NULL;
  int64_t n = pl_int(&a, 6), c = pl_int(&a, 7);
  if (a.failed) return NULL;
  if (n < 0 || c < 1) return pl_throw(&a, "bad shape N=%lld C=%lld", (long long)n, (long long)c);
  ce_job j = {.logits = pl_f32(&a, 1, n * c), .t = pl_i32(&a, 2, n), .w = pl_f32(&a, 3, n), .lse = pl_f32(&a, 5, n), .c = c};
  float *loss = pl_f32(&a, 4, 1);
  if (a.failed) return NULL;
  pl_parallel_for(n, ce_grain(c), ce_fwd_task, &j);
  double total = 0;
  for (int64_t r = 0; r < n; r++) {
    const int32_t t = j.t[r];
    const double picked = t >= 0 && t < c ? (double)j.logits[r * c + t] - j.lse[r] : 0.0;
    total += picked * j.w[r];
  }
  *loss = (float)(-total / weight_total(j.w, n));
  return pl_undefined(env);
}

napi_value pl_kernel_PeftlabSoftmaxCrossEntropyGrad(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabSoftmaxCrossEntropyGrad", 9, &a)) return NULL;
  int64_t n = pl_int(&a, 7), c = pl_int(&a, 8);
  if (a.failed) return NULL;
  if (n < 0 || c < 1) return pl_throw(&a, "bad shape N=%lld C=%lld", (long long)n, (long long)c);
  const float *dy = pl_f32(&a, 1, 1);
  ce_job j = {.logits = pl_f32(&a, 2, n * c), .t = pl_i32(&a, 3, n), .w = pl_f32(&a, 4, n), .lse_in = pl_f32(&a, 5, n),
              .dl = pl_f32(&a, 6, n * c), .c = c};
  if (a.failed) return NULL;
  j.scale = *dy / weight_total(j.w, n);
  pl_parallel_for(n, ce_grain(c), ce_bwd_task, &j);
  return pl_undefined(env);
}
