/*
 * tests/runtime/test_payload_pool.c -- the payload pool (runtime/payload_pool.c):
 * size classes; blocks made on one thread and freed on another come back
 * through the depot to the thread that allocates; payloads of every size
 * (pooled and not) keep their bytes across threads; and a thread that exits
 * with a full cache leaves nothing behind (LeakSanitizer, valgrind).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/payload_pool.h"
#include "troupe/payload.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOL_OFF 1 /* the pool is plain malloc under ASan (payload_pool.h) */
#endif

static void classes(void **s)
{
    (void)s;
    assert_int_equal(tr__pool_class(1), 0);
    assert_int_equal(tr__pool_class(64), 0);
    assert_int_equal(tr__pool_class(65), 1);
    assert_int_equal(tr__pool_class(128), 1);
    assert_int_equal(tr__pool_class(1024), 4);
    assert_int_equal(tr__pool_class(2048), 5);
    assert_int_equal(tr__pool_class(2049), -1);
}

enum { N = 1000 };

struct batch {
    void *b[N];
    int cls;
};

static void *free_all(void *arg)
{
    struct batch *bt = arg;
    for (int i = 0; i < N; i++)
        tr__pool_free(bt->b[i], bt->cls);
    return NULL;
}

/* Allocated here, freed on another thread: its cache fills and spills full
 * magazines to the depot, from which this thread's next allocations come. */
static void remote_frees_come_back(void **s)
{
    (void)s;
    static struct batch bt;
    bt.cls = 2;
    for (int i = 0; i < N; i++) {
        bt.b[i] = tr__pool_alloc(bt.cls);
        assert_non_null(bt.b[i]);
        memset(bt.b[i], 0xA5, 64 << bt.cls); /* the whole block is usable */
    }
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, free_all, &bt), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    int reused = 0;
    void *again[N];
    for (int i = 0; i < N; i++) {
        again[i] = tr__pool_alloc(bt.cls);
        assert_non_null(again[i]);
        for (int k = 0; k < N; k++)
            if (again[i] == bt.b[k]) {
                reused++;
                break;
            }
    }
#ifndef POOL_OFF
    /* all but the freeing thread's last partial cache (freed at its exit) */
    assert_true(reused >= N - 64);
#endif
    for (int i = 0; i < N; i++)
        tr__pool_free(again[i], bt.cls);
}

/* Payloads of every size, made here and checked and freed on another
 * thread, many times over: the bytes never change under the pool. */
struct ring {
    tr_payload *p[256];
    size_t len[256];
};

static void *check_and_free(void *arg)
{
    struct ring *r = arg;
    for (int i = 0; i < 256; i++) {
        const uint8_t *d = tr_payload_data(r->p[i]);
        if (tr_payload_len(r->p[i]) != r->len[i])
            abort();
        for (size_t k = 0; k < r->len[i]; k++)
            if (d[k] != (uint8_t)(k + i))
                abort();
        tr_payload_unref(r->p[i]);
    }
    return NULL;
}

static void payloads_cross_threads(void **s)
{
    (void)s;
    static struct ring r;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 256; i++) {
            size_t len = (size_t)(i * 13 + round) % 4000; /* pooled and not */
            uint8_t *d;
            r.p[i] = tr_payload_alloc(len, &d);
            assert_non_null(r.p[i]);
            r.len[i] = len;
            for (size_t k = 0; k < len; k++)
                d[k] = (uint8_t)(k + i);
        }
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, check_and_free, &r), 0);
        assert_int_equal(pthread_join(th, NULL), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classes),
        cmocka_unit_test(remote_frees_come_back),
        cmocka_unit_test(payloads_cross_threads),
    };
    return cmocka_run_group_tests_name("payload_pool", tests, NULL, NULL);
}
