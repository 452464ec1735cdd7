/*
 * tests/serve/test_serve_ws_slow.c -- /ws under a slow client, and stop.
 *
 * A client that never reads its socket (small SO_RCVBUF) while 5,000 big
 * events are published must not delay another client in the same room: the
 * fast one gets every event in seq order, no gaps.  Then, with
 * slow_client=drop, the slow one reads what it was sent, in order, and the
 * `dropped` markers cover exactly what it did not get; with
 * slow_client=disconnect it gets a gap-free prefix and is closed (counted in
 * /metrics).  Counts and ordering only, never wall time.  Graceful stop:
 * connected clients see a close frame with 1001.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "serve/ws_test.h"

#define EVENTS 5000
#define BATCH 50
#define PAD 3000

static void slow_drop(tr_config *cfg)
{
    cfg->server.send_queue = 64;
    cfg->server.slow_client = TR_CONFIG_SLOW_DROP;
}

static void slow_disconnect(tr_config *cfg)
{
    cfg->server.send_queue = 64;
    cfg->server.slow_client = TR_CONFIG_SLOW_DISCONNECT;
}

/* Publish EVENTS events on room w in batches, the fast client reading each
 * batch before the next; the slow client reads nothing. */
static void flood(sfx *f, wsc *fast)
{
    uint64_t next = 1;
    for (int b = 0; b < EVENTS / BATCH; b++) {
        for (int i = 0; i < BATCH; i++)
            assert_int_equal(ws_bus_publish(f, "w", PAD), 0);
        for (int i = 0; i < BATCH; i++) {
            json_t *j = wsc_json(fast);
            assert_non_null(j);
            assert_string_equal(wsc_event(j), "workflow_event");
            assert_int_equal(json_integer_value(wsc_data(j, "seq")), next);
            next++;
            json_decref(j);
        }
    }
    assert_int_equal(next, EVENTS + 1);
}

static void open_pair(sfx *f, wsc *fast, wsc *slow)
{
    assert_int_equal(wsc_open(fast, f->port, "/ws", NULL, 0), 101);
    assert_int_equal(wsc_open(slow, f->port, "/ws", NULL, 4096), 101);
    const char *op = "{\"op\":\"subscribe\",\"workflow_id\":\"w\"}";
    wsc *both[2] = {fast, slow};
    for (int i = 0; i < 2; i++) {
        json_t *j = wsc_op(both[i], op);
        assert_non_null(j);
        assert_string_equal(wsc_event(j), "subscribed");
        json_decref(j);
    }
}

static char *metrics(sfx *f)
{
    char *body = NULL;
    int fd = http_connect(f->port);
    assert_int_equal(http_do(fd, "GET", "/metrics", NULL, NULL, &body), 200);
    close(fd);
    return body;
}

static void test_slow_client_drop(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, slow_drop);
    assert_non_null(f);
    wsc fast, slow;
    open_pair(f, &fast, &slow);
    flood(f, &fast);

    /* now the slow one reads: events in increasing order, markers fill the
     * holes, until every seq is accounted for */
    static bool covered[EVENTS + 1];
    memset(covered, 0, sizeof covered);
    size_t ncovered = 0, events = 0, markers = 0;
    uint64_t last = 0;
    for (int i = 0; i < 4 * EVENTS && ncovered < EVENTS; i++) {
        json_t *j = wsc_json(&slow);
        assert_non_null(j);
        const char *ev = wsc_event(j);
        if (strcmp(ev, "workflow_event") == 0) {
            uint64_t seq = (uint64_t)json_integer_value(wsc_data(j, "seq"));
            assert_true(seq > last && seq <= EVENTS);
            last = seq;
            events++;
            ncovered += !covered[seq];
            covered[seq] = true;
        } else {
            assert_string_equal(ev, "dropped");
            assert_string_equal(json_string_value(wsc_data(j, "room")), "workflow:w");
            uint64_t from = (uint64_t)json_integer_value(wsc_data(j, "from_seq"));
            uint64_t to = (uint64_t)json_integer_value(wsc_data(j, "to_seq"));
            assert_true(from >= 1 && from <= to && to <= EVENTS);
            markers++;
            for (uint64_t s = from; s <= to; s++) {
                ncovered += !covered[s];
                covered[s] = true;
            }
        }
        json_decref(j);
    }
    assert_int_equal(ncovered, EVENTS);
    assert_true(markers >= 1);
    assert_true(events < EVENTS);
    /* the fast one never lost anything; the slow one is still usable */
    json_t *j = wsc_op(&slow, "{\"op\":\"unsubscribe\",\"workflow_id\":\"w\"}");
    assert_non_null(j);
    assert_string_equal(wsc_event(j), "unsubscribed");
    json_decref(j);
    char *body = metrics(f);
    assert_null(strstr(body, "troupe_ws_frames_dropped_total 0\n"));
    assert_non_null(strstr(body, "troupe_ws_handoff_dropped_total 0\n"));
    free(body);
    wsc_close(&fast);
    wsc_close(&slow);
    sfx_free(f);
}

static void test_slow_client_disconnect(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, slow_disconnect);
    assert_non_null(f);
    wsc fast, slow;
    open_pair(f, &fast, &slow);
    flood(f, &fast);
    char *body = metrics(f);
    assert_non_null(strstr(body, "troupe_ws_slow_disconnects_total 1\n"));
    free(body);
    /* what it got before being cut off is a gap-free prefix */
    uint64_t next = 1;
    for (int i = 0; i < EVENTS; i++) {
        json_t *j = wsc_json(&slow);
        if (j == NULL)
            break;
        assert_int_equal(json_integer_value(wsc_data(j, "seq")), next);
        next++;
        json_decref(j);
    }
    assert_true(next - 1 < EVENTS);
    assert_true(slow.close_code == 0 || slow.close_code == 1008);
    wsc_close(&fast);
    wsc_close(&slow);
    sfx_free(f);
}

static void small_sndbuf(tr_config *cfg)
{
    cfg->server.socket_send_buffer = 16384;
}

/* Frames far bigger than the connection's socket buffer (16 KB, from
 * server.socket_send_buffer), to a client that reads nothing yet: the
 * kernel takes part of a frame, the rest goes through lws, and nothing else
 * (the pong to our ping) may land inside it.  Then the client reads every
 * frame whole and in order. */
static void test_partial_writes(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, small_sndbuf);
    assert_non_null(f);
    wsc c;
    assert_int_equal(wsc_open(&c, f->port, "/ws", NULL, 4096), 101);
    assert_true(wsc_op_answers(&c, "{\"op\":\"subscribe\",\"workflow_id\":\"w\"}", "subscribed"));
    enum { BIG = 8, BIG_PAD = 1000000 };
    for (int i = 0; i < BIG; i++)
        assert_int_equal(ws_bus_publish(f, "w", i % 2 ? BIG_PAD : 10), 0);
    assert_int_equal(tr_bus_sync(tr_engine_bus(f->e), 5000), 0);
    /* a ping now must not be answered inside a half-sent frame */
    assert_int_equal(wsc_send(&c, 9, "p", 1), 0);
    for (int i = 0; i < BIG; i++) {
        json_t *j = wsc_json(&c);
        assert_non_null(j);
        assert_int_equal(json_integer_value(wsc_data(j, "seq")), i + 1);
        const char *pad = json_string_value(wsc_data(j, "pad"));
        assert_non_null(pad);
        assert_int_equal(strlen(pad), i % 2 ? BIG_PAD : 10);
        assert_true(strspn(pad, "x") == strlen(pad));
        json_decref(j);
    }
    /* the 16 KB send buffer cannot take a 1 MB frame in one write */
    char *body = metrics(f);
    assert_null(strstr(body, "troupe_ws_partial_writes_total 0\n"));
    free(body);
    wsc_close(&c);
    sfx_free(f);
}

static void test_graceful_stop(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    wsc a, b, slow;
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    assert_int_equal(wsc_open(&b, f->port, "/ws", NULL, 0), 101);
    assert_int_equal(wsc_open(&slow, f->port, "/ws", NULL, 4096), 101);
    json_t *j = wsc_op(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"other\"}");
    assert_non_null(j);
    json_decref(j);
    /* a third client that reads nothing has a full socket: stop still ends */
    assert_non_null(j = wsc_op(&slow, "{\"op\":\"subscribe\",\"workflow_id\":\"w\"}"));
    json_decref(j);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(ws_bus_publish(f, "w", PAD), 0);
    assert_int_equal(tr_bus_sync(tr_engine_bus(f->e), 5000), 0);
    assert_int_equal(tr_serve_stop(f->srv), 0);
    f->srv = NULL;
    char *m;
    size_t n;
    assert_int_equal(wsc_recv(&a, &m, &n), -1);
    assert_int_equal(a.close_code, 1001);
    assert_int_equal(wsc_recv(&b, &m, &n), -1);
    assert_int_equal(b.close_code, 1001);
    wsc_close(&a);
    wsc_close(&b);
    wsc_close(&slow);
    sfx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_client_drop),
        cmocka_unit_test(test_slow_client_disconnect),
        cmocka_unit_test(test_partial_writes),
        cmocka_unit_test(test_graceful_stop),
    };
    if (getenv("TR_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TR_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
