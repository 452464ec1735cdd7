/*
 * tests/engine/test_engine_load.c -- 1,000 concurrent executions: each ends
 * exactly once, the counters agree, every event is accounted for (one
 * execution_started and one terminal event per execution, per-workflow seq
 * consecutive in delivery order) and every execution's state is terminal.
 */
#include "tests/engine/engine_test.h"

#define NWF 10
#define PER_WF 100
#define TOTAL (NWF * PER_WF)

static void tweak(tr_config *c)
{
    c->resilience.retry_max_attempts = 2;
    c->resilience.retry_min_wait_seconds = 0.001;
    c->resilience.retry_max_wait_seconds = 0.002;
    c->resilience.circuit_failure_threshold = 100000;
}

static int setup(void **state)
{
    /* History large enough that no execution falls off it (an evicted
     * execution's keys are deleted by design). */
    *state = fx_new_cap(tweak, 4, 1000);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return fx_free(*state) == 0 ? 0 : -1;
}

/* Workflow k: the arbitrage shape with 1 ms of latency on one provider;
 * the last two fail about half their executions (failure_rate 0.5 on a
 * provider, ValueError: not retried). */
static void add_workflows(fx *f, int nwf)
{
    for (int k = 0; k < nwf; k++) {
        char json[2048];
        bool flaky = k >= nwf - 2;
        snprintf(json, sizeof json,
                 "{\"id\":\"load_%d\",\"bot_id\":\"bot_%d\",\"strategy_id\":\"s\",\"nodes\":["
                 "{\"id\":\"p1\",\"type\":\"price_feed\",\"config\":{\"symbol\":\"BTC/USDT\","
                 "\"start\":50000,\"simulate\":{\"latency_ms\":1}}},"
                 "{\"id\":\"p2\",\"type\":\"price_feed\",\"config\":{\"symbol\":\"BTC/USD\","
                 "\"start\":50050,\"seed\":%d%s}},"
                 "{\"id\":\"spread\",\"type\":\"math\",\"config\":{\"expr\":\"p2.price - p1.price\"}},"
                 "{\"id\":\"ok\",\"type\":\"condition\",\"config\":{\"expr\":\"spread.value > 25\"}},"
                 "{\"id\":\"buy\",\"type\":\"trade\",\"depends_on\":[\"ok\"],"
                 "\"config\":{\"side\":\"buy\",\"symbol\":\"BTC/USDT\",\"quantity\":0.01}}]}",
                 k, k % 3, k + 1,
                 flaky ? ",\"simulate\":{\"failure_rate\":0.5,\"error_type\":\"ValueError\"}" : "");
        fx_add(f, json);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

typedef struct acct {
    uint32_t started, terminal, after_terminal, first_not_started;
    uint32_t n;
    bool completed; /* terminal event type */
} acct;

/* Check everything about `total` executions whose ids are ids[0..total)
 * (TR_EXEC_ID_MAX each) of workflows load_0..load_{nwf-1}. */
static void check_all(fx *f, char (*ids)[TR_EXEC_ID_MAX], size_t total, int nwf)
{
    /* Every execution ended, exactly once (wait a little longer for any
     * second call). */
    fx_wait_done(f, total);
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(tr_bus_sync(tr_engine_bus(f->e), FX_WAIT_MS), 0);

    qsort(ids, total, TR_EXEC_ID_MAX, cmp_str);
    for (size_t i = 1; i < total; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("two executions got the same id %s", ids[i]);
    static acct a[TOTAL];
    static uint8_t done_status[TOTAL];
    assert_true(total <= TOTAL);
    memset(a, 0, sizeof a);
    memset(done_status, 0, sizeof done_status);

    pthread_mutex_lock(&f->mu);
    size_t ndone = f->ndone;
    uint64_t alloc_fail = f->alloc_fail;
    fx_done *done = malloc((ndone + 1) * sizeof(*done));
    if (done != NULL)
        memcpy(done, f->done, ndone * sizeof(*done));
    pthread_mutex_unlock(&f->mu);
    assert_non_null(done);
    size_t nev;
    tr_payload **evs = fx_events_all(f, &nev);

    uint32_t done_count[TOTAL] = {0};
    size_t ncompleted = 0;
    for (size_t i = 0; i < ndone; i++) {
        char(*p)[TR_EXEC_ID_MAX] = bsearch(done[i].id, ids, total, TR_EXEC_ID_MAX, cmp_str);
        if (p == NULL)
            fail_msg("done called for unknown execution %s", done[i].id);
        size_t k = (size_t)(p - ids);
        done_count[k]++;
        done_status[k] = (uint8_t)done[i].status;
        ncompleted += done[i].status == TR_EXEC_COMPLETED;
    }
    free(done);
    /* Events, in delivery order: per workflow seq = 1, 2, 3, ... */
    int64_t last_seq[NWF] = {0};
    for (size_t i = 0; i < nev; i++) {
        tr_payload *e = evs[i];
        char xid[TR_EXEC_ID_MAX], wf[64];
        ev_str(e, "execution_id", xid, sizeof xid);
        ev_str(e, "workflow_id", wf, sizeof wf);
        int w = -1;
        if (sscanf(wf, "load_%d", &w) != 1 || w < 0 || w >= nwf)
            fail_msg("event of unexpected workflow %s", wf);
        int64_t seq = ev_int(e, "seq");
        if (seq != last_seq[w] + 1)
            fail_msg("%s: seq %lld after %lld (gap or duplicate)", wf, (long long)seq,
                     (long long)last_seq[w]);
        last_seq[w] = seq;
        char(*p)[TR_EXEC_ID_MAX] = bsearch(xid, ids, total, TR_EXEC_ID_MAX, cmp_str);
        if (p == NULL)
            fail_msg("event of unknown execution %s", xid);
        acct *x = &a[p - ids];
        bool started = ev_is(e, "type", "execution_started");
        bool completed = ev_is(e, "type", "execution_completed");
        bool failed = ev_is(e, "type", "execution_failed");
        if (x->n == 0 && !started)
            x->first_not_started++;
        if (x->terminal > 0)
            x->after_terminal++;
        x->n++;
        x->started += started;
        if (completed || failed) {
            x->terminal++;
            x->completed = completed;
        }
    }
    free(evs);

    assert_int_equal(alloc_fail, 0);
    assert_int_equal(ndone, total);
    size_t per_wf_events[NWF] = {0};
    for (size_t k = 0; k < total; k++) {
        if (done_count[k] != 1)
            fail_msg("%s: done called %u times", ids[k], done_count[k]);
        if (a[k].started != 1 || a[k].terminal != 1 || a[k].after_terminal != 0 ||
            a[k].first_not_started != 0)
            fail_msg("%s: %u execution_started, %u terminal, %u events after the terminal, "
                     "first event %s",
                     ids[k], a[k].started, a[k].terminal, a[k].after_terminal,
                     a[k].first_not_started ? "not execution_started" : "ok");
        assert_int_equal(a[k].completed, done_status[k] == TR_EXEC_COMPLETED);
        int w;
        assert_int_equal(sscanf(ids[k], "exec_load_%d_", &w), 1);
        per_wf_events[w] += a[k].n;
    }
    for (int w = 0; w < nwf; w++)
        assert_int_equal(last_seq[w], (int64_t)per_wf_events[w]);

    tr_engine_stats st;
    tr_engine_stats_get(f->e, &st);
    assert_int_equal(st.started, total);
    assert_int_equal(st.started, st.completed + st.failed);
    assert_int_equal(st.completed, ncompleted);
    assert_int_equal(st.halted, 0);
    assert_int_equal(st.running, 0);
    print_message("%zu executions: %llu completed, %llu failed, %zu events\n", total,
                  (unsigned long long)st.completed, (unsigned long long)st.failed, nev);

    /* Every execution's status key is terminal and agrees with done. */
    for (size_t k = 0; k < total; k++) {
        char key[256], wf[64], *json = NULL;
        int w;
        assert_int_equal(sscanf(ids[k], "exec_load_%d_", &w), 1);
        snprintf(wf, sizeof wf, "load_%d", w);
        state_key(key, sizeof key, TR_STATE_KEY_STATUS, wf, ids[k]);
        int rc = tr_state_get_sync(tr_engine_state(f->e), key, &json, NULL, FX_WAIT_MS);
        if (rc != 0)
            fail_msg("%s: %s", key, tr_err_name(rc));
        assert_string_equal(json, done_status[k] == TR_EXEC_COMPLETED ? "\"completed\""
                                                                      : "\"failed\"");
        free(json);
    }
}

/* ---- 10. 1,000 executions from the test thread, none awaited ---------------- */

static void test_thousand_concurrent(void **state)
{
    fx *f = *state;
    add_workflows(f, NWF);
    static char ids[TOTAL][TR_EXEC_ID_MAX];
    for (size_t i = 0; i < TOTAL; i++) {
        char wf[32];
        snprintf(wf, sizeof wf, "load_%zu", i % NWF);
        fx_exec(f, wf, ids[i]);
    }
    check_all(f, ids, TOTAL, NWF);
    /* The history of each workflow holds its (capped) executions, newest
     * first, all terminal. */
    for (int w = 0; w < NWF; w++) {
        char wf[32], *json = NULL;
        size_t len;
        snprintf(wf, sizeof wf, "load_%d", w);
        int n = tr_state_history(tr_engine_state(f->e), wf, 0, &json, &len, FX_WAIT_MS);
        assert_int_equal(n, PER_WF);
        assert_null(strstr(json, "\"running\""));
        free(json);
    }
}

/* ---- the same from four threads at once, one workflow ------------------------ */

typedef struct starter {
    fx *f;
    char (*ids)[TR_EXEC_ID_MAX];
    size_t n;
    int rc;
} starter;

static void *start_many(void *arg)
{
    starter *s = arg;
    for (size_t i = 0; i < s->n && s->rc == 0; i++)
        s->rc = tr_engine_execute(s->f->e, "load_0", fx_on_done, s->f, s->ids[i]);
    return NULL;
}

static void test_concurrent_starters(void **state)
{
    fx *f = *state;
    add_workflows(f, 1);
    static char ids[4 * 100][TR_EXEC_ID_MAX]; /* 400 executions of one workflow */
    pthread_t th[4];
    starter s[4];
    for (int t = 0; t < 4; t++) {
        s[t] = (starter){.f = f, .ids = ids + t * 100, .n = 100};
        assert_int_equal(pthread_create(&th[t], NULL, start_many, &s[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(s[t].rc, 0);
    }
    check_all(f, ids, 400, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_thousand_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_starters, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
