/*
 * The thread pool behind pl_parallel_for (see peftlab.h).
 *
 * n-1 pool threads plus the calling thread. A job is split into fixed contiguous chunks; threads
 * claim chunk numbers from an atomic counter, so which thread runs a chunk varies but the chunks
 * do not. Between jobs the pool threads spin for a short while (a training step issues hundreds of
 * kernels back to back) and then sleep on a condition variable. One JavaScript thread at a time
 * owns the pool; another one that calls meanwhile runs its job alone.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "peftlab.h"

#if PL_X86
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define PL_MAX_THREADS 256
/* How long an idle pool thread spins before it sleeps, in nanoseconds. */
#define SPIN_NS 200000
#define CHUNKS_PER_THREAD 4

static struct {
  int threads; /* calling thread included */
  pthread_t tid[PL_MAX_THREADS];
  pthread_mutex_t mu;
  pthread_cond_t wake;
  atomic_uint gen;      /* incremented per job (and at shutdown) */
  atomic_int sleepers;  /* pool threads waiting on `wake` */
  atomic_int stop;
  /* the current job */
  pl_range_fn fn;
  void *ctx;
  int64_t n, chunks;
  /* job number << 40 | chunks << 20 | next chunk to claim; a claim is a compare-and-swap on it,
     so a thread that is late for one job can never take a chunk of another one by mistake */
  _Atomic uint64_t ticket;
  uint64_t job;
  atomic_llong done; /* chunks finished */
} P = {.threads = 1, .mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static atomic_flag busy = ATOMIC_FLAG_INIT; /* held by the JavaScript thread running a job */
static __thread int thread_index = 0;

int pl_threads(void) { return P.threads; }
int pl_thread_index(void) { return thread_index; }

static void chunk_range(int64_t c, int64_t *begin, int64_t *end) {
  /* chunk c of P.chunks over [0, n): sizes differ by at most one */
  int64_t base = P.n / P.chunks, extra = P.n % P.chunks;
  *begin = c * base + (c < extra ? c : extra);
  *end = *begin + base + (c < extra ? 1 : 0);
}

#define FIELD ((uint64_t)0xFFFFF)

static void run_chunks(void) {
  for (;;) {
    uint64_t v = atomic_load_explicit(&P.ticket, memory_order_acquire);
    uint64_t next = v & FIELD, chunks = (v >> 20) & FIELD;
    if (next >= chunks) return;
    if (!atomic_compare_exchange_weak_explicit(&P.ticket, &v, v + 1, memory_order_acq_rel, memory_order_acquire)) continue;
    /* the claim succeeded: the job's parameters are the current ones until this chunk is done */
    int64_t b, e;
    chunk_range((int64_t)next, &b, &e);
    P.fn(P.ctx, b, e);
    atomic_fetch_add_explicit(&P.done, 1, memory_order_release);
  }
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker(void *arg) {
  thread_index = (int)(intptr_t)arg;
  unsigned seen = atomic_load(&P.gen);
  for (;;) {
    /* spin a while for the next job, then sleep */
    uint64_t t0 = now_ns();
    unsigned spins = 0;
    /* (checking stop too: a thread that starts after its pool was stopped must not wait) */
    while (atomic_load_explicit(&P.gen, memory_order_acquire) == seen && !atomic_load(&P.stop)) {
      CPU_RELAX();
      if ((++spins & 255) == 0) sched_yield(); /* let a thread holding work run on an oversubscribed core */
      if ((spins & 255) == 0 && now_ns() - t0 > SPIN_NS) {
        pthread_mutex_lock(&P.mu);
        atomic_fetch_add(&P.sleepers, 1);
        while (atomic_load(&P.gen) == seen && !atomic_load(&P.stop)) pthread_cond_wait(&P.wake, &P.mu);
        atomic_fetch_sub(&P.sleepers, 1);
        pthread_mutex_unlock(&P.mu);
        break;
      }
    }
    seen = atomic_load_explicit(&P.gen, memory_order_acquire);
    if (atomic_load(&P.stop)) break;
    run_chunks();
  }
  pl_scratch_free_all();
  return NULL;
}

static void publish(void) {
  atomic_fetch_add_explicit(&P.gen, 1, memory_order_seq_cst);
  if (atomic_load(&P.sleepers) > 0) {
    pthread_mutex_lock(&P.mu);
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.mu);
  }
}

void pl_pool_shutdown(void) {
  while (atomic_flag_test_and_set(&busy)) CPU_RELAX();
  if (P.threads > 1) {
    atomic_store(&P.stop, 1);
    publish();
    for (int i = 1; i < P.threads; i++) pthread_join(P.tid[i], NULL);
    atomic_store(&P.stop, 0);
  }
  P.threads = 1;
  atomic_flag_clear(&busy);
}

int pl_set_threads(int n) {
  if (n < 1 || n > PL_MAX_THREADS) return -1;
  if (n == P.threads) return 0;
  pl_pool_shutdown();
  while (atomic_flag_test_and_set(&busy)) CPU_RELAX();
  int started = 1;
  for (int i = 1; i < n; i++) {
    if (pthread_create(&P.tid[i], NULL, worker, (void *)(intptr_t)i) != 0) break;
    started++;
  }
  P.threads = started;
  atomic_flag_clear(&busy);
  return started == n ? 0 : -1;
}

void pl_parallel_for(int64_t n, int64_t grain, pl_range_fn fn, void *ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  /* Up to CHUNKS_PER_THREAD chunks per thread: a thread that the OS takes away for a while (other
     processes on the machine) then holds back less than its whole share. */
  int64_t chunks = (n + grain - 1) / grain;
  if (chunks > (int64_t)P.threads * CHUNKS_PER_THREAD) chunks = (int64_t)P.threads * CHUNKS_PER_THREAD;
  /* one chunk, a nested call from a pool thread, or the pool in use by another thread: run here */
  if (chunks <= 1 || P.threads <= 1 || thread_index != 0 || atomic_flag_test_and_set(&busy)) {
    fn(ctx, 0, n);
    return;
  }
  P.fn = fn;
  P.ctx = ctx;
  P.n = n;
  P.chunks = chunks;
  atomic_store_explicit(&P.done, 0, memory_order_relaxed);
  P.job = (P.job + 1) & 0xFFFFFF;
  atomic_store_explicit(&P.ticket, (P.job << 40) | ((uint64_t)chunks << 20), memory_order_release);
  publish();
  run_chunks();
  /* Wait for chunks still running elsewhere; yield the core after a short spin, in case the thread
     running one is waiting for it (more threads than free cores). */
  for (unsigned spins = 0; atomic_load_explicit(&P.done, memory_order_acquire) < chunks; spins++) {
    if (spins < 4096)
      CPU_RELAX();
    else
      sched_yield();
  }
  atomic_flag_clear(&busy);
}
