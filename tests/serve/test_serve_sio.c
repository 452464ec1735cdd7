/*
 * tests/serve/test_serve_sio.c -- Socket.IO v4 over the WebSocket transport
 * (/socket.io/?EIO=4&transport=websocket) with a minimal C client
 * (sio_test.h): the handshake and the open packet, refused EIO versions and
 * transports (polling: 400 JSON), CONNECT with/without/wrong token,
 * subscribe with ack and events in seq order as 42["workflow_event",..],
 * since-replay, publish, bad packets (error acks, counted), Engine.IO
 * ping/pong (intervals shortened through the environment) and the ping
 * timeout, and the payload cap (1009).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "serve/sio_test.h"

static void small_payload(tr_config *cfg)
{
    cfg->server.max_payload = 4096;
}

static void assert_ack_ok(json_t *a, const char *room, int64_t seq)
{
    assert_non_null(a);
    assert_true(json_is_true(json_object_get(a, "ok")));
    assert_string_equal(json_string_value(json_object_get(a, "room")), room);
    if (seq >= 0)
        assert_int_equal(json_integer_value(json_object_get(a, "seq")), seq);
    json_decref(a);
}

static void assert_ack_error(json_t *a)
{
    assert_non_null(a);
    assert_true(json_is_false(json_object_get(a, "ok")));
    assert_non_null(json_string_value(json_object_get(a, "error")));
    json_decref(a);
}

static void connect_ok(sio *s, int port, const char *token)
{
    assert_int_equal(sio_open(s, port, NULL), 101);
    char *m = sio_connect(s, token);
    assert_non_null(m);
    assert_memory_equal(m, "0{\"sid\":\"", 8);
    free(m);
}

static void test_handshake(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, small_payload);
    assert_non_null(f);
    sio s;
    assert_int_equal(sio_open(&s, f->port, NULL), 101);
    const char *sid = json_string_value(json_object_get(s.open, "sid"));
    assert_non_null(sid);
    assert_true(strlen(sid) >= 16);
    assert_true(json_is_array(json_object_get(s.open, "upgrades")));
    assert_int_equal(json_array_size(json_object_get(s.open, "upgrades")), 0);
    assert_int_equal(json_integer_value(json_object_get(s.open, "pingInterval")), 300);
    assert_int_equal(json_integer_value(json_object_get(s.open, "pingTimeout")), 1000);
    assert_int_equal(json_integer_value(json_object_get(s.open, "maxPayload")), 4096);
    sio_close(&s);

    /* other versions and transports are refused at the upgrade */
    assert_int_equal(sio_open(&s, f->port, "/socket.io/?EIO=3&transport=websocket"), 400);
    sio_close(&s);
    assert_int_equal(sio_open(&s, f->port, "/socket.io/?EIO=4&transport=polling"), 400);
    sio_close(&s);
    assert_int_equal(sio_open(&s, f->port, "/socket.io/?transport=websocket"), 400);
    sio_close(&s);
    /* polling (plain HTTP) is not supported: a JSON 400 */
    json_t *j = NULL;
    assert_int_equal(http1(f->port, "GET", "/socket.io/?EIO=4&transport=polling", NULL, NULL,
                           &j), 400);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "polling"));
    json_decref(j);
    sfx_free(f);
}

static void test_connect_auth(void **state)
{
    (void)state;
    sfx *f = wsfx_new("tok", NULL);
    assert_non_null(f);
    sio s;
    const char *bad[3] = {NULL, "nope", ""};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sio_open(&s, f->port, NULL), 101);
        char *m = sio_connect(&s, bad[i]);
        assert_non_null(m);
        assert_string_equal(m, "4{\"message\":\"unauthorized\"}");
        free(m);
        /* not connected: events are refused */
        assert_ack_error(sio_emit(&s, 1, "subscribe_workflow", "{\"workflow_id\":\"w\"}"));
        sio_close(&s);
    }
    /* another namespace */
    assert_int_equal(sio_open(&s, f->port, NULL), 101);
    assert_int_equal(wsc_text(&s.ws, "40/admin,{\"token\":\"tok\"}"), 0);
    char *m = sio_next(&s);
    assert_non_null(m);
    assert_non_null(strstr(m, "4/admin,{\"message\":"));
    free(m);
    sio_close(&s);
    connect_ok(&s, f->port, "tok");
    assert_ack_ok(sio_emit(&s, 7, "subscribe_workflow", "{\"workflow_id\":\"w\"}"),
                  "workflow:w", 0);
    sio_close(&s);
    sfx_free(f);
}

static void test_events_in_order(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    assert_int_equal(ws_register(f, "wf_a", "bot_a", "s_a"), 201);
    assert_int_equal(ws_register(f, "wf_b", "bot_b", "s_b"), 201);
    sio a, b;
    wsc plain;
    connect_ok(&a, f->port, NULL);
    connect_ok(&b, f->port, NULL);
    assert_int_equal(wsc_open(&plain, f->port, "/ws", NULL, 0), 101);
    json_t *j = wsc_op(&plain, "{\"op\":\"subscribe\",\"workflow_id\":\"wf_a\"}");
    json_decref(j);
    assert_ack_ok(sio_emit(&a, 1, "subscribe_workflow", "{\"workflow_id\":\"wf_a\"}"),
                  "workflow:wf_a", 0);
    assert_ack_ok(sio_emit(&b, 2, "subscribe_bot", "{\"bot_id\":\"bot_b\"}"), "bot:bot_b",
                  -1);
    uint64_t na = 1, nb = 1, np = 1;
    for (int run = 0; run < 3; run++) {
        assert_int_equal(ws_execute(f, "wf_b"), 202);
        assert_int_equal(ws_execute(f, "wf_a"), 202);
        assert_int_equal(sio_read_run(&a, "wf_a", &na), WS_EVENTS_PER_RUN);
        assert_int_equal(sio_read_run(&b, "wf_b", &nb), WS_EVENTS_PER_RUN);
        /* the same events, the plain /ws encoding, to the plain client */
        assert_int_equal(ws_read_run(&plain, "wf_a", &np), WS_EVENTS_PER_RUN);
    }
    /* the ack carries the room's last seq; since replays from history */
    sio c;
    connect_ok(&c, f->port, NULL);
    assert_ack_ok(sio_emit(&c, 3, "subscribe_workflow",
                           "{\"workflow_id\":\"wf_a\",\"since\":12}"),
                  "workflow:wf_a", 3 * WS_EVENTS_PER_RUN);
    uint64_t nc = 13;
    assert_int_equal(sio_read_run(&c, "wf_a", &nc), WS_EVENTS_PER_RUN);
    /* the string form and unsubscribe */
    assert_ack_ok(sio_emit(&c, 4, "unsubscribe_workflow", "\"wf_a\""), "workflow:wf_a", -1);
    /* publish: validated, fed to the bus, delivered with a seq */
    assert_ack_error(sio_emit(&a, 5, "publish", "{\"workflow_id\":\"wf_a\",\"event\":{}}"));
    assert_ack_ok(sio_emit(&a, 6, "publish",
                           "{\"workflow_id\":\"wf_a\",\"event\":{\"type\":\"execution_"
                           "completed\",\"x\":1}}"),
                  "workflow:wf_a", -1);
    assert_int_equal(sio_read_run(&a, "wf_a", &na), 1);
    sio_close(&a);
    sio_close(&b);
    sio_close(&c);
    wsc_close(&plain);
    sfx_free(f);
}

static void test_bad_packets(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    sio s;
    connect_ok(&s, f->port, NULL);
    assert_ack_error(sio_emit(&s, 1, "no_such_event", "{}"));
    assert_ack_error(sio_emit(&s, 2, "subscribe_workflow", "{\"bot_id\":\"x\"}"));
    assert_ack_error(sio_emit(&s, 3, "subscribe_workflow", "{\"workflow_id\":42}"));
    assert_ack_error(sio_emit(&s, 4, "subscribe_workflow",
                              "{\"workflow_id\":\"w\",\"since\":-1}"));
    assert_ack_error(sio_emit(&s, 5, "publish", "[1]"));
    /* no ack id: ignored (counted) */
    sio_emit(&s, -1, "no_such_event", "{}");
    assert_int_equal(wsc_text(&s.ws, "42[not json"), 0);
    assert_int_equal(wsc_text(&s.ws, "9"), 0);
    assert_int_equal(wsc_text(&s.ws, "47"), 0);
    /* Engine.IO ping from the client is answered */
    assert_int_equal(wsc_text(&s.ws, "2probe"), 0);
    char *m = sio_next(&s);
    assert_non_null(m);
    assert_string_equal(m, "3probe");
    free(m);
    /* still usable */
    assert_ack_ok(sio_emit(&s, 9, "subscribe_strategy", "{\"strategy_id\":\"st\"}"),
                  "strategy:st", -1);
    char *body = NULL;
    int fd = http_connect(f->port);
    assert_int_equal(http_do(fd, "GET", "/metrics", NULL, NULL, &body), 200);
    close(fd);
    assert_non_null(strstr(body, "\ntroupe_ws_bad_frames_total 9\n"));
    free(body);
    sio_close(&s);
    sfx_free(f);
}

static void test_ping_pong(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, NULL);
    assert_non_null(f);
    sio s, mute;
    connect_ok(&s, f->port, NULL);
    connect_ok(&mute, f->port, NULL);
    mute.no_pong = true;
    /* ~2 s of pings (every 300 ms) answered: still open */
    assert_ack_ok(sio_emit(&s, 1, "subscribe_workflow", "{\"workflow_id\":\"w\"}"),
                  "workflow:w", 0);
    for (int i = 0; i < 25 && s.pings < 5; i++) {
        assert_ack_ok(sio_emit(&s, 10 + i, "subscribe_workflow", "{\"workflow_id\":\"w\"}"),
                      "workflow:w", 0);
        usleep(100 * 1000);
    }
    assert_true(s.pings >= 5);
    /* no pong: closed after pingInterval + pingTimeout */
    char *m = sio_next(&mute);
    assert_null(m);
    assert_true(mute.pings >= 1);
    assert_int_equal(mute.ws.close_code, 1000);
    sio_close(&s);
    sio_close(&mute);
    sfx_free(f);
}

static void test_too_big(void **state)
{
    (void)state;
    sfx *f = wsfx_new(NULL, small_payload);
    assert_non_null(f);
    sio s;
    connect_ok(&s, f->port, NULL);
    char *big = malloc(5001);
    memset(big, 'x', 5000);
    memcpy(big, "42[\"publish\",\"", 14);
    big[4998] = '"';
    big[4999] = ']';
    big[5000] = '\0';
    assert_int_equal(wsc_text(&s.ws, big), 0);
    free(big);
    assert_null(sio_next(&s));
    assert_int_equal(s.ws.close_code, 1009);
    sio_close(&s);
    sfx_free(f);
}

int main(void)
{
    setenv("TROUPE_SIO_PING_INTERVAL_MS", "300", 1);
    setenv("TROUPE_SIO_PING_TIMEOUT_MS", "1000", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake),   cmocka_unit_test(test_connect_auth),
        cmocka_unit_test(test_events_in_order), cmocka_unit_test(test_bad_packets),
        cmocka_unit_test(test_ping_pong),   cmocka_unit_test(test_too_big),
    };
    if (getenv("TR_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TR_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
