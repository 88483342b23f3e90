/*
 * PeftlabEmbedding: out[i, :] = table[ids[i], :] for n int32 ids, rows of C floats.
 *   Arguments: heap, tableOffset [V, C], idsOffset (int32) [n], outOffset [n, C], n, V, C
 * An id outside [0, V) is an error naming it and its position. (Its gradient, a scatter-add into
 * the table, runs in tfjs: tables are frozen in fine-tuning.) Threads split the ids.
 */
#include <string.h>
#include "fused_math.h"

typedef struct {
  const float *table;
  const int32_t *ids;
  float *out;
  int64_t c;
} emb_job;

static void emb_task(void *ctx, int64_t i0, int64_t i1) {
  const emb_job *j = ctx;
  for (int64_t i = i0; i < i1; i++) memcpy(j->out + i * j->c, j->table + (int64_t)j->ids[i] * j->c, (size_t)j->c * sizeof(float));
}

napi_value pl_kernel_PeftlabEmbedding(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "PeftlabEmbedding", 7, &a)) return NULL;
  const int64_t n = pl_int(&a, 4), v = pl_int(&a, 5), c = pl_int(&a, 6);
  if (a.failed) return NULL;
  if (n < 0 || v < 0 || c < 1) return pl_throw(&a, "bad shape n=%lld V=%lld C=%lld", (long long)n, (long long)v, (long long)c);
  emb_job j = {.table = pl_f32(&a, 1, v * c), .ids = pl_i32(&a, 2, n), .out = pl_f32(&a, 3, n * c), .c = c};
  if (a.failed) return NULL;
  for (int64_t i = 0; i < n; i++)
    if (j.ids[i] < 0 || j.ids[i] >= v)
      return pl_throw(&a, "id %d at position %lld is outside the table's %lld rows", j.ids[i], (long long)i, (long long)v);
  pl_parallel_for(n, c >= 4096 ? 1 : 4096 / c + 1, emb_task, &j);
  return pl_undefined(env);
}
