/*
 * tests/runtime/test_lifecycle.c -- spawn failures, monitors, supervisors and
 * graceful shutdown.
 */
#include <stdlib.h>
#include <string.h>

#include "rt_test.h"
#include "troupe/supervisor.h"

enum { MSG_WORK = 1, MSG_FAIL = 2, MSG_WATCH = 3, MSG_SLOW = 4 };

static int ptr_init(tr_runtime *rt, void *state, void *arg)
{
    *(void **)state = arg;
    return 0;
}

/* ---------------------------------------------------------------------- */

static int refuse_init(tr_runtime *rt, void *state, void *arg) { return TR_EINVAL; }
static int noop_receive(tr_ctx *ctx, void *state, const tr_msg *m) { return 0; }

static void spawn_init_failure_leaves_nothing(void **s)
{
    tr_runtime *rt = rt_new(1);
    tr_actor_ops ops = {.state_size = 16, .init = refuse_init, .receive = noop_receive};
    tr_actor_ref r = TR_REF_NONE;
    assert_int_equal(tr_spawn(rt, &ops, NULL, NULL, &r), TR_EINVAL);
    assert_true(tr_ref_is_none(r));
    tr_runtime_stats st;
    tr_runtime_stats_get(rt, &st, NULL);
    assert_int_equal(st.live_actors, 0);
    assert_int_equal(tr_runtime_free(rt, 1000), 0);
}

/* ---------------------------------------------------------------------- */
/* Monitors                                                                */
/* ---------------------------------------------------------------------- */

typedef struct watch_log {
    latch downs;
    tr_actor_ref from[8];
    int status[8];
    uint64_t ids[8];
    int n;
} watch_log;

typedef struct watcher_state {
    watch_log *log;
} watcher_state;

static int watcher_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    watch_log *log = *(watch_log **)state;
    if (m->type == TR_MSG_DOWN) {
        if (log->n < 8) {
            log->from[log->n] = m->sender;
            log->status[log->n] = m->status;
            log->ids[log->n] = m->corr_id;
            log->n++;
        }
        latch_add(&log->downs, 1);
    }
    return 0;
}

static const tr_actor_ops watcher_ops = {
    .state_size = sizeof(watch_log *), .init = ptr_init, .receive = watcher_receive};

static int failing_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    return m->type == MSG_FAIL ? -1 : 0;
}

static const tr_actor_ops failing_ops = {.receive = failing_receive};

static void monitor_gets_down_with_reason(void **s)
{
    tr_runtime *rt = rt_new(2);
    watch_log log = {0};
    latch_init(&log.downs);
    tr_actor_ref w, t1, t2;
    assert_ok(tr_spawn(rt, &watcher_ops, &log, NULL, &w));
    assert_ok(tr_spawn(rt, &failing_ops, NULL, NULL, &t1));
    assert_ok(tr_spawn(rt, &failing_ops, NULL, NULL, &t2));
    uint64_t id1, id2;
    assert_ok(tr_monitor_ref(rt, w, t1, &id1));
    assert_ok(tr_monitor_ref(rt, w, t2, &id2));
    assert_ok(tr_send(rt, t1, MSG_FAIL, NULL)); /* receive fails */
    assert_int_equal(latch_wait(&log.downs, 1), 1);
    assert_true(tr_ref_eq(log.from[0], t1));
    assert_int_equal(log.status[0], TR_EFAILED);
    assert_int_equal(log.ids[0], id1);
    assert_ok(tr_stop(rt, t2)); /* normal stop */
    assert_int_equal(latch_wait(&log.downs, 2), 2);
    assert_true(tr_ref_eq(log.from[1], t2));
    assert_int_equal(log.status[1], 0);
    /* Monitoring an actor that is already gone: DOWN(TR_EDEAD) at once. */
    uint64_t id3;
    assert_ok(tr_monitor_ref(rt, w, t1, &id3));
    assert_int_equal(latch_wait(&log.downs, 3), 3);
    assert_int_equal(log.status[2], TR_EDEAD);
    assert_int_equal(log.ids[2], id3);
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    assert_int_equal(latch_get(&log.downs), 3); /* exactly one per monitor */
    latch_destroy(&log.downs);
}

static void monitors_see_shutdown_reason(void **s)
{
    tr_runtime *rt = rt_new(1);
    watch_log log = {0};
    latch_init(&log.downs);
    tr_actor_ref w, t;
    assert_ok(tr_spawn(rt, &watcher_ops, &log, NULL, &w));
    assert_ok(tr_spawn(rt, &failing_ops, NULL, NULL, &t));
    assert_ok(tr_monitor_ref(rt, w, t, NULL));
    assert_ok(tr_runtime_free(rt, 10000));
    /* The watcher may itself be stopped first; if it got the DOWN, the
     * reason was the shutdown. */
    for (int i = 0; i < log.n; i++)
        assert_int_equal(log.status[i], TR_ECLOSED);
    latch_destroy(&log.downs);
}

/* ---------------------------------------------------------------------- */
/* Supervisor                                                              */
/* ---------------------------------------------------------------------- */

static int child_init(tr_runtime *rt, void *state, void *arg)
{
    latch_add((latch *)arg, 1); /* counts (re)starts */
    return 0;
}

static const tr_actor_ops child_ops = {.init = child_init, .receive = failing_receive};

static tr_actor_ref wait_new_child(tr_supervisor *sup, tr_actor_ref old)
{
    for (int i = 0; i < RT_WAIT_MS; i++) {
        tr_actor_ref c = tr_supervisor_child(sup, 0);
        if (!tr_ref_is_none(c) && !tr_ref_eq(c, old))
            return c;
        sleep_ms(1);
    }
    fail_msg("child was not restarted");
    return TR_REF_NONE;
}

static void supervisor_restarts_failed_child(void **s)
{
    tr_runtime *rt = rt_new(2);
    latch starts;
    latch_init(&starts);
    tr_child_spec spec = {.ops = &child_ops, .arg = &starts};
    tr_supervisor_opts so = {.max_restarts = 3, .window_ms = 60000};
    tr_supervisor *sup;
    assert_ok(tr_supervisor_start(rt, &spec, 1, &so, &sup));
    assert_int_equal(latch_get(&starts), 1);
    tr_actor_ref c0 = tr_supervisor_child(sup, 0);
    assert_ok(tr_send(rt, c0, MSG_FAIL, NULL));
    tr_actor_ref c1 = wait_new_child(sup, c0);
    assert_int_equal(latch_wait(&starts, 2), 2);
    assert_int_equal(tr_supervisor_restarts(sup), 1);
    assert_false(tr_actor_alive(rt, c0));
    assert_true(tr_actor_alive(rt, c1));
    /* A normal stop is not a failure: no restart. */
    assert_ok(tr_stop(rt, c1));
    while (!tr_ref_is_none(tr_supervisor_child(sup, 0)))
        sleep_ms(1);
    assert_int_equal(tr_supervisor_restarts(sup), 1);
    assert_false(tr_supervisor_gave_up(sup));
    tr_supervisor_free(sup);
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    latch_destroy(&starts);
}

static void supervisor_gives_up_past_restart_limit(void **s)
{
    tr_runtime *rt = rt_new(2);
    latch starts;
    latch_init(&starts);
    watch_log log = {0};
    latch_init(&log.downs);
    tr_child_spec spec = {.ops = &child_ops, .arg = &starts};
    tr_supervisor_opts so = {.max_restarts = 2, .window_ms = 600000};
    tr_supervisor *sup;
    assert_ok(tr_supervisor_start(rt, &spec, 1, &so, &sup));
    tr_actor_ref w;
    assert_ok(tr_spawn(rt, &watcher_ops, &log, NULL, &w));
    assert_ok(tr_monitor_ref(rt, w, tr_supervisor_ref(sup), NULL));
    tr_actor_ref c = tr_supervisor_child(sup, 0);
    for (int i = 0; i < 2; i++) { /* two restarts are allowed */
        assert_ok(tr_send(rt, c, MSG_FAIL, NULL));
        c = wait_new_child(sup, c);
    }
    assert_int_equal(tr_supervisor_restarts(sup), 2);
    assert_ok(tr_send(rt, c, MSG_FAIL, NULL)); /* the third is one too many */
    assert_int_equal(latch_wait(&log.downs, 1), 1);
    assert_true(tr_ref_eq(log.from[0], tr_supervisor_ref(sup)));
    assert_int_equal(log.status[0], TR_ELIMIT);
    assert_true(tr_supervisor_gave_up(sup));
    assert_int_equal(tr_supervisor_restarts(sup), 2);
    assert_int_equal(latch_get(&starts), 3);
    assert_true(tr_ref_is_none(tr_supervisor_child(sup, 0)));
    tr_supervisor_free(sup);
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    latch_destroy(&starts);
    latch_destroy(&log.downs);
}

/* ---------------------------------------------------------------------- */
/* Shutdown drains                                                         */
/* ---------------------------------------------------------------------- */

typedef struct drain_log {
    uint64_t handled;
    uint64_t handled_at_stop;
    int stop_reason;
    int stops;
} drain_log;

static int relay_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    drain_log *d = *(drain_log **)state;
    d->handled++;
    /* Work in flight creates more work: a chain of 3 hops per message. */
    if (m->status < 2) {
        tr_send_args a = {.type = MSG_WORK, .status = m->status + 1};
        tr_ctx_send_msg(ctx, tr_self(ctx), &a);
    }
    return 0;
}

static void relay_stop(tr_ctx *ctx, void *state, int reason)
{
    drain_log *d = *(drain_log **)state;
    d->handled_at_stop = d->handled;
    d->stop_reason = reason;
    d->stops++;
}

static const tr_actor_ops relay_ops = {.state_size = sizeof(drain_log *),
                                       .init = ptr_init,
                                       .receive = relay_receive,
                                       .stop = relay_stop};

static void shutdown_drains_mailboxes_then_stops(void **s)
{
    tr_runtime *rt = rt_new(2);
    enum { ACTORS = 50, MSGS = 2000 };
    drain_log logs[ACTORS];
    memset(logs, 0, sizeof(logs));
    tr_actor_ref refs[ACTORS];
    tr_spawn_opts o = {.mailbox = 8192};
    for (int i = 0; i < ACTORS; i++)
        assert_ok(tr_spawn(rt, &relay_ops, &logs[i], &o, &refs[i]));
    for (int m = 0; m < MSGS; m++)
        for (int i = 0; i < ACTORS; i++)
            assert_ok(tr_send(rt, refs[i], MSG_WORK, NULL));
    assert_int_equal(tr_runtime_free(rt, 60000), 0);
    for (int i = 0; i < ACTORS; i++) {
        assert_int_equal(logs[i].stops, 1);
        assert_int_equal(logs[i].stop_reason, TR_ECLOSED);
        assert_int_equal(logs[i].handled, 3 * MSGS);
        assert_int_equal(logs[i].handled_at_stop, 3 * MSGS);
    }
}

/* Past the drain deadline, actors stop at their next turn and what is still
 * queued is dropped and counted, instead of being handled first. */
typedef struct slow_state {
    uint64_t handled;
    latch *stopped;
} slow_state;

static int slow_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    slow_state *st = *(slow_state **)state;
    st->handled++;
    sleep_ms(1); /* test only: a handler that takes its time */
    return 0;
}

static void slow_stop(tr_ctx *ctx, void *state, int reason)
{
    slow_state *st = *(slow_state **)state;
    latch_add(st->stopped, reason == TR_ECLOSED ? 1 : 1000);
}

static const tr_actor_ops slow_ops = {.state_size = sizeof(slow_state *),
                                      .init = ptr_init,
                                      .receive = slow_receive,
                                      .stop = slow_stop};

static void shutdown_past_deadline_drops_the_backlog(void **s)
{
    tr_runtime *rt = rt_new(1);
    latch stopped;
    latch_init(&stopped);
    slow_state st = {.stopped = &stopped};
    tr_actor_ref a;
    tr_spawn_opts o = {.mailbox = 8192};
    assert_ok(tr_spawn(rt, &slow_ops, &st, &o, &a));
    for (int i = 0; i < 3000; i++)
        assert_ok(tr_send(rt, a, MSG_WORK, NULL));
    assert_int_equal(tr_runtime_free(rt, 20), TR_ETIMEDOUT);
    assert_int_equal(latch_get(&stopped), 1); /* stop hook ran once */
    assert_true(st.handled < 3000);           /* the backlog was dropped */
    latch_destroy(&stopped);
}

static int spawn_rc_at_stop;
static void spawning_stop(tr_ctx *ctx, void *state, int reason)
{
    tr_actor_ref r;
    spawn_rc_at_stop = tr_ctx_spawn(ctx, &failing_ops, NULL, NULL, &r);
}

static const tr_actor_ops spawning_stop_ops = {.receive = noop_receive,
                                               .stop = spawning_stop};

static void closing_runtime_refuses_new_actors(void **s)
{
    tr_runtime *rt = rt_new(1);
    tr_actor_ref a;
    assert_ok(tr_spawn(rt, &spawning_stop_ops, NULL, NULL, &a));
    spawn_rc_at_stop = 12345;
    assert_int_equal(tr_runtime_free(rt, 1000), 0);
    assert_int_equal(spawn_rc_at_stop, TR_ECLOSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spawn_init_failure_leaves_nothing),
        cmocka_unit_test(monitor_gets_down_with_reason),
        cmocka_unit_test(monitors_see_shutdown_reason),
        cmocka_unit_test(supervisor_restarts_failed_child),
        cmocka_unit_test(supervisor_gives_up_past_restart_limit),
        cmocka_unit_test(shutdown_drains_mailboxes_then_stops),
        cmocka_unit_test(closing_runtime_refuses_new_actors),
        cmocka_unit_test(shutdown_past_deadline_drops_the_backlog),
    };
    return cmocka_run_group_tests_name("runtime.lifecycle", tests, NULL, NULL);
}
