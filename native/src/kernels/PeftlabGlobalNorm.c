/*
 * PeftlabGlobalNorm: √(Σ over tensors of Σ x²) for gradient clipping, as one float.
 *   Arguments: heap, descOffset, count, outOffset, where desc is int32 [2·count]: for each tensor
 *   its element offset in the heap (byte offset / 4) and its number of elements.
 * Each tensor is summed in double, in element order, by one thread (threads split the tensors);
 * the per-tensor sums are then added in list order on the calling thread.
 */
#include <stdlib.h>
#include "fused_math.h"

typedef struct {
  const float *heap;
  const int32_t *desc;
  double *part;
} gn_job;

static void gn_task(void *ctx, int64_t t0, int64_t t1) {
  const gn_job *j = ctx;
  for (int64_t t = t0; t < t1; t++) {
    const float *x = j->heap + j->desc[2 * t];
    const int64_t n = j->desc[2 * t + 1];
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    j->part[t] = s;
  }
}

napi_value pl_kernel_PeftlabGlobalNorm(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabGlobalNorm", 4, &a)) return NULL;
  const int64_t count = pl_int(&a, 2);
  if (a.failed) return NULL;
  if (count < 1) return pl_throw(&a, "needs at least one tensor, got %lld", (long long)count);
  const int32_t *desc = pl_i32(&a, 1, 2 * count);
  float *out = pl_f32(&a, 3, 1);
  if (a.failed) return NULL;
  for (int64_t t = 0; t < count; t++) {
    const int64_t off = desc[2 * t], n = desc[2 * t + 1];
    if (off < 0 || n < 0 || (uint64_t)(off + n) * sizeof(float) > a.heap_bytes)
      return pl_throw(&a, "tensor %lld (offset %lld, %lld elements) lies outside the heap", (long long)t, (long long)off, (long long)n);
  }
  gn_job j = {.heap = (const float *)a.heap, .desc = desc, .part = malloc((size_t)count * sizeof(double))};
  if (!j.part) return pl_throw(&a, "out of memory");
  pl_parallel_for(count, 1, gn_task, &j);
  double s = 0;
  for (int64_t t = 0; t < count; t++) s += j.part[t];
  free(j.part);
  *out = (float)sqrt(s);
  return pl_undefined(env);
}
