/*
 * PeftlabGelu: the MLP activation of gpt2 / bert, elementwise, by kind:
 *   0 "gelu"     exact:  0.5 x (1 + erf(x / √2))
 *   1 "gelu_new" tanh:   0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
 *   2 "silu":            x σ(x)
 *   Arguments: heap, xOffset, yOffset, n, kind
 * PeftlabGeluGrad: dx = dy · act'(x).   Arguments: heap, dyOffset, xOffset, dxOffset, n, kind
 * Threads split the elements into contiguous chunks.
 */
#include "fused_math.h"

typedef struct {
  const float *x, *dy;
  float *out;
  int kind;
} gelu_job;

#define GELU_C 0.7978845608028654f /* √(2/π) */

static inline float act(float x, int kind) {
  if (kind == 0) return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
  if (kind == 1) return 0.5f * x * (1.0f + tanhf(GELU_C * (x + 0.044715f * x * x * x)));
  return x * pl_sigmoid(x);
}

static inline float act_grad(float x, int kind) {
  if (kind == 0) return 0.5f * (1.0f + erff(x * 0.7071067811865476f)) + x * expf(-0.5f * x * x) * 0.3989422804014327f;
  if (kind == 1) {
    float t = tanhf(GELU_C * (x + 0.044715f * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * 0.044715f * x * x);
  }
  float s = pl_sigmoid(x);
  return s * (1.0f + x * (1.0f - s));
}

#define GELU_FWD_BODY for (int64_t i = i0; i < i1; i++) j->out[i] = act(j->x[i], j->kind);
#define GELU_BWD_BODY for (int64_t i = i0; i < i1; i++) j->out[i] = j->dy[i] * act_grad(j->x[i], j->kind);

#if PL_X86
static PL_AVX2 void gelu_fwd_avx2(const gelu_job *j, int64_t i0, int64_t i1) { GELU_FWD_BODY }
static PL_AVX2 void gelu_bwd_avx2(const gelu_job *j, int64_t i0, int64_t i1) { GELU_BWD_BODY }
#endif
static void gelu_fwd_c(const gelu_job *j, int64_t i0, int64_t i1) { GELU_FWD_BODY }
static void gelu_bwd_c(const gelu_job *j, int64_t i0, int64_t i1) { GELU_BWD_BODY }

PL_SIMD_TASK(gelu_fwd_task, gelu_fwd_avx2, gelu_fwd_c)

PL_SIMD_TASK(gelu_bwd_task, gelu_bwd_avx2, gelu_bwd_c)

napi_value pl_kernel_PeftlabGelu(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabGelu", 5, &a)) return NULL;
  int64_t n = pl_int(&a, 3);
  int kind = (int)pl_int(&a, 4);
  if (a.failed) return NULL;
  if (n < 0 || kind < 0 || kind > 2) return pl_throw(&a, "bad size %lld or kind %d", (long long)n, kind);
  gelu_job j = {.x = pl_f32(&a, 1, n), .out = pl_f32(&a, 2, n), .kind = kind};
  if (a.failed) return NULL;
  pl_parallel_for(n, 4096, gelu_fwd_task, &j);
  return pl_undefined(env);
}

napi_value pl_kernel_PeftlabGeluGrad(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabGeluGrad", 6, &a)) return NULL;
  int64_t n = pl_int(&a, 4);
  int kind = (int)pl_int(&a, 5);
  if (a.failed) return NULL;
  if (n < 0 || kind < 0 || kind > 2) return pl_throw(&a, "bad size %lld or kind %d", (long long)n, kind);
  gelu_job j = {.dy = pl_f32(&a, 1, n), .x = pl_f32(&a, 2, n), .out = pl_f32(&a, 3, n), .kind = kind};
  if (a.failed) return NULL;
  pl_parallel_for(n, 4096, gelu_bwd_task, &j);
  return pl_undefined(env);
}
