/*
 * tests/emergency/test_em_engine.c -- the kill switch through the engine.
 *
 * DESIGN
 * Each test builds its own engine (development preset, 4 workers) whose
 * emergency state lives in a fresh mkdtemp directory (opts.state_dir: never
 * the default ./troupe-state), with the position limit raised out of the way
 * unless the test is about it.  One C bus callback on workflow_events keeps
 * what the assertions need, under a mutex: counts per event type, the
 * emergency_version (and bot) of every trading node_started, the last
 * execution_halted reason and node_failed error_type.  Done callbacks count
 * statuses.  Waits have generous deadlines that FAIL the test (never hang).
 *
 *   halt_under_load   a global halt from another thread while 1,000
 *                     executions (10 workflows x 100) sit between delay
 *                     nodes: every execution ends completed/failed/halted,
 *                     some are halted naming the reason, and no trading
 *                     node_started carries a version >= the one read right
 *                     after tr_emergency_halt returned.
 *   shutdown_refuses  can_operate: after shutdown an execution ends at once
 *                     as halted (event, state "halted", TR_EXEC_HALTED);
 *                     after reset it runs.
 *   bot_scope         a bot halt stops only that bot's workflows.
 *   position_limit    a trade past max_position_size fails with
 *                     RiskLimitExceeded and leaves the book unchanged.
 *   daily_loss        losing round trips drive daily P&L below -500: the
 *                     fill that crosses halts the bot; the next execution is
 *                     halted naming the limit.
 *   persistence       a halt (and a corrupt state file) survives
 *                     tr_engine_free + tr_engine_new on the same state_dir.
 * `troupe run` exit 3 and `troupe emergency` are in run_halted.sh.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt_test.h"
#include "troupe/codec.h"
#include "troupe/engine.h"
#include "troupe/log.h"

#define WAIT_MS 120000u

typedef struct trade_start {
    uint64_t version;
    char bot[24];
} trade_start;

typedef struct ex {
    char dir[256];
    tr_config cfg;
    tr_engine *e;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t ndone, by_status[3], bad_status;
    tr_exec_status last_status;
    size_t ev_started, ev_halted, ev_halted_reason, ev_failed, ev_completed;
    trade_start *trades;
    size_t ntrades, tcap, trades_no_version;
    char halt_reason[TR_EMERGENCY_REASON_MAX], fail_type[64];
} ex;

/* ---- callbacks (workers) ---------------------------------------------- */

static bool str_field(tr_mp_val ev, const char *key, char *buf, size_t cap)
{
    tr_mp_val v;
    const char *s;
    size_t n;
    if (tr_mp_map_get(ev, key, &v) != 0 || tr_mp_get_str(v, &s, &n) != 0)
        return false;
    snprintf(buf, cap, "%.*s", (int)n, s);
    return true;
}

static void on_event(void *arg, uint32_t channel, tr_payload *p)
{
    ex *x = arg;
    tr_mp_val ev, v;
    char type[32] = "", cat[32] = "", buf[TR_EMERGENCY_REASON_MAX];
    (void)channel;
    if (tr_mp_read_payload(p, &ev, NULL) != 0 || !str_field(ev, "type", type, sizeof type))
        return;
    pthread_mutex_lock(&x->mu);
    if (!strcmp(type, "execution_started")) {
        x->ev_started++;
    } else if (!strcmp(type, "execution_completed")) {
        x->ev_completed++;
    } else if (!strcmp(type, "execution_failed")) {
        x->ev_failed++;
    } else if (!strcmp(type, "execution_halted")) {
        x->ev_halted++;
        if (str_field(ev, "reason", buf, sizeof buf) && buf[0] != '\0') {
            x->ev_halted_reason++;
            snprintf(x->halt_reason, sizeof x->halt_reason, "%s", buf);
        }
    } else if (!strcmp(type, "node_failed")) {
        str_field(ev, "error_type", x->fail_type, sizeof x->fail_type);
    } else if (!strcmp(type, "node_started") && str_field(ev, "node_category", cat, sizeof cat) &&
               (!strcmp(cat, "trading") || !strcmp(cat, "actions"))) {
        if (x->ntrades == x->tcap) {
            size_t cap = x->tcap ? 2 * x->tcap : 1024;
            trade_start *n = realloc(x->trades, cap * sizeof(*n));
            if (n != NULL) {
                x->trades = n;
                x->tcap = cap;
            }
        }
        uint64_t ver = 0;
        if (tr_mp_map_get(ev, "emergency_version", &v) != 0 || tr_mp_get_uint(v, &ver) != 0)
            x->trades_no_version++;
        if (x->ntrades < x->tcap) {
            trade_start *t = &x->trades[x->ntrades++];
            t->version = ver;
            if (!str_field(ev, "bot_id", t->bot, sizeof t->bot))
                t->bot[0] = '\0';
        }
        pthread_cond_broadcast(&x->cv);
    }
    pthread_mutex_unlock(&x->mu);
}

static void on_done(void *arg, const char *id, tr_exec_status st, double ms)
{
    ex *x = arg;
    (void)id;
    (void)ms;
    pthread_mutex_lock(&x->mu);
    x->ndone++;
    if ((unsigned)st < 3)
        x->by_status[st]++;
    else
        x->bad_status++;
    x->last_status = st;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

/* ---- fixture ------------------------------------------------------------ */

typedef void (*tweak_fn)(tr_config *cfg);

static void ex_open(ex *x, const char *dir, tweak_fn tweak)
{
    memset(x, 0, sizeof(*x));
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    if (dir != NULL) {
        snprintf(x->dir, sizeof x->dir, "%s", dir);
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(x->dir, sizeof x->dir, "%s/troupe-em-engine-XXXXXX", t && *t ? t : "/tmp");
        assert_non_null(mkdtemp(x->dir));
    }
    assert_int_equal(tr_config_load(&x->cfg, "development", NULL, (char *[]){NULL}, NULL), 0);
    x->cfg.emergency.max_position_size = 1e12; /* out of the way unless tested */
    x->cfg.emergency.daily_loss_limit = -1e12;
    x->cfg.emergency.auto_halt = true;
    if (tweak != NULL)
        tweak(&x->cfg);
    tr_engine_opts eo = {.config = &x->cfg, .workers = 4, .state_dir = x->dir};
    int rc = tr_engine_new(&x->e, &eo);
    if (rc != 0)
        fail_msg("tr_engine_new: %s", tr_err_name(rc));
    uint64_t sub;
    tr_bus_filter filt = {.channel = TR_BUS_CH_WORKFLOW};
    assert_int_equal(tr_bus_subscribe_cb(tr_engine_bus(x->e), &filt, on_event, x, &sub), 0);
    assert_int_equal(tr_bus_sync(tr_engine_bus(x->e), WAIT_MS), 0);
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[1024];
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

/* Free the engine; keep_dir: leave the state directory for a restart. */
static void ex_close(ex *x, bool keep_dir)
{
    assert_int_equal(tr_engine_free(x->e, 10000), 0);
    tr_config_fini(&x->cfg);
    free(x->trades);
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    if (!keep_dir)
        rm_dir(x->dir);
}

static void ex_add(ex *x, const char *json)
{
    tr_wf_problems *probs = NULL;
    tr_wf_plan *plan = NULL;
    assert_int_equal(tr_wf_problems_new(&probs), 0);
    int rc = tr_wf_parse_json(tr_engine_registry(x->e), json, strlen(json), "test.json", &plan,
                              probs);
    for (size_t i = 0; rc != 0 && i < tr_wf_problems_count(probs); i++) {
        char line[512];
        tr_wf_problem_format(tr_wf_problems_at(probs, i), line, sizeof line);
        print_message("problem: %s\n", line);
    }
    tr_wf_problems_free(probs);
    assert_int_equal(rc, 0);
    rc = tr_engine_add_plan(x->e, plan);
    tr_wf_plan_free(plan);
    assert_int_equal(rc, 0);
}

/* Wait until n executions in all have ended (fails after WAIT_MS), then
 * sync the bus and the state store so their events and writes are in. */
static void ex_wait(ex *x, size_t n)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&x->mu);
    while (x->ndone < n && pthread_cond_timedwait(&x->cv, &x->mu, &dl) != ETIMEDOUT) {
    }
    size_t got = x->ndone;
    pthread_mutex_unlock(&x->mu);
    if (got < n)
        fail_msg("only %zu of %zu executions ended: one hangs", got, n);
    assert_int_equal(tr_bus_sync(tr_engine_bus(x->e), WAIT_MS), 0);
    assert_int_equal(tr_state_sync(tr_engine_state(x->e), WAIT_MS), 0);
    pthread_mutex_lock(&x->mu); /* happens-after every callback so far */
    pthread_mutex_unlock(&x->mu);
}

/* Run one execution to its end; returns its status, id into id. */
static tr_exec_status ex_run(ex *x, const char *wf, char *id)
{
    pthread_mutex_lock(&x->mu);
    size_t before = x->ndone;
    pthread_mutex_unlock(&x->mu);
    char tmp[TR_EXEC_ID_MAX];
    int rc = tr_engine_execute(x->e, wf, on_done, x, id ? id : tmp);
    if (rc != 0)
        fail_msg("execute %s: %s", wf, tr_err_name(rc));
    ex_wait(x, before + 1);
    return x->last_status;
}

static tr_emergency_controller *ctl_of(ex *x, const char *id)
{
    tr_emergency_controller *c = NULL;
    assert_int_equal(tr_emergency_controller_get(tr_engine_emergency(x->e), id, &c), 0);
    return c;
}

/* A workflow: constant -> buy `qty` @ `price` of SYM for bot. */
static void add_buyer(ex *x, const char *id, const char *bot, double qty, double price)
{
    char j[1024];
    snprintf(j, sizeof j,
             "{\"id\":\"%s\",\"bot_id\":\"%s\",\"nodes\":["
             "{\"id\":\"c\",\"type\":\"constant\",\"value\":1},"
             "{\"id\":\"buy\",\"category\":\"trading\",\"type\":\"trade\",\"depends_on\":[\"c\"],"
             "\"config\":{\"side\":\"buy\",\"symbol\":\"SYM\",\"quantity\":%g,\"price\":%g}}]}",
             id, bot, qty, price);
    ex_add(x, j);
}

/* ---- a. halt from another thread under load ---------------------------- */

#define HW 10u
#define HPER 100u

typedef struct halter {
    ex *x;
    int rc;
} halter;

static void *halter_main(void *arg)
{
    halter *h = arg;
    ex *x = h->x;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += WAIT_MS / 1000;
    /* Halt once trades are under way: every execution is mid-flight (the
     * second delay, 200 ms, leaves a wide margin even under TSan). */
    pthread_mutex_lock(&x->mu);
    while (x->ntrades < 50 && pthread_cond_timedwait(&x->cv, &x->mu, &dl) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&x->mu);
    h->rc = tr_emergency_halt(tr_emergency_global(tr_engine_emergency(x->e)),
                              "test: global halt under load");
    return NULL;
}

static void halt_under_load(void **state)
{
    (void)state;
    ex x;
    ex_open(&x, NULL, NULL);
    for (unsigned w = 0; w < HW; w++) {
        char j[1024];
        snprintf(j, sizeof j,
                 "{\"id\":\"hw_%u\",\"bot_id\":\"hbot_%u\",\"nodes\":["
                 "{\"id\":\"d1\",\"type\":\"delay\",\"config\":{\"ms\":40}},"
                 "{\"id\":\"buy\",\"category\":\"trading\",\"type\":\"trade\",\"depends_on\":[\"d1\"],"
                 "\"config\":{\"side\":\"buy\",\"symbol\":\"SYM\",\"quantity\":1,\"price\":100}},"
                 "{\"id\":\"d2\",\"type\":\"delay\",\"depends_on\":[\"buy\"],\"config\":{\"ms\":200}},"
                 "{\"id\":\"sell\",\"category\":\"trading\",\"type\":\"trade\",\"depends_on\":[\"d2\"],"
                 "\"config\":{\"side\":\"sell\",\"symbol\":\"SYM\",\"quantity\":1,\"price\":100}}]}",
                 w, w);
        ex_add(&x, j);
    }
    halter h = {.x = &x, .rc = -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, halter_main, &h), 0);
    for (unsigned k = 0; k < HPER; k++)
        for (unsigned w = 0; w < HW; w++) {
            char id[16];
            snprintf(id, sizeof id, "hw_%u", w);
            assert_int_equal(tr_engine_execute(x.e, id, on_done, &x, NULL), 0);
        }
    pthread_join(th, NULL);
    assert_int_equal(h.rc, 0);
    /* The versions a check made after the halt would see, per bot. */
    uint64_t v[HW];
    for (unsigned w = 0; w < HW; w++) {
        char bot[16];
        snprintf(bot, sizeof bot, "hbot_%u", w);
        assert_true(tr_emergency_effective(ctl_of(&x, bot), &v[w]) == TR_EMERGENCY_HALT);
    }
    ex_wait(&x, HW * HPER);

    pthread_mutex_lock(&x.mu);
    size_t after = 0, done = x.ndone, bad = x.bad_status, halted = x.by_status[TR_EXEC_HALTED];
    size_t completed = x.by_status[TR_EXEC_COMPLETED], failed = x.by_status[TR_EXEC_FAILED];
    for (size_t i = 0; i < x.ntrades; i++) {
        unsigned w = (unsigned)atoi(x.trades[i].bot + 5); /* "hbot_<w>" */
        if (w < HW && x.trades[i].version >= v[w])
            after++;
    }
    size_t ntrades = x.ntrades, nover = x.trades_no_version, evh = x.ev_halted;
    size_t evh_reason = x.ev_halted_reason;
    char reason[TR_EMERGENCY_REASON_MAX];
    snprintf(reason, sizeof reason, "%s", x.halt_reason);
    pthread_mutex_unlock(&x.mu);
    print_message("halt under load: %zu completed, %zu failed, %zu halted; %zu trade starts, "
                  "%zu after the halt\n", completed, failed, halted, ntrades, after);
    assert_int_equal(done, HW * HPER);
    assert_int_equal(bad, 0);
    assert_int_equal(completed + failed + halted, HW * HPER);
    assert_int_equal(failed, 0);
    assert_true(halted >= 1);
    assert_int_equal(evh, halted);
    assert_int_equal(evh_reason, halted);
    assert_non_null(strstr(reason, "test: global halt under load"));
    assert_int_equal(nover, 0);
    assert_int_equal(after, 0); /* THE guarantee */
    tr_engine_stats es;
    tr_engine_stats_get(x.e, &es);
    assert_int_equal(es.halted, halted);
    assert_int_equal(es.running, 0);
    ex_close(&x, false);
}

/* ---- b. can_operate: shutdown refuses, reset restores ------------------- */

static void shutdown_refuses(void **state)
{
    (void)state;
    ex x;
    ex_open(&x, NULL, NULL);
    add_buyer(&x, "ops", "bot_ops", 1, 10);
    tr_emergency_controller *g = tr_emergency_global(tr_engine_emergency(x.e));
    assert_int_equal(tr_emergency_shutdown(g, "test: end of trading day"), 0);
    char id[TR_EXEC_ID_MAX], key[512];
    assert_int_equal(ex_run(&x, "ops", id), TR_EXEC_HALTED);
    assert_int_equal(x.ev_started, 0); /* refused before it started */
    assert_int_equal(x.ev_halted, 1);
    assert_int_equal(x.ntrades, 0);
    assert_non_null(strstr(x.halt_reason, "test: end of trading day"));
    assert_true(tr_state_key(key, sizeof key, TR_STATE_KEY_STATUS, "ops", id) > 0);
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(tr_state_get_sync(tr_engine_state(x.e), key, &json, &len, WAIT_MS), 0);
    assert_string_equal(json, "\"halted\"");
    free(json);
    assert_int_equal(tr_emergency_reset(g, "test: next day"), 0);
    assert_int_equal(ex_run(&x, "ops", NULL), TR_EXEC_COMPLETED);
    assert_int_equal(x.ntrades, 1);
    ex_close(&x, false);
}

/* ---- c. bot scope -------------------------------------------------------- */

static void bot_scope(void **state)
{
    (void)state;
    ex x;
    ex_open(&x, NULL, NULL);
    add_buyer(&x, "wa", "bot_a", 1, 10);
    add_buyer(&x, "wb", "bot_b", 1, 10);
    assert_int_equal(tr_emergency_halt(ctl_of(&x, "bot_a"), "test: bot a only"), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ex_run(&x, "wa", NULL), TR_EXEC_HALTED);
        assert_int_equal(ex_run(&x, "wb", NULL), TR_EXEC_COMPLETED);
    }
    assert_non_null(strstr(x.halt_reason, "test: bot a only"));
    tr_paper_book book;
    assert_int_equal(tr_engine_book(x.e, "bot_a", &book), TR_ENOENT); /* never traded */
    assert_int_equal(tr_engine_book(x.e, "bot_b", &book), 0);
    assert_int_equal(book.trades, 3);
    assert_true(tr_emergency_can_trade(tr_emergency_global(tr_engine_emergency(x.e))));
    assert_int_equal(tr_emergency_resume(ctl_of(&x, "bot_a"), "test: resumed"), 0);
    assert_int_equal(ex_run(&x, "wa", NULL), TR_EXEC_COMPLETED);
    ex_close(&x, false);
}

/* ---- d. max_position_size refusal -------------------------------------- */

static void limit_1000(tr_config *cfg) { cfg->emergency.max_position_size = 1000; }

static void position_limit(void **state)
{
    (void)state;
    ex x;
    ex_open(&x, NULL, limit_1000);
    add_buyer(&x, "small", "bot_r", 5, 100); /* 500: within */
    add_buyer(&x, "big", "bot_r", 6, 100);   /* 5 + 6 = 11 x 100 = 1100 > 1000 */
    assert_int_equal(ex_run(&x, "small", NULL), TR_EXEC_COMPLETED);
    tr_paper_book before, after;
    assert_int_equal(tr_engine_book(x.e, "bot_r", &before), 0);
    assert_int_equal(ex_run(&x, "big", NULL), TR_EXEC_FAILED);
    assert_string_equal(x.fail_type, "RiskLimitExceeded");
    assert_int_equal(tr_engine_book(x.e, "bot_r", &after), 0);
    assert_memory_equal(&before, &after, sizeof before);
    const tr_paper_position *p = tr_paper_book_find(&after, "SYM");
    assert_non_null(p);
    assert_true(p->quantity == 5.0);
    /* A refused order exposes nothing: no halt. */
    assert_true(tr_emergency_can_trade(ctl_of(&x, "bot_r")));
    assert_int_equal(ex_run(&x, "small", NULL), TR_EXEC_COMPLETED); /* 10 x 100 = 1000: equal is within */
    ex_close(&x, false);
}

/* ---- e. daily loss auto-halt -------------------------------------------- */

static void loss_500(tr_config *cfg)
{
    cfg->emergency.daily_loss_limit = -500;
    cfg->emergency.auto_halt = true;
}

static void daily_loss(void **state)
{
    (void)state;
    ex x;
    ex_open(&x, NULL, loss_500);
    /* -100 per execution: buy 1 @ 1000, sell 1 @ 900, then a log node. */
    ex_add(&x, "{\"id\":\"loser\",\"bot_id\":\"bot_l\",\"nodes\":["
               "{\"id\":\"buy\",\"category\":\"trading\",\"type\":\"trade\","
               "\"config\":{\"side\":\"buy\",\"symbol\":\"L\",\"quantity\":1,\"price\":1000}},"
               "{\"id\":\"sell\",\"category\":\"trading\",\"type\":\"trade\",\"depends_on\":[\"buy\"],"
               "\"config\":{\"side\":\"sell\",\"symbol\":\"L\",\"quantity\":1,\"price\":900}},"
               "{\"id\":\"report\",\"type\":\"log\",\"depends_on\":[\"sell\"],"
               "\"config\":{\"message\":\"pnl {sell.daily_pnl}\",\"level\":\"debug\"}}]}");
    tr_emergency_controller *bot = ctl_of(&x, "bot_l");
    tr_paper_book book;
    for (int i = 1; i <= 5; i++) /* down to -500: equal to the limit is within */
        assert_int_equal(ex_run(&x, "loser", NULL), TR_EXEC_COMPLETED);
    assert_int_equal(tr_engine_book(x.e, "bot_l", &book), 0);
    assert_true(fabs(book.daily_pnl + 500) < 1e-9);
    assert_true(tr_emergency_can_trade(bot));
    /* The 6th round trip's sell takes it to -600: that fill halts the bot,
     * and this execution stops before its next node (report). */
    assert_int_equal(ex_run(&x, "loser", NULL), TR_EXEC_HALTED);
    assert_false(tr_emergency_can_trade(bot));
    assert_non_null(strstr(x.halt_reason, "risk limit daily_loss exceeded"));
    tr_emergency_status st;
    assert_int_equal(tr_emergency_status_get(bot, &st), 0);
    assert_int_equal(st.state, TR_EMERGENCY_HALT);
    assert_non_null(strstr(st.halt_reason, "-600"));
    char *js = NULL;
    assert_int_equal(tr_emergency_status_json(bot, &js, NULL), 0);
    assert_non_null(strstr(js, "\"daily_loss\":{\"value\":-600"));
    free(js);
    /* The next execution trades nothing and ends halted with the reason. */
    x.halt_reason[0] = '\0';
    size_t trades = x.ntrades;
    assert_int_equal(ex_run(&x, "loser", NULL), TR_EXEC_HALTED);
    assert_int_equal(x.ntrades, trades);
    assert_non_null(strstr(x.halt_reason, "risk limit daily_loss exceeded"));
    assert_int_equal(tr_engine_book(x.e, "bot_l", &book), 0);
    assert_true(fabs(book.daily_pnl + 600) < 1e-9);
    assert_int_equal(book.trades, 12);
    /* Other bots are untouched. */
    assert_true(tr_emergency_can_trade(ctl_of(&x, "bot_other")));
    ex_close(&x, false);
}

/* Drawdown: realized P&L falling from its high-water mark by more than
 * max_drawdown_percent halts the bot (auto_halt). */
static void drawdown_10(tr_config *cfg)
{
    cfg->emergency.max_drawdown_percent = 10;
    cfg->emergency.daily_loss_limit = -1e9; /* keep daily_loss out of it */
    cfg->emergency.auto_halt = true;
}

static void drawdown(void **state)
{
    (void)state;
    ex x;
    ex_open(&x, NULL, drawdown_10);
    /* win: +100 (buy 1 @ 100, sell 1 @ 200); lose: -20 (buy @ 200, sell @ 180) */
    ex_add(&x, "{\"id\":\"win\",\"bot_id\":\"bot_d\",\"nodes\":["
               "{\"id\":\"buy\",\"type\":\"trade\","
               "\"config\":{\"side\":\"buy\",\"symbol\":\"D\",\"quantity\":1,\"price\":100}},"
               "{\"id\":\"sell\",\"type\":\"trade\",\"depends_on\":[\"buy\"],"
               "\"config\":{\"side\":\"sell\",\"symbol\":\"D\",\"quantity\":1,\"price\":200}}]}");
    ex_add(&x, "{\"id\":\"lose\",\"bot_id\":\"bot_d\",\"nodes\":["
               "{\"id\":\"buy\",\"type\":\"trade\","
               "\"config\":{\"side\":\"buy\",\"symbol\":\"D\",\"quantity\":1,\"price\":200}},"
               "{\"id\":\"sell\",\"type\":\"trade\",\"depends_on\":[\"buy\"],"
               "\"config\":{\"side\":\"sell\",\"symbol\":\"D\",\"quantity\":1,\"price\":195}},"
               "{\"id\":\"after\",\"type\":\"constant\",\"depends_on\":[\"sell\"],"
               "\"config\":{\"value\":1}}]}");
    tr_emergency_controller *bot = ctl_of(&x, "bot_d");
    assert_int_equal(ex_run(&x, "win", NULL), TR_EXEC_COMPLETED);  /* peak +100 */
    assert_int_equal(ex_run(&x, "lose", NULL), TR_EXEC_COMPLETED); /* +95: 5 % */
    assert_true(tr_emergency_can_trade(bot));
    assert_int_equal(ex_run(&x, "lose", NULL), TR_EXEC_COMPLETED); /* +90: 10 %, at the bound */
    assert_true(tr_emergency_can_trade(bot));
    assert_int_equal(ex_run(&x, "lose", NULL), TR_EXEC_HALTED);    /* +85: 15 % */
    assert_false(tr_emergency_can_trade(bot));
    assert_non_null(strstr(x.halt_reason, "max_drawdown_percent"));
    ex_close(&x, false);
}

/* ---- f. persistence through the engine ---------------------------------- */

static void persistence(void **state)
{
    (void)state;
    ex x;
    ex_open(&x, NULL, NULL);
    char dir[256];
    snprintf(dir, sizeof dir, "%s", x.dir);
    add_buyer(&x, "wp", "bot_p", 1, 10);
    assert_int_equal(ex_run(&x, "wp", NULL), TR_EXEC_COMPLETED);
    assert_int_equal(tr_emergency_halt(ctl_of(&x, "bot_p"), "test: halted before restart"), 0);
    ex_close(&x, true);
    /* A corrupt file for another bot: fail closed. */
    char p[512];
    snprintf(p, sizeof p, "%s/emergency-bot_c.json", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("{\"controller_id\":\"bot_c\",\"state\":", f);
    fclose(f);

    ex_open(&x, dir, NULL);
    add_buyer(&x, "wp", "bot_p", 1, 10);
    add_buyer(&x, "wc", "bot_c", 1, 10);
    add_buyer(&x, "wok", "bot_ok", 1, 10);
    assert_int_equal(ex_run(&x, "wp", NULL), TR_EXEC_HALTED);
    assert_non_null(strstr(x.halt_reason, "test: halted before restart"));
    assert_int_equal(ex_run(&x, "wc", NULL), TR_EXEC_HALTED);
    assert_non_null(strstr(x.halt_reason, "unreadable"));
    assert_int_equal(ex_run(&x, "wok", NULL), TR_EXEC_COMPLETED);
    assert_int_equal(tr_emergency_resume(ctl_of(&x, "bot_p"), "test: operator resumed"), 0);
    ex_close(&x, true);

    ex_open(&x, dir, NULL); /* the resume persisted too */
    add_buyer(&x, "wp", "bot_p", 1, 10);
    assert_int_equal(ex_run(&x, "wp", NULL), TR_EXEC_COMPLETED);
    ex_close(&x, false);
}

int main(void)
{
    /* One WARN line per halted execution (1,000 in halt_under_load): quiet. */
    tr_log_config lc = TR_LOG_CONFIG_INIT;
    lc.min_level = TR_LOG_LEVEL_ERROR;
    tr_log_configure(&lc);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(halt_under_load), cmocka_unit_test(shutdown_refuses),
        cmocka_unit_test(bot_scope),       cmocka_unit_test(position_limit),
        cmocka_unit_test(daily_loss),      cmocka_unit_test(persistence),
        cmocka_unit_test(drawdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
