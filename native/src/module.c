/*
 * The addon's entry point: exports every kernel listed in registry.h plus
 *   info()          → { abi, avx2, simd, threads, gemm, kernels }
 *   setThreads(n)   → sets the pool size (1 = the calling thread only)
 *   setSimd(on)     → off forces the plain C paths (for tests)
 *   setGemmVariants(on) → off runs every matrix product on the 6×16 AVX2 kernel (for tests)
 *   weights*        the frozen-weight store (weights.c)
 * The loader (src/runtime/tensor/native/addon.ts) checks `abi` against the version it was written for.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "peftlab.h"
#include "weights.h"

#define PL_ABI 1

#define PL_KERNEL(name) napi_value pl_kernel_##name(napi_env env, napi_callback_info info);
#include "registry.h"
#undef PL_KERNEL

static const struct {
  const char *name;
  napi_callback fn;
} KERNELS[] = {
#define PL_KERNEL(name) {#name, pl_kernel_##name},
#include "registry.h"
#undef PL_KERNEL
};
#define KERNEL_COUNT (sizeof KERNELS / sizeof KERNELS[0])

static atomic_int live_envs;

static void set_prop(napi_env env, napi_value obj, const char *key, napi_value v) { napi_set_named_property(env, obj, key, v); }

static napi_value make_bool(napi_env env, int b) {
  napi_value v;
  napi_get_boolean(env, b != 0, &v);
  return v;
}

static napi_value make_int(napi_env env, int64_t i) {
  napi_value v;
  napi_create_int64(env, i, &v);
  return v;
}

static napi_value info_fn(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o, names;
  napi_create_object(env, &o);
  napi_create_array_with_length(env, KERNEL_COUNT, &names);
  for (size_t i = 0; i < KERNEL_COUNT; i++) {
    napi_value s;
    napi_create_string_utf8(env, KERNELS[i].name, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, names, (uint32_t)i, s);
  }
  set_prop(env, o, "abi", make_int(env, PL_ABI));
  set_prop(env, o, "avx2", make_bool(env, pl_cpu_has_avx2_fma()));
  set_prop(env, o, "simd", make_bool(env, pl_use_avx2()));
  set_prop(env, o, "threads", make_int(env, pl_threads()));
  static const char *const gemm_names[] = {"plain C", "AVX2+FMA", "AVX-512F"};
  napi_value gemm;
  napi_create_string_utf8(env, gemm_names[pl_gemm_kernel()], NAPI_AUTO_LENGTH, &gemm);
  set_prop(env, o, "gemm", gemm);
  set_prop(env, o, "kernels", names);
  return o;
}

static napi_value set_threads_fn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t n = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1 || napi_get_value_int64(env, argv[0], &n) != napi_ok || n < 1 || n > 256) {
    napi_throw_range_error(env, NULL, "setThreads (native): expected an integer from 1 to 256");
    return NULL;
  }
  if (pl_set_threads((int)n) != 0) {
    napi_throw_error(env, NULL, "setThreads (native): could not start the pool's threads");
    return NULL;
  }
  return pl_undefined(env);
}

static napi_value set_simd_fn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on = true;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1 || napi_get_value_bool(env, argv[0], &on) != napi_ok) {
    napi_throw_type_error(env, NULL, "setSimd (native): expected a boolean");
    return NULL;
  }
  pl_set_simd(on);
  return pl_undefined(env);
}

static napi_value set_gemm_variants_fn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on = true;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1 || napi_get_value_bool(env, argv[0], &on) != napi_ok) {
    napi_throw_type_error(env, NULL, "setGemmVariants (native): expected a boolean");
    return NULL;
  }
  pl_gemm_allow_variants(on);
  return pl_undefined(env);
}

static void cleanup(void *token) {
  free(token);
  pl_scratch_free_all();
  if (atomic_fetch_sub(&live_envs, 1) == 1) pl_pool_shutdown();
}

NAPI_MODULE_INIT() {
  /* A hook's (function, argument) pair must be unique per environment, and the module may be
     initialised twice in one (loaded again under another path): one token per initialisation. */
  void *token = malloc(1);
  atomic_fetch_add(&live_envs, 1);
  napi_add_env_cleanup_hook(env, cleanup, token);
  const struct {
    const char *name;
    napi_callback fn;
  } extra[] = {{"info", info_fn}, {"setThreads", set_threads_fn}, {"setSimd", set_simd_fn}, {"setGemmVariants", set_gemm_variants_fn}};
  for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
    napi_value f;
    napi_create_function(env, extra[i].name, NAPI_AUTO_LENGTH, extra[i].fn, NULL, &f);
    set_prop(env, exports, extra[i].name, f);
  }
  for (size_t i = 0; i < KERNEL_COUNT; i++) {
    napi_value f;
    napi_create_function(env, KERNELS[i].name, NAPI_AUTO_LENGTH, KERNELS[i].fn, NULL, &f);
    set_prop(env, exports, KERNELS[i].name, f);
  }
  pl_weights_export(env, exports);
  return exports;
}
