/*
 * PeftlabFrozenMatMul: y = x·Wᵀ for a frozen weight W [out, in] in native memory (weights.h), any
 * storage format; x [rows, in], y [rows, out]. Its gradient PeftlabFrozenMatMulGrad: dx = dy·W
 * (nothing for W: it is frozen).
 *   Arguments: heap, weightId, xOffset, yOffset, rows, out, in     (forward)
 *              heap, weightId, dyOffset, dxOffset, rows, out, in  (gradient)
 * (out and in must be the weight's shape: the caller allocated the tensors from them.)
 *
 * The output's columns are cut into blocks; for each, the pool thread that takes it dequantises the
 * block's slab of W into an f32 panel (its own scratch) and multiplies with pl_sgemm on that thread.
 * pl_sgemm accumulates every element in one chain over k, in order, whatever the tile, so y has the
 * bits of pl_sgemm on the whole dequantised W, on any thread count and with any block size.
 */
#include "../peftlab.h"
#include "../weights.h"

/* Largest panel a block may dequantise, in floats (4 MiB). */
#define PANEL_MAX (1 << 20)

typedef struct {
  const pl_weight *w;
  const float *a; /* x (forward) or dy (gradient) */
  float *c;       /* y or dx */
  int64_t rows, nb;
  int grad;
  int failed;
} frozen_job;

/* Columns per block: about four blocks per thread, a multiple of 32, the panel at most PANEL_MAX. */
static int64_t block_cols(int64_t cols, int64_t depth) {
  int64_t t = pl_threads(), nb = (cols + 4 * t - 1) / (4 * t);
  nb = (nb + 31) / 32 * 32;
  if (nb > 384) nb = 384;
  int64_t cap = PANEL_MAX / (depth > 0 ? depth : 1);
  if (nb > cap) nb = cap > 32 ? cap / 32 * 32 : 32;
  return nb < 32 ? 32 : nb;
}

static void frozen_task(void *ctx, int64_t b0, int64_t b1) {
  frozen_job *j = ctx;
  const pl_weight *w = j->w;
  const int64_t out = w->rows, in = w->cols;
  const int64_t cols = j->grad ? in : out, depth = j->grad ? out : in;
  float *panel = pl_scratch(2, (size_t)(j->nb * depth) * sizeof(float));
  if (!panel) {
    j->failed = 1;
    return;
  }
  for (int64_t b = b0; b < b1; b++) {
    int64_t c0 = b * j->nb, n = cols - c0 < j->nb ? cols - c0 : j->nb;
    int rc;
    if (!j->grad) {
      /* W rows [c0, c0+n) = Wᵀ columns: the panel is [n, in], used transposed */
      pl_weight_panel(w, c0, n, 0, in, panel, in);
      rc = pl_sgemm(0, 1, j->rows, n, in, j->a, in, panel, in, j->c + c0, out, 0);
    } else {
      /* W columns [c0, c0+n): the panel is [out, n] */
      pl_weight_panel(w, 0, out, c0, c0 + n, panel, n);
      rc = pl_sgemm(0, 0, j->rows, n, out, j->a, out, panel, n, j->c + c0, in, 0);
    }
    if (rc != 0) j->failed = 1;
  }
}

static napi_value run(napi_env env, napi_callback_info info, const char *name, int grad) {
  pl_args a;
  if (!pl_args_read(env, info, name, 7, &a)) return NULL;
  int64_t id = pl_int(&a, 1), rows = pl_int(&a, 4), out_f = pl_int(&a, 5), in_f = pl_int(&a, 6);
  if (a.failed) return NULL;
  const pl_weight *w = pl_weight_get(id, 1);
  if (!w) return pl_throw(&a, "no finished frozen weight %lld (disposed?)", (long long)id);
  if (w->rows != out_f || w->cols != in_f)
    return pl_throw(&a, "frozen weight %lld is [%lld, %lld], not [%lld, %lld]", (long long)id, (long long)w->rows,
                    (long long)w->cols, (long long)out_f, (long long)in_f);
  if (rows < 0) return pl_throw(&a, "negative row count %lld", (long long)rows);
  const int64_t out = w->rows, in = w->cols;
  frozen_job j = {.w = w, .rows = rows, .grad = grad};
  j.a = pl_f32(&a, 2, rows * (grad ? out : in));
  j.c = pl_f32(&a, 3, rows * (grad ? in : out));
  if (a.failed) return NULL;
  if (rows == 0) return pl_undefined(env);
  const int64_t cols = grad ? in : out, depth = grad ? out : in;
  j.nb = block_cols(cols, depth);
  int64_t blocks = (cols + j.nb - 1) / j.nb;
  /* small products run on the calling thread (one chunk) */
  int64_t grain = (double)rows * out * in < (1 << 17) ? blocks : 1;
  pl_parallel_for(blocks, grain, frozen_task, &j);
  if (j.failed) return pl_throw(&a, "out of memory for the panels (rows=%lld, W [%lld, %lld])", (long long)rows, (long long)out, (long long)in);
  return pl_undefined(env);
}

napi_value pl_kernel_PeftlabFrozenMatMul(napi_env env, napi_callback_info info) {
  return run(env, info, "PeftlabFrozenMatMul", 0);
}

napi_value pl_kernel_PeftlabFrozenMatMulGrad(napi_env env, napi_callback_info info) {
  return run(env, info, "PeftlabFrozenMatMulGrad", 1);
}
