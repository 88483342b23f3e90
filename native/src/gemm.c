/*
 * pl_sgemm: single-precision matrix product, C = op(A)·op(B), row-major.
 *
 * The classic blocked scheme: op(B) is packed per KC×NC block into NR-wide strips, op(A) per KC
 * slice into MR-tall strips (zero-padded at the edges), and a register-blocked MR×NR micro-kernel
 * multiplies one A strip by one B strip over KC. Each element of C is accumulated in the same
 * order (KC blocks in ascending order, k ascending inside a block) whatever the thread split, so
 * the result does not depend on the number of threads. Threads split rows or columns of tiles,
 * never the reduction over k.
 *
 * Two micro-kernels: AVX2+FMA (6×16, twelve accumulators) and plain C (the fallback and the
 * reference the SIMD path is tested against). Both use the same packing.
 */
#include <string.h>

#include "peftlab.h"

#if PL_X86
#include <immintrin.h>
#endif

#define MR 6
#define NR 16
#ifndef KC
#define KC 256
#endif
#ifndef MC
#define MC 144 /* rows of A per L2-resident block (multiple of MR) */
#endif
#define NC 3072  /* columns of B per packed block (multiple of NR) */
#define MBIG 2048 /* rows of A packed at once */

typedef void (*ukernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int mr, int nr, int add);

/* ---- micro-kernels ---- */

static void store_tile(const float *acc, float *c, int64_t ldc, int mr, int nr, int add) {
  for (int i = 0; i < mr; i++) {
    float *row = c + i * ldc;
    const float *src = acc + i * NR;
    if (add)
      for (int j = 0; j < nr; j++) row[j] = row[j] + src[j];
    else
      for (int j = 0; j < nr; j++) row[j] = src[j];
  }
}

static void ukernel_c(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int mr, int nr, int add) {
  float acc[MR * NR];
  memset(acc, 0, sizeof acc);
  for (int64_t k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++) {
      float ai = a[i];
      for (int j = 0; j < NR; j++) acc[i * NR + j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  store_tile(acc, c, ldc, mr, nr, add);
}

#if PL_X86
PL_AVX2 static void ukernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int mr, int nr,
                                 int add) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; k++) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 x;
    x = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(x, b0, c00);
    c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(x, b0, c10);
    c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(x, b0, c20);
    c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(x, b0, c30);
    c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(x, b0, c40);
    c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(x, b0, c50);
    c51 = _mm256_fmadd_ps(x, b1, c51);
    a += MR;
    b += NR;
  }
  if (mr == MR && nr == NR) {
#define ROW(i, r0, r1)                                                                   \
  do {                                                                                   \
    float *p = c + (i) * ldc;                                                            \
    if (add) {                                                                           \
      r0 = _mm256_add_ps(_mm256_loadu_ps(p), r0);                                        \
      r1 = _mm256_add_ps(_mm256_loadu_ps(p + 8), r1);                                    \
    }                                                                                    \
    _mm256_storeu_ps(p, r0);                                                             \
    _mm256_storeu_ps(p + 8, r1);                                                         \
  } while (0)
    ROW(0, c00, c01);
    ROW(1, c10, c11);
    ROW(2, c20, c21);
    ROW(3, c30, c31);
    ROW(4, c40, c41);
    ROW(5, c50, c51);
#undef ROW
    return;
  }
  float acc[MR * NR] __attribute__((aligned(32)));
  _mm256_store_ps(acc + 0 * NR, c00);
  _mm256_store_ps(acc + 0 * NR + 8, c01);
  _mm256_store_ps(acc + 1 * NR, c10);
  _mm256_store_ps(acc + 1 * NR + 8, c11);
  _mm256_store_ps(acc + 2 * NR, c20);
  _mm256_store_ps(acc + 2 * NR + 8, c21);
  _mm256_store_ps(acc + 3 * NR, c30);
  _mm256_store_ps(acc + 3 * NR + 8, c31);
  _mm256_store_ps(acc + 4 * NR, c40);
  _mm256_store_ps(acc + 4 * NR + 8, c41);
  _mm256_store_ps(acc + 5 * NR, c50);
  _mm256_store_ps(acc + 5 * NR + 8, c51);
  store_tile(acc, c, ldc, mr, nr, add);
}
#endif

/* ---- packing ---- */

/* op(A)[i0 .. i0+rows) × [p0 .. p0+kc) into MR-tall strips, zero-padded to a multiple of MR rows. */
static void pack_a_strips(int transA, const float *A, int64_t lda, int64_t i0, int64_t rows, int64_t p0, int64_t kc,
                          int64_t s0, int64_t s1, float *out) {
  for (int64_t s = s0; s < s1; s++) {
    float *dst = out + s * MR * kc;
    int64_t r0 = s * MR, live = rows - r0 < MR ? rows - r0 : MR;
    if (!transA) {
      for (int i = 0; i < MR; i++) {
        if (i < live) {
          const float *src = A + (i0 + r0 + i) * lda + p0;
          for (int64_t k = 0; k < kc; k++) dst[k * MR + i] = src[k];
        } else {
          for (int64_t k = 0; k < kc; k++) dst[k * MR + i] = 0.0f;
        }
      }
    } else {
      for (int64_t k = 0; k < kc; k++) {
        const float *src = A + (p0 + k) * lda + i0 + r0;
        int i = 0;
        for (; i < live; i++) dst[k * MR + i] = src[i];
        for (; i < MR; i++) dst[k * MR + i] = 0.0f;
      }
    }
  }
}

/* op(B)[p0 .. p0+kc) × [j0 .. j0+cols) into NR-wide strips, zero-padded to a multiple of NR. */
static void pack_b_strips(int transB, const float *B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t cols,
                          int64_t s0, int64_t s1, float *out) {
  for (int64_t s = s0; s < s1; s++) {
    float *dst = out + s * NR * kc;
    int64_t c0 = s * NR, live = cols - c0 < NR ? cols - c0 : NR;
    if (!transB) {
      for (int64_t k = 0; k < kc; k++) {
        const float *src = B + (p0 + k) * ldb + j0 + c0;
        int j = 0;
        for (; j < live; j++) dst[k * NR + j] = src[j];
        for (; j < NR; j++) dst[k * NR + j] = 0.0f;
      }
    } else {
      for (int j = 0; j < NR; j++) {
        if (j < live) {
          const float *src = B + (j0 + c0 + j) * ldb + p0;
          for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = src[k];
        } else {
          for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = 0.0f;
        }
      }
    }
  }
}

/* ---- one product ---- */

typedef struct {
  int transA, transB;
  int64_t m, n, k, lda, ldb, ldc;
  const float *A, *B;
  float *C;
  ukernel_fn uk;
  /* the current block */
  int64_t i0, rows, p0, kc, j0, cols;
  float *ap, *bp;
  int add, split_rows; /* split_rows: tasks are row strips (else column strips) */
} gemm_job;

static void pack_a_task(void *ctx, int64_t s0, int64_t s1) {
  gemm_job *g = ctx;
  pack_a_strips(g->transA, g->A, g->lda, g->i0, g->rows, g->p0, g->kc, s0, s1, g->ap);
}

static void pack_b_task(void *ctx, int64_t s0, int64_t s1) {
  gemm_job *g = ctx;
  pack_b_strips(g->transB, g->B, g->ldb, g->p0, g->kc, g->j0, g->cols, s0, s1, g->bp);
}

/* Micro-tiles of row strips [r0, r1) × column strips [c0, c1) of the current block. */
static void compute_tiles(gemm_job *g, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t mc_strips = MC / MR;
  for (int64_t rb = r0; rb < r1; rb += mc_strips) {
    int64_t re = rb + mc_strips < r1 ? rb + mc_strips : r1;
    for (int64_t cs = c0; cs < c1; cs++) {
      const float *b = g->bp + cs * NR * g->kc;
      int64_t col = cs * NR, nr = g->cols - col < NR ? g->cols - col : NR;
      for (int64_t rs = rb; rs < re; rs++) {
        int64_t row = rs * MR, mr = g->rows - row < MR ? g->rows - row : MR;
        float *c = g->C + (g->i0 + row) * g->ldc + g->j0 + col;
        g->uk(g->kc, g->ap + rs * MR * g->kc, b, c, g->ldc, (int)mr, (int)nr, g->add);
      }
    }
  }
}

static void compute_task(void *ctx, int64_t t0, int64_t t1) {
  gemm_job *g = ctx;
  int64_t rstrips = (g->rows + MR - 1) / MR, cstrips = (g->cols + NR - 1) / NR;
  if (g->split_rows)
    compute_tiles(g, t0, t1, 0, cstrips);
  else
    compute_tiles(g, 0, rstrips, t0, t1);
}

/* Work (multiply-adds) below which a product runs on the calling thread alone. */
#define PARALLEL_MIN_FLOPS (1 << 17)

int pl_sgemm(int transA, int transB, int64_t m, int64_t n, int64_t k, const float *A, int64_t lda, const float *B,
              int64_t ldb, float *C, int64_t ldc, int parallel) {
  if (m <= 0 || n <= 0) return 0;
  if (k <= 0) {
    for (int64_t i = 0; i < m; i++) memset(C + i * ldc, 0, (size_t)n * sizeof(float));
    return 0;
  }
  gemm_job g = {.transA = transA, .transB = transB, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc,
                .A = A, .B = B, .C = C, .uk = ukernel_c};
#if PL_X86
  if (pl_use_avx2()) g.uk = ukernel_avx2;
#endif
  int threads = parallel && (double)m * n * k >= PARALLEL_MIN_FLOPS ? pl_threads() : 1;
  int64_t kc_max = k < KC ? k : KC;
  int64_t rows_max = m < MBIG ? m : MBIG, cols_max = n < NC ? n : NC;
  g.ap = pl_scratch(0, (size_t)((rows_max + MR - 1) / MR) * MR * kc_max * sizeof(float));
  g.bp = pl_scratch(1, (size_t)((cols_max + NR - 1) / NR) * NR * kc_max * sizeof(float));
  if (!g.ap || !g.bp) return -1;
  for (g.j0 = 0; g.j0 < n; g.j0 += NC) {
    g.cols = n - g.j0 < NC ? n - g.j0 : NC;
    int64_t cstrips = (g.cols + NR - 1) / NR;
    for (g.i0 = 0; g.i0 < m; g.i0 += MBIG) {
      g.rows = m - g.i0 < MBIG ? m - g.i0 : MBIG;
      int64_t rstrips = (g.rows + MR - 1) / MR;
      g.split_rows = rstrips >= cstrips || rstrips >= 4 * threads;
      for (g.p0 = 0; g.p0 < k; g.p0 += KC) {
        g.kc = k - g.p0 < KC ? k - g.p0 : KC;
        g.add = g.p0 > 0;
        if (threads > 1) {
          pl_parallel_for(cstrips, 4, pack_b_task, &g);
          pl_parallel_for(rstrips, 4, pack_a_task, &g);
          pl_parallel_for(g.split_rows ? rstrips : cstrips, 1, compute_task, &g);
        } else {
          pack_b_task(&g, 0, cstrips);
          pack_a_task(&g, 0, rstrips);
          compute_task(&g, 0, g.split_rows ? rstrips : cstrips);
        }
      }
    }
  }
  return 0;
}
