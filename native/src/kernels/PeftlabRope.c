/*
 * PeftlabRope: rotary embeddings on x [B, T, N·D] (HF rotate_half), per head:
 *   y[j] = x[j]·cos[t, j] + rot[j]·sin[t, j],  rot = [−x[D/2..D), x[0..D/2)]
 *   Arguments: heap, xOffset, cosOffset, sinOffset, yOffset, B, T, N, D
 * PeftlabRopeGrad: the transpose, dx[j] = dy[j]·cos[j] + (j < D/2 ? dy[j+D/2]·sin[j+D/2] : −dy[j−D/2]·sin[j−D/2])
 *   Arguments: heap, dyOffset, cosOffset, sinOffset, dxOffset, B, T, N, D
 * Only the first T rows of the tables are read. Threads split the B·T positions.
 */
#include "fused_math.h"

typedef struct {
  const float *x, *cos, *sin;
  float *out;
  int64_t t, n, d;
  int backward;
} rope_job;

#define ROPE_BODY                                                                       \
  const int64_t n = j->n, d = j->d, half = d / 2;                                       \
  for (int64_t p = p0; p < p1; p++) {                                                   \
    const float *c = j->cos + (p % j->t) * d, *s = j->sin + (p % j->t) * d;             \
    for (int64_t h = 0; h < n; h++) {                                                   \
      const float *x = j->x + (p * n + h) * d;                                          \
      float *y = j->out + (p * n + h) * d;                                              \
      if (!j->backward) {                                                               \
        for (int64_t i = 0; i < half; i++) y[i] = x[i] * c[i] - x[i + half] * s[i];     \
        for (int64_t i = half; i < d; i++) y[i] = x[i] * c[i] + x[i - half] * s[i];     \
      } else {                                                                          \
        for (int64_t i = 0; i < half; i++) y[i] = x[i] * c[i] + x[i + half] * s[i + half]; \
        for (int64_t i = half; i < d; i++) y[i] = x[i] * c[i] - x[i - half] * s[i - half]; \
      }                                                                                 \
    }                                                                                   \
  }

#if PL_X86
static PL_AVX2 void rope_avx2(const rope_job *j, int64_t p0, int64_t p1) { ROPE_BODY }
#endif
static void rope_c(const rope_job *j, int64_t p0, int64_t p1) { ROPE_BODY }

PL_SIMD_TASK(rope_task, rope_avx2, rope_c)

static napi_value rope_call(napi_env env, napi_callback_info info, const char *name, int backward) {
  pl_args a;
  if (!pl_args_read(env, info, name, 9, &a)) return NULL;
  rope_job j = {.backward = backward};
  int64_t b = pl_int(&a, 5);
  j.t = pl_int(&a, 6);
  j.n = pl_int(&a, 7);
  j.d = pl_int(&a, 8);
  if (a.failed) return NULL;
  if (b < 0 || j.t < 1 || j.n < 1 || j.d < 2 || j.d % 2)
    return pl_throw(&a, "bad shape B=%lld T=%lld N=%lld D=%lld (D must be even)", (long long)b, (long long)j.t,
                    (long long)j.n, (long long)j.d);
  j.x = pl_f32(&a, 1, b * j.t * j.n * j.d);
  j.cos = pl_f32(&a, 2, j.t * j.d);
  j.sin = pl_f32(&a, 3, j.t * j.d);
  j.out = pl_f32(&a, 4, b * j.t * j.n * j.d);
  if (a.failed) return NULL;
  int64_t per = j.n * j.d;
  pl_parallel_for(b * j.t, per >= 4096 ? 1 : 4096 / per + 1, rope_task, &j);
  return pl_undefined(env);
}

napi_value pl_kernel_PeftlabRope(napi_env env, napi_callback_info info) { return rope_call(env, info, "PeftlabRope", 0); }
napi_value pl_kernel_PeftlabRopeGrad(napi_env env, napi_callback_info info) {
  return rope_call(env, info, "PeftlabRopeGrad", 1);
}
