/*
 * tests/engine/test_engine_resilience.c -- node timeouts, retries with
 * backoff, and the circuit breaker, through real executions.
 */
#include "tests/engine/engine_test.h"

/* ---- fixtures -------------------------------------------------------------- */

/* Retries: 2 attempts by default, tiny waits, no jitter (exact retry_in_ms);
 * a breaker threshold that these tests never reach. */
static void tweak_fast(tr_config *c)
{
    c->resilience.retry_max_attempts = 2;
    c->resilience.retry_min_wait_seconds = 0.001;
    c->resilience.retry_max_wait_seconds = 0.004;
    c->resilience.retry_exponential_base = 2;
    c->resilience.retry_jitter = false;
    c->resilience.circuit_failure_threshold = 1000;
}

/* Breakers: open after 3 consecutive failures, half-open after 0.3 s; no
 * retries. */
#define BRK_TIMEOUT_MS 300
static void tweak_breaker(tr_config *c)
{
    c->resilience.retry_max_attempts = 1;
    c->resilience.retry_jitter = false;
    c->resilience.circuit_failure_threshold = 3;
    c->resilience.circuit_timeout_seconds = BRK_TIMEOUT_MS / 1000.0;
}

/* The default node timeout from the configuration (no `timeout` in the
 * definition). */
static void tweak_node_timeout(tr_config *c)
{
    tweak_fast(c);
    c->resilience.retry_max_attempts = 1;
    c->resilience.node_timeout_seconds = 0.05;
}

static int setup_fast(void **state)
{
    *state = fx_new(tweak_fast, 4);
    return *state ? 0 : -1;
}

static int setup_breaker(void **state)
{
    *state = fx_new(tweak_breaker, 4);
    return *state ? 0 : -1;
}

static int setup_node_timeout(void **state)
{
    *state = fx_new(tweak_node_timeout, 4);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return fx_free(*state) == 0 ? 0 : -1;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void check_status(fx *f, const char *wf, const char *id, const char *want)
{
    char key[256], *json = NULL, expect[32];
    state_key(key, sizeof key, TR_STATE_KEY_STATUS, wf, id);
    assert_int_equal(tr_state_get_sync(tr_engine_state(f->e), key, &json, NULL, FX_WAIT_MS), 0);
    snprintf(expect, sizeof expect, "\"%s\"", want);
    assert_string_equal(json, expect);
    free(json);
}

/* ---- 3. timeouts ----------------------------------------------------------- */

static void test_timeout_hang(void **state)
{
    fx *f = *state;
    fx_add(f, "{\"id\":\"hang\",\"nodes\":["
              "{\"id\":\"feed\",\"type\":\"price_feed\",\"timeout\":0.05,\"retry\":{\"max_attempts\":1},"
              "\"config\":{\"symbol\":\"X\",\"start\":10,\"simulate\":{\"hang\":true}}},"
              "{\"id\":\"slow\",\"type\":\"price_feed\",\"config\":{\"symbol\":\"Y\",\"start\":10,"
              "\"simulate\":{\"latency_ms\":150}}},"
              "{\"id\":\"twice\",\"type\":\"math\",\"config\":{\"expr\":\"feed.price * 2\"}}]}");
    char id[TR_EXEC_ID_MAX];
    fx_done d = fx_run(f, "hang", id);
    assert_int_equal(d.status, TR_EXEC_FAILED);
    assert_true(d.duration_ms >= 50.0);
    /* `slow` is still waiting on its latency timer: once it is due, nothing
     * more may be published for this execution. */
    sleep_ms(250);
    assert_int_equal(tr_bus_sync(tr_engine_bus(f->e), FX_WAIT_MS), 0);
    size_t n;
    tr_payload **evs = fx_events_of(f, id, &n);
    if (n != 5) {
        ev_dump(evs, n);
        fail_msg("expected 5 events, got %zu", n);
    }
    assert_true(ev_is(evs[0], "type", "execution_started"));
    assert_int_equal(ev_count(evs, n, "node_started", NULL), 2);
    assert_int_equal(ev_count(evs, n, "node_retrying", NULL), 0);
    assert_int_equal(ev_count(evs, n, "node_started", "twice"), 0);
    long nf = ev_find(evs, n, "node_failed", "feed");
    assert_true(nf > ev_find(evs, n, "node_started", "feed"));
    assert_true(ev_is(evs[nf], "error_type", "TimeoutError"));
    assert_int_equal(ev_int(evs[nf], "attempt"), 1);
    assert_true(ev_num(evs[nf], "duration_ms") >= 50.0);
    char err[TR_NODE_ERROR_MAX];
    ev_str(evs[nf], "error", err, sizeof err);
    assert_non_null(strstr(err, "timed out"));
    tr_payload *t = evs[n - 1];
    assert_true(ev_is(t, "type", "execution_failed"));
    assert_true(ev_is(t, "status", "failed"));
    assert_true(ev_is(t, "error_type", "TimeoutError"));
    assert_true(ev_is(t, "node_id", "feed"));
    assert_true(ev_num(t, "duration_ms") >= 50.0);
    free(evs);

    check_status(f, "hang", id, "failed");
    char key[256];
    tr_buf b;
    tr_buf_init(&b);
    state_key(key, sizeof key, TR_STATE_KEY_RESULT, "hang", id);
    tr_mp_val res = state_get(f, key, &b, NULL), v;
    assert_int_equal(tr_mp_map_get(res, "status", &v), 0);
    assert_true(tr_mp_str_eq(v, "failed"));
    assert_int_equal(tr_mp_map_get(res, "error_type", &v), 0);
    assert_true(tr_mp_str_eq(v, "TimeoutError"));
    assert_int_equal(tr_mp_path(res, "outputs.feed", &v), TR_ENOENT);
    tr_buf_fini(&b);
    tr_engine_stats st;
    tr_engine_stats_get(f->e, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.running, 0);
}

/* TimeoutError is retryable: a hang retried once fails at attempt 2, and a
 * result due after the timeout loses to it. */
static void test_timeout_retried(void **state)
{
    fx *f = *state;
    fx_add(f, "{\"id\":\"hang2\",\"nodes\":["
              "{\"id\":\"feed\",\"type\":\"price_feed\",\"timeout\":0.03,"
              "\"retry\":{\"max_attempts\":2,\"min_wait_seconds\":0.001,\"max_wait_seconds\":0.001},"
              "\"config\":{\"symbol\":\"X\",\"start\":10,\"simulate\":{\"hang\":true}}}]}");
    fx_add(f, "{\"id\":\"late\",\"nodes\":["
              "{\"id\":\"feed\",\"type\":\"price_feed\",\"timeout\":0.02,\"retry\":{\"max_attempts\":1},"
              "\"config\":{\"symbol\":\"X\",\"start\":10,\"simulate\":{\"latency_ms\":200}}}]}");
    char id[TR_EXEC_ID_MAX];
    fx_done d = fx_run(f, "hang2", id);
    assert_int_equal(d.status, TR_EXEC_FAILED);
    assert_true(d.duration_ms >= 60.0);
    size_t n;
    tr_payload **evs = fx_events_of(f, id, &n);
    static const char *const want[] = {"execution_started", "node_started", "node_retrying",
                                       "node_started", "node_failed", "execution_failed"};
    if (n != 6) {
        ev_dump(evs, n);
        fail_msg("expected 6 events, got %zu", n);
    }
    for (size_t i = 0; i < n; i++)
        assert_true(ev_is(evs[i], "type", want[i]));
    assert_true(ev_is(evs[2], "error_type", "TimeoutError"));
    assert_int_equal(ev_int(evs[2], "attempt"), 1);
    assert_true(ev_int(evs[2], "retry_in_ms") <= 1);
    assert_int_equal(ev_int(evs[3], "attempt"), 2);
    assert_int_equal(ev_int(evs[4], "attempt"), 2);
    assert_true(ev_is(evs[4], "error_type", "TimeoutError"));
    assert_true(ev_is(evs[5], "error_type", "TimeoutError"));
    free(evs);

    d = fx_run(f, "late", id);
    assert_int_equal(d.status, TR_EXEC_FAILED);
    evs = fx_events_of(f, id, &n);
    long nf = ev_find(evs, n, "node_failed", "feed");
    assert_true(nf >= 0);
    assert_true(ev_is(evs[nf], "error_type", "TimeoutError"));
    assert_true(ev_num(evs[nf], "duration_ms") >= 20.0);
    assert_int_equal(ev_count(evs, n, "node_completed", NULL), 0);
    free(evs);
    check_status(f, "late", id, "failed");
}

/* resilience.node_timeout_seconds is the timeout of a node whose definition
 * names none (docs/resilience.md).  The feed's result is due after 2 s, so
 * with the configured 0.05 s it must fail with TimeoutError. */
static void test_config_node_timeout(void **state)
{
    fx *f = *state;
    fx_add(f, "{\"id\":\"cfg_to\",\"nodes\":["
              "{\"id\":\"feed\",\"type\":\"price_feed\","
              "\"config\":{\"symbol\":\"X\",\"start\":10,\"simulate\":{\"latency_ms\":2000}}}]}");
    char id[TR_EXEC_ID_MAX];
    fx_done d = fx_run(f, "cfg_to", id);
    size_t n;
    tr_payload **evs = fx_events_of(f, id, &n);
    long nf = ev_find(evs, n, "node_failed", "feed");
    if (d.status != TR_EXEC_FAILED || nf < 0 || !ev_is(evs[nf], "error_type", "TimeoutError")) {
        ev_dump(evs, n);
        free(evs);
        fail_msg("resilience.node_timeout_seconds = 0.05 was not applied to a node "
                 "without `timeout` (execution %s after %.1f ms)",
                 tr_exec_status_name(d.status), d.duration_ms);
    }
    free(evs);
}

/* ---- 4. retries -------------------------------------------------------------- */

static void test_retry_fail_first(void **state)
{
    fx *f = *state;
    fx_add(f, "{\"id\":\"flaky\",\"nodes\":["
              "{\"id\":\"feed\",\"type\":\"price_feed\","
              "\"retry\":{\"max_attempts\":3,\"min_wait_seconds\":0.01,\"max_wait_seconds\":0.05},"
              "\"config\":{\"symbol\":\"X\",\"start\":10,\"simulate\":{\"fail_first\":2}}},"
              "{\"id\":\"twice\",\"type\":\"math\",\"config\":{\"expr\":\"feed.price * 2\"}}]}");
    char id[TR_EXEC_ID_MAX];
    fx_done d = fx_run(f, "flaky", id);
    assert_int_equal(d.status, TR_EXEC_COMPLETED);
    assert_true(d.duration_ms >= 30.0); /* waited 10 + 20 ms */
    size_t n;
    tr_payload **evs = fx_events_of(f, id, &n);
    static const char *const want[] = {
        "execution_started", "node_started", "node_retrying", "node_started", "node_retrying",
        "node_started",      "node_completed", "node_started", "node_completed",
        "execution_completed"};
    if (n != 10) {
        ev_dump(evs, n);
        fail_msg("expected 10 events, got %zu", n);
    }
    for (size_t i = 0; i < n; i++)
        if (!ev_is(evs[i], "type", want[i])) {
            ev_dump(evs, n);
            fail_msg("event %zu: expected %s", i, want[i]);
        }
    assert_int_equal(ev_count(evs, n, "node_retrying", "feed"), 2);
    /* node_retrying: the attempt that failed, why, and the wait (base 2, no
     * jitter: 10 then 20 ms). */
    assert_int_equal(ev_int(evs[2], "attempt"), 1);
    assert_int_equal(ev_int(evs[4], "attempt"), 2);
    assert_int_equal(ev_int(evs[2], "retry_in_ms"), 10);
    assert_int_equal(ev_int(evs[4], "retry_in_ms"), 20);
    for (int k = 2; k <= 4; k += 2) {
        assert_true(ev_is(evs[k], "error_type", "ConnectionError"));
        assert_true(ev_has(evs[k], "error"));
        assert_true(ev_is(evs[k], "node_id", "feed"));
    }
    assert_int_equal(ev_int(evs[1], "attempt"), 1);
    assert_int_equal(ev_int(evs[3], "attempt"), 2);
    assert_int_equal(ev_int(evs[5], "attempt"), 3);
    assert_true(ev_is(evs[6], "node_id", "feed"));
    assert_int_equal(ev_int(evs[6], "attempt"), 3);
    assert_true(ev_num(evs[6], "outputs.price") == 10.0);
    assert_int_equal(ev_int(evs[6], "outputs.tick"), 1);
    assert_true(ev_num(evs[8], "outputs.value") == 20.0);
    assert_true(ev_num(evs[9], "duration_ms") >= 30.0);
    free(evs);
    check_status(f, "flaky", id, "completed");
}

/* The configured retry_max_attempts (2) applies when the node has no
 * override; a non-retryable error_type is never retried. */
static void test_retry_config_and_non_retryable(void **state)
{
    fx *f = *state;
    fx_add(f, "{\"id\":\"down\",\"nodes\":["
              "{\"id\":\"feed\",\"type\":\"price_feed\","
              "\"config\":{\"symbol\":\"X\",\"start\":10,\"simulate\":{\"fail_first\":5}}}]}");
    fx_add(f, "{\"id\":\"bad\",\"nodes\":["
              "{\"id\":\"feed\",\"type\":\"price_feed\",\"retry\":{\"max_attempts\":3},"
              "\"config\":{\"symbol\":\"X\",\"start\":10,"
              "\"simulate\":{\"fail_first\":1,\"error_type\":\"ValueError\"}}}]}");
    char id[TR_EXEC_ID_MAX];
    fx_done d = fx_run(f, "down", id);
    assert_int_equal(d.status, TR_EXEC_FAILED);
    size_t n;
    tr_payload **evs = fx_events_of(f, id, &n);
    assert_int_equal(ev_count(evs, n, "node_started", "feed"), 2);
    assert_int_equal(ev_count(evs, n, "node_retrying", "feed"), 1);
    long nf = ev_find(evs, n, "node_failed", "feed");
    assert_true(nf >= 0);
    assert_int_equal(ev_int(evs[nf], "attempt"), 2);
    assert_true(ev_is(evs[nf], "error_type", "ConnectionError"));
    assert_true(ev_is(evs[n - 1], "type", "execution_failed"));
    assert_true(ev_is(evs[n - 1], "error_type", "ConnectionError"));
    assert_true(ev_is(evs[n - 1], "node_id", "feed"));
    free(evs);
    check_status(f, "down", id, "failed");

    d = fx_run(f, "bad", id);
    assert_int_equal(d.status, TR_EXEC_FAILED);
    evs = fx_events_of(f, id, &n);
    assert_int_equal(n, 4); /* started, node_started, node_failed, failed */
    assert_int_equal(ev_count(evs, n, "node_retrying", NULL), 0);
    nf = ev_find(evs, n, "node_failed", "feed");
    assert_true(nf >= 0);
    assert_int_equal(ev_int(evs[nf], "attempt"), 1);
    assert_true(ev_is(evs[nf], "error_type", "ValueError"));
    free(evs);
    /* fail_first counts the workflow's calls: the next execution succeeds. */
    d = fx_run(f, "bad", id);
    assert_int_equal(d.status, TR_EXEC_COMPLETED);
}

/* ---- 5. the circuit breaker ----------------------------------------------------- */

/* A host provider that counts its calls and fails while its role's `fail`
 * is set.  Config (open): "role" "a" (default) or "b" picks the counters;
 * "delay_ms" makes the result due later (like simulated latency). */
typedef struct ext_feed {
    uint32_t calls[2];
    uint32_t fail[2];
} ext_feed;

static int ext_run(void *arg, const tr_wf_node *node, const tr_node_inputs *up,
                   tr_node_env *env, tr_node_result *out)
{
    ext_feed *x = arg;
    const char *role = "a";
    double delay = 0;
    tr_wf_node_cfg_string(node, "role", &role);
    tr_wf_node_cfg_number(node, "delay_ms", &delay);
    int r = strcmp(role, "b") == 0;
    __atomic_fetch_add(&x->calls[r], 1, __ATOMIC_SEQ_CST);
    out->delay_ms = delay;
    if (__atomic_load_n(&x->fail[r], __ATOMIC_SEQ_CST)) {
        out->error_type = r ? "ValueError" : "ConnectionError";
        snprintf(out->error, sizeof out->error, "%s unreachable", role);
        return TR_EIO;
    }
    out->noutputs = 1;
    out->outputs[0] = (tr_node_output){.name = "value", .kind = TR_NODE_OUT_NUMBER, .num = 7};
    return 0;
}

static const tr_node_type ext_type = {
    .name = "ext_quote", .default_category = TR_WF_CAT_PROVIDERS, .open_config = true};

static uint32_t ext_calls(ext_feed *x) { return __atomic_load_n(&x->calls[0], __ATOMIC_SEQ_CST); }

static void set_fail(ext_feed *x, bool fail) { __atomic_store_n(&x->fail[0], fail, __ATOMIC_SEQ_CST); }

static tr_breaker_stats brk(fx *f)
{
    tr_breaker_stats s;
    assert_int_equal(tr_engine_breaker_stats(f->e, "brk", "exch", &s), 0);
    return s;
}

/* One execution of "brk"; returns the error_type of its terminal event
 * (NULL when it completed) in buf. */
static const char *run_brk(fx *f, char *buf, size_t cap)
{
    char id[TR_EXEC_ID_MAX];
    fx_done d = fx_run(f, "brk", id);
    size_t n;
    tr_payload **evs = fx_events_of(f, id, &n);
    assert_true(n >= 2);
    const char *r = NULL;
    if (d.status == TR_EXEC_COMPLETED) {
        assert_true(ev_is(evs[n - 1], "type", "execution_completed"));
        assert_int_equal(ev_count(evs, n, "node_completed", "use"), 1);
    } else {
        assert_int_equal(d.status, TR_EXEC_FAILED);
        assert_true(ev_is(evs[n - 1], "type", "execution_failed"));
        long nf = ev_find(evs, n, "node_failed", "quote");
        assert_true(nf >= 0);
        r = ev_str(evs[nf], "error_type", buf, cap);
        assert_true(ev_is(evs[n - 1], "error_type", buf));
        assert_int_equal(ev_count(evs, n, "node_started", "use"), 0);
    }
    free(evs);
    return r;
}

/* Assert that an execution fails fast with CircuitBreakerError without a
 * call, provided the breaker could not have half-opened meanwhile (its
 * retry_at_ms is still ahead after the execution ended). */
static void expect_rejected(fx *f, ext_feed *x, uint64_t retry_at_ms)
{
    char et[64];
    uint32_t before = ext_calls(x);
    uint64_t rej = brk(f).total_rejections;
    const char *r = run_brk(f, et, sizeof et);
    if (retry_at_ms != 0 && wall_ms() >= retry_at_ms) {
        print_message("skipped a fail-fast check: the run outlasted the open period\n");
        return;
    }
    assert_non_null(r);
    assert_string_equal(r, "CircuitBreakerError");
    assert_int_equal(ext_calls(x), before);
    assert_int_equal(brk(f).total_rejections, rej + 1);
}

static void test_circuit_breaker(void **state)
{
    fx *f = *state;
    static ext_feed x;
    memset(&x, 0, sizeof x);
    assert_int_equal(tr_engine_register_node(f->e, &ext_type, ext_run, &x), 0);
    fx_add(f, "{\"id\":\"brk\",\"nodes\":["
              "{\"id\":\"quote\",\"type\":\"ext_quote\",\"config\":{\"service\":\"exch\"}},"
              "{\"id\":\"use\",\"type\":\"math\",\"config\":{\"expr\":\"quote.value + 1\"}}]}");
    char et[64];
    tr_breaker_stats s = brk(f);
    assert_int_equal(s.state, TR_BREAKER_CLOSED);
    assert_int_equal(s.failure_threshold, 3);
    assert_int_equal(s.failure_count, 0);
    /* The breaker is the service's, not the node id's. */
    assert_int_equal(tr_engine_breaker_stats(f->e, "brk", "quote", &s), TR_ENOENT);
    assert_null(run_brk(f, et, sizeof et));
    assert_int_equal(ext_calls(&x), 1);

    /* Three consecutive failures (no retries) open it. */
    set_fail(&x, true);
    for (uint32_t k = 1; k <= 3; k++) {
        const char *r = run_brk(f, et, sizeof et);
        assert_non_null(r);
        assert_string_equal(r, "ConnectionError");
        assert_int_equal(ext_calls(&x), 1 + k);
        s = brk(f);
        assert_int_equal(s.failure_count, k);
        assert_int_equal(s.state, k < 3 ? TR_BREAKER_CLOSED : TR_BREAKER_OPEN);
    }
    s = brk(f);
    assert_int_equal(s.times_opened, 1);
    assert_int_equal(s.total_failures, 3);
    assert_int_equal(s.total_successes, 1);
    assert_true(s.retry_at_ms >= s.opened_at_ms + BRK_TIMEOUT_MS);
    uint64_t retry_at = s.retry_at_ms;
    /* Open: the next execution fails fast, the provider is not called. */
    expect_rejected(f, &x, retry_at);

    /* After the timeout it half-opens; the provider now succeeds: closed. */
    set_fail(&x, false);
    while (wall_ms() < retry_at + 10)
        sleep_ms(10);
    uint32_t calls = ext_calls(&x);
    assert_null(run_brk(f, et, sizeof et));
    assert_int_equal(ext_calls(&x), calls + 1);
    s = brk(f);
    assert_int_equal(s.state, TR_BREAKER_CLOSED);
    assert_int_equal(s.failure_count, 0);
    assert_int_equal(s.total_successes, 2);

    /* A failed trial in half-open re-opens it at once. */
    set_fail(&x, true);
    for (int k = 0; k < 3; k++)
        assert_non_null(run_brk(f, et, sizeof et));
    s = brk(f);
    assert_int_equal(s.state, TR_BREAKER_OPEN);
    assert_int_equal(s.times_opened, 2);
    while (wall_ms() < s.retry_at_ms + 10)
        sleep_ms(10);
    calls = ext_calls(&x);
    const char *r = run_brk(f, et, sizeof et);
    assert_non_null(r);
    assert_string_equal(r, "ConnectionError"); /* the trial call was made */
    assert_int_equal(ext_calls(&x), calls + 1);
    s = brk(f);
    assert_int_equal(s.state, TR_BREAKER_OPEN);
    assert_int_equal(s.times_opened, 3);
    expect_rejected(f, &x, s.retry_at_ms);

    /* Manual control: force_close runs again, force_open fails fast even
     * past the timeout, reset clears every counter. */
    set_fail(&x, false);
    assert_int_equal(tr_engine_breaker_control(f->e, "brk", "exch", "force_close"), 0);
    s = brk(f);
    assert_int_equal(s.state, TR_BREAKER_CLOSED);
    assert_int_equal(s.failure_count, 0);
    assert_null(run_brk(f, et, sizeof et));
    assert_int_equal(tr_engine_breaker_control(f->e, "brk", "exch", "force_open"), 0);
    s = brk(f);
    assert_int_equal(s.state, TR_BREAKER_OPEN);
    assert_true(s.forced);
    expect_rejected(f, &x, 0);
    sleep_ms(BRK_TIMEOUT_MS + 50);
    expect_rejected(f, &x, 0);
    assert_int_equal(tr_engine_breaker_control(f->e, "brk", "exch", "force_close"), 0);
    s = brk(f);
    assert_false(s.forced);
    assert_int_equal(s.state, TR_BREAKER_CLOSED);
    calls = ext_calls(&x);
    assert_null(run_brk(f, et, sizeof et));
    assert_int_equal(ext_calls(&x), calls + 1);
    assert_int_equal(tr_engine_breaker_control(f->e, "brk", "exch", "reset"), 0);
    s = brk(f);
    assert_int_equal(s.state, TR_BREAKER_CLOSED);
    assert_int_equal(s.total_calls, 0);
    assert_int_equal(s.total_failures, 0);
    assert_int_equal(s.times_opened, 0);
    assert_int_equal(tr_engine_breaker_control(f->e, "brk", "exch", "explode"), TR_EINVAL);
    assert_int_equal(tr_engine_breaker_control(f->e, "brk", "nope", "reset"), TR_ENOENT);

    /* Breakers belong to a registered version (docs/engine.md): a forced-open
     * breaker does not carry over to a new registration of the workflow. */
    assert_int_equal(tr_engine_breaker_control(f->e, "brk", "exch", "force_open"), 0);
    expect_rejected(f, &x, 0);
    fx_add(f, "{\"id\":\"brk\",\"nodes\":["
              "{\"id\":\"quote\",\"type\":\"ext_quote\",\"config\":{\"service\":\"exch\"}},"
              "{\"id\":\"use\",\"type\":\"math\",\"config\":{\"expr\":\"quote.value + 2\"}}]}");
    s = brk(f);
    assert_int_equal(s.state, TR_BREAKER_CLOSED);
    assert_false(s.forced);
    assert_int_equal(s.total_calls, 0);
    calls = ext_calls(&x);
    assert_null(run_brk(f, et, sizeof et));
    assert_int_equal(ext_calls(&x), calls + 1);
}

/* A half-open breaker admits one trial call.  When the execution ends for
 * another reason while that call's result is still due, nobody reports its
 * outcome: the trial must be given back (tr_breaker_release, see
 * docs/resilience.md "Abandoned calls"), or the breaker rejects every call
 * from then on. */
static void test_breaker_abandoned_trial(void **state)
{
    fx *f = *state;
    static ext_feed x;
    memset(&x, 0, sizeof x);
    assert_int_equal(tr_engine_register_node(f->e, &ext_type, ext_run, &x), 0);
    fx_add(f, "{\"id\":\"aband\",\"nodes\":["
              "{\"id\":\"a\",\"type\":\"ext_quote\",\"config\":{\"role\":\"a\",\"delay_ms\":100}},"
              "{\"id\":\"b\",\"type\":\"ext_quote\",\"category\":\"utilities\","
              "\"config\":{\"role\":\"b\"}}]}");
    tr_breaker_stats s;
    /* Open a's breaker: three failures. */
    __atomic_store_n(&x.fail[0], 1, __ATOMIC_SEQ_CST);
    for (int k = 0; k < 3; k++)
        assert_int_equal(fx_run(f, "aband", NULL).status, TR_EXEC_FAILED);
    assert_int_equal(tr_engine_breaker_stats(f->e, "aband", "a", &s), 0);
    assert_int_equal(s.state, TR_BREAKER_OPEN);
    while (wall_ms() < s.retry_at_ms + 10)
        sleep_ms(10);
    /* Half-open: a is admitted as the trial, b fails at once and ends the
     * execution; a's result (due 100 ms later) is never looked at. */
    __atomic_store_n(&x.fail[0], 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&x.fail[1], 1, __ATOMIC_SEQ_CST);
    uint32_t calls = ext_calls(&x);
    char id[TR_EXEC_ID_MAX];
    assert_int_equal(fx_run(f, "aband", id).status, TR_EXEC_FAILED);
    assert_int_equal(ext_calls(&x), calls + 1);
    size_t n;
    tr_payload **evs = fx_events_of(f, id, &n);
    assert_true(ev_is(evs[n - 1], "error_type", "ValueError"));
    free(evs);
    sleep_ms(150);
    /* Both providers are healthy now: the next execution must run a. */
    __atomic_store_n(&x.fail[1], 0, __ATOMIC_SEQ_CST);
    fx_done d = fx_run(f, "aband", id);
    evs = fx_events_of(f, id, &n);
    if (d.status != TR_EXEC_COMPLETED) {
        ev_dump(evs, n);
        assert_int_equal(tr_engine_breaker_stats(f->e, "aband", "a", &s), 0);
        free(evs);
        fail_msg("breaker '%s' stuck after an abandoned half-open trial (state %s, "
                 "%llu rejections)",
                 "a", tr_breaker_state_name(s.state), (unsigned long long)s.total_rejections);
    }
    free(evs);
    assert_int_equal(tr_engine_breaker_stats(f->e, "aband", "a", &s), 0);
    assert_int_equal(s.state, TR_BREAKER_CLOSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timeout_hang, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_retried, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_config_node_timeout, setup_node_timeout, teardown),
        cmocka_unit_test_setup_teardown(test_retry_fail_first, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_retry_config_and_non_retryable, setup_fast,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_circuit_breaker, setup_breaker, teardown),
        cmocka_unit_test_setup_teardown(test_breaker_abandoned_trial, setup_breaker, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
