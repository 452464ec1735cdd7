/*
 * tests/resilience/test_resilience.c -- the circuit breaker's transitions
 * (threshold, timeout, half-open success and failure, trial slots), manual
 * controls, stats and their cross-thread snapshot; backoff sequences, bounds,
 * jitter distribution and determinism; retryable error types; the breaker map.
 * All time is a manual clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "troupe/config.h"
#include "troupe/resilience.h"

static tr_breaker make(uint32_t threshold, uint64_t timeout_ms)
{
    tr_breaker b;
    tr_breaker_config cfg = {.failure_threshold = threshold, .timeout_ms = timeout_ms};
    assert_int_equal(tr_breaker_init(&b, &cfg), 0);
    return b;
}

static void fail_call(tr_breaker *b, uint64_t now)
{
    assert_int_equal(tr_breaker_allow(b, now), 0);
    tr_breaker_failure(b, now);
}

static void breaker_opens_after_consecutive_failures(void **state)
{
    (void)state;
    tr_breaker b = make(3, 1000);
    tr_breaker_stats s;
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_CLOSED);
    fail_call(&b, 10);
    fail_call(&b, 20);
    tr_breaker_stats_read(&b, &s);
    assert_int_equal(s.failure_count, 2);
    assert_int_equal(s.state, TR_BREAKER_CLOSED);
    /* A success clears the consecutive count. */
    assert_int_equal(tr_breaker_allow(&b, 30), 0);
    tr_breaker_success(&b, 30);
    tr_breaker_stats_read(&b, &s);
    assert_int_equal(s.failure_count, 0);
    fail_call(&b, 40);
    fail_call(&b, 50);
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_CLOSED);
    fail_call(&b, 60);
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_OPEN);
    tr_breaker_stats_read(&b, &s);
    assert_int_equal(s.state, TR_BREAKER_OPEN);
    assert_int_equal(s.failure_count, 3);
    assert_int_equal(s.failure_threshold, 3);
    assert_int_equal(s.opened_at_ms, 60);
    assert_int_equal(s.retry_at_ms, 1060);
    assert_int_equal(s.times_opened, 1);
    /* Fail fast while open. */
    assert_int_equal(tr_breaker_allow(&b, 61), TR_EAGAIN);
    assert_int_equal(tr_breaker_allow(&b, 1059), TR_EAGAIN);
    tr_breaker_stats_read(&b, &s);
    assert_int_equal(s.total_calls, 8);
    assert_int_equal(s.total_rejections, 2);
    assert_int_equal(s.total_failures, 5);
    assert_int_equal(s.total_successes, 1);
}

static void half_open_success_closes(void **state)
{
    (void)state;
    tr_breaker b = make(2, 500);
    fail_call(&b, 0);
    fail_call(&b, 100);
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_OPEN);
    assert_int_equal(tr_breaker_allow(&b, 600), 0); /* exactly at the timeout */
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_HALF_OPEN);
    /* One trial at a time. */
    assert_int_equal(tr_breaker_allow(&b, 601), TR_EAGAIN);
    tr_breaker_success(&b, 650);
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_CLOSED);
    tr_breaker_stats s;
    tr_breaker_stats_read(&b, &s);
    assert_int_equal(s.failure_count, 0);
    assert_int_equal(s.retry_at_ms, 0);
    assert_int_equal(tr_breaker_allow(&b, 651), 0);
    assert_int_equal(tr_breaker_allow(&b, 652), 0);
}

static void half_open_failure_reopens(void **state)
{
    (void)state;
    tr_breaker b = make(1, 1000);
    fail_call(&b, 5);
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_OPEN);
    assert_int_equal(tr_breaker_allow(&b, 1005), 0);
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_HALF_OPEN);
    tr_breaker_failure(&b, 1200);
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_OPEN);
    tr_breaker_stats s;
    tr_breaker_stats_read(&b, &s);
    assert_int_equal(s.opened_at_ms, 1200);
    assert_int_equal(s.times_opened, 2);
    /* The timeout restarts from the re-open. */
    assert_int_equal(tr_breaker_allow(&b, 2199), TR_EAGAIN);
    assert_int_equal(tr_breaker_allow(&b, 2200), 0);
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_HALF_OPEN);
}

static void release_frees_the_trial_slot(void **state)
{
    (void)state;
    tr_breaker b = make(1, 10);
    fail_call(&b, 0);
    assert_int_equal(tr_breaker_allow(&b, 10), 0);
    assert_int_equal(tr_breaker_allow(&b, 11), TR_EAGAIN);
    tr_breaker_release(&b);
    assert_int_equal(tr_breaker_allow(&b, 12), 0);
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_HALF_OPEN);
}

static void late_outcomes_while_open(void **state)
{
    (void)state;
    tr_breaker b = make(1, 1000);
    assert_int_equal(tr_breaker_allow(&b, 0), 0); /* two calls in flight */
    assert_int_equal(tr_breaker_allow(&b, 0), 0);
    tr_breaker_failure(&b, 10);                   /* opens */
    tr_breaker_success(&b, 20);                   /* the other one, late */
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_OPEN);
    tr_breaker_failure(&b, 30);
    tr_breaker_stats s;
    tr_breaker_stats_read(&b, &s);
    assert_int_equal(s.opened_at_ms, 10); /* not extended */
    assert_int_equal(s.times_opened, 1);
}

static void force_open_close_reset(void **state)
{
    (void)state;
    tr_breaker b = make(5, 100);
    fail_call(&b, 0);
    tr_breaker_force_open(&b, 50);
    tr_breaker_stats s;
    tr_breaker_stats_read(&b, &s);
    assert_true(s.forced);
    assert_int_equal(s.state, TR_BREAKER_OPEN);
    assert_int_equal(s.retry_at_ms, 0);
    /* Forced open ignores the timeout. */
    assert_int_equal(tr_breaker_allow(&b, 100000), TR_EAGAIN);
    assert_int_equal(tr_breaker_state_of(&b), TR_BREAKER_OPEN);
    tr_breaker_force_close(&b);
    tr_breaker_stats_read(&b, &s);
    assert_false(s.forced);
    assert_int_equal(s.state, TR_BREAKER_CLOSED);
    assert_int_equal(s.failure_count, 0);
    assert_int_equal(s.total_calls, 2); /* totals kept */
    assert_int_equal(s.total_rejections, 1);
    assert_int_equal(tr_breaker_allow(&b, 100001), 0);
    tr_breaker_failure(&b, 100001);
    tr_breaker_reset(&b);
    tr_breaker_stats_read(&b, &s);
    assert_int_equal(s.state, TR_BREAKER_CLOSED);
    assert_int_equal(s.failure_count, 0);
    assert_int_equal(s.total_calls, 0);
    assert_int_equal(s.total_failures, 0);
    assert_int_equal(s.times_opened, 0);
    assert_int_equal(s.failure_threshold, 5);
    assert_int_equal(s.timeout_ms, 100);
}

static void config_and_names(void **state)
{
    (void)state;
    tr_breaker b;
    tr_breaker_config bad = {.failure_threshold = 0, .timeout_ms = 1};
    assert_int_equal(tr_breaker_init(&b, &bad), TR_EINVAL);
    tr_config_resilience r = {.circuit_failure_threshold = 10, .circuit_timeout_seconds = 120.0};
    tr_breaker_config cfg;
    assert_int_equal(tr_breaker_config_from(&r, &cfg), 0);
    assert_int_equal(cfg.failure_threshold, 10);
    assert_int_equal(cfg.timeout_ms, 120000);
    assert_int_equal(cfg.half_open_max_calls, 1);
    r.circuit_failure_threshold = 0;
    assert_int_equal(tr_breaker_config_from(&r, &cfg), TR_EINVAL);
    assert_string_equal(tr_breaker_state_name(TR_BREAKER_CLOSED), "closed");
    assert_string_equal(tr_breaker_state_name(TR_BREAKER_OPEN), "open");
    assert_string_equal(tr_breaker_state_name(TR_BREAKER_HALF_OPEN), "half_open");
}

/* A reader thread checks that every snapshot is consistent: the writer does
 * allow + outcome pairs, so admitted - outcomes is 0 or 1 in any published
 * state; a torn snapshot would break it. */
typedef struct race {
    tr_breaker *b;
    long bad, reads;
} race;

static void *reader(void *arg)
{
    race *r = arg;
    for (int i = 0; i < 200000; i++) {
        tr_breaker_stats s;
        tr_breaker_stats_read(r->b, &s);
        uint64_t admitted = s.total_calls - s.total_rejections;
        uint64_t outcomes = s.total_successes + s.total_failures;
        if (outcomes > admitted || admitted - outcomes > 1)
            r->bad++;
        r->reads++;
    }
    return NULL;
}

static void stats_snapshot_is_consistent_across_threads(void **state)
{
    (void)state;
    tr_breaker b = make(1000000, 10);
    race r = {.b = &b};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader, &r), 0);
    for (uint64_t i = 0; i < 300000; i++) {
        if (tr_breaker_allow(&b, i) == 0) {
            if (i % 3)
                tr_breaker_success(&b, i);
            else
                tr_breaker_failure(&b, i);
        }
    }
    pthread_join(t, NULL);
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.reads, 200000);
}

/* ---------------------------------------------------------------------------
 * Backoff
 * ------------------------------------------------------------------------ */

static void rng_is_splitmix64(void **state)
{
    (void)state;
    uint64_t s = 0;
    assert_true(tr_rng_next(&s) == 0xE220A8397B1DCDAFull);
    assert_true(tr_rng_next(&s) == 0x6E789E6AA1B965F4ull);
    s = 7;
    for (int i = 0; i < 1000; i++) {
        double u = tr_rng_unit(&s);
        assert_true(u >= 0.0 && u < 1.0);
    }
}

static void backoff_exponential_with_cap(void **state)
{
    (void)state;
    const uint64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (uint32_t a = 1; a <= 8; a++)
        assert_int_equal(tr_backoff_delay_ms(a, 1000, 60000, 2.0, false, NULL), want[a - 1]);
    assert_int_equal(tr_backoff_delay_ms(0, 1000, 60000, 2.0, false, NULL), 1000);
    assert_int_equal(tr_backoff_delay_ms(100000, 1000, 60000, 2.0, false, NULL), 60000);
    assert_int_equal(tr_backoff_delay_ms(3, 500, 30000, 3.0, false, NULL), 4500);
    /* Odd arguments. */
    assert_int_equal(tr_backoff_delay_ms(5, 1000, 60000, 1.0, false, NULL), 1000);
    assert_int_equal(tr_backoff_delay_ms(5, 1000, 60000, 0.5, false, NULL), 1000);
    assert_int_equal(tr_backoff_delay_ms(5, 1000, 60000, NAN, false, NULL), 1000);
    assert_int_equal(tr_backoff_delay_ms(5, -1000, 60000, 2.0, false, NULL), 0);
    assert_int_equal(tr_backoff_delay_ms(5, NAN, 60000, 2.0, false, NULL), 0);
    assert_int_equal(tr_backoff_delay_ms(1, 5000, 2000, 2.0, false, NULL), 2000);
    assert_int_equal(tr_backoff_delay_ms(3, 1000, -5, 2.0, false, NULL), 0);
    assert_int_equal(tr_backoff_delay_ms(3, 1000, INFINITY, 10.0, false, NULL), 100000);
    /* jitter with no rng state: the upper bound */
    assert_int_equal(tr_backoff_delay_ms(2, 1000, 60000, 2.0, true, NULL), 2000);
}

static void backoff_jitter_range_and_determinism(void **state)
{
    (void)state;
    uint64_t s1 = 42, s2 = 42, s3 = 43;
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t a = tr_backoff_delay_ms(4, 1000, 60000, 2.0, true, &s1);
        uint64_t b = tr_backoff_delay_ms(4, 1000, 60000, 2.0, true, &s2);
        uint64_t c = tr_backoff_delay_ms(4, 1000, 60000, 2.0, true, &s3);
        assert_int_equal(a, b);
        differ += a != c;
    }
    assert_true(differ > 900);
    /* 200000 samples of attempt 3 (d = 4000): in [0, 4000), spread out,
     * mean near 2000; and capped attempts never exceed max_wait. */
    uint64_t s = 1, lo = UINT64_MAX, hi = 0;
    double sum = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        uint64_t d = tr_backoff_delay_ms(3, 1000, 60000, 2.0, true, &s);
        assert_true(d < 4000);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        sum += (double)d;
        uint64_t c = tr_backoff_delay_ms(40, 1000, 60000, 2.0, true, &s);
        assert_true(c < 60000);
    }
    assert_true(lo <= 2);
    assert_true(hi >= 3997);
    double mean = sum / n;
    assert_true(mean > 1985.0 && mean < 2015.0);
}

static void retryable_error_types(void **state)
{
    (void)state;
    assert_true(tr_error_type_retryable("ConnectionError"));
    assert_true(tr_error_type_retryable("TimeoutError"));
    assert_true(tr_error_type_retryable("ConnectionResetError"));
    assert_false(tr_error_type_retryable("ValueError"));
    assert_false(tr_error_type_retryable("RuntimeError"));
    assert_false(tr_error_type_retryable(TR_BREAKER_ERROR_TYPE));
    assert_false(tr_error_type_retryable("connectionerror"));
    assert_false(tr_error_type_retryable(""));
    assert_false(tr_error_type_retryable(NULL));
}

static void breaker_map(void **state)
{
    (void)state;
    tr_breaker_config cfg = {.failure_threshold = 2, .timeout_ms = 100};
    tr_breaker_map *m = NULL;
    assert_int_equal(tr_breaker_map_new(&cfg, &m), 0);
    tr_breaker *a = NULL, *a2 = NULL, *b = NULL;
    assert_null(tr_breaker_map_find(m, "wf1", "binance"));
    assert_int_equal(tr_breaker_map_get(m, "wf1", "binance", &a), 0);
    assert_int_equal(tr_breaker_map_get(m, "wf1", "binance", &a2), 0);
    assert_ptr_equal(a, a2);
    assert_int_equal(tr_breaker_map_get(m, "wf1", "coinbase", &b), 0);
    assert_ptr_not_equal(a, b);
    /* The key is the pair, not the concatenation. */
    tr_breaker *c = NULL;
    assert_int_equal(tr_breaker_map_get(m, "wf1b", "inance", &c), 0);
    assert_ptr_not_equal(a, c);
    fail_call(a, 0);
    fail_call(a, 1);
    assert_int_equal(tr_breaker_state_of(a), TR_BREAKER_OPEN);
    assert_int_equal(tr_breaker_state_of(b), TR_BREAKER_CLOSED);
    /* Many entries: growth keeps addresses, removal keeps the rest findable. */
    char wf[32], svc[32];
    for (int i = 0; i < 2000; i++) {
        tr_breaker *x;
        snprintf(wf, sizeof wf, "w%d", i % 7);
        snprintf(svc, sizeof svc, "s%d", i);
        assert_int_equal(tr_breaker_map_get(m, wf, svc, &x), 0);
    }
    assert_ptr_equal(tr_breaker_map_find(m, "wf1", "binance"), a);
    assert_int_equal(tr_breaker_map_count(m), 2003);
    assert_int_equal(tr_breaker_map_remove_workflow(m, "w3"), 286);
    assert_int_equal(tr_breaker_map_count(m), 1717);
    for (int i = 0; i < 2000; i++) {
        snprintf(wf, sizeof wf, "w%d", i % 7);
        snprintf(svc, sizeof svc, "s%d", i);
        if (i % 7 == 3)
            assert_null(tr_breaker_map_find(m, wf, svc));
        else
            assert_non_null(tr_breaker_map_find(m, wf, svc));
    }
    assert_int_equal(tr_breaker_map_remove_workflow(m, "wf1"), 2);
    assert_int_equal(tr_breaker_map_remove_workflow(m, "nope"), 0);
    assert_non_null(tr_breaker_map_find(m, "wf1b", "inance"));
    tr_breaker_map_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(breaker_opens_after_consecutive_failures),
        cmocka_unit_test(half_open_success_closes),
        cmocka_unit_test(half_open_failure_reopens),
        cmocka_unit_test(release_frees_the_trial_slot),
        cmocka_unit_test(late_outcomes_while_open),
        cmocka_unit_test(force_open_close_reset),
        cmocka_unit_test(config_and_names),
        cmocka_unit_test(stats_snapshot_is_consistent_across_threads),
        cmocka_unit_test(rng_is_splitmix64),
        cmocka_unit_test(backoff_exponential_with_cap),
        cmocka_unit_test(backoff_jitter_range_and_determinism),
        cmocka_unit_test(retryable_error_types),
        cmocka_unit_test(breaker_map),
    };
    return cmocka_run_group_tests_name("resilience", tests, NULL, NULL);
}
