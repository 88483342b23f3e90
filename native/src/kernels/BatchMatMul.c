/*
 * BatchMatMul: out[..., m, n] = op(a)[..., m, k] · op(b)[..., k, n] with tfjs semantics: op
 * transposes the last two axes when transposeA/transposeB is set, and the batch axes broadcast
 * (NumPy rules). The JavaScript side pads the batch axes to 4 (leading 1s).
 *
 * Arguments: heap, aOffset, bOffset, outOffset, transposeA, transposeB, m, n, k,
 *            aBatch[4], bBatch[4]   (byte offsets; batch sizes per axis)
 */
#include "../peftlab.h"

#define BATCH_AXES 4

typedef struct {
  const float *a, *b;
  float *out;
  int transA, transB;
  int64_t m, n, k;
  int64_t adim[BATCH_AXES], bdim[BATCH_AXES], odim[BATCH_AXES];
  int failed;
} bmm_job;

/* Offsets (in matrices) into a and b of output matrix `index`. */
static void batch_offsets(const bmm_job *j, int64_t index, int64_t *ai, int64_t *bi) {
  int64_t a = 0, b = 0, astride = 1, bstride = 1;
  for (int d = BATCH_AXES - 1; d >= 0; d--) {
    int64_t i = index % j->odim[d];
    index /= j->odim[d];
    if (j->adim[d] != 1) a += i * astride;
    if (j->bdim[d] != 1) b += i * bstride;
    astride *= j->adim[d];
    bstride *= j->bdim[d];
  }
  *ai = a;
  *bi = b;
}

static void run_batches(void *ctx, int64_t begin, int64_t end, int parallel) {
  bmm_job *j = ctx;
  int64_t lda = j->transA ? j->m : j->k, ldb = j->transB ? j->k : j->n;
  for (int64_t t = begin; t < end; t++) {
    int64_t ai, bi;
    batch_offsets(j, t, &ai, &bi);
    if (pl_sgemm(j->transA, j->transB, j->m, j->n, j->k, j->a + ai * j->m * j->k, lda, j->b + bi * j->k * j->n, ldb,
                 j->out + t * j->m * j->n, j->n, parallel) != 0)
      j->failed = 1;
  }
}

static void batch_task(void *ctx, int64_t begin, int64_t end) { run_batches(ctx, begin, end, 0); }

napi_value pl_kernel_BatchMatMul(napi_env env, napi_callback_info info) {
  pl_args a;
  if (!pl_args_read(env, info, "BatchMatMul", 9 + 2 * BATCH_AXES, &a)) return NULL;
  bmm_job j = {.transA = pl_int(&a, 4) != 0, .transB = pl_int(&a, 5) != 0};
  j.m = pl_int(&a, 6);
  j.n = pl_int(&a, 7);
  j.k = pl_int(&a, 8);
  int64_t abatch = 1, bbatch = 1, obatch = 1;
  for (int d = 0; d < BATCH_AXES; d++) {
    j.adim[d] = pl_int(&a, 9 + d);
    j.bdim[d] = pl_int(&a, 9 + BATCH_AXES + d);
    if (j.adim[d] < 1 || j.bdim[d] < 1 || (j.adim[d] != j.bdim[d] && j.adim[d] != 1 && j.bdim[d] != 1))
      return pl_throw(&a, "batch axis %d: sizes %lld and %lld do not broadcast", d, (long long)j.adim[d],
                      (long long)j.bdim[d]);
    j.odim[d] = j.adim[d] > j.bdim[d] ? j.adim[d] : j.bdim[d];
    abatch *= j.adim[d];
    bbatch *= j.bdim[d];
    obatch *= j.odim[d];
  }
  if (a.failed) return NULL;
  if (j.m < 0 || j.n < 0 || j.k < 0) return pl_throw(&a, "negative size m=%lld n=%lld k=%lld", (long long)j.m,
                                                      (long long)j.n, (long long)j.k);
  j.a = pl_f32(&a, 1, abatch * j.m * j.k);
  j.b = pl_f32(&a, 2, bbatch * j.k * j.n);
  j.out = pl_f32(&a, 3, obatch * j.m * j.n);
  if (a.failed) return NULL;
  /* Many small products: one thread per group of matrices. Few large ones: each split inside. */
  double flops = (double)j.m * j.n * j.k;
  if (obatch > 1 && (flops < (1 << 20) || obatch >= 4 * pl_threads())) {
    int64_t grain = flops >= (1 << 16) ? 1 : (int64_t)((1 << 16) / (flops + 1)) + 1;
    pl_parallel_for(obatch, grain, batch_task, &j);
  } else {
    run_batches(&j, 0, obatch, 1);
  }
  if (j.failed) return pl_throw(&a, "out of memory for the packing buffers (m=%lld n=%lld k=%lld)", (long long)j.m,
                                (long long)j.n, (long long)j.k);
  return pl_undefined(env);
}
