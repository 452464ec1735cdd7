/*
 * tests/serve/test_serve_ws.c -- the plain WebSocket fan-out (/ws) end to
 * end: rooms and ordering (seq without gaps, no other workflow's events),
 * since-replay after a reconnect, unsubscribe, error answers, the payload
 * cap (1009), the subscription cap, auth and Origin at the handshake,
 * publish, the rate limit (1008), emergency events and /metrics, and a
 * burst of every frame-size class coalesced into batched writes.
 * Slow clients and graceful stop: test_serve_ws_slow.c.
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

static void small_payload(tr_config *cfg)
{
    cfg->server.max_payload = 4096;
}

static json_t *subscribe(wsc *c, const char *op)
{
    json_t *j = wsc_op(c, op);
    assert_non_null(j);
    return j;
}

static void expect_event(wsc *c, const char *op, const char *event)
{
    assert_true(wsc_op_answers(c, op, event));
}

static void test_rooms_and_order(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    assert_int_equal(ws_register(f, "wf_a", "bot_a", "s_a"), 201);
    assert_int_equal(ws_register(f, "wf_b", "bot_b", "s_b"), 201);
    wsc a, b;
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    assert_int_equal(wsc_open(&b, f->port, "/ws", NULL, 0), 101);
    json_t *j = subscribe(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"wf_a\"}");
    assert_string_equal(wsc_event(j), "subscribed");
    assert_string_equal(json_string_value(wsc_data(j, "room")), "workflow:wf_a");
    assert_int_equal(json_integer_value(wsc_data(j, "seq")), 0);
    json_decref(j);
    j = subscribe(&b, "{\"op\":\"subscribe\",\"bot_id\":\"bot_b\"}");
    assert_string_equal(json_string_value(wsc_data(j, "room")), "bot:bot_b");
    json_decref(j);

    /* interleave: a's client must see only wf_a, in seq order, no gaps */
    uint64_t na = 1, nb = 1;
    for (int run = 0; run < 3; run++) {
        assert_int_equal(ws_execute(f, "wf_b"), 202);
        assert_int_equal(ws_execute(f, "wf_a"), 202);
        assert_int_equal(ws_read_run(&a, "wf_a", &na), WS_EVENTS_PER_RUN);
        assert_int_equal(ws_read_run(&b, "wf_b", &nb), WS_EVENTS_PER_RUN);
    }
    assert_int_equal(na, 3 * WS_EVENTS_PER_RUN + 1);
    assert_int_equal(nb, 3 * WS_EVENTS_PER_RUN + 1);

    /* the same workflow through its strategy room, once per connection even
     * when two of its rooms match */
    expect_event(&a, "{\"op\":\"subscribe\",\"strategy_id\":\"s_a\"}", "subscribed");
    assert_int_equal(ws_execute(f, "wf_a"), 202);
    assert_int_equal(ws_read_run(&a, "wf_a", &na), WS_EVENTS_PER_RUN);
    wsc_close(&a);
    wsc_close(&b);
    sfx_free(f);
}

/* A burst the client has not read yet goes out coalesced (many frames per
 * write, ws_conn.c): every size class of the frame header (7-bit, 16-bit
 * and a frame larger than one batch, framed alone) arrives whole, in order. */
static void test_burst_frame_sizes(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    wsc c;
    assert_int_equal(wsc_open(&c, f->port, "/ws", NULL, 0), 101);
    expect_event(&c, "{\"op\":\"subscribe\",\"workflow_id\":\"w\"}", "subscribed");
    static const size_t pads[] = {0, 40, 60, 70, 300, 2000, 15000, 16300, 40000, 70000, 1};
    enum { NPADS = sizeof pads / sizeof pads[0], ROUNDS = 20 };
    for (int r = 0; r < ROUNDS; r++)
        for (size_t i = 0; i < NPADS; i++)
            assert_int_equal(ws_bus_publish(f, "w", pads[i]), 0);
    for (int r = 0; r < ROUNDS; r++)
        for (size_t i = 0; i < NPADS; i++) {
            json_t *j = wsc_json(&c);
            assert_non_null(j);
            assert_string_equal(wsc_event(j), "workflow_event");
            assert_int_equal(json_integer_value(wsc_data(j, "seq")), r * NPADS + i + 1);
            const char *pad = json_string_value(wsc_data(j, "pad"));
            assert_non_null(pad);
            assert_int_equal(strlen(pad), pads[i]);
            assert_true(strspn(pad, "x") == pads[i]);
            json_decref(j);
        }
    wsc_close(&c);
    sfx_free(f);
}

static void test_since_replay(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    assert_int_equal(ws_register(f, "wf_a", "bot_a", "s_a"), 201);
    wsc a;
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    expect_event(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"wf_a\"}", "subscribed");
    uint64_t next = 1;
    assert_int_equal(ws_execute(f, "wf_a"), 202);
    assert_int_equal(ws_read_run(&a, "wf_a", &next), WS_EVENTS_PER_RUN);
    uint64_t seen = next - 1;
    wsc_close(&a);

    /* two runs while disconnected */
    wsc probe;
    assert_int_equal(wsc_open(&probe, f->port, "/ws", NULL, 0), 101);
    expect_event(&probe, "{\"op\":\"subscribe\",\"workflow_id\":\"wf_a\"}", "subscribed");
    uint64_t pn = next;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ws_execute(f, "wf_a"), 202);
        json_t *j;
        for (int k = 0; k < WS_EVENTS_PER_RUN; k++) { /* wait for them to be in the room */
            assert_non_null(j = wsc_json(&probe));
            assert_int_equal(json_integer_value(wsc_data(j, "seq")), pn++);
            json_decref(j);
        }
    }
    wsc_close(&probe);

    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    char op[128];
    snprintf(op, sizeof op, "{\"op\":\"subscribe\",\"workflow_id\":\"wf_a\",\"since\":%llu}",
             (unsigned long long)seen);
    json_t *j = subscribe(&a, op);
    assert_string_equal(wsc_event(j), "subscribed");
    assert_int_equal(json_integer_value(wsc_data(j, "seq")), seen + 2 * WS_EVENTS_PER_RUN);
    json_decref(j);
    /* exactly the missed range, then live ones without a gap */
    assert_int_equal(ws_read_run(&a, "wf_a", &next), WS_EVENTS_PER_RUN);
    assert_int_equal(ws_read_run(&a, "wf_a", &next), WS_EVENTS_PER_RUN);
    assert_int_equal(ws_execute(f, "wf_a"), 202);
    assert_int_equal(ws_read_run(&a, "wf_a", &next), WS_EVENTS_PER_RUN);
    assert_int_equal(next, 4 * WS_EVENTS_PER_RUN + 1);
    wsc_close(&a);
    sfx_free(f);
}

static void test_unsubscribe(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    assert_int_equal(ws_register(f, "wf_a", "bot_a", "s_a"), 201);
    assert_int_equal(ws_register(f, "wf_b", "bot_b", "s_b"), 201);
    wsc a;
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    expect_event(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"wf_a\"}", "subscribed");
    json_t *j = subscribe(&a, "{\"op\":\"unsubscribe\",\"workflow_id\":\"wf_a\"}");
    assert_string_equal(wsc_event(j), "unsubscribed");
    assert_string_equal(json_string_value(wsc_data(j, "room")), "workflow:wf_a");
    json_decref(j);
    assert_int_equal(ws_execute(f, "wf_a"), 202);
    assert_int_equal(tr_bus_sync(tr_engine_bus(f->e), 5000), 0);
    /* the next frames must be wf_b's: nothing of wf_a was queued */
    expect_event(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"wf_b\"}", "subscribed");
    assert_int_equal(ws_execute(f, "wf_b"), 202);
    uint64_t nb = 1;
    assert_int_equal(ws_read_run(&a, "wf_b", &nb), WS_EVENTS_PER_RUN);
    wsc_close(&a);
    sfx_free(f);
}

static void expect_error(wsc *c, const char *frame)
{
    json_t *j = wsc_op(c, frame);
    assert_non_null(j);
    assert_string_equal(wsc_event(j), "error");
    assert_true(json_is_string(wsc_data(j, "error")));
    json_decref(j);
}

static void test_errors_and_limits(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, small_payload);
    assert_non_null(f);
    wsc a;
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    expect_error(&a, "{not json");
    expect_error(&a, "[1,2]");
    expect_error(&a, "{\"op\":\"dance\"}");
    expect_error(&a, "{\"workflow_id\":\"x\"}");
    expect_error(&a, "{\"op\":\"subscribe\"}");
    expect_error(&a, "{\"op\":\"subscribe\",\"workflow_id\":7}");
    expect_error(&a, "{\"op\":\"subscribe\",\"bot_id\":\"b\",\"since\":3}");
    expect_error(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"w\",\"since\":-1}");
    expect_error(&a, "{\"op\":\"publish\",\"workflow_id\":\"w\",\"event\":{\"x\":1}}");
    expect_error(&a, "{\"op\":\"publish\",\"event\":{\"type\":\"t\"}}");
    wsc_close(&a);

    /* subscription cap */
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    char op[128];
    for (int i = 0; i < 64; i++) {
        snprintf(op, sizeof op, "{\"op\":\"subscribe\",\"workflow_id\":\"w%d\"}", i);
        expect_event(&a, op, "subscribed");
    }
    expect_error(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"w64\"}");
    expect_event(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"w3\"}", "subscribed");
    wsc_close(&a);

    /* over max_payload: closed with 1009 */
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    char *big = malloc(5000);
    memset(big, ' ', 5000);
    assert_int_equal(wsc_send(&a, 1, big, 5000), 0);
    free(big);
    char *m;
    size_t n;
    assert_int_equal(wsc_recv(&a, &m, &n), -1);
    assert_int_equal(a.close_code, 1009);
    wsc_close(&a);

    /* repeated abuse: closed with 1008 */
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    for (int i = 0; i < 12; i++)
        wsc_text(&a, "nope");
    for (int i = 0; i < 20 && wsc_recv(&a, &m, &n) == 0; i++)
        free(m);
    assert_int_equal(a.close_code, 1008);
    wsc_close(&a);
    sfx_free(f);
}

static void origin_list(tr_config *cfg)
{
    for (size_t i = 0; i < cfg->server.allowed_origins.count; i++)
        free(cfg->server.allowed_origins.items[i]);
    free(cfg->server.allowed_origins.items);
    cfg->server.allowed_origins.items = calloc(1, sizeof(char *));
    cfg->server.allowed_origins.items[0] = strdup("http://good.example");
    cfg->server.allowed_origins.count = 1;
}

static void test_auth_and_origin(void **state)
{
    (void)state;
    sfx *f = wsfx_new("s3cret", origin_list);
    assert_non_null(f);
    wsc a;
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 401);
    wsc_close(&a);
    assert_int_equal(wsc_open(&a, f->port, "/ws", "Authorization: Bearer nope\r\n", 0), 401);
    wsc_close(&a);
    assert_int_equal(wsc_open(&a, f->port, "/ws?token=nope", NULL, 0), 401);
    wsc_close(&a);
    assert_int_equal(wsc_open(&a, f->port, "/other", "Authorization: Bearer s3cret\r\n", 0),
                     404);
    wsc_close(&a);
    assert_int_equal(wsc_open(&a, f->port, "/ws",
                              "Authorization: Bearer s3cret\r\nOrigin: http://evil.example\r\n",
                              0),
                     403);
    wsc_close(&a);
    assert_int_equal(wsc_open(&a, f->port, "/ws",
                              "Authorization: Bearer s3cret\r\nOrigin: http://good.example\r\n",
                              0),
                     101);
    expect_event(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"w\"}", "subscribed");
    wsc_close(&a);
    assert_int_equal(wsc_open(&a, f->port, "/ws?token=s3cret", NULL, 0), 101);
    expect_event(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"w\"}", "subscribed");
    wsc_close(&a);
    sfx_free(f);
}

static void test_publish(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    wsc sub, pub;
    assert_int_equal(wsc_open(&sub, f->port, "/ws", NULL, 0), 101);
    assert_int_equal(wsc_open(&pub, f->port, "/ws", NULL, 0), 101);
    expect_event(&sub, "{\"op\":\"subscribe\",\"workflow_id\":\"ext_1\"}", "subscribed");
    for (int i = 1; i <= 3; i++) {
        /* the op's ids replace the event's own; the rest is kept as is */
        json_t *j = wsc_op(&pub, "{\"op\":\"publish\",\"workflow_id\":\"ext_1\",\"bot_id\":"
                                 "\"bx\",\"event\":{\"workflow_id\":\"spoof\",\"type\":\"custom\","
                                 "\"x\":1,\"strategy_id\":\"s_own\",\"n\":{\"a\":[2.5,null,\"z\"]}}}");
        assert_non_null(j);
        assert_string_equal(wsc_event(j), "published");
        assert_string_equal(json_string_value(wsc_data(j, "room")), "workflow:ext_1");
        json_decref(j);
        assert_non_null(j = wsc_json(&sub));
        assert_string_equal(wsc_event(j), "workflow_event");
        assert_string_equal(json_string_value(wsc_data(j, "type")), "custom");
        assert_string_equal(json_string_value(wsc_data(j, "workflow_id")), "ext_1");
        assert_string_equal(json_string_value(wsc_data(j, "bot_id")), "bx");
        assert_int_equal(json_integer_value(wsc_data(j, "seq")), i);
        assert_int_equal(json_integer_value(wsc_data(j, "x")), 1);
        assert_string_equal(json_string_value(wsc_data(j, "strategy_id")), "s_own");
        json_t *arr = json_object_get(wsc_data(j, "n"), "a");
        assert_int_equal(json_array_size(arr), 3);
        assert_true(json_real_value(json_array_get(arr, 0)) == 2.5);
        assert_true(json_is_null(json_array_get(arr, 1)));
        assert_string_equal(json_string_value(json_array_get(arr, 2)), "z");
        json_decref(j);
    }
    wsc_close(&sub);
    wsc_close(&pub);
    sfx_free(f);
}

static void rate5(tr_config *cfg)
{
    cfg->server.rate_limit = 5;
}

static void test_rate_limit(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, rate5);
    assert_non_null(f);
    wsc a;
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    for (int i = 0; i < 50; i++)
        wsc_text(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"w\"}");
    bool limited = false;
    char *m;
    size_t n;
    for (int i = 0; i < 100 && wsc_recv(&a, &m, &n) == 0; i++) {
        limited |= strstr(m, "rate limit exceeded") != NULL;
        free(m);
    }
    assert_true(limited);
    assert_int_equal(a.close_code, 1008);
    wsc_close(&a);
    sfx_free(f);
}

static void test_emergency_and_metrics(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    wsc a, e, idle;
    assert_int_equal(wsc_open(&a, f->port, "/ws", NULL, 0), 101);
    assert_int_equal(wsc_open(&e, f->port, "/ws", NULL, 0), 101);
    assert_int_equal(wsc_open(&idle, f->port, "/ws", NULL, 0), 101);
    expect_event(&a, "{\"op\":\"subscribe\",\"workflow_id\":\"w\"}", "subscribed");
    expect_event(&e, "{\"op\":\"subscribe\",\"channel\":\"emergency\"}", "subscribed");
    expect_error(&idle, "{\"op\":\"subscribe\",\"channel\":\"nope\"}");
    json_t *j = NULL;
    assert_int_equal(http1(f->port, "POST", "/api/emergency/halt", NULL,
                           "{\"reason\":\"test\"}", &j), 200);
    json_decref(j);
    wsc *both[2] = {&a, &e};
    for (int i = 0; i < 2; i++) {
        assert_non_null(j = wsc_json(both[i]));
        assert_string_equal(wsc_event(j), "emergency_event");
        assert_string_equal(json_string_value(wsc_data(j, "type")), "emergency_state_changed");
        json_decref(j);
    }
    char *body = NULL;
    int fd = http_connect(f->port);
    assert_int_equal(http_do(fd, "GET", "/metrics", NULL, NULL, &body), 200);
    close(fd);
    assert_non_null(strstr(body, "\ntroupe_ws_connections 3\n"));
    assert_non_null(strstr(body, "\ntroupe_ws_bad_frames_total 1\n"));
    assert_non_null(strstr(body, "troupe_ws_frames_sent_total "));
    assert_non_null(strstr(body, "troupe_ws_frames_dropped_total 0\n"));
    assert_non_null(strstr(body, "troupe_ws_slow_disconnects_total 0\n"));
    free(body);
    wsc_close(&a);
    wsc_close(&e);
    wsc_close(&idle);
    sfx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rooms_and_order),   cmocka_unit_test(test_since_replay),
        cmocka_unit_test(test_unsubscribe),       cmocka_unit_test(test_errors_and_limits),
        cmocka_unit_test(test_auth_and_origin),   cmocka_unit_test(test_publish),
        cmocka_unit_test(test_rate_limit),        cmocka_unit_test(test_emergency_and_metrics),
        cmocka_unit_test(test_burst_frame_sizes),
    };
    if (getenv("TR_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TR_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
