/* Argument parsing, errors, CPU features and per-thread scratch memory (see peftlab.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peftlab.h"

/* ---- CPU features ---- */

static int simd_allowed = 1;

int pl_cpu_has_avx2_fma(void) {
#if PL_X86 && defined(__GNUC__)
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return cached;
#else
  return 0;
#endif
}

int pl_use_avx2(void) { return simd_allowed && pl_cpu_has_avx2_fma(); }

void pl_set_simd(int on) { simd_allowed = on != 0; }

/* ---- Arguments ---- */

napi_value pl_undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value pl_throw(pl_args *a, const char *fmt, ...) {
  if (a->failed) return NULL;
  a->failed = 1;
  char msg[512];
  int used = snprintf(msg, sizeof msg, "%s (native): ", a->name);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + used, sizeof msg - (size_t)used, fmt, ap);
  va_end(ap);
  napi_throw_error(a->env, NULL, msg);
  return NULL;
}

/* The arguments, exactly `count` of them; `hint` says what they start with in the error message. */
static int read_args(napi_env env, napi_callback_info info, const char *name, size_t count, pl_args *a, const char *hint) {
  a->env = env;
  a->name = name;
  a->failed = 0;
  a->heap = NULL;
  a->heap_bytes = 0;
  a->argc = PL_MAX_ARGS;
  if (count > PL_MAX_ARGS || napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) {
    pl_throw(a, "cannot read the arguments");
    return 0;
  }
  if (a->argc != count) {
    pl_throw(a, "expected %zu arguments%s, got %zu", count, hint, a->argc);
    return 0;
  }
  return 1;
}

int pl_args_read_plain(napi_env env, napi_callback_info info, const char *name, size_t count, pl_args *a) {
  return read_args(env, info, name, count, a, "");
}

int pl_args_read(napi_env env, napi_callback_info info, const char *name, size_t count, pl_args *a) {
  if (!read_args(env, info, name, count, a, " (heap, ...)")) return 0;
  bool is_ab = false;
  napi_is_arraybuffer(env, a->argv[0], &is_ab);
  if (!is_ab) {
    pl_throw(a, "argument 0 must be the wasm heap (an ArrayBuffer)");
    return 0;
  }
  void *data = NULL;
  if (napi_get_arraybuffer_info(env, a->argv[0], &data, &a->heap_bytes) != napi_ok) {
    pl_throw(a, "cannot read the heap ArrayBuffer");
    return 0;
  }
  a->heap = (uint8_t *)data;
  return 1;
}

double pl_num(pl_args *a, size_t i) {
  if (a->failed) return 0;
  double v = 0;
  if (i >= a->argc || napi_get_value_double(a->env, a->argv[i], &v) != napi_ok) {
    pl_throw(a, "argument %zu must be a number", i);
    return 0;
  }
  return v;
}

int64_t pl_int(pl_args *a, size_t i) {
  double v = pl_num(a, i);
  if (a->failed) return 0;
  if (v != (double)(int64_t)v) {
    pl_throw(a, "argument %zu must be an integer, got %g", i, v);
    return 0;
  }
  return (int64_t)v;
}

void *pl_ptr(pl_args *a, size_t i, int64_t count, size_t elem_bytes) {
  int64_t off = pl_int(a, i);
  if (a->failed) return NULL;
  if (count < 0 || off < 0 || (uint64_t)off % elem_bytes != 0) {
    pl_throw(a, "argument %zu: bad heap offset %lld for %lld elements", i, (long long)off, (long long)count);
    return NULL;
  }
  uint64_t end = (uint64_t)off + (uint64_t)count * elem_bytes;
  if (end > a->heap_bytes) {
    pl_throw(a, "argument %zu: %lld elements at byte %lld run past the heap's %zu bytes", i, (long long)count,
             (long long)off, a->heap_bytes);
    return NULL;
  }
  return a->heap + off;
}

/* ---- Scratch memory ---- */

#define PL_SCRATCH_SLOTS 4
static __thread void *scratch_ptr[PL_SCRATCH_SLOTS];
static __thread size_t scratch_size[PL_SCRATCH_SLOTS];

void *pl_scratch(int slot, size_t bytes) {
  if (slot < 0 || slot >= PL_SCRATCH_SLOTS) return NULL;
  if (scratch_size[slot] >= bytes && scratch_ptr[slot]) return scratch_ptr[slot];
  free(scratch_ptr[slot]);
  scratch_ptr[slot] = NULL;
  scratch_size[slot] = 0;
  size_t rounded = (bytes + 4095) & ~(size_t)4095;
  void *p = NULL;
  if (posix_memalign(&p, 64, rounded) != 0) return NULL;
  scratch_ptr[slot] = p;
  scratch_size[slot] = rounded;
  return p;
}

void pl_scratch_free_all(void) {
  for (int s = 0; s < PL_SCRATCH_SLOTS; s++) {
    free(scratch_ptr[s]);
    scratch_ptr[s] = NULL;
    scratch_size[s] = 0;
  }
}
