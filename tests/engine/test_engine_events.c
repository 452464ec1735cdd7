/*
 * tests/engine/test_engine_events.c -- the events of executions: the exact
 * sequence of the arbitrage example, parallel branches, skipped branches,
 * and refused definitions / unknown workflows.
 */
#include "tests/engine/engine_test.h"

#define TS_RE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"

static int setup(void **state)
{
    *state = fx_new(NULL, 4);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return fx_free(*state) == 0 ? 0 : -1;
}

/* Fields every workflow event carries. */
static void check_common(tr_payload *ev, const char *exec_id, const char *id_re,
                         const char *wf, const char *bot, const char *strategy)
{
    char buf[TR_EXEC_ID_MAX];
    ev_str(ev, "execution_id", buf, sizeof buf);
    assert_string_equal(buf, exec_id);
    if (!fx_re_match(id_re, buf))
        fail_msg("execution_id '%s' does not match %s", buf, id_re);
    assert_true(ev_is(ev, "workflow_id", wf));
    assert_true(ev_is(ev, "bot_id", bot));
    assert_true(ev_is(ev, "strategy_id", strategy));
    ev_str(ev, "timestamp", buf, sizeof buf);
    if (!fx_re_match(TS_RE, buf))
        fail_msg("timestamp '%s' is not ISO-8601 UTC with ms", buf);
    assert_true(ev_int(ev, "seq") > 0);
}

/* ---- 1. the arbitrage example, event by event ---------------------------- */

static const char *const arb_types[] = {
    "execution_started", "node_started",   "node_started", "node_completed",
    "node_completed",    "node_started",   "node_completed", "node_started",
    "node_completed",    "node_started",   "node_completed", "execution_completed",
};
#define ARB_N (sizeof(arb_types) / sizeof(arb_types[0]))

static tr_wf_plan *load_arb(fx *f)
{
    const char *src = getenv("TROUPE_TEST_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/workflows/arb_btc.json", src ? src : TR_TEST_SRC_DIR);
    tr_wf_plan *plan = NULL;
    assert_int_equal(tr_wf_parse_file(tr_engine_registry(f->e), path, &plan, NULL), 0);
    assert_int_equal(tr_engine_add_plan(f->e, plan), 0);
    return plan;
}

/* One execution of the example: its 12 events, checked; first_seq is the
 * seq its first event must carry. */
static size_t check_arb_run(fx *f, const tr_wf_plan *plan, const char *id, int64_t first_seq,
                            int64_t tick)
{
    size_t n;
    tr_payload **evs = fx_events_of(f, id, &n);
    /* The first run trades (spread 50 > 25); later ones follow the random
     * walk: when worth_it is false, `buy` is skipped instead of run. */
    long w = ev_find(evs, n, "node_completed", "worth_it");
    bool trades = w >= 0 && ev_int(evs[w], "outputs.value") == 1;
    if (tick == 1)
        assert_true(trades);
    const char *types[ARB_N];
    size_t nt = 0;
    for (size_t i = 0; i < ARB_N; i++) {
        if (!trades && i == 9)
            types[nt++] = "node_skipped";
        else if (trades || i != 10)
            types[nt++] = arb_types[i];
    }
    if (n != nt) {
        ev_dump(evs, n);
        fail_msg("expected %zu events, got %zu", nt, n);
    }
    for (size_t i = 0; i < n; i++) {
        check_common(evs[i], id, "^exec_arb_btc_001_[0-9a-f]{8}$", "arb_btc_001", "bot_001",
                     "arbitrage_btc");
        if (!ev_is(evs[i], "type", types[i])) {
            ev_dump(evs, n);
            fail_msg("event %zu: expected %s", i, types[i]);
        }
        /* seq: consecutive, in delivery order */
        assert_int_equal(ev_int(evs[i], "seq"), first_seq + (int64_t)i);
        /* timestamps never go backwards within an execution */
        if (i > 0) {
            char a[64], b[64];
            ev_str(evs[i - 1], "timestamp", a, sizeof a);
            ev_str(evs[i], "timestamp", b, sizeof b);
            assert_true(strcmp(a, b) <= 0);
        }
    }
    assert_int_equal(ev_int(evs[0], "node_count"), 5);

    /* Partial order: each node starts once and completes once, after every
     * node it depends on has completed; both providers start before either
     * completes. */
    for (uint32_t k = 0; k < tr_wf_plan_node_count(plan); k++) {
        const tr_wf_node *node = tr_wf_plan_node(plan, k);
        if (!trades && strcmp(node->id, "buy") == 0) {
            assert_int_equal(ev_count(evs, n, "node_skipped", "buy"), 1);
            assert_int_equal(ev_count(evs, n, "node_started", "buy"), 0);
            assert_true(ev_find(evs, n, "node_skipped", "buy") > w);
            continue;
        }
        assert_int_equal(ev_count(evs, n, "node_started", node->id), 1);
        assert_int_equal(ev_count(evs, n, "node_completed", node->id), 1);
        long s = ev_find(evs, n, "node_started", node->id);
        long c = ev_find(evs, n, "node_completed", node->id);
        assert_true(s < c);
        for (uint32_t d = 0; d < node->ndeps; d++) {
            const char *dep = tr_wf_plan_node(plan, node->deps[d])->id;
            assert_true(ev_find(evs, n, "node_completed", dep) < s);
        }
    }
    long sb = ev_find(evs, n, "node_started", "price_binance");
    long sc = ev_find(evs, n, "node_started", "price_coinbase");
    long cb = ev_find(evs, n, "node_completed", "price_binance");
    long cc = ev_find(evs, n, "node_completed", "price_coinbase");
    assert_true(sb < cc && sb < cb && sc < cc && sc < cb);

    /* Node events: names, categories, attempt; completions: duration,
     * status, outputs. */
    for (size_t i = 0; i < n; i++) {
        if (!ev_is(evs[i], "type", "node_started") && !ev_is(evs[i], "type", "node_completed"))
            continue;
        assert_true(ev_has(evs[i], "node_id") && ev_has(evs[i], "node_name") &&
                    ev_has(evs[i], "node_category"));
        assert_int_equal(ev_int(evs[i], "attempt"), 1);
        if (ev_is(evs[i], "type", "node_completed")) {
            assert_true(ev_num(evs[i], "duration_ms") >= 0);
            assert_true(ev_is(evs[i], "status", "success"));
            assert_true(ev_has(evs[i], "outputs"));
        }
    }
    tr_payload *e;
    e = evs[cb];
    assert_true(ev_is(e, "node_name", "Binance Price Feed"));
    assert_true(ev_is(e, "node_category", "providers"));
    assert_true(ev_num(e, "duration_ms") >= 2.0); /* simulate.latency_ms 2 */
    assert_int_equal(ev_int(e, "outputs.tick"), tick);
    if (tick == 1)
        assert_true(ev_num(e, "outputs.price") == 50000.0); /* first tick: start */
    assert_true(ev_num(e, "outputs.volume") >= 500 && ev_num(e, "outputs.volume") < 1500);
    {
        tr_mp_val v;
        assert_int_equal(tr_mp_path(ev_root(e), "outputs.symbol", &v), 0);
        assert_true(tr_mp_str_eq(v, "BTC/USDT"));
    }
    e = evs[cc];
    assert_true(ev_is(e, "node_name", "price_coinbase")); /* name defaults to id */
    if (tick == 1)
        assert_true(ev_num(e, "outputs.price") == 50050.0);
    double spread = ev_num(evs[cc], "outputs.price") - ev_num(evs[cb], "outputs.price");
    e = evs[ev_find(evs, n, "node_completed", "spread")];
    assert_true(ev_is(e, "node_category", "indicators"));
    assert_true(ev_num(e, "outputs.value") == spread);
    e = evs[w];
    assert_true(ev_is(e, "node_category", "conditions"));
    assert_int_equal(ev_int(e, "outputs.value"), spread > 25 ? 1 : 0);
    if (tick == 1) {
        e = evs[ev_find(evs, n, "node_completed", "buy")];
        assert_true(ev_is(e, "node_category", "trading"));
        assert_true(ev_num(e, "outputs.filled_quantity") == 0.01);
        assert_true(ev_num(e, "outputs.fill_price") == 50000.0);
        assert_true(ev_num(e, "outputs.position") == 0.01);
    }
    e = evs[n - 1];
    assert_true(ev_is(e, "status", "completed"));
    assert_true(ev_num(e, "duration_ms") >= 2.0);
    assert_false(ev_has(e, "error"));
    free(evs);
    return n;
}

static void test_arb_sequence(void **state)
{
    fx *f = *state;
    tr_wf_plan *plan = load_arb(f);
    char id1[TR_EXEC_ID_MAX], id2[TR_EXEC_ID_MAX];
    fx_done d = fx_run(f, "arb_btc_001", id1);
    assert_int_equal(d.status, TR_EXEC_COMPLETED);
    assert_true(d.duration_ms >= 2.0);
    size_t n1 = check_arb_run(f, plan, id1, 1, 1);
    /* A second execution continues the workflow's seq and its feeds' walk. */
    d = fx_run(f, "arb_btc_001", id2);
    assert_int_equal(d.status, TR_EXEC_COMPLETED);
    assert_string_not_equal(id1, id2);
    size_t n2 = check_arb_run(f, plan, id2, 1 + (int64_t)n1, 2);
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->nev, n1 + n2); /* nothing else was published */
    pthread_mutex_unlock(&f->mu);
    tr_engine_stats st;
    tr_engine_stats_get(f->e, &st);
    assert_int_equal(st.started, 2);
    assert_int_equal(st.completed, 2);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.running, 0);
    tr_wf_plan_free(plan);
}

/* ---- 2. parallel branches ------------------------------------------------ */

static void test_parallel_branches(void **state)
{
    fx *f = *state;
    fx_add(f, "{\"id\":\"par\",\"nodes\":["
              "{\"id\":\"a\",\"type\":\"price_feed\",\"config\":{\"symbol\":\"A\",\"start\":100,"
              "\"volatility\":0,\"simulate\":{\"latency_ms\":50}}},"
              "{\"id\":\"b\",\"type\":\"price_feed\",\"config\":{\"symbol\":\"B\",\"start\":200,"
              "\"volatility\":0,\"simulate\":{\"latency_ms\":50}}},"
              "{\"id\":\"sum\",\"type\":\"math\",\"config\":{\"expr\":\"a.price + b.price\"}}]}");
    char id[TR_EXEC_ID_MAX];
    fx_done d = fx_run(f, "par", id);
    assert_int_equal(d.status, TR_EXEC_COMPLETED);
    size_t n;
    tr_payload **evs = fx_events_of(f, id, &n);
    assert_int_equal(n, 8);
    /* No bot or strategy: those fields are present and null. */
    tr_mp_val v;
    assert_int_equal(tr_mp_map_get(ev_root(evs[0]), "bot_id", &v), 0);
    assert_true(tr_mp_is_nil(v));
    long sa = ev_find(evs, n, "node_started", "a");
    long sb = ev_find(evs, n, "node_started", "b");
    long first_done = ev_find(evs, n, "node_completed", NULL);
    assert_true(sa >= 0 && sb >= 0 && first_done >= 0);
    assert_true(sa < first_done && sb < first_done);
    /* Lower bounds only: each provider waited its latency. */
    assert_true(ev_num(evs[ev_find(evs, n, "node_completed", "a")], "duration_ms") >= 50.0);
    assert_true(ev_num(evs[ev_find(evs, n, "node_completed", "b")], "duration_ms") >= 50.0);
    long cs = ev_find(evs, n, "node_completed", "sum");
    assert_true(cs > ev_find(evs, n, "node_completed", "a"));
    assert_true(cs > ev_find(evs, n, "node_completed", "b"));
    assert_true(ev_num(evs[cs], "outputs.value") == 300.0);
    assert_true(ev_is(evs[n - 1], "type", "execution_completed"));
    assert_true(ev_num(evs[n - 1], "duration_ms") >= 50.0);
    assert_true(d.duration_ms >= 50.0);
    free(evs);
}

/* ---- 6. a false condition skips its dependants, transitively -------------- */

static void test_skipped_branch(void **state)
{
    fx *f = *state;
    fx_add(f, "{\"id\":\"skip\",\"bot_id\":\"b1\",\"strategy_id\":\"s1\",\"nodes\":["
              "{\"id\":\"x\",\"type\":\"constant\",\"value\":1},"
              "{\"id\":\"gate\",\"type\":\"condition\",\"config\":{\"expr\":\"x > 5\"}},"
              "{\"id\":\"after\",\"type\":\"log\",\"depends_on\":[\"gate\"],"
              "\"config\":{\"message\":\"passed {x}\"}},"
              "{\"id\":\"after2\",\"type\":\"math\",\"depends_on\":[\"after\"],"
              "\"config\":{\"expr\":\"x + 1\"}},"
              "{\"id\":\"join\",\"type\":\"math\",\"config\":{\"expr\":\"x + gate\"}},"
              "{\"id\":\"indep\",\"type\":\"math\",\"config\":{\"expr\":\"x * 2\"}}]}");
    char id[TR_EXEC_ID_MAX];
    fx_done d = fx_run(f, "skip", id);
    assert_int_equal(d.status, TR_EXEC_COMPLETED);
    size_t n;
    tr_payload **evs = fx_events_of(f, id, &n);
    for (size_t i = 0; i < n; i++)
        check_common(evs[i], id, "^exec_skip_[0-9a-f]{8}$", "skip", "b1", "s1");
    long g = ev_find(evs, n, "node_completed", "gate");
    assert_true(g >= 0);
    assert_int_equal(ev_int(evs[g], "outputs.value"), 0);
    tr_mp_val v;
    bool passed = true;
    assert_int_equal(tr_mp_path(ev_root(evs[g]), "outputs.passed", &v), 0);
    assert_int_equal(tr_mp_get_bool(v, &passed), 0);
    assert_false(passed);
    static const char *const skipped[] = {"after", "after2", "join"};
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(ev_count(evs, n, "node_skipped", skipped[k]), 1);
        assert_int_equal(ev_count(evs, n, "node_started", skipped[k]), 0);
        assert_int_equal(ev_count(evs, n, "node_completed", skipped[k]), 0);
        long s = ev_find(evs, n, "node_skipped", skipped[k]);
        assert_true(s > g);
        assert_true(ev_has(evs[s], "node_name") && ev_has(evs[s], "node_category"));
    }
    assert_int_equal(ev_count(evs, n, "node_skipped", NULL), 3);
    assert_int_equal(ev_count(evs, n, "node_completed", "indep"), 1);
    assert_int_equal(ev_count(evs, n, "node_completed", NULL), 3); /* x, gate, indep */
    assert_int_equal(ev_count(evs, n, "execution_completed", NULL), 1);
    assert_true(ev_is(evs[n - 1], "type", "execution_completed"));
    assert_int_equal(n, 1 + 3 + 3 + 3 + 1);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ev_int(evs[i], "seq"), (int64_t)i + 1);
    free(evs);

    /* The result holds the outputs of completed nodes only. */
    char key[256];
    tr_buf b;
    tr_buf_init(&b);
    state_key(key, sizeof key, TR_STATE_KEY_RESULT, "skip", id);
    tr_mp_val res = state_get(f, key, &b, NULL);
    assert_int_equal(tr_mp_path(res, "outputs.indep.value", &v), 0);
    assert_int_equal(tr_mp_path(res, "outputs.gate.value", &v), 0);
    assert_int_equal(tr_mp_path(res, "outputs.after", &v), TR_ENOENT);
    assert_int_equal(tr_mp_path(res, "outputs.join", &v), TR_ENOENT);
    tr_buf_fini(&b);
}

/* ---- 9. refused definitions, unknown workflows --------------------------- */

static void expect_invalid(fx *f, const char *json, const char *needle)
{
    tr_wf_problems *p = NULL;
    assert_int_equal(tr_wf_problems_new(&p), 0);
    tr_wf_plan *plan = NULL;
    assert_int_equal(tr_wf_parse_json(tr_engine_registry(f->e), json, strlen(json), "bad.json",
                                      &plan, p),
                     TR_EINVAL);
    assert_null(plan);
    assert_true(tr_wf_problems_count(p) >= 1);
    bool found = false;
    for (size_t i = 0; i < tr_wf_problems_count(p); i++) {
        char line[512];
        tr_wf_problem_format(tr_wf_problems_at(p, i), line, sizeof line);
        if (strstr(line, needle) != NULL)
            found = true;
        else
            print_message("problem: %s\n", line);
    }
    tr_wf_problems_free(p);
    if (!found)
        fail_msg("no problem mentions \"%s\"", needle);
}

static void test_validation_and_unknown(void **state)
{
    fx *f = *state;
    expect_invalid(f,
                   "{\"id\":\"v\",\"nodes\":[{\"id\":\"a\",\"type\":\"warp_drive\"}]}",
                   "bad.json: node 'a': type:");
    expect_invalid(f,
                   "{\"id\":\"v\",\"nodes\":["
                   "{\"id\":\"a\",\"type\":\"math\",\"config\":{\"expr\":\"b + 1\"}},"
                   "{\"id\":\"b\",\"type\":\"math\",\"config\":{\"expr\":\"a + 1\"}}]}",
                   "dependency cycle");
    expect_invalid(f,
                   "{\"id\":\"v\",\"nodes\":[{\"id\":\"t\",\"type\":\"trade\",\"config\":"
                   "{\"side\":\"buy\",\"symbol\":\"X\",\"quantitiy\":1}}]}",
                   "node 't': config.quantitiy: unknown field");
    expect_invalid(f,
                   "{\"id\":\"v\",\"nodes\":[{\"id\":\"p\",\"type\":\"price_feed\",\"timeout\":0,"
                   "\"config\":{\"symbol\":\"X\",\"start\":1}}]}",
                   "node 'p': timeout:");

    char id[TR_EXEC_ID_MAX] = "untouched";
    assert_int_equal(tr_engine_execute(f->e, "no_such_wf", fx_on_done, f, id), TR_ENOENT);
    assert_string_equal(id, "untouched");
    tr_breaker_stats bs;
    assert_int_equal(tr_engine_breaker_stats(f->e, "no_such_wf", "x", &bs), TR_ENOENT);
    assert_int_equal(tr_engine_breaker_control(f->e, "no_such_wf", "x", "reset"), TR_ENOENT);
    tr_paper_book book;
    assert_int_equal(tr_engine_book(f->e, "no_such_bot", &book), TR_ENOENT);
    assert_int_equal(tr_bus_sync(tr_engine_bus(f->e), FX_WAIT_MS), 0);
    tr_engine_stats st;
    tr_engine_stats_get(f->e, &st);
    assert_int_equal(st.started, 0);
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->nev, 0);
    assert_int_equal(f->ndone, 0);
    pthread_mutex_unlock(&f->mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_arb_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_branches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skipped_branch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_and_unknown, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
