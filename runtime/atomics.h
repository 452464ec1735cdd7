/*
 * runtime/atomics.h -- the one seam between troupe and its atomic primitives.
 *
 * Production builds use Concurrency Kit's ck_pr (inline assembly tuned per
 * architecture, with CK's memory-model fences).  ThreadSanitizer cannot see
 * inline assembly, so a TSan build (TR_ATOMICS_BUILTINS=1, set by
 * TROUPE_SANITIZER=thread) maps the same operations onto the compiler's
 * __atomic builtins, which TSan models.  Both backends implement the same
 * orderings; every call site names the ordering it needs and says why.
 *
 * Naming: tr__<op>_<type>[_<order>].  RMW operations without an order suffix
 * are sequentially consistent (on x86 every locked instruction is).
 */
#ifndef TR_RUNTIME_ATOMICS_H
#define TR_RUNTIME_ATOMICS_H

#include <stdbool.h>
#include <stdint.h>

#if defined(TR_ATOMICS_BUILTINS) && TR_ATOMICS_BUILTINS

#define TR__A(op, p, ...) __atomic_##op((p), __VA_ARGS__)

static inline uint32_t tr__load_u32_relaxed(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline uint32_t tr__load_u32_acquire(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void tr__store_u32_relaxed(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline void tr__store_u32_release(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint32_t tr__faa_u32_relaxed(uint32_t *p, uint32_t d) { return __atomic_fetch_add(p, d, __ATOMIC_RELAXED); }
/* acq_rel rather than release: TSan cannot model the acquire fence that
 * follows a last-reference decrement (see tr__fence_acquire below). */
static inline uint32_t tr__faa_u32_release(uint32_t *p, uint32_t d) { return __atomic_fetch_add(p, d, __ATOMIC_ACQ_REL); }
static inline uint32_t tr__faa_u32(uint32_t *p, uint32_t d) { return __atomic_fetch_add(p, d, __ATOMIC_SEQ_CST); }
static inline uint32_t tr__xchg_u32(uint32_t *p, uint32_t v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
static inline bool tr__cas_u32(uint32_t *p, uint32_t *expected, uint32_t desired)
{
    return __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline uint64_t tr__load_u64_relaxed(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline uint64_t tr__load_u64_acquire(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void tr__store_u64_relaxed(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline void tr__store_u64_release(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint64_t tr__faa_u64(uint64_t *p, uint64_t d) { return __atomic_fetch_add(p, d, __ATOMIC_SEQ_CST); }
static inline uint64_t tr__faa_u64_relaxed(uint64_t *p, uint64_t d) { return __atomic_fetch_add(p, d, __ATOMIC_RELAXED); }
/* On failure *expected receives the current value. */
static inline bool tr__cas_u64(uint64_t *p, uint64_t *expected, uint64_t desired)
{
    return __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline void *tr__load_ptr_relaxed(void *const *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void *tr__load_ptr_acquire(void *const *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void tr__store_ptr_relaxed(void **p, void *v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline void tr__store_ptr_release(void **p, void *v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void *tr__xchg_ptr(void **p, void *v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
static inline bool tr__cas_ptr(void **p, void **expected, void *desired)
{
    return __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* TSan supports no standalone fences.  The only acquire fence troupe uses
 * follows a tr__faa_u32_release that drops the last reference, which is
 * acq_rel in this backend, so it is a no-op here.  A seq_cst fence becomes a
 * seq_cst RMW on one shared word: a full barrier on the hardware, and for
 * TSan an edge between every pair of threads that pass it (stronger than a
 * fence, so it can hide a missing edge but never invent a race). */
extern uint32_t tr__tsan_fence_word;
static inline void tr__fence_acquire(void) {}
static inline void tr__fence_seq_cst(void) { __atomic_fetch_add(&tr__tsan_fence_word, 0, __ATOMIC_SEQ_CST); }
static inline void tr__cpu_relax(void) { __builtin_ia32_pause(); }

#else /* Concurrency Kit */

#include <ck_pr.h>

/* Ordering around a read-modify-write that must be sequentially consistent:
 * CK's atomic-class fences.  They are empty on TSO machines such as x86-64,
 * where a locked instruction is already a full barrier (an mfence on either
 * side measured as the single largest cost of a send), and real barriers on
 * weaker memory models. */
static inline void tr__ck_rmw_pre(void) { ck_pr_fence_store_atomic(); ck_pr_fence_load_atomic(); }
static inline void tr__ck_rmw_post(void) { ck_pr_fence_atomic_load(); ck_pr_fence_atomic_store(); }

static inline uint32_t tr__load_u32_relaxed(const uint32_t *p) { return ck_pr_load_32(p); }
static inline uint32_t tr__load_u32_acquire(const uint32_t *p) { uint32_t v = ck_pr_load_32(p); ck_pr_fence_acquire(); return v; }
static inline void tr__store_u32_relaxed(uint32_t *p, uint32_t v) { ck_pr_store_32(p, v); }
static inline void tr__store_u32_release(uint32_t *p, uint32_t v) { ck_pr_fence_release(); ck_pr_store_32(p, v); }
static inline uint32_t tr__faa_u32_relaxed(uint32_t *p, uint32_t d) { return ck_pr_faa_32(p, d); }
static inline uint32_t tr__faa_u32_release(uint32_t *p, uint32_t d) { ck_pr_fence_release(); return ck_pr_faa_32(p, d); }
static inline uint32_t tr__faa_u32(uint32_t *p, uint32_t d) { tr__ck_rmw_pre(); uint32_t r = ck_pr_faa_32(p, d); tr__ck_rmw_post(); return r; }
static inline uint32_t tr__xchg_u32(uint32_t *p, uint32_t v) { tr__ck_rmw_pre(); uint32_t r = ck_pr_fas_32(p, v); tr__ck_rmw_post(); return r; }
static inline bool tr__cas_u32(uint32_t *p, uint32_t *expected, uint32_t desired)
{
    tr__ck_rmw_pre();
    bool ok = ck_pr_cas_32_value(p, *expected, desired, expected);
    tr__ck_rmw_post();
    return ok;
}

static inline uint64_t tr__load_u64_relaxed(const uint64_t *p) { return ck_pr_load_64(p); }
static inline uint64_t tr__load_u64_acquire(const uint64_t *p) { uint64_t v = ck_pr_load_64(p); ck_pr_fence_acquire(); return v; }
static inline void tr__store_u64_relaxed(uint64_t *p, uint64_t v) { ck_pr_store_64(p, v); }
static inline void tr__store_u64_release(uint64_t *p, uint64_t v) { ck_pr_fence_release(); ck_pr_store_64(p, v); }
static inline uint64_t tr__faa_u64(uint64_t *p, uint64_t d) { tr__ck_rmw_pre(); uint64_t r = ck_pr_faa_64(p, d); tr__ck_rmw_post(); return r; }
static inline uint64_t tr__faa_u64_relaxed(uint64_t *p, uint64_t d) { return ck_pr_faa_64(p, d); }
static inline bool tr__cas_u64(uint64_t *p, uint64_t *expected, uint64_t desired)
{
    tr__ck_rmw_pre();
    bool ok = ck_pr_cas_64_value(p, *expected, desired, expected);
    tr__ck_rmw_post();
    return ok;
}

static inline void *tr__load_ptr_relaxed(void *const *p) { return ck_pr_load_ptr(p); }
static inline void *tr__load_ptr_acquire(void *const *p) { void *v = ck_pr_load_ptr(p); ck_pr_fence_acquire(); return v; }
static inline void tr__store_ptr_relaxed(void **p, void *v) { ck_pr_store_ptr(p, v); }
static inline void tr__store_ptr_release(void **p, void *v) { ck_pr_fence_release(); ck_pr_store_ptr(p, v); }
static inline void *tr__xchg_ptr(void **p, void *v) { tr__ck_rmw_pre(); void *r = ck_pr_fas_ptr(p, v); tr__ck_rmw_post(); return r; }
static inline bool tr__cas_ptr(void **p, void **expected, void *desired)
{
    tr__ck_rmw_pre();
    bool ok = ck_pr_cas_ptr_value(p, *expected, desired, expected);
    tr__ck_rmw_post();
    return ok;
}

static inline void tr__fence_acquire(void) { ck_pr_fence_acquire(); }
static inline void tr__fence_release(void) { ck_pr_fence_release(); }
static inline void tr__fence_seq_cst(void) { ck_pr_fence_memory(); }
static inline void tr__cpu_relax(void) { ck_pr_stall(); }

#endif

#endif /* TR_RUNTIME_ATOMICS_H */
