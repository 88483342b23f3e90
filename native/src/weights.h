/*
 * Frozen weights in native memory: base matrices [rows, cols] (a Linear's [out, in] as Hugging Face
 * stores it, or an embedding table [V, C]) allocated with malloc, outside the wasm heap, in one of
 * five storage formats, and read by the frozen-weight kernels (PeftlabFrozenMatMul*.c,
 * PeftlabFrozenEmbedding.c) one panel at a time.
 *
 * Formats
 *   f32   4 bytes per value.
 *   bf16  2 bytes, the top half of a float32 (converted with round-to-nearest-even when the source is not bf16).
 *   f16   2 bytes, IEEE binary16 (likewise).
 *   int8  per row (output channel): scale = absmax / 127, q = round(x / scale) (ties away from zero),
 *         value = q · scale.
 *   nf4   QLoRA's 4-bit NormalFloat: the values in flat row-major order are cut into blocks of 64;
 *         each block's absmax is its scale and each value is the NormalFloat level (PL_NF4) nearest to
 *         x / absmax, two codes per byte (the earlier value in the high nibble). The block scales are
 *         double-quantised: their mean is subtracted, and the results are cut into blocks of 256, each
 *         stored as 8-bit codes of the dynamic map (bitsandbytes' signed create_dynamic_map) times the
 *         block's absmax (one float32). value = NF4[code] · (DYN[code8] · scale2 + mean).
 *
 * A weight is created empty, filled by writes of whole rows (in any order, from float32, bfloat16 or
 * float16 bytes), then finished (nf4: the scales are double-quantised then); only a finished weight can
 * be read. Weights are known by an integer id, never reused within a process.
 */
#ifndef PEFTLAB_WEIGHTS_H
#define PEFTLAB_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "peftlab.h"

enum { PL_W_F32 = 0, PL_W_BF16 = 1, PL_W_F16 = 2, PL_W_INT8 = 3, PL_W_NF4 = 4, PL_W_FORMATS = 5 };
/* Source dtypes of a write. */
enum { PL_SRC_F32 = 0, PL_SRC_BF16 = 1, PL_SRC_F16 = 2 };

#define PL_NF4_BLOCK 64
#define PL_NF4_BLOCK2 256

typedef struct pl_weight {
  int format;
  int finished;
  int64_t rows, cols;
  void *data;       /* codes or values: f32 floats, bf16/f16 uint16, int8 int8, nf4 two codes per byte */
  float *scales;    /* int8: one per row */
  float *absmax32;  /* nf4 while being written: one float32 scale per block (freed by finish) */
  uint8_t *absmax8; /* nf4: the double-quantised block scales */
  float *scale2;    /* nf4: one per PL_NF4_BLOCK2 block scales */
  float offset;     /* nf4: the mean subtracted from the block scales */
  size_t bytes;     /* bytes held now */
  void *owner;      /* the environment that made it (freed with it) */
  uint8_t *written; /* while being written: 1 for each row written (finish requires them all) */
} pl_weight;

/* The 16 NormalFloat levels and the 256 values of the signed dynamic map, ascending. */
extern const float PL_NF4[16];
const float *pl_dynamic_map(void);

/* float16 / bfloat16 bits ↔ float32 (round to nearest even; NaN stays NaN). */
float pl_f16_to_f32(uint16_t h);
uint16_t pl_f32_to_f16(float f);
float pl_bf16_to_f32(uint16_t h);
uint16_t pl_f32_to_bf16(float f);

/*
 * Writes W[r0 .. r0+n, 0 .. cols) into `dst` (row stride ldd), columns [c0, c1) of those rows only:
 * dst[(r - r0)·ldd + (c - c0)] = value(r, c). The weight must be finished.
 */
void pl_weight_panel(const pl_weight *w, int64_t r0, int64_t n, int64_t c0, int64_t c1, float *dst, int64_t ldd);

/* The weight with this id, or NULL (unknown, freed, or not finished when `finished` is 1). */
pl_weight *pl_weight_get(int64_t id, int finished);

/* Quantises rows [r0, r0+n) from `src` (n·cols values of `src_dtype`); returns NULL or an error message. */
const char *pl_weight_write(pl_weight *w, int64_t r0, int64_t n, const void *src, int src_dtype);
/* Finishes a weight (nf4: double quantisation of the block scales); returns NULL or an error message. */
const char *pl_weight_finish(pl_weight *w);
/* Storage bytes of a finished weight of this format and shape. */
size_t pl_weight_storage_bytes(int format, int64_t rows, int64_t cols);
/* malloc / free that keep the store's byte counts (live and peak) up to date. */
void *pl_weights_alloc(size_t bytes);
void pl_weights_release(void *p, size_t bytes);

/* Adds the store's JavaScript functions (weightsCreate, …; see weights.c) to the addon's exports. */
void pl_weights_export(napi_env env, napi_value exports);

#endif
