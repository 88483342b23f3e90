/*
 * PeftlabFrozenEmbedding: out[i, :] = table[ids[i], :] for a frozen table [V, C] in native memory
 * (weights.h, any storage format; rows are dequantised as they are copied). No gradient: the table
 * is frozen.
 *   Arguments: heap, weightId, idsOffset (int32) [n], outOffset [n, C], n, C (the table's width)
 * An id outside [0, V) is an error naming it and its position. Threads split the ids.
 */
#include "../peftlab.h"
#include "../weights.h"

typedef struct {
  const pl_weight *w;
  const int32_t *ids;
  float *out;
} femb_job;

static void femb_task(void *ctx, int64_t i0, int64_t i1) {
  const femb_job *j = ctx;
  const int64_t c = j->w->cols;
  for (int64_t i = i0; i < i1; i++) pl_weight_panel(j->w, j->ids[i], 1, 0, c, j->out + i * c, c);
}

napi_value pl_kernel_PeftlabFrozenEmbedding(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabFrozenEmbedding", 6, &a)) return NULL;
  int64_t id = pl_int(&a, 1), n = pl_int(&a, 4), c = pl_int(&a, 5);
  if (a.failed) return NULL;
  const pl_weight *w = pl_weight_get(id, 1);
  if (!w) return pl_throw(&a, "no finished frozen weight %lld (disposed?)", (long long)id);
  if (w->cols != c) return pl_throw(&a, "frozen weight %lld has rows of %lld, not %lld", (long long)id, (long long)w->cols, (long long)c);
  if (n < 0) return pl_throw(&a, "negative id count %lld", (long long)n);
  femb_job j = {.w = w, .ids = pl_i32(&a, 2, n), .out = pl_f32(&a, 3, n * w->cols)};
  if (a.failed) return NULL;
  for (int64_t i = 0; i < n; i++)
    if (j.ids[i] < 0 || j.ids[i] >= w->rows)
      return pl_throw(&a, "id %d at position %lld is outside the table's %lld rows", j.ids[i], (long long)i, (long long)w->rows);
  pl_parallel_for(n, pl_row_grain(w->cols), femb_task, &j);
  return pl_undefined(env);
}
