/*
 * The frozen-weight store (see weights.h) and its JavaScript functions:
 *   weightsCreate(format, rows, cols) → id        an empty weight (memory allocated, not yet written)
 *   weightsWrite(id, rowStart, rows, bytes, srcDtype)   rows from float32/bfloat16/float16 bytes (a
 *                                                  typed array or ArrayBuffer), quantised on the pool
 *   weightsFinish(id)                              nf4: double-quantises the block scales
 *   weightsFree(id) → true if it was live
 *   weightsRead(id, rowStart, rows, out)           dequantised rows into a Float32Array
 *   weightsRaw(id, part) → ArrayBuffer             a copy of the stored codes (0), per-row or
 *                                                  per-block scales (1), nf4 second-level scales (2),
 *                                                  nf4 mean offset (3)
 *   weightsStats() → { bytes, peakBytes, count }   bytes held now, the most held since the last
 *                                                  weightsResetPeak(), live weights
 *   weightsResetPeak()
 *   weightsTables() → { nf4, dynamic }             the NF4 levels and the dynamic map (ArrayBuffers of float32)
 * A weight belongs to the JavaScript environment (main thread or worker) that made it and is freed
 * with it if JavaScript did not free it first.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peftlab.h"
#include "weights.h"

/* ---- byte counts ---- */

static atomic_llong live_bytes, peak_bytes;

static void account(long long delta) {
  long long now = atomic_fetch_add(&live_bytes, delta) + delta;
  long long peak = atomic_load(&peak_bytes);
  while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
  }
}

void *pl_weights_alloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) return NULL;
  account((long long)bytes);
  return p;
}

void pl_weights_release(void *p, size_t bytes) {
  if (!p) return;
  free(p);
  account(-(long long)bytes);
}

/* ---- the table of weights ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pl_weight **table; /* table[id - 1]; ids are never reused */
static int64_t table_len, table_cap, live_count;

pl_weight *pl_weight_get(int64_t id, int finished) {
  pthread_mutex_lock(&mu);
  pl_weight *w = id >= 1 && id <= table_len ? table[id - 1] : NULL;
  pthread_mutex_unlock(&mu);
  return w && (!finished || w->finished) ? w : NULL;
}

static void weight_free(pl_weight *w) {
  int64_t n = w->rows * w->cols, blocks = (n + PL_NF4_BLOCK - 1) / PL_NF4_BLOCK;
  size_t data = w->format == PL_W_F32 ? (size_t)n * 4
                : w->format == PL_W_INT8 ? (size_t)n
                : w->format == PL_W_NF4  ? (size_t)((n + 1) / 2)
                                         : (size_t)n * 2;
  pl_weights_release(w->data, data);
  pl_weights_release(w->scales, (size_t)w->rows * 4);
  pl_weights_release(w->absmax32, (size_t)blocks * 4);
  pl_weights_release(w->absmax8, (size_t)blocks);
  pl_weights_release(w->scale2, (size_t)((blocks + PL_NF4_BLOCK2 - 1) / PL_NF4_BLOCK2) * 4);
  free(w->written);
  free(w);
}

/* Removes weight `id` from the table and returns it (NULL when not live). */
static pl_weight *take(int64_t id) {
  pthread_mutex_lock(&mu);
  pl_weight *w = NULL;
  if (id >= 1 && id <= table_len && table[id - 1]) {
    w = table[id - 1];
    table[id - 1] = NULL;
    live_count--;
  }
  pthread_mutex_unlock(&mu);
  return w;
}

static pl_weight *weight_new(int format, int64_t rows, int64_t cols, void *owner) {
  pl_weight *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->format = format;
  w->rows = rows;
  w->cols = cols;
  w->owner = owner;
  int64_t n = rows * cols, blocks = (n + PL_NF4_BLOCK - 1) / PL_NF4_BLOCK;
  int ok = (w->written = calloc((size_t)rows, 1)) != NULL;
  if (ok) switch (format) {
    case PL_W_F32: ok = (w->data = pl_weights_alloc((size_t)n * 4)) != NULL; break;
    case PL_W_BF16:
    case PL_W_F16: ok = (w->data = pl_weights_alloc((size_t)n * 2)) != NULL; break;
    case PL_W_INT8:
      ok = (w->data = pl_weights_alloc((size_t)n)) != NULL && (w->scales = pl_weights_alloc((size_t)rows * 4)) != NULL;
      break;
    case PL_W_NF4:
      ok = (w->data = pl_weights_alloc((size_t)((n + 1) / 2))) != NULL && (w->absmax32 = pl_weights_alloc((size_t)blocks * 4)) != NULL;
      if (ok) memset(w->data, 0, (size_t)((n + 1) / 2));
      break;
  }
  if (!ok) {
    weight_free(w);
    return NULL;
  }
  w->bytes = pl_weight_storage_bytes(format, rows, cols) + (format == PL_W_NF4 ? (size_t)blocks * 4 : 0);
  return w;
}

/* Adds w to the table; returns its id, or 0 when out of memory. */
static int64_t add(pl_weight *w) {
  pthread_mutex_lock(&mu);
  int64_t id = 0;
  if (table_len == table_cap) {
    int64_t cap = table_cap ? 2 * table_cap : 256;
    pl_weight **t = realloc(table, (size_t)cap * sizeof *t);
    if (t) {
      table = t;
      table_cap = cap;
    }
  }
  if (table_len < table_cap) {
    table[table_len++] = w;
    live_count++;
    id = table_len;
  }
  pthread_mutex_unlock(&mu);
  return id;
}

/* Frees every weight made by environment `owner` (at its teardown). */
static void free_owned(void *owner) {
  for (;;) {
    pl_weight *w = NULL;
    pthread_mutex_lock(&mu);
    for (int64_t i = 0; i < table_len && !w; i++)
      if (table[i] && table[i]->owner == owner) {
        w = table[i];
        table[i] = NULL;
        live_count--;
      }
    pthread_mutex_unlock(&mu);
    if (!w) return;
    weight_free(w);
  }
}

/* ---- JavaScript functions ---- */

/* The bytes of a typed array, DataView or ArrayBuffer argument. */
static void *js_bytes(pl_args *a, size_t i, size_t *len) {
  if (a->failed) return NULL;
  napi_value v = a->argv[i];
  bool is = false;
  void *data = NULL;
  napi_is_typedarray(a->env, v, &is);
  if (is) {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    napi_get_typedarray_info(a->env, v, &type, &length, &data, &ab, &offset);
    static const size_t elem[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
    *len = length * ((size_t)type < sizeof elem / sizeof elem[0] ? elem[type] : 1);
    return data ? data : (void *)"";
  }
  napi_is_arraybuffer(a->env, v, &is);
  if (is) {
    napi_get_arraybuffer_info(a->env, v, &data, len);
    return data ? data : (void *)"";
  }
  pl_throw(a, "argument %zu must be a typed array or an ArrayBuffer", i);
  return NULL;
}

static pl_weight *js_weight(pl_args *a, size_t i, int finished) {
  int64_t id = pl_int(a, i);
  if (a->failed) return NULL;
  pl_weight *w = pl_weight_get(id, 0);
  if (!w) {
    pl_throw(a, "no frozen weight %lld (freed already?)", (long long)id);
    return NULL;
  }
  if (finished && !w->finished) {
    pl_throw(a, "frozen weight %lld is not finished", (long long)id);
    return NULL;
  }
  return w;
}

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

static napi_value create_fn(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read_plain(env, info, "weightsCreate", 3, &a)) return NULL;
  int64_t format = pl_int(&a, 0), rows = pl_int(&a, 1), cols = pl_int(&a, 2);
  if (a.failed) return NULL;
  if (format < 0 || format >= PL_W_FORMATS) return pl_throw(&a, "unknown format %lld", (long long)format);
  if (rows < 1 || cols < 1 || rows > ((int64_t)1 << 40) / cols) return pl_throw(&a, "bad shape [%lld, %lld]", (long long)rows, (long long)cols);
  pl_weight *w = weight_new((int)format, rows, cols, env);
  if (!w) return pl_throw(&a, "out of memory for a [%lld, %lld] weight", (long long)rows, (long long)cols);
  int64_t id = add(w);
  if (!id) {
    weight_free(w);
    return pl_throw(&a, "out of memory for the table of weights");
  }
  return num(env, (double)id);
}

static napi_value write_fn(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read_plain(env, info, "weightsWrite", 5, &a)) return NULL;
  pl_weight *w = js_weight(&a, 0, 0);
  int64_t r0 = pl_int(&a, 1), n = pl_int(&a, 2), dtype = pl_int(&a, 4);
  size_t len = 0;
  const void *src = js_bytes(&a, 3, &len);
  if (a.failed) return NULL;
  size_t elem = dtype == PL_SRC_F32 ? 4 : 2;
  if (n < 0 || (uint64_t)len != (uint64_t)n * (uint64_t)w->cols * elem)
    return pl_throw(&a, "%lld rows of %lld values need %llu bytes, got %zu", (long long)n, (long long)w->cols,
                   (unsigned long long)((uint64_t)n * (uint64_t)w->cols * elem), len);
  if (((uintptr_t)src % elem) != 0) return pl_throw(&a, "the source bytes are not aligned to %zu", elem);
  const char *err = pl_weight_write(w, r0, n, src, (int)dtype);
  if (err) return pl_throw(&a, "%s", err);
  memset(w->written + r0, 1, (size_t)n);
  return pl_undefined(env);
}

static napi_value finish_fn(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read_plain(env, info, "weightsFinish", 1, &a)) return NULL;
  pl_weight *w = js_weight(&a, 0, 0);
  if (a.failed) return NULL;
  if (w->written) {
    int64_t r = 0;
    while (r < w->rows && w->written[r]) r++;
    if (r < w->rows) return pl_throw(&a, "row %lld of the [%lld, %lld] weight was never written", (long long)r, (long long)w->rows, (long long)w->cols);
    free(w->written);
    w->written = NULL;
  }
  const char *err = pl_weight_finish(w);
  if (err) return pl_throw(&a, "%s", err);
  return pl_undefined(env);
}

static napi_value free_fn(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read_plain(env, info, "weightsFree", 1, &a)) return NULL;
  int64_t id = pl_int(&a, 0);
  if (a.failed) return NULL;
  pl_weight *w = take(id);
  if (w) weight_free(w);
  napi_value r;
  napi_get_boolean(env, w != NULL, &r);
  return r;
}

typedef struct {
  const pl_weight *w;
  int64_t r0;
  float *out;
} read_job;

static void read_rows(void *ctx, int64_t a, int64_t b) {
  const read_job *j = ctx;
  pl_weight_panel(j->w, j->r0 + a, b - a, 0, j->w->cols, j->out + a * j->w->cols, j->w->cols);
}

static napi_value read_fn(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read_plain(env, info, "weightsRead", 4, &a)) return NULL;
  pl_weight *w = js_weight(&a, 0, 1);
  int64_t r0 = pl_int(&a, 1), n = pl_int(&a, 2);
  size_t len = 0;
  float *out = js_bytes(&a, 3, &len);
  if (a.failed) return NULL;
  if (r0 < 0 || n < 0 || r0 + n > w->rows) return pl_throw(&a, "rows [%lld, %lld) outside the weight's %lld", (long long)r0, (long long)(r0 + n), (long long)w->rows);
  if ((uint64_t)len != (uint64_t)n * (uint64_t)w->cols * 4 || ((uintptr_t)out % 4) != 0)
    return pl_throw(&a, "the output must be a Float32Array of %lld values", (long long)(n * w->cols));
  read_job j = {.w = w, .r0 = r0, .out = out};
  pl_parallel_for(n, pl_row_grain(w->cols), read_rows, &j);
  return pl_undefined(env);
}

static napi_value copy_out(napi_env env, const void *src, size_t bytes) {
  void *data = NULL;
  napi_value ab;
  napi_create_arraybuffer(env, bytes, &data, &ab);
  if (bytes) memcpy(data, src, bytes);
  return ab;
}

static napi_value raw_fn(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read_plain(env, info, "weightsRaw", 2, &a)) return NULL;
  pl_weight *w = js_weight(&a, 0, 1);
  int64_t part = pl_int(&a, 1);
  if (a.failed) return NULL;
  int64_t n = w->rows * w->cols, blocks = (n + PL_NF4_BLOCK - 1) / PL_NF4_BLOCK;
  switch (part) {
    case 0: {
      size_t bytes = w->format == PL_W_F32 ? (size_t)n * 4 : w->format == PL_W_INT8 ? (size_t)n : w->format == PL_W_NF4 ? (size_t)((n + 1) / 2) : (size_t)n * 2;
      return copy_out(env, w->data, bytes);
    }
    case 1:
      if (w->format == PL_W_INT8) return copy_out(env, w->scales, (size_t)w->rows * 4);
      if (w->format == PL_W_NF4) return copy_out(env, w->absmax8, (size_t)blocks);
      return copy_out(env, NULL, 0);
    case 2:
      if (w->format == PL_W_NF4) return copy_out(env, w->scale2, (size_t)((blocks + PL_NF4_BLOCK2 - 1) / PL_NF4_BLOCK2) * 4);
      return copy_out(env, NULL, 0);
    case 3: return copy_out(env, &w->offset, w->format == PL_W_NF4 ? 4 : 0);
    default: return pl_throw(&a, "unknown part %lld (0 codes, 1 scales, 2 second-level scales, 3 offset)", (long long)part);
  }
}

static napi_value stats_fn(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  napi_create_object(env, &o);
  pthread_mutex_lock(&mu);
  int64_t count = live_count;
  pthread_mutex_unlock(&mu);
  napi_set_named_property(env, o, "bytes", num(env, (double)atomic_load(&live_bytes)));
  napi_set_named_property(env, o, "peakBytes", num(env, (double)atomic_load(&peak_bytes)));
  napi_set_named_property(env, o, "count", num(env, (double)count));
  return o;
}

static napi_value reset_peak_fn(napi_env env, napi_callback_info info) {
  (void)info;
  atomic_store(&peak_bytes, atomic_load(&live_bytes));
  return pl_undefined(env);
}

static napi_value tables_fn(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "nf4", copy_out(env, PL_NF4, sizeof PL_NF4));
  napi_set_named_property(env, o, "dynamic", copy_out(env, pl_dynamic_map(), 256 * sizeof(float)));
  return o;
}

static void env_cleanup(void *token) {
  free_owned(*(void **)token);
  free(token);
}

void pl_weights_export(napi_env env, napi_value exports) {
  void **token = malloc(sizeof *token);
  if (token) {
    *token = env;
    napi_add_env_cleanup_hook(env, env_cleanup, token);
  }
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"weightsCreate", create_fn}, {"weightsWrite", write_fn}, {"weightsFinish", finish_fn},
             {"weightsFree", free_fn},     {"weightsRead", read_fn},   {"weightsRaw", raw_fn},
             {"weightsStats", stats_fn},   {"weightsResetPeak", reset_peak_fn}, {"weightsTables", tables_fn}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
}
