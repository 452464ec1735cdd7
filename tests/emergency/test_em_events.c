/*
 * tests/emergency/test_em_events.c -- what others see of a change: the
 * emergency_state_changed events on the bus (fields, per-controller seq),
 * C callbacks (after the state is visible; a callback may itself make a
 * transition), and the lock-free snapshot read by other threads while
 * transitions happen (versions only grow, state and version never torn,
 * a returned halt is seen by every later check).  Run under TSan in CI.
 */
#include <stdatomic.h>

#include "tests/emergency/em_test.h"
#include "troupe/bus.h"
#include "troupe/codec.h"

#define MAXEV 64

typedef struct evsink {
    pthread_mutex_t mu;
    size_t n;
    char *json[MAXEV];
} evsink;

static void on_bus(void *arg, uint32_t channel, tr_payload *ev)
{
    evsink *s = arg;
    assert_int_equal(channel, TR_BUS_CH_EMERGENCY);
    tr_buf b;
    tr_buf_init(&b);
    assert_ok(tr_json_from_mp(&b, tr_payload_data(ev), tr_payload_len(ev),
                              NULL));
    pthread_mutex_lock(&s->mu);
    if (s->n < MAXEV)
        s->json[s->n++] = strdup(tr_buf_cstr(&b));
    pthread_mutex_unlock(&s->mu);
    tr_buf_fini(&b);
}

static void has(const char *json, const char *part)
{
    if (!strstr(json, part))
        fail_msg("event %s lacks %s", json, part);
}

static void bus_events(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_runtime *rt = rt_new(2);
    tr_bus *bus;
    assert_ok(tr_bus_start(rt, NULL, &bus));
    evsink s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    tr_bus_filter f = {.channel = TR_BUS_CH_EMERGENCY};
    uint64_t sub;
    assert_ok(tr_bus_subscribe_cb(bus, &f, on_bus, &s, &sub));
    assert_ok(tr_bus_sync(bus, RT_WAIT_MS));
    tr_emergency *em = em_open(dir, bus, NULL);
    tr_emergency_controller *g = tr_emergency_global(em);
    tr_emergency_controller *a = em_ctl(em, "bot_a");
    assert_ok(tr_emergency_halt(g, "suspicious \"market\""));
    assert_ok(tr_emergency_alert(a, "high volatility", "{\"vix\":85.5}"));
    assert_ok(tr_emergency_halt(g, "again")); /* no-op: no event */
    assert_ok(tr_emergency_resume(g, "normalized"));
    assert_ok(tr_emergency_halt(a, "daily loss"));
    assert_int_equal(tr_emergency_alert(g, "x", NULL), 0);
    assert_int_equal(tr_emergency_resume(a, NULL), 0);
    assert_ok(tr_bus_sync(bus, RT_WAIT_MS));
    assert_int_equal(s.n, 6);
    for (size_t i = 0; i < s.n; i++)
        print_message("%s\n", s.json[i]);
    /* seq comes right after type; one counter per controller */
    has(s.json[0], "{\"type\":\"emergency_state_changed\",\"seq\":1,"
                   "\"controller_id\":\"default\",\"previous_state\":"
                   "\"normal\",\"new_state\":\"halt\",\"reason\":"
                   "\"suspicious \\\"market\\\"\",\"timestamp\":\"");
    has(s.json[0], "\"version\":1}");
    has(s.json[1], "\"seq\":1,\"controller_id\":\"bot_a\"");
    has(s.json[1], "\"new_state\":\"alert\"");
    has(s.json[1], "\"context\":{\"vix\":85.5}");
    has(s.json[2], "\"seq\":2,\"controller_id\":\"default\",\"previous_state"
                   "\":\"halt\",\"new_state\":\"normal\",\"reason\":"
                   "\"normalized\"");
    has(s.json[3], "\"seq\":2,\"controller_id\":\"bot_a\",\"previous_state\""
                   ":\"alert\",\"new_state\":\"halt\"");
    has(s.json[4], "\"seq\":3,\"controller_id\":\"default\"");
    has(s.json[4], "\"version\":3");
    has(s.json[5], "\"seq\":3,\"controller_id\":\"bot_a\"");
    has(s.json[5], "\"reason\":\"\"");
    /* timestamp: ISO-8601 with ms, UTC */
    const char *t = strstr(s.json[0], "\"timestamp\":\"") + 13;
    assert_int_equal(strchr(t, '"') - t, 24);
    assert_true(t[4] == '-' && t[10] == 'T' && t[19] == '.' && t[23] == 'Z');
    tr_emergency_free(em);
    assert_ok(tr_bus_unsubscribe(bus, sub));
    tr_bus_free(bus);
    assert_ok(tr_runtime_free(rt, RT_WAIT_MS));
    for (size_t i = 0; i < s.n; i++)
        free(s.json[i]);
    em_rmdir(dir);
}

typedef struct escalate {
    tr_emergency *em;
    atomic_int calls, visible_ok;
} escalate;

/* On any bot halt, halt the global controller too (a transition from
 * inside a callback), and check the change was visible before the call. */
static void on_change(void *arg, const tr_emergency_event *ev)
{
    escalate *x = arg;
    atomic_fetch_add(&x->calls, 1);
    tr_emergency_controller *c = NULL;
    assert_ok(tr_emergency_controller_get(x->em, ev->controller_id, &c));
    uint64_t v = 0;
    tr_emergency_snapshot(c, NULL, &v);
    if (v >= ev->version)
        atomic_fetch_add(&x->visible_ok, 1);
    if (ev->new_state == TR_EMERGENCY_HALT &&
        strcmp(ev->controller_id, "default") != 0)
        assert_ok(tr_emergency_halt(tr_emergency_global(x->em),
                                    "escalated from a bot"));
}

static void callbacks(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_emergency *em = em_open(dir, NULL, NULL);
    escalate x = {.em = em};
    uint64_t id;
    assert_ok(tr_emergency_subscribe(em, on_change, &x, &id));
    assert_ok(tr_emergency_halt(em_ctl(em, "bot_1"), "bot 1 broke"));
    assert_int_equal(atomic_load(&x.calls), 2); /* bot, then global */
    assert_int_equal(atomic_load(&x.visible_ok), 2);
    assert_false(tr_emergency_can_trade(em_ctl(em, "bot_2")));
    assert_ok(tr_emergency_unsubscribe(em, id));
    assert_ok(tr_emergency_resume(tr_emergency_global(em), "ok"));
    assert_int_equal(atomic_load(&x.calls), 2);
    tr_emergency_free(em);
    em_rmdir(dir);
}

/* ---------------------------------------------------------------------------
 * Readers on other threads
 * ------------------------------------------------------------------------ */

typedef struct race {
    tr_emergency_controller *bot;
    _Atomic uint64_t done_v; /* version of the last halt that returned */
    atomic_bool stop;
    atomic_ulong reads, halts_seen;
} race;

static void *reader(void *arg)
{
    race *r = arg;
    uint64_t last_own = 0, last_eff = 0;
    unsigned long n = 0, halts = 0;
    while (!atomic_load(&r->stop)) {
        uint64_t done = atomic_load_explicit(&r->done_v, memory_order_acquire);
        tr_emergency_state s = TR_EMERGENCY_NORMAL, eff;
        uint64_t v = 0, ev = 0;
        tr_emergency_snapshot(r->bot, &s, &v);
        eff = tr_emergency_effective(r->bot, &ev);
        /* never torn: the bot alternates halt (odd) / resume (even) */
        if (s != ((v & 1) ? TR_EMERGENCY_HALT : TR_EMERGENCY_NORMAL))
            fail_msg("torn snapshot: state %d version %llu", (int)s,
                     (unsigned long long)v);
        if (v < last_own || ev < last_eff)
            fail_msg("version went back");
        if (v < done)
            fail_msg("a returned halt (version %llu) was not seen (%llu)",
                     (unsigned long long)done, (unsigned long long)v);
        if ((unsigned)eff > TR_EMERGENCY_SHUTDOWN)
            fail_msg("effective state out of range");
        halts += s == TR_EMERGENCY_HALT;
        last_own = v;
        last_eff = ev;
        n++;
    }
    atomic_fetch_add(&r->reads, n);
    atomic_fetch_add(&r->halts_seen, halts);
    return NULL;
}

static void *global_flipper(void *arg)
{
    tr_emergency *em = arg;
    for (int i = 0; i < 20; i++) {
        assert_ok(tr_emergency_alert(tr_emergency_global(em), "flip", NULL));
        assert_ok(tr_emergency_resume(tr_emergency_global(em), "flop"));
    }
    return NULL;
}

static void concurrent_readers(void **unused)
{
    (void)unused;
    char *dir = em_tmpdir();
    tr_emergency *em = em_open(dir, NULL, NULL);
    race r = {.bot = em_ctl(em, "bot_race")};
    enum { READERS = 3, ROUNDS = 60 };
    pthread_t th[READERS], gf;
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, &r), 0);
    assert_int_equal(pthread_create(&gf, NULL, global_flipper, em), 0);
    for (int i = 0; i < ROUNDS; i++) {
        assert_ok(tr_emergency_halt(r.bot, "race"));
        atomic_store_explicit(&r.done_v, em_version(r.bot),
                              memory_order_release);
        assert_ok(tr_emergency_resume(r.bot, "race over"));
    }
    pthread_join(gf, NULL);
    atomic_store(&r.stop, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(em_version(r.bot), 2 * ROUNDS);
    print_message("%lu reads, %lu saw halt\n", atomic_load(&r.reads),
                  atomic_load(&r.halts_seen));
    assert_true(atomic_load(&r.reads) > 0);
    tr_emergency_free(em);
    em_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bus_events),
        cmocka_unit_test(callbacks),
        cmocka_unit_test(concurrent_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
