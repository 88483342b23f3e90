/*
 * peftlab's native kernels: what every kernel file needs.
 *
 * A kernel is a Node-API function called from JavaScript as
 *     kernel(heap, arg1, arg2, ...)
 * where `heap` is the wasm backend's memory (an ArrayBuffer) and the other arguments are numbers:
 * byte offsets of tensors inside the heap, sizes and flags. The kernel reads and writes tensors in
 * place (zero copy) and returns undefined. It allocates nothing that outlives the call.
 *
 * Adding a kernel: write native/src/kernels/<TfjsName>.c defining
 *     napi_value pl_kernel_<Name>(napi_env env, napi_callback_info info)
 * and add one line PL_KERNEL(<Name>) to native/src/registry.h.
 */
#ifndef PEFTLAB_H
#define PEFTLAB_H

#include <stddef.h>
#include <stdint.h>
#include <node_api.h>

/* ---- CPU features ------------------------------------------------------------------------- */

#if defined(__x86_64__) || defined(_M_X64)
#define PL_X86 1
/* Functions compiled for AVX2+FMA; call them only when pl_use_avx2() is true. */
#define PL_AVX2 __attribute__((target("avx2,fma")))
#else
#define PL_X86 0
#define PL_AVX2
#endif

/* True when the CPU has AVX2 and FMA and the SIMD path is not switched off (see setSimd). */
int pl_use_avx2(void);

/* Defines a pool task `name` that runs `simd` where the CPU has AVX2/FMA and `plain` elsewhere
 * (the plain C version is what the tests compare the SIMD one with). */
#if PL_X86
#define PL_SIMD_TASK(name, simd, plain) \
  static void name(void *ctx, int64_t i0, int64_t i1) { \
    if (pl_use_avx2()) simd(ctx, i0, i1); \
    else plain(ctx, i0, i1); \
  }
#else
#define PL_SIMD_TASK(name, simd, plain) \
  static void name(void *ctx, int64_t i0, int64_t i1) { plain(ctx, i0, i1); }
#endif

/* Rows per pool chunk for row-wise kernels over rows of `c` floats: about 4096 floats a chunk. */
static inline int64_t pl_row_grain(int64_t c) { return c >= 4096 ? 1 : 4096 / (c + 1) + 1; }
/* True when the CPU has AVX2 and FMA. */
int pl_cpu_has_avx2_fma(void);
/* on = 0 makes every kernel take its plain C path (tests compare the two paths). */
void pl_set_simd(int on);

/* ---- Arguments -------------------------------------------------------------------------------- */

#define PL_MAX_ARGS 32

typedef struct {
  napi_env env;
  size_t argc;
  napi_value argv[PL_MAX_ARGS];
  uint8_t *heap;     /* start of the ArrayBuffer given as argument 0 */
  size_t heap_bytes; /* its length */
  const char *name;  /* the kernel's name, for error messages */
  int failed;        /* set once an error has been thrown; later reads return 0 / NULL */
} pl_args;

/*
 * Reads the arguments of a kernel call: argument 0 must be an ArrayBuffer (the heap) and there
 * must be exactly `count` arguments in all. Returns 0 and throws a JavaScript error otherwise.
 */
int pl_args_read(napi_env env, napi_callback_info info, const char *name, size_t count, pl_args *a);
/* The same for functions that take no heap: exactly `count` arguments, none checked. */
int pl_args_read_plain(napi_env env, napi_callback_info info, const char *name, size_t count, pl_args *a);
/* Argument i as an integer (a JavaScript number holding an integer). */
int64_t pl_int(pl_args *a, size_t i);
/* Argument i as a double. */
double pl_num(pl_args *a, size_t i);
/*
 * Argument i as a byte offset into the heap of `count` elements of `elem_bytes` each, checked to lie
 * inside the heap and to be aligned to the element size. Returns NULL (and throws) otherwise.
 */
void *pl_ptr(pl_args *a, size_t i, int64_t count, size_t elem_bytes);
#define pl_f32(a, i, count) ((float *)pl_ptr((a), (i), (count), sizeof(float)))
#define pl_i32(a, i, count) ((int32_t *)pl_ptr((a), (i), (count), sizeof(int32_t)))
/* Throws a JavaScript Error "<kernel name>: <message>" (once per call) and returns NULL. */
napi_value pl_throw(pl_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The value `undefined`, what kernels return. */
napi_value pl_undefined(napi_env env);

/* ---- Threads -------------------------------------------------------------------------------- */

/*
 * Runs fn(ctx, begin, end) over [0, n) split into contiguous chunks of at least `grain` items (at
 * most 4 per thread), on the pool's threads and the calling one, and returns when all are done.
 * The split depends only on n, grain and the thread count; a kernel whose items do not share a
 * reduction therefore gives the same bits whatever thread runs which chunk. When the work is too
 * small (n <= grain), the pool is busy (another JavaScript thread uses it) or there is one
 * thread, fn runs once on the calling thread over [0, n).
 */
typedef void (*pl_range_fn)(void *ctx, int64_t begin, int64_t end);
void pl_parallel_for(int64_t n, int64_t grain, pl_range_fn fn, void *ctx);
/* Number of threads (calling thread included). */
int pl_threads(void);
/* Sets the number of threads (1 = no pool); returns 0 on success. */
int pl_set_threads(int n);
/* Index of the current thread within a pl_parallel_for: 0 = the calling thread, 1.. = pool. */
int pl_thread_index(void);
/* Stops the pool's threads (at exit). */
void pl_pool_shutdown(void);

/* ---- Scratch memory -------------------------------------------------------------------------- */

/*
 * A 64-byte aligned scratch buffer of at least `bytes`, owned by the current thread and slot
 * (0..3): reused across calls, grown when needed, freed at exit. Kernels use it for packing.
 * Returns NULL when out of memory.
 */
void *pl_scratch(int slot, size_t bytes);
void pl_scratch_free_all(void);

/* ---- Matrix product ------------------------------------------------------------------------- */

/*
 * C[m×n] = op(A)·op(B) for row-major matrices: op(A)[i,k] = A[i*lda + k] (transA = 0) or
 * A[k*lda + i] (transA = 1); likewise B with ldb. C has row stride ldc. Overwrites C.
 * `parallel` = 1 lets it split the work over the pool (results do not depend on the split).
 * Returns 0, or -1 when its packing buffers cannot be allocated.
 * Micro-kernels: 12×8 AVX2+FMA for n ≤ 8, 12×32 AVX-512F for n > 128 where the CPU has it, else
 * 6×16 AVX2+FMA, else 6×16 plain C. Each accumulates every element in the same order; the SIMD
 * ones (one FMA per k) give the same bits.
 */
int pl_sgemm(int transA, int transB, int64_t m, int64_t n, int64_t k, const float *A, int64_t lda, const float *B,
              int64_t ldb, float *C, int64_t ldc, int parallel);

/* The widest sgemm micro-kernel in use: 0 plain C, 1 AVX2+FMA, 2 AVX-512F. */
int pl_gemm_kernel(void);
/* on = 0: every product on the 6×16 AVX2 kernel (no 12×8 narrow or 12×32 AVX-512 tiles), for tests. */
void pl_gemm_allow_variants(int on);

#endif
