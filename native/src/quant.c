/*
 * The storage formats of frozen weights (see weights.h): conversions from the source bytes at load
 * time (threaded over rows or blocks) and the dequantisation of panels that the kernels multiply.
 *
 * Every value is computed with one float32 rounding per operation, in the order written here (no
 * contraction into fused multiply-adds), so that a JavaScript implementation of the same definitions
 * gives the same bits; the AVX2 panel paths compute exactly what the plain C ones do.
 */
#pragma GCC optimize("fp-contract=off")
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "peftlab.h"
#include "weights.h"

#if PL_X86
#include <immintrin.h>
#endif

/* ---- tables ---- */

/* QLoRA's NormalFloat levels (bitsandbytes' NF4 code): quantiles of N(0, 1), normalised to [−1, 1],
   with an exact zero (7 negative levels, 0, 8 positive ones). */
const float PL_NF4[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
    -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
    0.24611230194568634f, 0.33791524171066284f, 0.44070982933044434f, 0.5626170039176941f,
    0.7229568362236023f, 1.0f};

static float NF4_MID[15];   /* midpoints between neighbouring levels */
static float DYN[256];      /* the signed dynamic map, ascending */
static float DYN_MID[255];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

static void make_tables(void) {
  for (int i = 0; i < 15; i++) NF4_MID[i] = (PL_NF4[i] + PL_NF4[i + 1]) * 0.5f;
  /* bitsandbytes' create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): for exponent
     i = 0..6, the 2^i means of neighbouring points of linspace(0.1, 1, 2^i + 1), times 10^(i−6),
     with both signs; then 0 and 1. */
  static const double POW10[7] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};
  int n = 0;
  for (int i = 0; i < 7; i++) {
    int points = (1 << i) + 1;
    float scale = (float)POW10[i];
    for (int j = 0; j + 1 < points; j++) {
      float b0 = (float)(0.1 + 0.9 * j / (points - 1)), b1 = (float)(0.1 + 0.9 * (j + 1) / (points - 1));
      float mean = (b0 + b1) / 2.0f;
      DYN[n++] = scale * mean;
      DYN[n++] = -(scale * mean);
    }
  }
  DYN[n++] = 0.0f;
  DYN[n++] = 1.0f;
  qsort(DYN, 256, sizeof(float), cmp_float);
  for (int i = 0; i < 255; i++) DYN_MID[i] = (DYN[i] + DYN[i + 1]) * 0.5f;
}

static void tables(void) { pthread_once(&tables_once, make_tables); }

const float *pl_dynamic_map(void) {
  tables();
  return DYN;
}

/* Index of the level nearest to v: the number of midpoints below v (a tie goes to the lower one). */
static inline int nearest(const float *mid, int count, float v) {
  int lo = 0, hi = count; /* first index with mid >= v */
  while (lo < hi) {
    int m = (lo + hi) >> 1;
    if (mid[m] < v) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/* ---- 16-bit floats ---- */

float pl_bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

uint16_t pl_f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) return (uint16_t)(((u >> 16) & 0x8000u) | 0x7fc0u);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float pl_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, u;
  if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);
  } else if (exp) {
    u = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant) { /* subnormal: normalise */
    int e = -1;
    do {
      mant <<= 1;
      e++;
    } while (!(mant & 0x400u));
    u = sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3ffu) << 13);
  } else {
    u = sign;
  }
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* value >> shift, rounded to nearest, ties to even */
static inline uint32_t round_shift(uint32_t v, int shift) {
  uint32_t q = v >> shift, rem = v & ((1u << shift) - 1), half = 1u << (shift - 1);
  return rem > half || (rem == half && (q & 1u)) ? q + 1 : q;
}

uint16_t pl_f32_to_f16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000u, exp = (u >> 23) & 0xffu, mant = u & 0x7fffffu;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    return (uint16_t)(sign | round_shift(mant | 0x800000u, 14 - e));
  }
  /* a carry out of the mantissa rounds up into the exponent, as it should (up to infinity) */
  return (uint16_t)((sign | ((uint32_t)e << 10)) + round_shift(mant, 13));
}

/* ---- sizes ---- */

static int64_t nf4_blocks(int64_t n) { return (n + PL_NF4_BLOCK - 1) / PL_NF4_BLOCK; }

size_t pl_weight_storage_bytes(int format, int64_t rows, int64_t cols) {
  int64_t n = rows * cols;
  switch (format) {
    case PL_W_F32: return (size_t)n * 4;
    case PL_W_BF16:
    case PL_W_F16: return (size_t)n * 2;
    case PL_W_INT8: return (size_t)n + (size_t)rows * 4;
    case PL_W_NF4: {
      int64_t b = nf4_blocks(n);
      return (size_t)((n + 1) / 2) + (size_t)b + (size_t)((b + PL_NF4_BLOCK2 - 1) / PL_NF4_BLOCK2) * 4;
    }
    default: return 0;
  }
}

/* ---- writing (quantisation at load time) ---- */

typedef struct {
  pl_weight *w;
  int64_t r0, n;
  const void *src;
  int src_dtype;
} write_job;

#if PL_X86
__attribute__((target("avx2,fma,f16c"))) static void f16_decode_f16c(const uint16_t *p, int64_t n, float *out);
static int cpu_has_f16c(void);

/* float32 → float16 with the F16C instruction (round to nearest even, as pl_f32_to_f16); a NaN is
   converted by pl_f32_to_f16, so that its bits do not depend on the path. */
__attribute__((target("avx2,fma,f16c"))) static void f16_encode_f16c(const float *p, int64_t n, uint16_t *out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(p + i);
    _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)))
      for (int k = 0; k < 8; k++) out[i + k] = pl_f32_to_f16(p[i + k]);
  }
  for (; i < n; i++) out[i] = pl_f32_to_f16(p[i]);
}
#endif

/* Source values [s, s+n) of a write as float32 (exact: every source dtype widens to float32). */
static void decode(const write_job *j, int64_t s, int64_t n, float *out) {
  switch (j->src_dtype) {
    case PL_SRC_BF16: {
      const uint16_t *p = (const uint16_t *)j->src + s;
      for (int64_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)p[i] << 16;
        memcpy(out + i, &u, 4);
      }
      return;
    }
    case PL_SRC_F16:
#if PL_X86
      if (pl_use_avx2() && cpu_has_f16c()) {
        f16_decode_f16c((const uint16_t *)j->src + s, n, out);
        return;
      }
#endif
      for (int64_t i = 0; i < n; i++) out[i] = pl_f16_to_f32(((const uint16_t *)j->src)[s + i]);
      return;
    default: memcpy(out, (const float *)j->src + s, (size_t)n * 4); return;
  }
}

/* round(v) with ties away from zero, as roundf, for |v| < 2^31 (v is at most 127.5 here); no
   branches, so that a row's loop vectorises. */
static inline float round_away(float v) {
  v = v == v ? v : 0.0f;       /* NaN (a NaN weight, or an infinite one over an infinite scale) stores 0 */
  float t = (float)(int32_t)v; /* towards zero, exact */
  float d = v - t;             /* exact */
  return t + (d >= 0.5f ? 1.0f : 0.0f) - (d <= -0.5f ? 1.0f : 0.0f);
}

#if PL_X86
/* One int8 row as write_rows' plain C loop computes it (absmax, scale = absmax / 127, q = round(x /
   scale) with ties away from zero), 8 values at a time. */
PL_AVX2 static void int8_row_avx2(const float *x, int64_t c, float *scale_out, int8_t *out) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= c; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  float lanes[8], absmax = 0.0f;
  _mm256_storeu_ps(lanes, m);
  for (int k = 0; k < 8; k++) absmax = lanes[k] > absmax ? lanes[k] : absmax;
  for (; i < c; i++) {
    float v = fabsf(x[i]);
    absmax = v > absmax ? v : absmax;
  }
  float scale = absmax / 127.0f;
  *scale_out = scale;
  if (!(scale > 0.0f)) {
    memset(out, 0, (size_t)c);
    return;
  }
  const __m256 vs = _mm256_set1_ps(scale), half = _mm256_set1_ps(0.5f), mhalf = _mm256_set1_ps(-0.5f);
  const __m256 one = _mm256_set1_ps(1.0f), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
  int32_t q32[8];
  for (i = 0; i + 8 <= c; i += 8) {
    __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), vs);
    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN → 0, as round_away */
    __m256 t = _mm256_cvtepi32_ps(_mm256_cvttps_epi32(v));
    __m256 dd = _mm256_sub_ps(v, t);
    t = _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(dd, half, _CMP_GE_OQ), one));
    t = _mm256_sub_ps(t, _mm256_and_ps(_mm256_cmp_ps(dd, mhalf, _CMP_LE_OQ), one));
    t = _mm256_max_ps(_mm256_min_ps(t, hi), lo);
    _mm256_storeu_si256((__m256i *)q32, _mm256_cvttps_epi32(t));
    for (int k = 0; k < 8; k++) out[i + k] = (int8_t)q32[k];
  }
  for (; i < c; i++) {
    float q = round_away(x[i] / scale);
    q = q > 127.0f ? 127.0f : q;
    out[i] = (int8_t)(int32_t)(q < -127.0f ? -127.0f : q);
  }
}
#endif

/* Rows [a, b) of the write (relative to r0), for every format but nf4. */
static void write_rows(void *ctx, int64_t a, int64_t b) {
  const write_job *j = ctx;
  pl_weight *w = j->w;
  const int64_t c = w->cols;
  float *buf = w->format == PL_W_F32 ? NULL : pl_scratch(3, (size_t)c * sizeof(float));
  for (int64_t r = a; r < b; r++) {
    const int64_t s = r * c, d = (j->r0 + r) * c;
    if (w->format == PL_W_F32) {
      decode(j, s, c, (float *)w->data + d);
      continue;
    }
    int same = (w->format == PL_W_BF16 && j->src_dtype == PL_SRC_BF16) || (w->format == PL_W_F16 && j->src_dtype == PL_SRC_F16);
    if (same) {
      memcpy((uint16_t *)w->data + d, (const uint16_t *)j->src + s, (size_t)c * 2);
      continue;
    }
    decode(j, s, c, buf);
    switch (w->format) {
      case PL_W_BF16: {
        uint16_t *out = (uint16_t *)w->data + d;
        for (int64_t i = 0; i < c; i++) out[i] = pl_f32_to_bf16(buf[i]);
        break;
      }
      case PL_W_F16: {
        uint16_t *out = (uint16_t *)w->data + d;
#if PL_X86
        if (pl_use_avx2() && cpu_has_f16c()) {
          f16_encode_f16c(buf, c, out);
          break;
        }
#endif
        for (int64_t i = 0; i < c; i++) out[i] = pl_f32_to_f16(buf[i]);
        break;
      }
      case PL_W_INT8: {
#if PL_X86
        if (pl_use_avx2()) {
          int8_row_avx2(buf, c, w->scales + j->r0 + r, (int8_t *)w->data + d);
          break;
        }
#endif
        float absmax = 0.0f;
        for (int64_t i = 0; i < c; i++) {
          float v = fabsf(buf[i]);
          absmax = v > absmax ? v : absmax;
        }
        float scale = absmax / 127.0f;
        w->scales[j->r0 + r] = scale;
        int8_t *out = (int8_t *)w->data + d;
        if (scale > 0.0f) {
          for (int64_t i = 0; i < c; i++) {
            float q = round_away(buf[i] / scale);
            q = q > 127.0f ? 127.0f : q;
            out[i] = (int8_t)(int32_t)(q < -127.0f ? -127.0f : q);
          }
        } else {
          memset(out, 0, (size_t)c);
        }
        break;
      }
    }
  }
}

#if PL_X86
/* The codes of one nf4 block of 64 values (zero-padded) with scale absmax, as write_nf4_blocks'
   plain C loop computes them: v / absmax, then the number of level midpoints below it. */
PL_AVX2 static void nf4_codes_avx2(const float *x, float absmax, uint8_t *code) {
  __m256 mid[15];
  for (int k = 0; k < 15; k++) mid[k] = _mm256_set1_ps(NF4_MID[k]);
  const __m256 s = _mm256_set1_ps(absmax);
  const int zero = !(absmax > 0.0f);
  int32_t c32[8];
  for (int i = 0; i < PL_NF4_BLOCK; i += 8) {
    __m256 v = zero ? _mm256_setzero_ps() : _mm256_div_ps(_mm256_loadu_ps(x + i), s);
    __m256i acc = _mm256_setzero_si256();
    for (int k = 0; k < 15; k++) acc = _mm256_sub_epi32(acc, _mm256_castps_si256(_mm256_cmp_ps(mid[k], v, _CMP_LT_OQ)));
    _mm256_storeu_si256((__m256i *)c32, acc);
    for (int k = 0; k < 8; k++) code[i + k] = (uint8_t)c32[k];
  }
}
#endif

/* nf4 blocks [a, b) of the write (relative to its first block). */
static void write_nf4_blocks(void *ctx, int64_t a, int64_t b) {
  const write_job *j = ctx;
  pl_weight *w = j->w;
  const int64_t first = j->r0 * w->cols, len = j->n * w->cols; /* flat range of the write */
  uint8_t *codes = w->data;
  float v[PL_NF4_BLOCK];
  uint8_t code[PL_NF4_BLOCK];
  for (int64_t blk = a; blk < b; blk++) {
    int64_t s = blk * PL_NF4_BLOCK, n = s + PL_NF4_BLOCK < len ? PL_NF4_BLOCK : len - s;
    decode(j, s, n, v);
    float absmax = 0.0f;
    for (int64_t i = 0; i < n; i++) {
      float x = fabsf(v[i]);
      absmax = x > absmax ? x : absmax;
    }
    w->absmax32[(first + s) / PL_NF4_BLOCK] = absmax;
    for (int64_t i = n; i < PL_NF4_BLOCK; i++) v[i] = 0.0f;
#if PL_X86
    if (pl_use_avx2()) {
      nf4_codes_avx2(v, absmax, code);
    } else
#endif
    {
      for (int64_t i = 0; i < n; i++) v[i] = absmax > 0.0f ? v[i] / absmax : 0.0f;
      /* the nearest level: the number of midpoints below the value (a tie goes to the lower level) */
      for (int i = 0; i < PL_NF4_BLOCK; i++) code[i] = 0;
      for (int k = 0; k < 15; k++)
        for (int i = 0; i < PL_NF4_BLOCK; i++) code[i] += NF4_MID[k] < v[i];
    }
    int64_t f = first + s;
    if ((f & 1) == 0 && (n & 1) == 0) {
      for (int64_t i = 0; i < n; i += 2) codes[(f + i) / 2] = (uint8_t)(code[i] << 4 | code[i + 1]);
    } else {
      for (int64_t i = 0; i < n; i++) {
        uint8_t *byte = codes + (f + i) / 2;
        *byte = ((f + i) & 1) ? (uint8_t)((*byte & 0xf0u) | code[i]) : (uint8_t)((*byte & 0x0fu) | (code[i] << 4));
      }
    }
  }
}

const char *pl_weight_write(pl_weight *w, int64_t r0, int64_t n, const void *src, int src_dtype) {
  if (w->finished) return "the weight is already finished";
  if (r0 < 0 || n < 0 || r0 + n > w->rows) return "rows outside the weight";
  if (src_dtype < PL_SRC_F32 || src_dtype > PL_SRC_F16) return "unknown source dtype";
  if (n == 0) return NULL;
  tables();
  write_job j = {.w = w, .r0 = r0, .n = n, .src = src, .src_dtype = src_dtype};
  if (w->format == PL_W_NF4) {
    int64_t first = r0 * w->cols, end = (r0 + n) * w->cols;
    if (first % PL_NF4_BLOCK != 0 || (end % PL_NF4_BLOCK != 0 && r0 + n != w->rows))
      return "an nf4 write must start and end on a block of 64 values (or at the last row)";
    int64_t blocks = nf4_blocks(end - first);
    pl_parallel_for(blocks, 64, write_nf4_blocks, &j);
  } else {
    pl_parallel_for(n, pl_row_grain(w->cols), write_rows, &j);
  }
  return NULL;
}

/* ---- finishing: double quantisation of the nf4 block scales ---- */

typedef struct {
  pl_weight *w;
  int64_t blocks;
} dq_job;

static void double_quantise(void *ctx, int64_t a, int64_t b) {
  const dq_job *j = ctx;
  pl_weight *w = j->w;
  for (int64_t g = a; g < b; g++) {
    int64_t s = g * PL_NF4_BLOCK2, e = s + PL_NF4_BLOCK2 < j->blocks ? s + PL_NF4_BLOCK2 : j->blocks;
    float absmax = 0.0f;
    for (int64_t i = s; i < e; i++) {
      float v = fabsf(w->absmax32[i] - w->offset);
      if (v > absmax) absmax = v;
    }
    w->scale2[g] = absmax;
    for (int64_t i = s; i < e; i++) {
      float v = absmax > 0.0f ? (w->absmax32[i] - w->offset) / absmax : 0.0f;
      w->absmax8[i] = (uint8_t)nearest(DYN_MID, 255, v);
    }
  }
}

const char *pl_weight_finish(pl_weight *w) {
  if (w->finished) return NULL;
  if (w->format == PL_W_NF4) {
    tables();
    int64_t blocks = nf4_blocks(w->rows * w->cols), groups = (blocks + PL_NF4_BLOCK2 - 1) / PL_NF4_BLOCK2;
    w->absmax8 = pl_weights_alloc((size_t)blocks);
    w->scale2 = pl_weights_alloc((size_t)groups * 4);
    if ((!w->absmax8 && blocks) || !w->scale2) {
      pl_weights_release(w->absmax8, (size_t)blocks);
      pl_weights_release(w->scale2, (size_t)groups * 4);
      w->absmax8 = NULL;
      w->scale2 = NULL;
      return "out of memory for the block scales";
    }
    double sum = 0.0;
    for (int64_t i = 0; i < blocks; i++) sum += w->absmax32[i];
    w->offset = blocks ? (float)(sum / (double)blocks) : 0.0f;
    dq_job j = {.w = w, .blocks = blocks};
    pl_parallel_for(groups, 16, double_quantise, &j);
    pl_weights_release(w->absmax32, (size_t)blocks * 4);
    w->absmax32 = NULL;
    w->bytes = pl_weight_storage_bytes(w->format, w->rows, w->cols);
  }
  w->finished = 1;
  return NULL;
}

/* ---- panels (dequantisation for the kernels) ---- */

/* The dequantised scale of nf4 block b. */
static inline float nf4_scale(const pl_weight *w, int64_t b) {
  float t = DYN[w->absmax8[b]] * w->scale2[b / PL_NF4_BLOCK2];
  return t + w->offset;
}

/* Values f .. f+len of the flat nf4 array into out (plain C). */
static void nf4_run_c(const pl_weight *w, int64_t f, int64_t len, float *out) {
  const uint8_t *codes = w->data;
  int64_t end = f + len;
  while (f < end) {
    int64_t b = f / PL_NF4_BLOCK, be = (b + 1) * PL_NF4_BLOCK < end ? (b + 1) * PL_NF4_BLOCK : end;
    float s = nf4_scale(w, b);
    for (; f < be; f++) {
      uint8_t byte = codes[f / 2];
      *out++ = PL_NF4[(f & 1) ? (byte & 0xfu) : (byte >> 4)] * s;
    }
  }
}

static void row_c(const pl_weight *w, int64_t r, int64_t c0, int64_t c1, float *out) {
  const int64_t base = r * w->cols;
  switch (w->format) {
    case PL_W_F32: memcpy(out, (const float *)w->data + base + c0, (size_t)(c1 - c0) * 4); break;
    case PL_W_BF16: {
      const uint16_t *p = (const uint16_t *)w->data + base;
      for (int64_t c = c0; c < c1; c++) *out++ = pl_bf16_to_f32(p[c]);
      break;
    }
    case PL_W_F16: {
      const uint16_t *p = (const uint16_t *)w->data + base;
      for (int64_t c = c0; c < c1; c++) *out++ = pl_f16_to_f32(p[c]);
      break;
    }
    case PL_W_INT8: {
      const int8_t *p = (const int8_t *)w->data + base;
      float s = w->scales[r];
      for (int64_t c = c0; c < c1; c++) *out++ = (float)p[c] * s;
      break;
    }
    case PL_W_NF4: nf4_run_c(w, base + c0, c1 - c0, out); break;
  }
}

#if PL_X86
static int cpu_has_f16c(void) {
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("f16c");
  }
  return cached;
}

/* The same values as nf4_run_c: 8 codes at a time where they start on a byte and lie in one block. */
PL_AVX2 static void nf4_run_avx2(const pl_weight *w, int64_t f, int64_t len, float *out) {
  const uint8_t *codes = w->data;
  const __m256 lo = _mm256_loadu_ps(PL_NF4), hi = _mm256_loadu_ps(PL_NF4 + 8);
  const __m256i shifts = _mm256_setr_epi32(4, 0, 4, 0, 4, 0, 4, 0);
  int64_t end = f + len;
  while (f < end) {
    int64_t b = f / PL_NF4_BLOCK, be = (b + 1) * PL_NF4_BLOCK < end ? (b + 1) * PL_NF4_BLOCK : end;
    float s = nf4_scale(w, b);
    __m256 vs = _mm256_set1_ps(s);
    for (; f < be && (f & 7); f++) {
      uint8_t byte = codes[f / 2];
      *out++ = PL_NF4[(f & 1) ? (byte & 0xfu) : (byte >> 4)] * s;
    }
    for (; f + 8 <= be; f += 8, out += 8) {
      uint32_t four;
      memcpy(&four, codes + f / 2, 4);
      /* byte k → lanes 2k (high nibble) and 2k+1 (low nibble) */
      __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi32_si128((int)four)), _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
      __m256i idx = _mm256_and_si256(_mm256_srlv_epi32(bytes, shifts), _mm256_set1_epi32(0xf));
      __m256 vlo = _mm256_permutevar8x32_ps(lo, idx), vhi = _mm256_permutevar8x32_ps(hi, idx);
      __m256 use_hi = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)); /* bit 3 into the sign bit */
      _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_blendv_ps(vlo, vhi, use_hi), vs));
    }
    for (; f < be; f++) {
      uint8_t byte = codes[f / 2];
      *out++ = PL_NF4[(f & 1) ? (byte & 0xfu) : (byte >> 4)] * s;
    }
  }
}

__attribute__((target("avx2,fma,f16c"))) static void f16_decode_f16c(const uint16_t *p, int64_t n, float *out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + i))));
  for (; i < n; i++) out[i] = pl_f16_to_f32(p[i]);
}

PL_AVX2 static void row_avx2(const pl_weight *w, int64_t r, int64_t c0, int64_t c1, float *out) {
  const int64_t base = r * w->cols, n = c1 - c0;
  int64_t i = 0;
  switch (w->format) {
    case PL_W_BF16: {
      const uint16_t *p = (const uint16_t *)w->data + base + c0;
      for (; i + 8 <= n; i += 8) {
        __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p + i)));
        _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
      }
      for (; i < n; i++) out[i] = pl_bf16_to_f32(p[i]);
      return;
    }
    case PL_W_F16:
      if (cpu_has_f16c()) {
        f16_decode_f16c((const uint16_t *)w->data + base + c0, n, out);
        return;
      }
      break;
    case PL_W_INT8: {
      const int8_t *p = (const int8_t *)w->data + base + c0;
      __m256 s = _mm256_set1_ps(w->scales[r]);
      for (; i + 8 <= n; i += 8) {
        int64_t eight;
        memcpy(&eight, p + i, 8);
        __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(eight)));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(v, s));
      }
      for (; i < n; i++) out[i] = (float)p[i] * w->scales[r];
      return;
    }
    case PL_W_NF4: nf4_run_avx2(w, base + c0, n, out); return;
    default: break;
  }
  row_c(w, r, c0, c1, out);
}
#endif

void pl_weight_panel(const pl_weight *w, int64_t r0, int64_t n, int64_t c0, int64_t c1, float *dst, int64_t ldd) {
  tables();
#if PL_X86
  if (pl_use_avx2()) {
    for (int64_t r = 0; r < n; r++) row_avx2(w, r0 + r, c0, c1, dst + r * ldd);
    return;
  }
#endif
  for (int64_t r = 0; r < n; r++) row_c(w, r0 + r, c0, c1, dst + r * ldd);
}
