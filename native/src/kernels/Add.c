/*
 * Add: out = a + b for two float32 tensors of one shape (the residual stream and gradient sums of
 * a training step). Other shapes and dtypes stay on the wasm kernel (see Add.ts).
 *   Arguments: heap, aOffset, bOffset, outOffset, n
 * Threads split the elements into contiguous chunks.
 */
#include "fused_math.h"

typedef struct {
  const float *a, *b;
  float *out;
} add_job;

#define ADD_BODY for (int64_t i = i0; i < i1; i++) j->out[i] = j->a[i] + j->b[i];

#if PL_X86
static PL_AVX2 void add_avx2(const add_job *j, int64_t i0, int64_t i1) { ADD_BODY }
#endif
static void add_c(const add_job *j, int64_t i0, int64_t i1) { ADD_BODY }

PL_SIMD_TASK(add_task, add_avx2, add_c)

napi_value pl_kernel_Add(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "Add", 5, &a)) return NULL;
  const int64_t n = pl_int(&a, 4);
  if (a.failed) return NULL;
  if (n < 0) return pl_throw(&a, "negative size %lld", (long long)n);
  add_job j = {.a = pl_f32(&a, 1, n), .b = pl_f32(&a, 2, n), .out = pl_f32(&a, 3, n)};
  if (a.failed) return NULL;
  pl_parallel_for(n, 32768, add_task, &j);
  return pl_undefined(env);
}
