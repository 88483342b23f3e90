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
 * The products are pl_sgemm calls, whose results do not depend on how they are split over threads.
 */
#include "fused_math.h"

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
