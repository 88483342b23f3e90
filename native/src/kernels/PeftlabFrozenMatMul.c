/*
 * PeftlabFrozenMatMul: y = x·Wᵀ for a frozen weight W [out, in] in native memory (weights.h), any
 * storage format; x [rows, in], y [rows, out]. Its gradient PeftlabFrozenMatMulGrad: dx = dy·W
 * (nothing for W: it is frozen).
 *   Arguments: heap, weightId, xOffset, yOffset, rows, out, in     (forward)
 *              heap, weightId, dyOffset, dxOffset, rows, out, in  (gradient)
 * (out and in must be the weight's shape: the caller allocated the tensors from them.)
 *
 * The output's columns are cut into slabs of at most PANEL_MAX weights (one slab for a weight up to
 * 2048 × 4096); each slab of W is dequantised into an f32 panel (its rows split over the pool), then
 * multiplied by pl_sgemm split over the pool. pl_sgemm accumulates every element in one chain over
 * k, in order, whatever the tile or split, so y has the bits of pl_sgemm on the whole dequantised W,
 * on any thread count.
 */
#include "../peftlab.h"
#include "../weights.h"

/* Largest panel, in floats (32 MiB): each slab packs the whole left operand (x or dy) again, so the
   slabs are wide; at least MIN_SLAB columns (wide enough for the AVX-512 tiles). */
#define PANEL_MAX (1 << 23)
#define MIN_SLAB 160

typedef struct {
  const pl_weight *w;
  float *panel;
  int64_t c0, n; /* the slab: W rows [c0, c0+n) (forward) or W columns [c0, c0+n) (gradient) */
  int grad;
} slab_job;

/* Dequantises panel rows [r0, r1): rows of the slab [n, in] (forward) or of W's columns [out, n]. */
static void slab_task(void *ctx, int64_t r0, int64_t r1) {
  const slab_job *j = ctx;
  const int64_t in = j->w->cols;
  if (!j->grad) pl_weight_panel(j->w, j->c0 + r0, r1 - r0, 0, in, j->panel + r0 * in, in);
  else pl_weight_panel(j->w, r0, r1 - r0, j->c0, j->c0 + j->n, j->panel + r0 * j->n, j->n);
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
  const float *src = pl_f32(&a, 2, rows * (grad ? out : in));
  float *dst = pl_f32(&a, 3, rows * (grad ? in : out));
  if (a.failed) return NULL;
  if (rows == 0) return pl_undefined(env);
  const int64_t cols = grad ? in : out, depth = grad ? out : in;
  int64_t slab = PANEL_MAX / depth;
  if (slab < MIN_SLAB) slab = MIN_SLAB;
  if (slab > cols) slab = cols;
  /* slabs of equal width (a multiple of 32 where it stays under the cap) */
  int64_t slabs = (cols + slab - 1) / slab;
  int64_t even = (cols + slabs - 1) / slabs;
  slab = (even + 31) / 32 * 32 <= slab ? (even + 31) / 32 * 32 : even;
  float *panel = pl_scratch(2, (size_t)(slab * depth) * sizeof(float));
  if (!panel) return pl_throw(&a, "out of memory for a [%lld, %lld] panel", (long long)slab, (long long)depth);
  for (int64_t c0 = 0; c0 < cols; c0 += slab) {
    int64_t n = cols - c0 < slab ? cols - c0 : slab;
    slab_job j = {.w = w, .panel = panel, .c0 = c0, .n = n, .grad = grad};
    int rc;
    if (!grad) {
      pl_parallel_for(n, pl_row_grain(in), slab_task, &j);
      rc = pl_sgemm(0, 1, rows, n, in, src, in, panel, in, dst + c0, out, 1);
    } else {
      pl_parallel_for(out, pl_row_grain(n), slab_task, &j);
      rc = pl_sgemm(0, 0, rows, n, out, src, out, panel, n, dst + c0, in, 1);
    }
    if (rc != 0) return pl_throw(&a, "out of memory for the packing buffers (rows=%lld, W [%lld, %lld])", (long long)rows, (long long)out, (long long)in);
  }
  return pl_undefined(env);
}

napi_value pl_kernel_PeftlabFrozenMatMul(napi_env env, napi_callback_info info) {
  return run(env, info, "PeftlabFrozenMatMul", 0);
}

napi_value pl_kernel_PeftlabFrozenMatMulGrad(napi_env env, napi_callback_info info) {
  return run(env, info, "PeftlabFrozenMatMulGrad", 1);
}
