/*
 * tests/emergency/test_emergency.c -- the controller without a runtime:
 * the whole transition table, can_trade/can_operate per state, scopes,
 * risk limits (every built-in on both sides of its bound and at it),
 * auto-halt, status, C subscribers, and a micro-benchmark of the inline
 * checks (printed, not asserted).
 */
#include <math.h>
#include <time.h>

#include "tests/emergency/em_test.h"
#include "troupe/codec.h"

typedef int (*op_fn)(tr_emergency_controller *, const char *);

static int op_alert(tr_emergency_controller *c, const char *r)
{
    return tr_emergency_alert(c, r, NULL);
}

enum { HALT, ALERT, RESUME, SHUTDOWN, RESET, NOPS };
static const op_fn ops[NOPS] = {tr_emergency_halt, op_alert,
                                tr_emergency_resume, tr_emergency_shutdown,
                                tr_emergency_reset};
static const char *const op_name[NOPS] = {"halt", "alert", "resume",
                                          "shutdown", "reset"};

#define NO -1  /* no-op: 0, nothing changes */
#define REF -2 /* refused: TR_ESTATE */
#define Nn TR_EMERGENCY_NORMAL
#define Aa TR_EMERGENCY_ALERT
#define Hh TR_EMERGENCY_HALT
#define Ss TR_EMERGENCY_SHUTDOWN
/* The documented table (docs/emergency.md), checked cell by cell. */
static const int want[4][NOPS] = {
    /*           halt alert resume shutdown reset */
    /* normal */ {Hh, Aa, NO, Ss, REF},
    /* alert  */ {Hh, NO, Nn, Ss, REF},
    /* halt   */ {NO, REF, Nn, Ss, REF},
    /* shutd. */ {REF, REF, REF, NO, Nn},
};

/* One way to reach each state from normal. */
static void drive_to(tr_emergency_controller *c, tr_emergency_state s)
{
    if (s == Aa)
        assert_ok(tr_emergency_alert(c, "setup", "{\"vix\":85.5}"));
    else if (s == Hh)
        assert_ok(tr_emergency_halt(c, "setup"));
    else if (s == Ss)
        assert_ok(tr_emergency_shutdown(c, "setup"));
    assert_int_equal(em_state(c), s);
}

static void transition_table(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_emergency *em = em_open(dir, NULL, NULL);
    em_rec rec = {.mu = PTHREAD_MUTEX_INITIALIZER};
    uint64_t sub;
    assert_ok(tr_emergency_subscribe(em, em_rec_cb, &rec, &sub));
    for (int from = 0; from < 4; from++)
        for (int o = 0; o < NOPS; o++) {
            char id[32];
            snprintf(id, sizeof(id), "bot_%d_%d", from, o);
            tr_emergency_controller *c = em_ctl(em, id);
            drive_to(c, (tr_emergency_state)from);
            uint64_t v0 = em_version(c);
            size_t n0 = rec.n;
            int rc = ops[o](c, "the reason");
            int w = want[from][o];
            print_message("%-8s %-8s -> rc %s, state %s\n",
                          tr_emergency_state_name((tr_emergency_state)from),
                          op_name[o], tr_err_name(rc),
                          tr_emergency_state_name(em_state(c)));
            if (w == REF) {
                assert_int_equal(rc, TR_ESTATE);
                const char *e = tr_emergency_last_error();
                assert_non_null(strstr(e, op_name[o]));
                assert_non_null(strstr(e, id));
                assert_non_null(strstr(e, tr_emergency_state_name(
                                              (tr_emergency_state)from)));
            } else {
                assert_ok(rc);
            }
            if (w < 0) { /* nothing changed, no event */
                assert_int_equal(em_state(c), from);
                assert_int_equal(em_version(c), v0);
                assert_int_equal(rec.n, n0);
            } else {
                assert_int_equal(em_state(c), w);
                assert_int_equal(em_version(c), v0 + 1);
                assert_int_equal(rec.n, n0 + 1);
                assert_string_equal(rec.ev[n0].id, id);
                assert_int_equal(rec.ev[n0].prev, from);
                assert_int_equal(rec.ev[n0].next, w);
                assert_string_equal(rec.ev[n0].reason, "the reason");
                assert_int_equal(rec.ev[n0].version, v0 + 1);
            }
        }
    assert_ok(tr_emergency_unsubscribe(em, sub));
    assert_int_equal(tr_emergency_unsubscribe(em, sub), TR_ENOENT);
    tr_emergency_free(em);
    em_rmdir(dir);
}

static void can_trade_per_state(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_emergency *em = em_open(dir, NULL, NULL);
    tr_emergency_controller *g = tr_emergency_global(em);
    static const bool trade[4] = {true, true, false, false};
    static const bool operate[4] = {true, true, true, false};
    for (int s = 0; s < 4; s++) {
        if (s > 0)
            drive_to(g, (tr_emergency_state)s);
        assert_int_equal(tr_emergency_can_trade(g), trade[s]);
        assert_int_equal(tr_emergency_can_operate(g), operate[s]);
        assert_int_equal(tr_emergency_can_trade_fn(g), trade[s]);
        assert_int_equal(tr_emergency_can_operate_fn(g), operate[s]);
        tr_emergency_status st;
        assert_ok(tr_emergency_status_get(g, &st));
        assert_int_equal(st.can_trade, trade[s]);
        assert_int_equal(st.can_operate, operate[s]);
        assert_int_equal(st.state, s);
        if (s >= 2)
            assert_string_equal(st.halt_reason, "setup");
        else
            assert_string_equal(st.halt_reason, "");
    }
    /* NULL fails closed */
    assert_false(tr_emergency_can_trade(NULL));
    assert_false(tr_emergency_can_operate(NULL));
    assert_int_equal(tr_emergency_halt(NULL, "x"), TR_EINVAL);
    tr_emergency_free(em);
    em_rmdir(dir);
}

static void bad_arguments(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_emergency *em = em_open(dir, NULL, NULL);
    tr_emergency_controller *c;
    assert_int_equal(tr_emergency_controller_get(em, "../etc", &c), TR_EINVAL);
    assert_int_equal(tr_emergency_controller_get(em, "", &c), TR_EINVAL);
    tr_emergency_controller *b = em_ctl(em, "bot_1");
    assert_int_equal(tr_emergency_alert(b, "x", "{not json"), TR_EINVAL);
    assert_non_null(strstr(tr_emergency_last_error(), "not JSON"));
    assert_int_equal(em_state(b), TR_EMERGENCY_NORMAL);
    /* the global id names the global controller */
    assert_ptr_equal(em_ctl(em, "default"), tr_emergency_global(em));
    assert_ptr_equal(em_ctl(em, NULL), tr_emergency_global(em));
    assert_ptr_equal(em_ctl(em, "bot_1"), b);
    assert_string_equal(tr_emergency_controller_id(b), "bot_1");
    tr_emergency_opts o = {0};
    tr_emergency *x;
    assert_int_equal(tr_emergency_new(&x, &o), TR_EINVAL);
    tr_emergency_free(em);
    em_rmdir(dir);
}

static void scopes(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_emergency *em = em_open(dir, NULL, NULL);
    tr_emergency_controller *g = tr_emergency_global(em);
    tr_emergency_controller *a = em_ctl(em, "bot_a"), *b = em_ctl(em, "bot_b");
    uint64_t va0, vb0;
    tr_emergency_effective(a, &va0);
    /* a bot halt stops only that bot */
    assert_ok(tr_emergency_halt(a, "bot a lost its feed"));
    assert_false(tr_emergency_can_trade(a));
    assert_true(tr_emergency_can_trade(b));
    assert_true(tr_emergency_can_trade(g));
    /* a global halt stops every bot, even one created afterwards */
    assert_ok(tr_emergency_halt(g, "exchange down"));
    tr_emergency_controller *c = em_ctl(em, "bot_c");
    assert_false(tr_emergency_can_trade(b));
    assert_false(tr_emergency_can_trade(c));
    assert_true(tr_emergency_can_operate(c));
    assert_int_equal(em_state(b), TR_EMERGENCY_NORMAL); /* own state */
    uint64_t va1, vb1;
    assert_int_equal(tr_emergency_effective(a, &va1), TR_EMERGENCY_HALT);
    assert_int_equal(tr_emergency_effective(b, &vb1), TR_EMERGENCY_HALT);
    assert_true(va1 >= va0 + 2);
    (void)vb0;
    /* resuming the global leaves bot a halted */
    assert_ok(tr_emergency_resume(g, "exchange back"));
    assert_false(tr_emergency_can_trade(a));
    assert_true(tr_emergency_can_trade(b));
    uint64_t va2;
    tr_emergency_effective(a, &va2);
    assert_true(va2 > va1); /* the combined version only grows */
    /* global shutdown: nobody operates; bot alert is still only alert */
    assert_ok(tr_emergency_alert(b, "volatile", NULL));
    assert_true(tr_emergency_can_trade(b));
    assert_ok(tr_emergency_shutdown(g, "end of day"));
    assert_false(tr_emergency_can_operate(a));
    assert_false(tr_emergency_can_operate(b));
    char *js;
    assert_ok(tr_emergency_status_json(b, &js, NULL));
    assert_non_null(strstr(js, "\"state\":\"alert\""));
    assert_non_null(strstr(js, "\"effective_state\":\"shutdown\""));
    assert_non_null(strstr(js, "\"global_state\":\"shutdown\""));
    assert_non_null(strstr(js, "\"can_operate\":false"));
    free(js);
    tr_emergency_free(em);
    em_rmdir(dir);
}

/* Checks one limit; returns the rc.  *u = utilization. */
static int chk(tr_emergency_controller *c, const char *name, double v,
               double lim, double *u)
{
    tr_emergency_risk_result r;
    int rc = tr_emergency_check_risk_limit(c, name, v, lim, false, &r);
    if (u)
        *u = r.utilization;
    if (rc == TR_ELIMIT) {
        assert_true(r.exceeded);
        assert_string_equal(r.error_type, "RiskLimitExceeded");
        assert_non_null(strstr(r.message, name));
    } else {
        assert_false(r.exceeded);
        assert_string_equal(r.error_type, "");
    }
    return rc;
}

static void builtin_limits(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_emergency *em = em_open(dir, NULL, NULL); /* -500, 10000, 10 */
    tr_emergency_controller *c = em_ctl(em, "bot_r");
    double u;
    /* daily_loss: exceeded strictly below -500; `limit` is ignored */
    assert_ok(chk(c, "daily_loss", -450.0, -5000.0, &u));
    assert_true(fabs(u - 0.9) < 1e-12);
    assert_ok(chk(c, "daily_loss", -500.0, 0, &u)); /* equal: within */
    assert_true(u == 1.0);
    assert_ok(chk(c, "daily_loss", 120.0, 0, &u)); /* a profit */
    assert_true(u == 0.0);
    assert_int_equal(chk(c, "daily_loss", -500.01, -1e9, &u), TR_ELIMIT);
    assert_non_null(strstr(tr_emergency_last_error(), "below the limit -500"));
    /* max_position_size: exceeded strictly above 10000 */
    assert_ok(chk(c, "max_position_size", 2500.0, 1e12, &u));
    assert_true(u == 0.25);
    assert_ok(chk(c, "max_position_size", 10000.0, 0, &u));
    assert_true(u == 1.0);
    assert_int_equal(chk(c, "max_position_size", 10000.5, 0, NULL),
                     TR_ELIMIT);
    /* max_drawdown_percent: exceeded strictly above 10 */
    assert_ok(chk(c, "max_drawdown_percent", 5.0, 0, &u));
    assert_true(u == 0.5);
    assert_ok(chk(c, "max_drawdown_percent", 10.0, 0, NULL));
    assert_int_equal(chk(c, "max_drawdown_percent", 10.1, 0, NULL), TR_ELIMIT);
    /* any other name: the argument, exceeded above */
    assert_ok(chk(c, "open_orders", 20, 20, &u));
    assert_true(u == 1.0);
    assert_int_equal(chk(c, "open_orders", 21, 20, NULL), TR_ELIMIT);
    /* NaN fails closed */
    assert_int_equal(chk(c, "daily_loss", NAN, 0, NULL), TR_ELIMIT);
    assert_int_equal(chk(c, "open_orders", 1, NAN, NULL), TR_ELIMIT);
    /* none of that halted: auto_halt was false */
    assert_int_equal(em_state(c), TR_EMERGENCY_NORMAL);
    assert_int_equal(tr_emergency_check_risk_limit(c, "", 1, 1, false, NULL),
                     TR_EINVAL);
    /* status: last value, limit, utilization per limit */
    assert_ok(chk(c, "daily_loss", -250.0, 0, NULL));
    char *js;
    size_t len;
    assert_ok(tr_emergency_status_json(c, &js, &len));
    assert_int_equal(strlen(js), len);
    print_message("%s\n", js);
    assert_non_null(strstr(js, "\"daily_loss\":{\"value\":-250.0,"
                               "\"limit\":-500.0,\"utilization\":0.5,"
                               "\"exceeded\":false}"));
    assert_non_null(strstr(js, "\"open_orders\":{\"value\":1.0,\"limit\":null"));
    assert_non_null(strstr(js, "\"max_position_size\":{\"value\":10000.5,"
                               "\"limit\":10000.0,"));
    assert_non_null(strstr(js, "\"halt_reason\":null"));
    assert_non_null(strstr(js, "\"can_trade\":true"));
    free(js);
    /* a fresh controller lists the built-ins at 0 */
    assert_ok(tr_emergency_status_json(em_ctl(em, "fresh"), &js, NULL));
    assert_non_null(strstr(js, "\"max_drawdown_percent\":{\"value\":0.0,"
                               "\"limit\":10.0,\"utilization\":0.0"));
    free(js);
    tr_emergency_free(em);
    em_rmdir(dir);
}

static void auto_halt(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_emergency *em = em_open(dir, NULL, NULL);
    em_rec rec = {.mu = PTHREAD_MUTEX_INITIALIZER};
    uint64_t sub;
    assert_ok(tr_emergency_subscribe(em, em_rec_cb, &rec, &sub));
    tr_emergency_controller *c = em_ctl(em, "bot_h"), *d = em_ctl(em, "bot_o");
    tr_emergency_risk_result r;
    /* within: nothing happens even with auto_halt */
    assert_ok(tr_emergency_check_risk_limit(c, "daily_loss", -450, -500, true,
                                            &r));
    assert_false(r.halted);
    assert_int_equal(rec.n, 0);
    /* the seed's example: exceeded, auto-halt */
    assert_int_equal(tr_emergency_check_risk_limit(c, "daily_loss", -600,
                                                   -500, true, &r),
                     TR_ELIMIT);
    assert_true(r.halted);
    assert_false(tr_emergency_can_trade(c));
    assert_true(tr_emergency_can_trade(d)); /* only that bot */
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.ev[0].next, TR_EMERGENCY_HALT);
    assert_non_null(strstr(rec.ev[0].reason, "risk limit daily_loss exceeded"));
    tr_emergency_status st;
    assert_ok(tr_emergency_status_get(c, &st));
    assert_non_null(strstr(st.halt_reason, "risk limit daily_loss exceeded"));
    assert_non_null(strstr(st.halt_reason, "-600"));
    /* again: still TR_ELIMIT, no second halt */
    assert_int_equal(tr_emergency_check_risk_limit(c, "daily_loss", -700,
                                                   -500, true, &r),
                     TR_ELIMIT);
    assert_false(r.halted);
    assert_int_equal(rec.n, 1);
    /* in shutdown the check still reports, the halt is refused quietly */
    assert_ok(tr_emergency_shutdown(d, "closed"));
    assert_int_equal(tr_emergency_check_risk_limit(d, "max_position_size",
                                                   1e6, 0, true, &r),
                     TR_ELIMIT);
    assert_false(r.halted);
    assert_int_equal(em_state(d), TR_EMERGENCY_SHUTDOWN);
    assert_ok(tr_emergency_unsubscribe(em, sub));
    tr_emergency_free(em);
    em_rmdir(dir);
}

static uint64_t fake_clock(void *arg) { return *(uint64_t *)arg; }

static void fake_clock_event(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_config_emergency l = em_limits();
    uint64_t now = UINT64_C(1769336123501);
    tr_emergency_opts o = {.state_dir = dir, .limits = &l,
                           .clock = fake_clock, .clock_arg = &now};
    tr_emergency *em;
    assert_ok(tr_emergency_new(&em, &o));
    em_rec rec = {.mu = PTHREAD_MUTEX_INITIALIZER};
    uint64_t sub;
    assert_ok(tr_emergency_subscribe(em, em_rec_cb, &rec, &sub));
    assert_ok(tr_emergency_halt(tr_emergency_global(em), "t"));
    assert_string_equal(rec.ev[0].ts, "2026-01-25T10:15:23.501Z");
    char *js;
    assert_ok(tr_emergency_status_json(tr_emergency_global(em), &js, NULL));
    assert_non_null(strstr(js, "\"updated_at\":\"2026-01-25T10:15:23.501Z\""));
    free(js);
    tr_emergency_free(em);
    em_rmdir(dir);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void bench_checks(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_emergency *em = em_open(dir, NULL, NULL);
    tr_emergency_controller *b = em_ctl(em, "bot_bench");
    enum { ITERS = 20000000 };
    volatile unsigned sink = 0;
    double t0 = now_ns();
    for (int i = 0; i < ITERS; i++)
        sink += tr_emergency_can_trade(b);
    double t1 = now_ns();
    for (int i = 0; i < ITERS; i++)
        sink += tr_emergency_can_trade_fn(b);
    double t2 = now_ns();
    tr_emergency_risk_result r;
    for (int i = 0; i < ITERS / 20; i++)
        sink += (unsigned)tr_emergency_check_risk_limit(b, "daily_loss",
                                                        -1.0, 0, false, &r);
    double t3 = now_ns();
    print_message("can_trade inline %.2f ns, out-of-line %.2f ns, "
                  "check_risk_limit %.1f ns (sink %u)\n",
                  (t1 - t0) / ITERS, (t2 - t1) / ITERS,
                  (t3 - t2) / (ITERS / 20), sink);
    tr_emergency_free(em);
    em_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transition_table),
        cmocka_unit_test(can_trade_per_state),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(scopes),
        cmocka_unit_test(builtin_limits),
        cmocka_unit_test(auto_halt),
        cmocka_unit_test(fake_clock_event),
        cmocka_unit_test(bench_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
