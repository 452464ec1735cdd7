/*
 * tests/serve/test_serve_http.c -- the HTTP API end to end: an engine and a
 * server on 127.0.0.1:0, spoken to with a raw-socket client.  Every route and
 * its errors (400/401/404/405/409/413/503), auth on and off, register +
 * execute + poll to a terminal status, the kill switch over HTTP, /metrics as
 * Prometheus text, keep-alive, and a graceful stop with a client connected.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "serve/serve_test.h"

static const char wf_const[] =
    "{\"id\":\"wf_a\",\"name\":\"A\",\"bot_id\":\"bot_a\",\"strategy_id\":\"s_a\","
    "\"schedule\":{\"every_ms\":500},"
    "\"nodes\":[{\"id\":\"n1\",\"type\":\"constant\",\"config\":{\"outputs\":{\"v\":7}}},"
    "{\"id\":\"n2\",\"type\":\"math\",\"config\":{\"expr\":\"n1.v * 6\"}}]}";

static int err_status(json_t *j)
{
    return (int)json_integer_value(json_object_get(j, "status"));
}

/* Poll the execution until it is no longer running (bounded). */
static json_t *wait_terminal(int port, const char *exec_id)
{
    char path[256];
    snprintf(path, sizeof path, "/api/executions/%s", exec_id);
    for (int i = 0; i < 500; i++) {
        json_t *j = NULL;
        int st = http1(port, "GET", path, NULL, NULL, &j);
        const char *s = json_string_value(json_object_get(j, "status"));
        if (st == 200 && s && strcmp(s, "running") != 0)
            return j;
        json_decref(j);
        usleep(10000);
    }
    return NULL;
}

static void test_health_and_routes(void **state)
{
    (void)state;
    sfx *f = sfx_new(NULL, 0);
    assert_non_null(f);
    json_t *j;
    assert_int_equal(http1(f->port, "GET", "/health", NULL, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(j, "emergency")), "normal");
    assert_int_equal(json_integer_value(json_object_get(j, "workers")), 2);
    assert_true(json_is_number(json_object_get(j, "uptime_s")));
    json_decref(j);
    assert_int_equal(http1(f->port, "GET", "/nope", NULL, NULL, &j), 404);
    assert_int_equal(err_status(j), 404);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/health", NULL, "{}", &j), 405);
    assert_int_equal(err_status(j), 405);
    json_decref(j);
    assert_int_equal(http1(f->port, "GET", "/api/workflows/x/execute", NULL, NULL, &j), 405);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/emergency/explode", NULL, "{}", &j), 404);
    json_decref(j);
    /* Keep-alive: three requests on one connection. */
    int fd = http_connect(f->port);
    assert_true(fd >= 0);
    for (int i = 0; i < 3; i++) {
        char *b = NULL;
        assert_int_equal(http_do(fd, "GET", "/health", NULL, NULL, &b), 200);
        free(b);
    }
    close(fd);
    sfx_free(f);
}

static void test_register_execute_poll(void **state)
{
    (void)state;
    sfx *f = sfx_new(NULL, 0);
    assert_non_null(f);
    json_t *j;
    assert_int_equal(http1(f->port, "POST", "/api/workflows", NULL, wf_const, &j), 201);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "wf_a");
    json_decref(j);
    assert_int_equal(http1(f->port, "GET", "/api/workflows", NULL, NULL, &j), 200);
    assert_int_equal(json_array_size(j), 1);
    json_t *w = json_array_get(j, 0);
    assert_string_equal(json_string_value(json_object_get(w, "bot_id")), "bot_a");
    assert_string_equal(json_string_value(json_object_get(w, "strategy_id")), "s_a");
    assert_int_equal(json_integer_value(json_object_get(w, "node_count")), 2);
    assert_int_equal(json_integer_value(json_object_get(w, "schedule_every_ms")), 500);
    json_decref(j);

    char ids[3][TR_EXEC_ID_MAX];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(http1(f->port, "POST", "/api/workflows/wf_a/execute", NULL, NULL, &j),
                         202);
        snprintf(ids[i], sizeof ids[i], "%s",
                 json_string_value(json_object_get(j, "execution_id")));
        json_decref(j);
        json_t *r = wait_terminal(f->port, ids[i]);
        assert_non_null(r);
        assert_string_equal(json_string_value(json_object_get(r, "status")), "completed");
        json_t *out = json_object_get(json_object_get(r, "result"), "outputs");
        assert_true(json_number_value(json_object_get(json_object_get(out, "n2"), "value")) ==
                    42.0);
        json_decref(r);
    }
    assert_int_equal(http1(f->port, "GET", "/api/workflows/wf_a/executions?limit=2", NULL,
                           NULL, &j), 200);
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0),
                                                          "execution_id")), ids[2]);
    json_decref(j);
    assert_int_equal(http1(f->port, "GET", "/api/workflows/wf_a/executions?limit=0", NULL,
                           NULL, &j), 400);
    json_decref(j);
    assert_int_equal(http1(f->port, "GET", "/api/workflows/none/executions", NULL, NULL, &j),
                     404);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/workflows/none/execute", NULL, NULL, &j), 404);
    json_decref(j);
    assert_int_equal(http1(f->port, "GET", "/api/executions/exec_wf_a_00000000", NULL, NULL,
                           &j), 404);
    json_decref(j);
    assert_int_equal(http1(f->port, "GET", "/api/executions/garbage", NULL, NULL, &j), 404);
    json_decref(j);
    /* An invalid definition: the validate formatter's problems. */
    assert_int_equal(http1(f->port, "POST", "/api/workflows", NULL,
                           "{\"id\":\"bad\",\"nodes\":[{\"id\":\"x\",\"type\":\"nope\"}]}", &j),
                     400);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid workflow");
    const char *p0 = json_string_value(json_array_get(json_object_get(j, "problems"), 0));
    assert_non_null(p0);
    assert_non_null(strstr(p0, "nope"));
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/workflows", NULL, "{not json", &j), 400);
    json_decref(j);
    sfx_free(f);
}

static void test_emergency(void **state)
{
    (void)state;
    sfx *f = sfx_new(NULL, 0);
    assert_non_null(f);
    json_t *j;
    assert_int_equal(http1(f->port, "POST", "/api/workflows", NULL, wf_const, &j), 201);
    json_decref(j);
    assert_int_equal(http1(f->port, "GET", "/api/emergency", NULL, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "normal");
    json_decref(j);
    assert_int_equal(http1(f->port, "GET", "/api/emergency?controller=bot_a", NULL, NULL, &j),
                     200);
    assert_string_equal(json_string_value(json_object_get(j, "controller_id")), "bot_a");
    json_decref(j);
    assert_int_equal(http1(f->port, "GET", "/api/emergency?controller=bad%20id", NULL, NULL,
                           &j), 400);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/emergency/halt", NULL, "{}", &j), 400);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/emergency/halt", NULL, "{\"reason\":3}", &j),
                     400);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/emergency/halt", NULL, NULL, &j), 400);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/emergency/halt", NULL,
                           "{\"reason\":\"test halt\"}", &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "halt");
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/workflows/wf_a/execute", NULL, NULL, &j), 503);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "halted");
    assert_string_equal(json_string_value(json_object_get(j, "reason")), "test halt");
    json_decref(j);
    /* halt -> alert is refused by the table: 409 with the controller's word. */
    assert_int_equal(http1(f->port, "POST", "/api/emergency/alert", NULL,
                           "{\"reason\":\"nope\"}", &j), 409);
    assert_int_equal(err_status(j), 409);
    assert_true(strlen(json_string_value(json_object_get(j, "error"))) > 0);
    json_decref(j);
    assert_int_equal(http1(f->port, "GET", "/health", NULL, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "emergency")), "halt");
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/emergency/resume", NULL,
                           "{\"reason\":\"ok again\"}", &j), 200);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/workflows/wf_a/execute", NULL, NULL, &j), 202);
    json_t *r = wait_terminal(f->port, json_string_value(json_object_get(j, "execution_id")));
    assert_non_null(r);
    json_decref(r);
    json_decref(j);
    /* A bot halt stops only that bot's workflows. */
    assert_int_equal(http1(f->port, "POST", "/api/emergency/halt?controller=bot_a", NULL,
                           "{\"reason\":\"bot stop\"}", &j), 200);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/workflows/wf_a/execute", NULL, NULL, &j), 503);
    assert_string_equal(json_string_value(json_object_get(j, "reason")), "bot stop");
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/emergency/alert", NULL,
                           "{\"reason\":\"watch\",\"context\":{\"k\":1}}", &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "alert");
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/emergency/shutdown", NULL,
                           "{\"reason\":\"bye\"}", &j), 200);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/emergency/resume", NULL,
                           "{\"reason\":\"no\"}", &j), 409);
    json_decref(j);
    sfx_free(f);
}

static void test_auth(void **state)
{
    (void)state;
    sfx *f = sfx_new("s3cret", 0);
    assert_non_null(f);
    json_t *j;
    assert_int_equal(http1(f->port, "GET", "/api/workflows", NULL, NULL, &j), 200);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/workflows", NULL, wf_const, &j), 401);
    assert_int_equal(err_status(j), 401);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/workflows", "wrong", wf_const, &j), 401);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/workflows", "s3cre", wf_const, &j), 401);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/emergency/halt", NULL, "{\"reason\":\"x\"}",
                           &j), 401);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/workflows", "s3cret", wf_const, &j), 201);
    json_decref(j);
    assert_int_equal(http1(f->port, "POST", "/api/workflows/wf_a/execute", "s3cret", NULL, &j),
                     202);
    json_decref(j);
    sfx_free(f);
}

static void test_payload_cap(void **state)
{
    (void)state;
    sfx *f = sfx_new(NULL, 1024);
    assert_non_null(f);
    /* Announced too large: answered at once, connection closed. */
    int fd = http_connect(f->port);
    const char *h = "POST /api/workflows HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    assert_int_equal(send_all(fd, h, strlen(h)), 0);
    char *b = NULL;
    int closes = 0;
    assert_int_equal(http_read(fd, &b, &closes), 413);
    assert_true(closes);
    json_error_t jerr;
    json_t *j = json_loads(b, 0, &jerr);
    assert_int_equal(err_status(j), 413);
    json_decref(j);
    free(b);
    close(fd);
    /* Just under the cap is read and parsed (and is not a workflow). */
    char body[1000];
    memset(body, ' ', sizeof body - 1);
    body[0] = '{', body[sizeof body - 2] = '}', body[sizeof body - 1] = '\0';
    assert_int_equal(http1(f->port, "POST", "/api/workflows", NULL, body, &j), 400);
    json_decref(j);
    sfx_free(f);
}

static void test_metrics(void **state)
{
    (void)state;
    sfx *f = sfx_new(NULL, 0);
    assert_non_null(f);
    json_t *j;
    assert_int_equal(http1(f->port, "POST", "/api/workflows", NULL, wf_const, &j), 201);
    json_decref(j);
    int fd = http_connect(f->port);
    char *text = NULL;
    assert_int_equal(http_do(fd, "GET", "/metrics", NULL, NULL, &text), 200);
    close(fd);
    static const char *names[] = {
        "troupe_runtime_messages_sent_total", "troupe_runtime_messages_handled_total",
        "troupe_runtime_dead_letters_total", "troupe_runtime_rejected_total",
        "troupe_runtime_steals_total", "troupe_runtime_live_actors",
        "troupe_runtime_worker_handled_total{worker=\"0\"}", "troupe_executions_started_total",
        "troupe_executions_completed_total", "troupe_executions_failed_total",
        "troupe_executions_halted_total", "troupe_executions_running",
        "troupe_bus_published_total", "troupe_bus_delivered_total", "troupe_bus_dropped_total",
        "troupe_bus_subscribers", "troupe_emergency_state{controller=\"default\"} 0",
        "troupe_emergency_state{controller=\"bot_a\"} 0", "troupe_emergency_version",
        "# TYPE troupe_executions_running gauge", "# HELP troupe_bus_published_total"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strstr(text, names[i]) == NULL)
            fail_msg("metric missing: %s", names[i]);
    regex_t sample, comment;
    assert_int_equal(regcomp(&sample, "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[a-z_]+=\"[^\"]*\"\\})? "
                                      "-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$",
                             REG_EXTENDED | REG_NOSUB), 0);
    assert_int_equal(regcomp(&comment, "^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$",
                             REG_EXTENDED | REG_NOSUB), 0);
    char *save = NULL;
    int lines = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++)
        if (regexec(l[0] == '#' ? &comment : &sample, l, 0, NULL, 0) != 0)
            fail_msg("not Prometheus text: '%s'", l);
    assert_true(lines > 40);
    regfree(&sample);
    regfree(&comment);
    free(text);
    sfx_free(f);
}

static void test_graceful_stop(void **state)
{
    (void)state;
    sfx *f = sfx_new(NULL, 0);
    assert_non_null(f);
    int fd = http_connect(f->port), idle = http_connect(f->port);
    assert_true(fd >= 0 && idle >= 0);
    char *b = NULL;
    assert_int_equal(http_do(fd, "GET", "/health", NULL, NULL, &b), 200);
    free(b);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tr_serve_stop(f->srv);
    f->srv = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    char c;
    assert_true(recv(fd, &c, 1, 0) <= 0); /* closed by the server */
    assert_true(recv(idle, &c, 1, 0) <= 0);
    close(fd);
    close(idle);
    /* The port is free again: a new connection is refused. */
    assert_true(http_connect(f->port) < 0);
    sfx_free(f);
}

static void test_bad_listen(void **state)
{
    (void)state;
    sfx *f = sfx_new(NULL, 0);
    assert_non_null(f);
    tr_serve *s2 = NULL;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", f->port);
    tr_serve_opts so = {.engine = f->e, .config = &f->cfg, .listen = addr};
    assert_int_equal(tr_serve_start(&s2, &so), TR_EIO); /* in use */
    so.listen = "no-port";
    assert_int_equal(tr_serve_start(&s2, &so), TR_EINVAL);
    so.listen = "127.0.0.1:99999";
    assert_int_equal(tr_serve_start(&s2, &so), TR_EINVAL);
    sfx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_routes), cmocka_unit_test(test_register_execute_poll),
        cmocka_unit_test(test_emergency),         cmocka_unit_test(test_auth),
        cmocka_unit_test(test_payload_cap),       cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_graceful_stop),     cmocka_unit_test(test_bad_listen),
    };
    if (getenv("TR_TEST_FILTER") != NULL) /* e.g. TR_TEST_FILTER=test_auth */
        cmocka_set_test_filter(getenv("TR_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
