/*
 * PeftlabAdamW: one AdamW step (torch.optim.AdamW), in place on param, m and v:
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²
 *   p ← p − (m / (√v / √bc2 + ε)) · (lr / bc1) − p · (lr · wd)      (the last term when wd > 0)
 *   Arguments: heap, paramOffset, gradOffset, mOffset, vOffset, n, lr, beta1, beta2, eps, weightDecay, bc1, bc2
 * Constants are formed in double and rounded to float once, as tfjs does with scalar operands.
 * Threads split the elements into contiguous chunks.
 */
#include "fused_math.h"

typedef struct {
  float *p, *m, *v;
  const float *g;
  float b1, c1, b2, c2, inv_sqrt_bc2, eps, step, decay;
  int has_decay;
} adamw_job;

#define ADAMW_BODY                                                         \
  for (int64_t i = i0; i < i1; i++) {                                      \
    const float g = j->g[i], p = j->p[i];                                  \
    const float m = j->m[i] * j->b1 + g * j->c1;                           \
    const float v = j->v[i] * j->b2 + (g * g) * j->c2;                     \
    j->m[i] = m;                                                           \
    j->v[i] = v;                                                           \
    float next = p - (m / (sqrtf(v) * j->inv_sqrt_bc2 + j->eps)) * j->step; \
    if (j->has_decay) next -= p * j->decay;                                \
    j->p[i] = next;                                                        \
  }

#if PL_X86
static PL_AVX2 void adamw_avx2(const adamw_job *j, int64_t i0, int64_t i1) { ADAMW_BODY }
#endif
static void adamw_c(const adamw_job *j, int64_t i0, int64_t i1) { ADAMW_BODY }

PL_SIMD_TASK(adamw_task, adamw_avx2, adamw_c)

napi_value pl_kernel_PeftlabAdamW(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabAdamW", 13, &a)) return NULL;
  const int64_t n = pl_int(&a, 5);
  const double lr = pl_num(&a, 6), b1 = pl_num(&a, 7), b2 = pl_num(&a, 8), eps = pl_num(&a, 9), wd = pl_num(&a, 10),
               bc1 = pl_num(&a, 11), bc2 = pl_num(&a, 12);
  if (a.failed) return NULL;
  if (n < 0 || !(bc1 > 0) || !(bc2 > 0)) return pl_throw(&a, "bad size %lld or bias corrections %g, %g", (long long)n, bc1, bc2);
  adamw_job j = {.p = pl_f32(&a, 1, n), .g = pl_f32(&a, 2, n), .m = pl_f32(&a, 3, n), .v = pl_f32(&a, 4, n)};
  if (a.failed) return NULL;
  j.b1 = (float)b1;
  j.c1 = (float)(1 - b1);
  j.b2 = (float)b2;
  j.c2 = (float)(1 - b2);
  j.inv_sqrt_bc2 = (float)(1 / sqrt(bc2));
  j.eps = (float)eps;
  j.step = (float)(lr / bc1);
  j.decay = (float)(lr * wd);
  j.has_decay = wd > 0;
  pl_parallel_for(n, 16384, adamw_task, &j);
  return pl_undefined(env);
}
