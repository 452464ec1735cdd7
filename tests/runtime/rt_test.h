/*
 * tests/runtime/rt_test.h -- helpers shared by the runtime suites.
 *
 * Actors report to the test thread through a `latch` (mutex + condvar
 * counter).  Waiting has a generous deadline only so that a broken runtime
 * fails the test instead of hanging CI; no test asserts on elapsed time.
 */
#ifndef TR_TESTS_RT_TEST_H
#define TR_TESTS_RT_TEST_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "troupe/runtime.h"

#define RT_WAIT_MS 240000 /* generous: TSan on a busy 2-core machine is slow */

typedef struct latch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t count;
} latch;

static inline void latch_init(latch *l)
{
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->count = 0;
}

static inline void latch_destroy(latch *l)
{
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
}

static inline void latch_add(latch *l, uint64_t n)
{
    pthread_mutex_lock(&l->mu);
    l->count += n;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static inline uint64_t latch_get(latch *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t v = l->count;
    pthread_mutex_unlock(&l->mu);
    return v;
}

/* Wait until count >= n; returns the count seen (fails the test by value). */
static inline uint64_t latch_wait(latch *l, uint64_t n)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += RT_WAIT_MS / 1000;
    pthread_mutex_lock(&l->mu);
    while (l->count < n) {
        if (pthread_cond_timedwait(&l->cv, &l->mu, &dl) != 0)
            break;
    }
    uint64_t v = l->count;
    pthread_mutex_unlock(&l->mu);
    return v;
}

static inline void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#define assert_ok(expr)                                                        \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        if (rc_ != 0)                                                          \
            fail_msg("%s -> %s (%s)", #expr, tr_err_name(rc_),                 \
                     tr_strerror(rc_));                                        \
    } while (0)

static inline tr_runtime *rt_new(unsigned workers)
{
    tr_runtime *rt = NULL;
    tr_runtime_opts o = {.workers = workers};
    assert_ok(tr_runtime_new(&rt, &o));
    return rt;
}

#endif
