/*
 * tests/state/test_state.c -- the state store actor (troupe/state.h), memory
 * backend.  The test thread is outside the runtime, so it uses the *_sync
 * calls; one test drives the store from an actor with tr_ask.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_test.h"
#include "troupe/state.h"

#define W RT_WAIT_MS

static tr_state *st_new(tr_runtime *rt, uint32_t history_cap)
{
    tr_state *st;
    tr_state_opts o = {.history_cap = history_cap};
    assert_ok(tr_state_start(rt, &o, &st));
    return st;
}

static void expect_json(tr_state *st, const char *key, const char *want)
{
    char *v = NULL;
    size_t len = 0;
    assert_ok(tr_state_get_sync(st, key, &v, &len, W));
    assert_non_null(v);
    assert_string_equal(v, want);
    assert_int_equal(len, strlen(want));
    free(v);
}

static void set_get_exists_delete(void **unused)
{
    (void)unused;
    tr_runtime *rt = rt_new(2);
    tr_state *st = st_new(rt, 0);
    char *v = (char *)"untouched";
    assert_int_equal(tr_state_get_sync(st, "k", &v, NULL, W), TR_ENOENT);
    assert_null(v);
    assert_int_equal(tr_state_exists_sync(st, "k", W), 0);
    assert_ok(tr_state_set_sync(st, "k", "{\"a\":1}", 7, W));
    assert_int_equal(tr_state_exists_sync(st, "k", W), 1);
    expect_json(st, "k", "{\"a\":1}");
    /* overwrite, fire-and-forget: a later get from this thread sees it */
    assert_ok(tr_state_set(st, "k", "[1,2,3]", 7));
    expect_json(st, "k", "[1,2,3]");
    assert_ok(tr_state_set(st, "empty", "\"\"", 2));
    expect_json(st, "empty", "\"\"");
    assert_ok(tr_state_del_sync(st, "k", W));
    assert_int_equal(tr_state_del_sync(st, "k", W), TR_ENOENT);
    assert_int_equal(tr_state_exists_sync(st, "k", W), 0);
    assert_int_equal(tr_state_get_sync(st, "k", &v, NULL, W), TR_ENOENT);
    /* a list is not a string, and the reverse */
    assert_ok(tr_state_list_push(st, "l", "1", 1, 0));
    assert_int_equal(tr_state_get_sync(st, "l", &v, NULL, W), TR_ESTATE);
    char *j;
    assert_int_equal(tr_state_list_range_sync(st, "empty", 0, 0, &j, NULL, W),
                     TR_ESTATE);
    assert_int_equal(tr_state_set(st, NULL, "1", 1), TR_EINVAL);
    tr_state_stats ss;
    tr_state_stats_get(st, &ss);
    assert_true(ss.requests >= 14);
    assert_int_equal(ss.failed, 2); /* the two TR_ESTATE */
    tr_state_free(st);
    assert_ok(tr_runtime_free(rt, W));
}

static void many_keys_survive_table_growth(void **unused)
{
    (void)unused;
    tr_runtime *rt = rt_new(2);
    tr_state *st = st_new(rt, 0);
    char k[32], v[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        int n = snprintf(v, sizeof(v), "%d", i * 3);
        assert_ok(tr_state_set(st, k, v, (size_t)n));
    }
    for (int i = 0; i < 5000; i += 2) {
        snprintf(k, sizeof(k), "key:%d", i);
        assert_ok(tr_state_del(st, k));
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "%d", i * 3);
        if (i % 2 == 0) {
            assert_int_equal(tr_state_exists_sync(st, k, W), 0);
        } else {
            expect_json(st, k, v);
        }
    }
    tr_state_free(st);
    assert_ok(tr_runtime_free(rt, W));
}

static void capped_history_newest_first_with_limit(void **unused)
{
    (void)unused;
    tr_runtime *rt = rt_new(2);
    tr_state *st = st_new(rt, 5);
    char ex[32];
    for (int i = 0; i < 10; i++) {
        snprintf(ex, sizeof(ex), "exec_w_%d", i);
        assert_ok(tr_state_history_push(st, "w", ex, 0)); /* store's cap: 5 */
    }
    char *j;
    size_t len;
    assert_int_equal(tr_state_list_range_sync(st, "workflow:w:executions", 0,
                                              0, &j, &len, W),
                     5);
    assert_string_equal(j, "[\"exec_w_9\",\"exec_w_8\",\"exec_w_7\","
                           "\"exec_w_6\",\"exec_w_5\"]");
    assert_int_equal(len, strlen(j));
    free(j);
    assert_int_equal(tr_state_list_range_sync(st, "workflow:w:executions", 1,
                                              2, &j, NULL, W),
                     2);
    assert_string_equal(j, "[\"exec_w_8\",\"exec_w_7\"]");
    free(j);
    assert_int_equal(tr_state_history(st, "w", 3, &j, NULL, W), 3);
    assert_string_equal(
        j, "[{\"execution_id\":\"exec_w_9\",\"status\":null,\"result\":null},"
           "{\"execution_id\":\"exec_w_8\",\"status\":null,\"result\":null},"
           "{\"execution_id\":\"exec_w_7\",\"status\":null,\"result\":null}]");
    free(j);
    assert_int_equal(tr_state_history(st, "nobody", 3, &j, NULL, W), 0);
    assert_string_equal(j, "[]");
    free(j);
    /* an explicit cap applies to that push */
    for (int i = 0; i < 4; i++)
        assert_ok(tr_state_list_push(st, "l", "0", 1, 2));
    assert_int_equal(tr_state_list_range_sync(st, "l", 0, 100, &j, NULL, W), 2);
    free(j);
    tr_state_free(st);
    assert_ok(tr_runtime_free(rt, W));
}

static void contract_keys_of_an_execution(void **unused)
{
    (void)unused;
    tr_runtime *rt = rt_new(2);
    tr_state *st = st_new(rt, 0);
    char key[128];
    assert_int_equal(tr_state_key(key, sizeof(key), TR_STATE_KEY_STATUS,
                                  "arb", "exec_arb_1a2b3c4d"),
                     (int)strlen("workflow:arb:execution:exec_arb_1a2b3c4d:status"));
    assert_string_equal(key, "workflow:arb:execution:exec_arb_1a2b3c4d:status");
    assert_int_equal(tr_state_key(key, 8, TR_STATE_KEY_LATEST, "arb", NULL),
                     TR_ETOOBIG);
    tr_state_key(key, sizeof(key), TR_STATE_KEY_EMERGENCY, "main", NULL);
    assert_string_equal(key, "emergency:main");

    assert_ok(tr_state_execution_begin(st, "arb", "exec_arb_1", 0));
    expect_json(st, "workflow:arb:execution:exec_arb_1:status", "\"running\"");
    expect_json(st, "workflow:arb:latest_execution", "\"exec_arb_1\"");
    assert_int_equal(tr_state_exists_sync(
                         st, "workflow:arb:execution:exec_arb_1:result", W),
                     0);
    const char *res = "{\"status\":\"completed\",\"duration_ms\":12.5,"
                      "\"outputs\":{\"spread\":{\"value\":30.0}}}";
    assert_ok(tr_state_execution_end(st, "arb", "exec_arb_1", "completed", res,
                                     strlen(res)));
    assert_ok(tr_state_execution_begin(st, "arb", "exec_arb_2", 0));
    const char *res2 = "{\"status\":\"failed\",\"duration_ms\":1.0,"
                       "\"outputs\":{},\"error\":\"boom\"}";
    assert_ok(tr_state_execution_end(st, "arb", "exec_arb_2", "failed", res2,
                                     strlen(res2)));
    expect_json(st, "workflow:arb:execution:exec_arb_1:status",
                 "\"completed\"");
    expect_json(st, "workflow:arb:execution:exec_arb_1:result", res);
    expect_json(st, "workflow:arb:latest_execution", "\"exec_arb_2\"");
    char *j;
    assert_int_equal(tr_state_history(st, "arb", 10, &j, NULL, W), 2);
    char want[1024];
    snprintf(want, sizeof(want),
             "[{\"execution_id\":\"exec_arb_2\",\"status\":\"failed\","
             "\"result\":%s},{\"execution_id\":\"exec_arb_1\",\"status\":"
             "\"completed\",\"result\":%s}]",
             res2, res);
    assert_string_equal(j, want);
    free(j);
    tr_state_free(st);
    assert_ok(tr_runtime_free(rt, W));
}

/* ------------------------------------------------------------------------ */

enum { NT = 4, PER = 2000 };

typedef struct th_arg {
    tr_state *st;
    int t;
    int bad;
} th_arg;

static void *writer(void *arg)
{
    th_arg *a = arg;
    char k[48], v[32];
    for (int i = 0; i < PER; i++) {
        snprintf(k, sizeof(k), "t%d:k%d", a->t, i);
        int n = snprintf(v, sizeof(v), "%d", i);
        if (tr_state_set(a->st, k, v, (size_t)n) != 0)
            a->bad++;
        if (tr_state_list_push(a->st, "all", v, (size_t)n, 0) != 0)
            a->bad++;
    }
    for (int i = 0; i < PER; i += 97) {
        snprintf(k, sizeof(k), "t%d:k%d", a->t, i);
        char *got = NULL;
        if (tr_state_get_sync(a->st, k, &got, NULL, W) != 0 ||
            atoi(got) != i)
            a->bad++;
        free(got);
    }
    return NULL;
}

static void concurrent_clients(void **unused)
{
    (void)unused;
    tr_runtime *rt = rt_new(2);
    tr_state *st = st_new(rt, 0);
    pthread_t th[NT];
    th_arg a[NT];
    for (int t = 0; t < NT; t++) {
        a[t] = (th_arg){st, t, 0};
        pthread_create(&th[t], NULL, writer, &a[t]);
    }
    for (int t = 0; t < NT; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(a[t].bad, 0);
    }
    assert_ok(tr_state_sync(st, W));
    char *j;
    assert_int_equal(tr_state_list_range_sync(st, "all", 0, 0, &j, NULL, W),
                     NT * PER);
    free(j);
    assert_int_equal(tr_state_exists_sync(st, "t3:k1999", W), 1);
    tr_state_free(st);
    assert_ok(tr_runtime_free(rt, W));
}

/* An actor reads through tr_ask and reports the reply. */
typedef struct asker {
    tr_state *st;
    latch *l;
    char got[64];
    int status;
} asker;

static asker g_ask;

static int ask_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)state;
    if (m->type == 1) {
        tr_payload *p;
        tr_state_req r = {.key = "cfg"};
        assert_ok(tr_state_req_encode(TR_STATE_MSG_GET, &r, &p));
        uint64_t id;
        int rc = tr_ask(ctx, tr_state_ref(g_ask.st), TR_STATE_MSG_GET, p, W, &id);
        tr_payload_unref(p);
        return rc;
    }
    if (m->type == TR_STATE_MSG_REPLY) {
        const char *j;
        size_t len;
        g_ask.status = m->status;
        if (tr_state_reply_json(m, &j, &len) == 0 && len < sizeof(g_ask.got))
            memcpy(g_ask.got, j, len);
        latch_add(g_ask.l, 1);
    } else if (m->type == TR_MSG_TIMEOUT) {
        g_ask.status = TR_ETIMEDOUT;
        latch_add(g_ask.l, 1);
    }
    return 0;
}

static void actor_asks_with_tr_ask(void **unused)
{
    (void)unused;
    tr_runtime *rt = rt_new(2);
    latch l;
    latch_init(&l);
    g_ask = (asker){.st = st_new(rt, 0), .l = &l, .status = 99};
    assert_ok(tr_state_set(g_ask.st, "cfg", "{\"x\":true}", 10));
    static const tr_actor_ops ops = {.receive = ask_receive, .name = "asker"};
    tr_actor_ref a;
    assert_ok(tr_spawn(rt, &ops, NULL, NULL, &a));
    assert_ok(tr_send(rt, a, 1, NULL));
    assert_int_equal(latch_wait(&l, 1), 1);
    assert_int_equal(g_ask.status, 0);
    assert_string_equal(g_ask.got, "{\"x\":true}");
    /* free the runtime first: the handle must still be freeable */
    assert_ok(tr_runtime_free(rt, W));
    tr_state_free(g_ask.st);
    latch_destroy(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_get_exists_delete),
        cmocka_unit_test(many_keys_survive_table_growth),
        cmocka_unit_test(capped_history_newest_first_with_limit),
        cmocka_unit_test(contract_keys_of_an_execution),
        cmocka_unit_test(concurrent_clients),
        cmocka_unit_test(actor_asks_with_tr_ask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
