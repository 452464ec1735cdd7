/*
 * tests/serve/test_serve_metrics.c -- the `metrics` server event
 * (actors/fanout/metrics_agg.c): a /ws client in room bot:bot_m gets one
 * metrics frame for bot_m after its executions, with exact counts and
 * latency percentiles that are durations of the executions that ran; a
 * halted execution (bot controller halted, executed through the engine)
 * shows in `halted` (and `started`, not in the latency window); a Socket.IO client with subscribe_metrics (acked)
 * gets 42["metrics",...]; an embedder's bus subscription to the metrics
 * channel gets the same object; stopping with an emission pending is clean.  The interval is shortened through
 * TROUPE_METRICS_INTERVAL_MS; every read is bounded (SO_RCVTIMEO).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "serve/sio_test.h"
#include "troupe/emergency.h"

#define RUNS 3

/* Read frames until a metrics frame whose data has key == id and
 * executions == want (earlier metrics frames of id must not exceed it);
 * the execution_completed durations seen meanwhile go to durs. */
static json_t *ws_wait_metrics(wsc *c, const char *key, const char *id, int64_t want,
                               double *durs, int *ndur)
{
    for (int i = 0; i < 10000; i++) {
        json_t *j = wsc_json(c);
        if (j == NULL)
            return NULL;
        const char *ev = wsc_event(j);
        const char *type = json_string_value(wsc_data(j, "type"));
        if (ev && strcmp(ev, "workflow_event") == 0 && type &&
            strcmp(type, "execution_completed") == 0 && durs && *ndur < 64)
            durs[(*ndur)++] = json_number_value(wsc_data(j, "duration_ms"));
        const char *who = json_string_value(wsc_data(j, key));
        if (ev && strcmp(ev, "metrics") == 0 && who && strcmp(who, id) == 0) {
            int64_t n = json_integer_value(wsc_data(j, "executions"));
            assert_true(n <= want);
            if (n == want)
                return j;
        }
        json_decref(j);
    }
    return NULL;
}

static bool is_one_of(double v, const double *d, int n)
{
    for (int i = 0; i < n; i++)
        if (fabs(v - d[i]) < 1e-6)
            return true;
    return false;
}

typedef struct bus_seen {
    pthread_mutex_t mu;
    int n;
    int64_t last_exec;
} bus_seen;

static void on_bus_metrics(void *arg, uint32_t channel, tr_payload *ev)
{
    bus_seen *s = arg;
    tr_mp_val root, v;
    tr_codec_error err;
    int64_t n = -1;
    if (channel != TR_BUS_CH_METRICS || tr_mp_read_payload(ev, &root, &err) != 0 ||
        tr_mp_map_get(root, "bot_id", &v) != 0 || !tr_mp_str_eq(v, "bot_m"))
        return;
    if (tr_mp_map_get(root, "executions", &v) == 0)
        tr_mp_get_int(v, &n);
    pthread_mutex_lock(&s->mu);
    s->n++;
    s->last_exec = n;
    pthread_mutex_unlock(&s->mu);
}

static void test_ws_bot_room(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    assert_int_equal(ws_register(f, "wf_m", "bot_m", "strat_m"), 201);
    bus_seen seen = {.mu = PTHREAD_MUTEX_INITIALIZER};
    tr_bus_filter flt = {.channel = TR_BUS_CH_METRICS};
    uint64_t sub = 0;
    tr_bus *bus = tr_engine_bus(f->e);
    assert_int_equal(tr_bus_subscribe_cb(bus, &flt, on_bus_metrics, &seen, &sub), 0);
    assert_int_equal(tr_bus_sync(bus, 5000), 0);

    wsc a;
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    json_t *j = wsc_op(&a, "{\"op\":\"subscribe\",\"bot_id\":\"bot_m\"}");
    assert_non_null(j);
    assert_string_equal(wsc_event(j), "subscribed");
    json_decref(j);
    for (int i = 0; i < RUNS; i++)
        assert_int_equal(ws_execute(f, "wf_m"), 202);
    double durs[64];
    int nd = 0;
    j = ws_wait_metrics(&a, "bot_id", "bot_m", RUNS, durs, &nd);
    assert_non_null(j);
    /* the last run's execution_completed may be dispatched just after the
     * metrics tick that already counted it */
    for (int i = 0; i < 100 && nd < RUNS; i++) {
        json_t *k = wsc_json(&a);
        assert_non_null(k);
        const char *type = json_string_value(wsc_data(k, "type"));
        if (type && strcmp(type, "execution_completed") == 0)
            durs[nd++] = json_number_value(wsc_data(k, "duration_ms"));
        json_decref(k);
    }
    assert_int_equal(nd, RUNS);
    assert_int_equal(json_integer_value(wsc_data(j, "started")), RUNS);
    assert_int_equal(json_integer_value(wsc_data(j, "completed")), RUNS);
    assert_int_equal(json_integer_value(wsc_data(j, "failures")), 0);
    assert_int_equal(json_integer_value(wsc_data(j, "halted")), 0);
    assert_int_equal(json_integer_value(wsc_data(j, "window")), RUNS);
    assert_null(json_object_get(json_object_get(j, "data"), "strategy_id"));
    assert_true(json_is_null(wsc_data(j, "daily_pnl"))); /* no trade node */
    json_t *lat = wsc_data(j, "latency_ms");
    double p50 = json_number_value(json_object_get(lat, "p50"));
    double p95 = json_number_value(json_object_get(lat, "p95"));
    double p99 = json_number_value(json_object_get(lat, "p99"));
    assert_true(p50 <= p95 && p95 <= p99);
    /* nearest rank: each percentile is one of the durations that ran, and
     * with 3 samples p95 = p99 = the largest */
    assert_true(is_one_of(p50, durs, nd) && is_one_of(p95, durs, nd) && is_one_of(p99, durs, nd));
    for (int i = 0; i < nd; i++)
        assert_true(p99 >= durs[i] - 1e-6);
    json_decref(j);

    /* a halted execution: refused at start by the bot's kill switch */
    tr_emergency_controller *ctl = NULL;
    assert_int_equal(tr_emergency_controller_get(tr_engine_emergency(f->e), "bot_m", &ctl), 0);
    assert_int_equal(tr_emergency_halt(ctl, "metrics test"), 0);
    char xid[TR_EXEC_ID_MAX];
    assert_int_equal(tr_engine_execute(f->e, "wf_m", NULL, NULL, xid), 0);
    j = ws_wait_metrics(&a, "bot_id", "bot_m", RUNS + 1, NULL, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(wsc_data(j, "halted")), 1);
    assert_int_equal(json_integer_value(wsc_data(j, "completed")), RUNS);
    /* a halt lets it start, then stops it before its first node */
    assert_int_equal(json_integer_value(wsc_data(j, "started")), RUNS + 1);
    assert_int_equal(json_integer_value(wsc_data(j, "failures")), 0);
    assert_int_equal(json_integer_value(wsc_data(j, "window")), RUNS); /* not a latency */
    json_decref(j);
    wsc_close(&a);

    /* the embedder's view: the same objects on the bus's metrics channel
     * (published right after the frames are queued: poll, bounded) */
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&seen.mu);
        bool done = seen.last_exec == RUNS + 1;
        pthread_mutex_unlock(&seen.mu);
        if (done)
            break;
        usleep(10000);
    }
    tr_bus_unsubscribe(bus, sub);
    assert_int_equal(tr_bus_sync(bus, 5000), 0);
    pthread_mutex_lock(&seen.mu);
    assert_true(seen.n >= 2);
    assert_int_equal(seen.last_exec, RUNS + 1);
    pthread_mutex_unlock(&seen.mu);
    sfx_free(f);
}

static void test_sio_subscribe_metrics(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    assert_int_equal(ws_register(f, "wf_s", "bot_s", "strat_s"), 201);
    sio s;
    assert_int_equal(sio_open(&s, f->port, NULL), 101);
    char *m = sio_connect(&s, NULL);
    assert_non_null(m);
    assert_int_equal(m[0], '0');
    free(m);
    json_t *a = sio_emit(&s, 1, "subscribe_metrics", "{}");
    assert_non_null(a);
    assert_true(json_is_true(json_object_get(a, "ok")));
    assert_string_equal(json_string_value(json_object_get(a, "room")), "metrics");
    json_decref(a);
    for (int i = 0; i < RUNS; i++)
        assert_int_equal(ws_execute(f, "wf_s"), 202);
    /* the metrics channel carries every bot and strategy: wait for both */
    bool bot = false, strat = false;
    for (int i = 0; i < 10000 && !(bot && strat); i++) {
        m = sio_next(&s);
        assert_non_null(m);
        json_error_t e;
        json_t *arr = strncmp(m, "2[\"metrics\",", 12) == 0 ? json_loads(m + 1, 0, &e) : NULL;
        free(m);
        if (arr == NULL)
            continue;
        json_t *d = json_array_get(arr, 1);
        int64_t n = json_integer_value(json_object_get(d, "executions"));
        assert_true(n <= RUNS);
        const char *b = json_string_value(json_object_get(d, "bot_id"));
        const char *st = json_string_value(json_object_get(d, "strategy_id"));
        if (n == RUNS && b && strcmp(b, "bot_s") == 0)
            bot = true;
        if (n == RUNS && st && strcmp(st, "strat_s") == 0)
            strat = true;
        if (n == RUNS)
            assert_int_equal(json_integer_value(json_object_get(d, "completed")), RUNS);
        json_decref(arr);
    }
    assert_true(bot && strat);
    a = sio_emit(&s, 2, "unsubscribe_metrics", "{}");
    assert_non_null(a);
    assert_true(json_is_true(json_object_get(a, "ok")));
    json_decref(a);
    sio_close(&s);
    sfx_free(f);
}

static void test_ws_channel_op(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    wsc a;
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    json_t *j = wsc_op(&a, "{\"op\":\"subscribe\",\"channel\":\"metrics\"}");
    assert_non_null(j);
    assert_string_equal(wsc_event(j), "subscribed");
    assert_string_equal(json_string_value(wsc_data(j, "room")), "metrics");
    json_decref(j);
    j = wsc_op(&a, "{\"op\":\"subscribe\",\"channel\":\"nope\"}");
    assert_non_null(j);
    assert_string_equal(wsc_event(j), "error");
    json_decref(j);
    wsc_close(&a);
    sfx_free(f);
}

/* Stop with a metrics emission pending (a long interval): the timer is
 * cancelled on the service thread, nothing fires later, nothing leaks. */
static void test_stop_with_timer_armed(void **state)
{
    (void)state;
    setenv("TROUPE_METRICS_INTERVAL_MS", "60000", 1);
    sfx *f = wsfx_new(NULL, NULL);
    setenv("TROUPE_METRICS_INTERVAL_MS", "100", 1);
    assert_non_null(f);
    assert_int_equal(ws_register(f, "wf_t", "bot_t", "strat_t"), 201);
    wsc a;
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    json_t *j = wsc_op(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"wf_t\"}");
    assert_non_null(j);
    json_decref(j);
    uint64_t next = 1;
    assert_int_equal(ws_execute(f, "wf_t"), 202);
    assert_int_equal(ws_read_run(&a, "wf_t", &next), WS_EVENTS_PER_RUN); /* timer armed */
    wsc_close(&a);
    sfx_free(f);
}

int main(void)
{
    setenv("TROUPE_METRICS_INTERVAL_MS", "100", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_bot_room),
        cmocka_unit_test(test_sio_subscribe_metrics),
        cmocka_unit_test(test_ws_channel_op),
        cmocka_unit_test(test_stop_with_timer_armed),
    };
    if (getenv("TR_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TR_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
