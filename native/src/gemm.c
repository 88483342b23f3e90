/*
 * pl_sgemm: single-precision matrix product, C = op(A)·op(B), row-major.
 *
 * The classic blocked scheme: op(B) is packed per KC×NC block into NR-wide strips, op(A) per KC
 * slice into MR-tall strips (zero-padded at the edges), and a register-blocked MR×NR micro-kernel
 * multiplies one A strip by one B strip over KC. A micro-kernel starts from zero on the first KC
 * block and from the value in C on the later ones, so each element of C is one chain of
 * multiply-adds over k = 0, 1, …, k−1 in order: the result depends neither on the number of
 * threads (they split rows or columns of tiles, never k) nor on the block sizes.
 *
 * Two micro-kernels: AVX2+FMA (6×16, twelve accumulators) and plain C (the fallback and the
 * reference the SIMD path is tested against). Both use the same packing.
 */
#include <string.h>

#include "peftlab.h"

#if PL_X86
#include <immintrin.h>
#endif

/* Largest micro-tile (the AVX-512 one); the plain C and AVX2 kernels use 6×16. */
#define MR_MAX 12
#define NR_MAX 32
#define MR 6
#define NR 16
#ifndef KC
#define KC 512
#endif
#ifndef MC
#define MC 144 /* rows of A per L2-resident block (a multiple of every kernel's mr) */
#endif
#define NC 3072  /* columns of B per packed block (a multiple of every kernel's nr) */
#define MBIG 2048 /* rows of A packed at once */

/*
 * A micro-kernel multiplies an mr×kc slice of op(A) by a kc×nr slice of op(B) and writes the
 * product into C (add = 0), or continues the sums held in C (add = 1: each accumulator starts from
 * its element of C, so the multiply-adds of every k block extend one chain, in order). Element (i, k) of the A slice is a[i*ra + k*ka], element
 * (k, j) of the B slice is b[k*kb + j]: packed strips have ra = 1, ka = tile rows, kb = tile columns;
 * unpacked operands are read in place with their own strides (when packing would not pay). Rows
 * past mr read row 0 (their results are dropped). B must hold a full tile's columns.
 */
typedef void (*ukernel_fn)(int64_t kc, const float *a, int64_t ra, int64_t ka, const float *b, int64_t kb, float *c,
                           int64_t ldc, int mr, int nr, int add);

/* ---- micro-kernels ---- */

/* The live mr×nr corner of an accumulator tile from C (add = 1) or zero; the rest zero. */
static void load_tile(float *acc, int acc_rows, int acc_ld, const float *c, int64_t ldc, int mr, int nr, int add) {
  memset(acc, 0, (size_t)acc_rows * acc_ld * sizeof(float));
  if (add)
    for (int i = 0; i < mr; i++) memcpy(acc + i * acc_ld, c + i * ldc, (size_t)nr * sizeof(float));
}

/* The live mr×nr corner of an accumulator tile into C. */
static void store_tile(const float *acc, int acc_ld, float *c, int64_t ldc, int mr, int nr) {
  for (int i = 0; i < mr; i++) memcpy(c + i * ldc, acc + i * acc_ld, (size_t)nr * sizeof(float));
}

static void ukernel_c(int64_t kc, const float *a, int64_t ra, int64_t ka, const float *b, int64_t kb, float *c,
                      int64_t ldc, int mr, int nr, int add) {
  float acc[MR * NR];
  int64_t off[MR];
  for (int i = 0; i < MR; i++) off[i] = i < mr ? i * ra : 0;
  load_tile(acc, MR, NR, c, ldc, mr, nr, add);
  for (int64_t k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++) {
      float ai = a[off[i]];
      for (int j = 0; j < NR; j++) acc[i * NR + j] += ai * b[j];
    }
    a += ka;
    b += kb;
  }
  store_tile(acc, NR, c, ldc, mr, nr);
}

#if PL_X86
PL_AVX2 static void ukernel_avx2(int64_t kc, const float *a, int64_t ra, int64_t ka, const float *b, int64_t kb,
                                 float *c, int64_t ldc, int mr, int nr, int add) {
  const int64_t o1 = mr > 1 ? ra : 0, o2 = mr > 2 ? 2 * ra : 0, o3 = mr > 3 ? 3 * ra : 0;
  const int64_t o4 = mr > 4 ? 4 * ra : 0, o5 = mr > 5 ? 5 * ra : 0;
  const int full = mr == MR && nr == NR;
  float acc[MR * NR] __attribute__((aligned(32)));
  __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
  if (!add) {
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
  } else {
    const float *src = c; /* C itself, or an edge tile of C copied into acc */
    int64_t ld = ldc;
    if (!full) {
      load_tile(acc, MR, NR, c, ldc, mr, nr, add);
      src = acc;
      ld = NR;
    }
    c00 = _mm256_loadu_ps(src), c01 = _mm256_loadu_ps(src + 8);
    c10 = _mm256_loadu_ps(src + ld), c11 = _mm256_loadu_ps(src + ld + 8);
    c20 = _mm256_loadu_ps(src + 2 * ld), c21 = _mm256_loadu_ps(src + 2 * ld + 8);
    c30 = _mm256_loadu_ps(src + 3 * ld), c31 = _mm256_loadu_ps(src + 3 * ld + 8);
    c40 = _mm256_loadu_ps(src + 4 * ld), c41 = _mm256_loadu_ps(src + 4 * ld + 8);
    c50 = _mm256_loadu_ps(src + 5 * ld), c51 = _mm256_loadu_ps(src + 5 * ld + 8);
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; k++) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 x;
    x = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(x, b0, c00);
    c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + o1);
    c10 = _mm256_fmadd_ps(x, b0, c10);
    c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + o2);
    c20 = _mm256_fmadd_ps(x, b0, c20);
    c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + o3);
    c30 = _mm256_fmadd_ps(x, b0, c30);
    c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + o4);
    c40 = _mm256_fmadd_ps(x, b0, c40);
    c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + o5);
    c50 = _mm256_fmadd_ps(x, b0, c50);
    c51 = _mm256_fmadd_ps(x, b1, c51);
    a += ka;
    b += kb;
  }
  if (full) {
#define ROW(i, r0, r1)                                                                   \
  do {                                                                                   \
    float *p = c + (i) * ldc;                                                            \
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
  store_tile(acc, NR, c, ldc, mr, nr);
}

/* 12×8 for narrow products (n ≤ 8: LoRA's rank-r sides), where 6×16 tiles would compute half zeros.
   Full 12-row strips run twelve accumulators; an edge strip runs row by row. Each element is
   accumulated as in the other kernels (one FMA per k, in order): the same bits. */
#define MRN 12
#define NRN 8
PL_AVX2 static void ukernel_avx2_narrow(int64_t kc, const float *a, int64_t ra, int64_t ka, const float *b, int64_t kb,
                                        float *c, int64_t ldc, int mr, int nr, int add) {
  float tmp[MRN * NRN] __attribute__((aligned(32)));
  if (add) load_tile(tmp, MRN, NRN, c, ldc, mr, nr, add);
  if (mr < MRN) {
    for (int i = 0; i < mr; i++) {
      __m256 acc = add ? _mm256_load_ps(tmp + i * NRN) : _mm256_setzero_ps();
      const float *ai = a + i * ra, *bk = b;
      for (int64_t k = 0; k < kc; k++, ai += ka, bk += kb) acc = _mm256_fmadd_ps(_mm256_broadcast_ss(ai), _mm256_loadu_ps(bk), acc);
      _mm256_store_ps(tmp + i * NRN, acc);
    }
    store_tile(tmp, NRN, c, ldc, mr, nr);
    return;
  }
  const float *a6 = a + 6 * ra;
  const int64_t o1 = ra, o2 = 2 * ra, o3 = 3 * ra, o4 = 4 * ra, o5 = 5 * ra;
#define T(i) (add ? _mm256_load_ps(tmp + (i) * NRN) : _mm256_setzero_ps())
  __m256 c0 = T(0), c1 = T(1), c2 = T(2), c3 = T(3), c4 = T(4), c5 = T(5);
  __m256 c6 = T(6), c7 = T(7), c8 = T(8), c9 = T(9), c10 = T(10), c11 = T(11);
#undef T
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++) {
    __m256 bv = _mm256_loadu_ps(b);
    c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a), bv, c0);
    c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + o1), bv, c1);
    c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + o2), bv, c2);
    c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + o3), bv, c3);
    c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + o4), bv, c4);
    c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + o5), bv, c5);
    c6 = _mm256_fmadd_ps(_mm256_broadcast_ss(a6), bv, c6);
    c7 = _mm256_fmadd_ps(_mm256_broadcast_ss(a6 + o1), bv, c7);
    c8 = _mm256_fmadd_ps(_mm256_broadcast_ss(a6 + o2), bv, c8);
    c9 = _mm256_fmadd_ps(_mm256_broadcast_ss(a6 + o3), bv, c9);
    c10 = _mm256_fmadd_ps(_mm256_broadcast_ss(a6 + o4), bv, c10);
    c11 = _mm256_fmadd_ps(_mm256_broadcast_ss(a6 + o5), bv, c11);
    a += ka;
    a6 += ka;
    b += kb;
  }
  __m256 r[MRN] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  if (nr == NRN) {
    for (int i = 0; i < MRN; i++) _mm256_storeu_ps(c + i * ldc, r[i]);
    return;
  }
  for (int i = 0; i < MRN; i++) _mm256_store_ps(tmp + i * NRN, r[i]);
  store_tile(tmp, NRN, c, ldc, mr, nr);
}

/* 12×32 with AVX-512F: 24 accumulators. Each element is accumulated exactly as in the 6×16
   kernels (one FMA per k, in order), so the bits are the same. A must be packed (ra = 1, rows
   zero-padded); B may be in place. */
#define MR512 12
#define NR512 32
__attribute__((target("avx512f"))) static void ukernel_avx512(int64_t kc, const float *a, int64_t ra, int64_t ka,
                                                              const float *b, int64_t kb, float *c, int64_t ldc,
                                                              int mr, int nr, int add) {
  (void)ra; /* A is always packed for this kernel (pl_sgemm never reads A in place with it) */
  const int full = mr == MR512 && nr == NR512;
  float tmp[MR512 * NR512] __attribute__((aligned(64)));
  __m512 acc[MR512][2];
  if (!add) {
    for (int i = 0; i < MR512; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  } else {
    const float *src = c; /* C itself, or an edge tile of C copied into tmp */
    int64_t ld = ldc;
    if (!full) {
      load_tile(tmp, MR512, NR512, c, ldc, mr, nr, add);
      src = tmp;
      ld = NR512;
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR512; i++) {
      acc[i][0] = _mm512_loadu_ps(src + i * ld);
      acc[i][1] = _mm512_loadu_ps(src + i * ld + 16);
    }
  }
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++) {
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR512; i++) {
      __m512 x = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
    }
    a += ka;
    b += kb;
  }
  if (full) {
#pragma GCC unroll 12
    for (int i = 0; i < MR512; i++) {
      _mm512_storeu_ps(c + i * ldc, acc[i][0]);
      _mm512_storeu_ps(c + i * ldc + 16, acc[i][1]);
    }
    return;
  }
  for (int i = 0; i < MR512; i++) {
    _mm512_store_ps(tmp + i * NR512, acc[i][0]);
    _mm512_store_ps(tmp + i * NR512 + 16, acc[i][1]);
  }
  store_tile(tmp, NR512, c, ldc, mr, nr);
}

static int cpu_has_avx512f(void) {
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx512f");
  }
  return cached;
}
#endif

/* ---- packing ---- */

#if PL_X86
/* Eight rows of eight floats, transposed in registers: c[j] holds column j (c[j][i] = r[i][j]). */
PL_AVX2 static inline void transpose8_regs(const __m256 r[8], __m256 c[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  c[0] = _mm256_permute2f128_ps(u0, u4, 0x20), c[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  c[2] = _mm256_permute2f128_ps(u2, u6, 0x20), c[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  c[4] = _mm256_permute2f128_ps(u0, u4, 0x31), c[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  c[6] = _mm256_permute2f128_ps(u2, u6, 0x31), c[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* Rows src[0], src[ld], …, src[7·ld], columns [0, 8), transposed: column k goes to dst[k·dld .. +8). */
PL_AVX2 static inline void transpose_8x8(const float *src, int64_t ld, float *dst, int64_t dld) {
  __m256 r[8], c[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * ld);
  transpose8_regs(r, c);
  for (int j = 0; j < 8; j++) _mm256_storeu_ps(dst + j * dld, c[j]);
}

/* A full 12-row strip of a row-major A (rows src, src + lda, …), kc columns, into dst[k·12 + i]:
   rows 0–7 and rows 4–11 as two 8×8 transposes per 8 columns (rows 4–7 written twice, the same
   values). Packed element by element, row after row, A took ~10 % of a 1024² product; this way
   about 2 %. */
PL_AVX2 static void pack_a_strip12_avx2(const float *src, int64_t lda, int64_t kc, float *dst) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    transpose_8x8(src + k, lda, dst + k * 12, 12);
    transpose_8x8(src + 4 * lda + k, lda, dst + k * 12 + 4, 12);
  }
  for (; k < kc; k++)
    for (int i = 0; i < 12; i++) dst[k * 12 + i] = src[i * lda + k];
}

/* A full 6-row strip of a row-major A, kc columns, into dst[k·6 + i]: per 8 columns, the six rows
   (and two zero rows) transposed in registers, each column stored as 6 floats. */
PL_AVX2 static void pack_a_strip6_avx2(const float *src, int64_t lda, int64_t kc, float *dst) {
  const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    __m256 r[8], c[8];
    for (int i = 0; i < 6; i++) r[i] = _mm256_loadu_ps(src + i * lda + k);
    r[6] = r[7] = _mm256_setzero_ps();
    transpose8_regs(r, c);
    for (int j = 0; j < 8; j++) _mm256_maskstore_ps(dst + (k + j) * 6, six, c[j]);
  }
  for (; k < kc; k++)
    for (int i = 0; i < 6; i++) dst[k * 6 + i] = src[i * lda + k];
}
#endif

/* op(A)[i0 .. i0+rows) × [p0 .. p0+kc) into tm-tall strips, zero-padded to a multiple of tm rows. */
static void pack_a_strips(int transA, const float *A, int64_t lda, int64_t i0, int64_t rows, int64_t p0, int64_t kc,
                          int64_t s0, int64_t s1, float *out, const int tm) {
  for (int64_t s = s0; s < s1; s++) {
    float *dst = out + s * tm * kc;
    int64_t r0 = s * tm, live = rows - r0 < tm ? rows - r0 : tm;
#if PL_X86
    if (!transA && tm == 12 && live == 12 && pl_use_avx2()) {
      pack_a_strip12_avx2(A + (i0 + r0) * lda + p0, lda, kc, dst);
      continue;
    }
    if (!transA && tm == MR && live == MR && pl_use_avx2()) {
      pack_a_strip6_avx2(A + (i0 + r0) * lda + p0, lda, kc, dst);
      continue;
    }
#endif
    if (!transA && tm == MR && live == MR) {
      /* a full 6-row strip: k outer, so the strip is written once, in order, from six row streams */
      const float *r0p = A + (i0 + r0) * lda + p0;
      for (int64_t k = 0; k < kc; k++)
        for (int i = 0; i < MR; i++) dst[k * MR + i] = r0p[i * lda + k];
      continue;
    }
    if (!transA) {
      for (int i = 0; i < tm; i++) {
        if (i < live) {
          const float *src = A + (i0 + r0 + i) * lda + p0;
          for (int64_t k = 0; k < kc; k++) dst[k * tm + i] = src[k];
        } else {
          for (int64_t k = 0; k < kc; k++) dst[k * tm + i] = 0.0f;
        }
      }
    } else {
      for (int64_t k = 0; k < kc; k++) {
        const float *src = A + (p0 + k) * lda + i0 + r0;
        int i = 0;
        for (; i < live; i++) dst[k * tm + i] = src[i];
        for (; i < tm; i++) dst[k * tm + i] = 0.0f;
      }
    }
  }
}

/* op(B)[p0 .. p0+kc) × [j0 .. j0+cols) into tn-wide strips, zero-padded to a multiple of tn. */
static void pack_b_strips(int transB, const float *B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t cols,
                          int64_t s0, int64_t s1, float *out, const int tn) {
  if (!transB) {
    /* Row by row of B across the strips' full width, so each row of B is read once, in order
       (strip by strip, every row of a strip is on another page: 4 KiB apart for 1024 columns). */
    int64_t full_end = s1;
    while (full_end > s0 && (full_end * tn > cols)) full_end--; /* strips [s0, full_end) are full */
    for (int64_t k = 0; k < kc; k++) {
      const float *src = B + (p0 + k) * ldb + j0;
      for (int64_t s = s0; s < full_end; s++) {
        float *dst = out + s * tn * kc + k * tn;
        const float *from = src + s * tn;
        for (int j = 0; j < tn; j++) dst[j] = from[j];
      }
    }
    s0 = full_end; /* the last, partial strip (if any) below */
  }
  for (int64_t s = s0; s < s1; s++) {
    float *dst = out + s * tn * kc;
    int64_t c0 = s * tn, live = cols - c0 < tn ? cols - c0 : tn;
    if (!transB) {
      for (int64_t k = 0; k < kc; k++) {
        const float *src = B + (p0 + k) * ldb + j0 + c0;
        int j = 0;
        for (; j < live; j++) dst[k * tn + j] = src[j];
        for (; j < tn; j++) dst[k * tn + j] = 0.0f;
      }
    } else {
      for (int j = 0; j < tn; j++) {
        if (j < live) {
          const float *src = B + (j0 + c0 + j) * ldb + p0;
          for (int64_t k = 0; k < kc; k++) dst[k * tn + j] = src[k];
        } else {
          for (int64_t k = 0; k < kc; k++) dst[k * tn + j] = 0.0f;
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
  int mr, nr; /* the micro-kernel's tile */
  /* the current block */
  int64_t i0, rows, p0, kc, j0, cols;
  float *ap, *bp;
  int add, split_rows; /* split_rows: tasks are row strips (else column strips) */
  int direct_a, direct_b; /* read op(A) / op(B) in place instead of packing them */
  int64_t pack_split;   /* pack_task: items below it are B strips, the rest A strips */
} gemm_job;

/* Items [0, cstrips) are B strips, the next rstrips are A strips: both packed in one pass. */
static void pack_task(void *ctx, int64_t s0, int64_t s1);

static void pack_a_task(void *ctx, int64_t s0, int64_t s1) {
  gemm_job *g = ctx;
  pack_a_strips(g->transA, g->A, g->lda, g->i0, g->rows, g->p0, g->kc, s0, s1, g->ap, g->mr);
}

static void pack_b_task(void *ctx, int64_t s0, int64_t s1) {
  gemm_job *g = ctx;
  pack_b_strips(g->transB, g->B, g->ldb, g->p0, g->kc, g->j0, g->cols, s0, s1, g->bp, g->nr);
}

static void pack_task(void *ctx, int64_t s0, int64_t s1) {
  gemm_job *g = ctx;
  int64_t split = g->pack_split;
  if (s0 < split && !g->direct_b) pack_b_task(g, s0, s1 < split ? s1 : split);
  if (s1 > split && !g->direct_a) pack_a_task(g, (s0 > split ? s0 : split) - split, s1 - split);
}

/* Asks for the C tile the next micro-kernel reads and writes (rows × cols at c, at most one tile)
   while the current one computes: C rows lie far apart (4 KiB for 1024 columns) and a
   micro-kernel starts by loading its tile, so without this it would first wait on up to
   2·MR_MAX cache misses. */
static inline void prefetch_tile(const float *c, int64_t ldc, int64_t rows, int64_t cols) {
  if (rows > MR_MAX) rows = MR_MAX;
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j += 16) __builtin_prefetch(c + i * ldc + j, 1, 3);
  /* the last element too, when a row's columns end past the last 64-byte line started above */
  if (cols > 0)
    for (int64_t i = 0; i < rows; i++) __builtin_prefetch(c + i * ldc + cols - 1, 1, 3);
}

/* Micro-tiles of row strips [r0, r1) × column strips [c0, c1) of the current block. */
static void compute_tiles(gemm_job *g, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t tm = g->mr, tn = g->nr, mc_strips = MC / tm;
  /* where op(A) and op(B) are read: packed strips, or in place (see pl_sgemm) */
  const int64_t ra = g->direct_a ? (g->transA ? 1 : g->lda) : 1, ka = g->direct_a ? (g->transA ? g->lda : 1) : tm;
  const int64_t kb = g->direct_b ? g->ldb : tn;
  for (int64_t rb = r0; rb < r1; rb += mc_strips) {
    int64_t re = rb + mc_strips < r1 ? rb + mc_strips : r1;
    for (int64_t cs = c0; cs < c1; cs++) {
      int64_t col = cs * tn, nr = g->cols - col < tn ? g->cols - col : tn;
      const float *b = g->direct_b ? g->B + g->p0 * g->ldb + g->j0 + col : g->bp + cs * tn * g->kc;
      for (int64_t rs = rb; rs < re; rs++) {
        int64_t row = rs * tm, mr = g->rows - row < tm ? g->rows - row : tm;
        const float *a = !g->direct_a ? g->ap + rs * tm * g->kc
                         : g->transA  ? g->A + g->p0 * g->lda + g->i0 + row
                                      : g->A + (g->i0 + row) * g->lda + g->p0;
        float *c = g->C + (g->i0 + row) * g->ldc + g->j0 + col;
        if (rs + 1 < re) prefetch_tile(c + tm * g->ldc, g->ldc, g->rows - row - tm, nr);
        g->uk(g->kc, a, ra, ka, b, kb, c, g->ldc, (int)mr, (int)nr, g->add);
      }
    }
  }
}

static void compute_task(void *ctx, int64_t t0, int64_t t1) {
  gemm_job *g = ctx;
  const int64_t tm = g->mr, tn = g->nr;
  int64_t rstrips = (g->rows + tm - 1) / tm, cstrips = (g->cols + tn - 1) / tn;
  if (g->split_rows)
    compute_tiles(g, t0, t1, 0, cstrips);
  else
    compute_tiles(g, 0, rstrips, t0, t1);
}

#if PL_X86
#define UKERNEL_AVX512 ukernel_avx512
#else
#define UKERNEL_AVX512 NULL
#endif

/* The 12×8 and AVX-512 kernels are used unless switched off: then every product runs on the 6×16
   AVX2 kernel, which tests compare them with. */
static int variants_allowed = 1;
void pl_gemm_allow_variants(int on) { variants_allowed = on != 0; }
int pl_gemm_kernel(void) {
#if PL_X86
  if (pl_use_avx2()) return cpu_has_avx512f() && variants_allowed ? 2 : 1;
#endif
  return 0;
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
                .A = A, .B = B, .C = C, .uk = ukernel_c, .mr = MR, .nr = NR};
#if PL_X86
  if (pl_use_avx2() && variants_allowed && n <= NRN) {
    g.uk = ukernel_avx2_narrow;
    g.mr = MRN;
    g.nr = NRN;
  } else if (pl_use_avx2()) {
    /* 12×32 tiles pay on wide products (1024²: ~15 % faster); on narrow ones (n ≤ 128, most of a
       small model's layers) the 6×16 AVX2 kernel measured as fast or faster. Same bits either way. */
    if (cpu_has_avx512f() && variants_allowed && n > 128) {
      g.uk = ukernel_avx512;
      g.mr = MR512;
      g.nr = NR512;
    } else {
      g.uk = ukernel_avx2;
    }
  }
#endif
  const int64_t tm = g.mr, tn = g.nr; /* the micro-kernel's tile */
  int threads = parallel && (double)m * n * k >= PARALLEL_MIN_FLOPS ? pl_threads() : 1;
  int64_t kc_max = k < KC ? k : KC;
  int64_t rows_max = m < MBIG ? m : MBIG, cols_max = n < NC ? n : NC;
  g.ap = pl_scratch(0, (size_t)((rows_max + tm - 1) / tm) * tm * kc_max * sizeof(float));
  g.bp = pl_scratch(1, (size_t)((cols_max + tn - 1) / tn) * tn * kc_max * sizeof(float));
  if (!g.ap || !g.bp) return -1;
  for (g.j0 = 0; g.j0 < n; g.j0 += NC) {
    g.cols = n - g.j0 < NC ? n - g.j0 : NC;
    int64_t cstrips = (g.cols + tn - 1) / tn;
    for (g.i0 = 0; g.i0 < m; g.i0 += MBIG) {
      g.rows = m - g.i0 < MBIG ? m - g.i0 : MBIG;
      int64_t rstrips = (g.rows + tm - 1) / tm;
      g.split_rows = rstrips >= cstrips || rstrips >= 4 * threads;
      /* Packing pays when a packed strip is used many times. One column strip (n ≤ tn: LoRA's
         x·Aᵀ) uses each A strip once, one or two row strips (m ≤ 2·tm: LoRA's Aᵀ gradient) each
         B strip at most twice: then they are read in place. The arithmetic is the same. */
      g.direct_a = cstrips == 1 && g.uk != UKERNEL_AVX512;
      g.direct_b = !transB && rstrips <= 2 && g.cols % tn == 0;
      for (g.p0 = 0; g.p0 < k; g.p0 += KC) {
        g.kc = k - g.p0 < KC ? k - g.p0 : KC;
        g.add = g.p0 > 0;
        if (threads > 1) {
          g.pack_split = cstrips;
          pl_parallel_for(cstrips + rstrips, 4, pack_task, &g);
          pl_parallel_for(g.split_rows ? rstrips : cstrips, 1, compute_task, &g);
        } else {
          if (!g.direct_b) pack_b_task(&g, 0, cstrips);
          if (!g.direct_a) pack_a_task(&g, 0, rstrips);
          compute_task(&g, 0, g.split_rows ? rstrips : cstrips);
        }
      }
    }
  }
  return 0;
}
