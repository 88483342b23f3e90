/*
 * Helpers shared by the fused-op kernels (Peftlab*.c): a vectorised exp for AVX2, horizontal
 * sums, dot products and a small register-blocked matrix product (pl_mm_avx2) for the narrow or
 * tiny products where pl_sgemm's packing costs more than the arithmetic. The AVX2/FMA forms may be
 * called only when pl_use_avx2() is true; the kernels' plain C paths do not use them.
 */
#ifndef PEFTLAB_FUSED_MATH_H
#define PEFTLAB_FUSED_MATH_H

#include <math.h>
#include "../peftlab.h"

#if PL_X86
#include <immintrin.h>

/* e^x for 8 floats (Cephes' expf: range reduction by ln 2, degree-6 polynomial; ~1 ulp).
 * Inputs below −87.3 give 0, above 88.7 give +inf, like expf. */
static inline PL_AVX2 __m256 pl_exp8(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3365447505531f);
  __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
  __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(xc, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  xc = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), xc);
  xc = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), xc);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, xc, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, xc, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, xc, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, xc, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, xc, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(xc, xc), _mm256_add_ps(xc, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  y = _mm256_andnot_ps(under, y);
  return _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), over);
}

/* Sum of the 8 lanes, in a fixed order. */
static inline PL_AVX2 float pl_hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* Largest of the 8 lanes. */
static inline PL_AVX2 float pl_hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* Loads n < 8 floats (the rest 0). */
static inline PL_AVX2 __m256 pl_load_partial(const float *p, int64_t n) {
  float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < n; i++) tmp[i] = p[i];
  return _mm256_loadu_ps(tmp);
}

/* Stores the first n < 8 lanes. */
static inline PL_AVX2 void pl_store_partial(float *p, __m256 v, int64_t n) {
  float tmp[8];
  _mm256_storeu_ps(tmp, v);
  for (int64_t i = 0; i < n; i++) p[i] = tmp[i];
}

/* Σ a[i]·b[i]. */
static inline PL_AVX2 float pl_dot_avx2(const float *a, const float *b, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  if (i < n) acc = _mm256_fmadd_ps(pl_load_partial(a + i, n - i), pl_load_partial(b + i, n - i), acc);
  return pl_hsum8(acc);
}
/* pl_mm_avx2 on columns [0, w) with w % 32 == 0: rows in pairs, 4 vectors of 8 columns each. */
static inline PL_AVX2 void pl_mm_wide_avx2(int64_t m, int64_t n, int64_t w, const float *A, int64_t ai, int64_t aj, const float *B,
                            int64_t ldb, float *C, int64_t ldc, int acc, float k) {
  const __m256 kv = _mm256_set1_ps(k);
  for (int64_t c0 = 0; c0 < w; c0 += 32) {
    int64_t i = 0;
    for (; i + 2 <= m; i += 2) {
      __m256 r00 = _mm256_setzero_ps(), r01 = r00, r02 = r00, r03 = r00, r10 = r00, r11 = r00, r12 = r00, r13 = r00;
      const float *a0 = A + i * ai, *a1 = a0 + ai;
      for (int64_t j = 0; j < n; j++) {
        const float *b = B + j * ldb + c0;
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), b2 = _mm256_loadu_ps(b + 16), b3 = _mm256_loadu_ps(b + 24);
        const __m256 x0 = _mm256_broadcast_ss(a0 + j * aj), x1 = _mm256_broadcast_ss(a1 + j * aj);
        r00 = _mm256_fmadd_ps(x0, b0, r00);
        r01 = _mm256_fmadd_ps(x0, b1, r01);
        r02 = _mm256_fmadd_ps(x0, b2, r02);
        r03 = _mm256_fmadd_ps(x0, b3, r03);
        r10 = _mm256_fmadd_ps(x1, b0, r10);
        r11 = _mm256_fmadd_ps(x1, b1, r11);
        r12 = _mm256_fmadd_ps(x1, b2, r12);
        r13 = _mm256_fmadd_ps(x1, b3, r13);
      }
      float *c = C + i * ldc + c0, *d = c + ldc;
      if (acc) {
        _mm256_storeu_ps(c, _mm256_fmadd_ps(kv, r00, _mm256_loadu_ps(c)));
        _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(kv, r01, _mm256_loadu_ps(c + 8)));
        _mm256_storeu_ps(c + 16, _mm256_fmadd_ps(kv, r02, _mm256_loadu_ps(c + 16)));
        _mm256_storeu_ps(c + 24, _mm256_fmadd_ps(kv, r03, _mm256_loadu_ps(c + 24)));
        _mm256_storeu_ps(d, _mm256_fmadd_ps(kv, r10, _mm256_loadu_ps(d)));
        _mm256_storeu_ps(d + 8, _mm256_fmadd_ps(kv, r11, _mm256_loadu_ps(d + 8)));
        _mm256_storeu_ps(d + 16, _mm256_fmadd_ps(kv, r12, _mm256_loadu_ps(d + 16)));
        _mm256_storeu_ps(d + 24, _mm256_fmadd_ps(kv, r13, _mm256_loadu_ps(d + 24)));
      } else {
        _mm256_storeu_ps(c, _mm256_mul_ps(kv, r00));
        _mm256_storeu_ps(c + 8, _mm256_mul_ps(kv, r01));
        _mm256_storeu_ps(c + 16, _mm256_mul_ps(kv, r02));
        _mm256_storeu_ps(c + 24, _mm256_mul_ps(kv, r03));
        _mm256_storeu_ps(d, _mm256_mul_ps(kv, r10));
        _mm256_storeu_ps(d + 8, _mm256_mul_ps(kv, r11));
        _mm256_storeu_ps(d + 16, _mm256_mul_ps(kv, r12));
        _mm256_storeu_ps(d + 24, _mm256_mul_ps(kv, r13));
      }
    }
    for (; i < m; i++) {
      __m256 r0 = _mm256_setzero_ps(), r1 = r0, r2 = r0, r3 = r0;
      const float *a0 = A + i * ai;
      for (int64_t j = 0; j < n; j++) {
        const float *b = B + j * ldb + c0;
        const __m256 x0 = _mm256_broadcast_ss(a0 + j * aj);
        r0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b), r0);
        r1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b + 8), r1);
        r2 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b + 16), r2);
        r3 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b + 24), r3);
      }
      float *c = C + i * ldc + c0;
      __m256 o0 = _mm256_mul_ps(kv, r0), o1 = _mm256_mul_ps(kv, r1), o2 = _mm256_mul_ps(kv, r2), o3 = _mm256_mul_ps(kv, r3);
      if (acc) {
        o0 = _mm256_add_ps(o0, _mm256_loadu_ps(c));
        o1 = _mm256_add_ps(o1, _mm256_loadu_ps(c + 8));
        o2 = _mm256_add_ps(o2, _mm256_loadu_ps(c + 16));
        o3 = _mm256_add_ps(o3, _mm256_loadu_ps(c + 24));
      }
      _mm256_storeu_ps(c, o0);
      _mm256_storeu_ps(c + 8, o1);
      _mm256_storeu_ps(c + 16, o2);
      _mm256_storeu_ps(c + 24, o3);
    }
  }
}

/* pl_mm_avx2 on 8 columns: rows in fours, j in twos (8 sums in flight). */
static inline PL_AVX2 void pl_mm_narrow_avx2(int64_t m, int64_t n, const float *A, int64_t ai, int64_t aj, const float *B,
                                             int64_t ldb, float *C, int64_t ldc, int acc, float k) {
  const __m256 kv = _mm256_set1_ps(k);
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
    const float *a = A + i * ai;
    int64_t j = 0;
    for (; j + 2 <= n; j += 2) {
      const __m256 b0 = _mm256_loadu_ps(B + j * ldb), b1 = _mm256_loadu_ps(B + (j + 1) * ldb);
      const float *x0 = a + j * aj, *x1 = x0 + aj;
      s0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0), b0, s0);
      s1 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0 + ai), b0, s1);
      s2 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0 + 2 * ai), b0, s2);
      s3 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0 + 3 * ai), b0, s3);
      t0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x1), b1, t0);
      t1 = _mm256_fmadd_ps(_mm256_broadcast_ss(x1 + ai), b1, t1);
      t2 = _mm256_fmadd_ps(_mm256_broadcast_ss(x1 + 2 * ai), b1, t2);
      t3 = _mm256_fmadd_ps(_mm256_broadcast_ss(x1 + 3 * ai), b1, t3);
    }
    if (j < n) {
      const __m256 b0 = _mm256_loadu_ps(B + j * ldb);
      const float *x0 = a + j * aj;
      s0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0), b0, s0);
      s1 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0 + ai), b0, s1);
      s2 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0 + 2 * ai), b0, s2);
      s3 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0 + 3 * ai), b0, s3);
    }
    const __m256 r[4] = {_mm256_add_ps(s0, t0), _mm256_add_ps(s1, t1), _mm256_add_ps(s2, t2), _mm256_add_ps(s3, t3)};
    for (int q = 0; q < 4; q++) {
      float *c = C + (i + q) * ldc;
      _mm256_storeu_ps(c, acc ? _mm256_fmadd_ps(kv, r[q], _mm256_loadu_ps(c)) : _mm256_mul_ps(kv, r[q]));
    }
  }
  for (; i < m; i++) {
    __m256 s0 = _mm256_setzero_ps(), t0 = s0;
    const float *a = A + i * ai;
    int64_t j = 0;
    for (; j + 2 <= n; j += 2) {
      s0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + j * aj), _mm256_loadu_ps(B + j * ldb), s0);
      t0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + (j + 1) * aj), _mm256_loadu_ps(B + (j + 1) * ldb), t0);
    }
    if (j < n) s0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + j * aj), _mm256_loadu_ps(B + j * ldb), s0);
    float *c = C + i * ldc;
    const __m256 r0 = _mm256_add_ps(s0, t0);
    _mm256_storeu_ps(c, acc ? _mm256_fmadd_ps(kv, r0, _mm256_loadu_ps(c)) : _mm256_mul_ps(kv, r0));
  }
}

/*
 * C[i, 0..w) = (acc ? C[i, ·] : 0) + k · Σ_j A[i·ai + j·aj] · B[j·ldb + 0..w)  for i < m, j < n,
 * with w a multiple of 8. A is read with any strides (so Aᵀ costs nothing); B rows are contiguous.
 * Each output is one sum over j in a fixed order, whatever rows a caller gives each thread.
 */
static inline PL_AVX2 void pl_mm_avx2(int64_t m, int64_t n, int64_t w, const float *A, int64_t ai, int64_t aj,
                                      const float *B, int64_t ldb, float *C, int64_t ldc, int acc, float k) {
  const int64_t wide = w & ~(int64_t)31;
  if (wide) pl_mm_wide_avx2(m, n, wide, A, ai, aj, B, ldb, C, ldc, acc, k);
  for (int64_t c0 = wide; c0 < w; c0 += 8) pl_mm_narrow_avx2(m, n, A, ai, aj, B + c0, ldb, C + c0, ldc, acc, k);
}
#endif

/* Σ a[i]·b[i], plain C (8 partial sums, like the AVX2 form). */
static inline float pl_dot_c(const float *a, const float *b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < n; i++) acc[i & 7] += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

static inline float pl_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

#endif
