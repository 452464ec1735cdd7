/*
 * tests/runtime/test_timers.c -- send_after, periodic timers, ask.
 *
 * Timing is only ever checked as ordering or as "not early" (a lower bound);
 * no assertion depends on the machine being fast.
 */
#include <stdlib.h>
#include <string.h>

#include "rt_test.h"

enum { MSG_TICK = 1, MSG_ASK = 2, MSG_ANSWER = 3, MSG_START = 4 };

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

typedef struct tick_log {
    latch got;
    uint64_t ticks7;   /* messages with corr_id 7 (atomic) */
    uint64_t markers;  /* messages with corr_id 999 (atomic) */
    uint64_t tags[64];
    uint64_t at[64];
    int n;
} tick_log;

static int ptr_init(tr_runtime *rt, void *state, void *arg)
{
    *(void **)state = arg;
    return 0;
}

static int tick_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    tick_log *t = *(tick_log **)state;
    if (m->corr_id == 7)
        __atomic_fetch_add(&t->ticks7, 1, __ATOMIC_RELAXED);
    if (m->corr_id == 999) {
        __atomic_fetch_add(&t->markers, 1, __ATOMIC_RELAXED);
        latch_add(&t->got, 1);
        return 0;
    }
    if (t->n < 64) {
        t->tags[t->n] = m->corr_id;
        t->at[t->n] = mono_ms();
        t->n++;
    }
    latch_add(&t->got, 1);
    return 0;
}

static const tr_actor_ops tick_ops = {
    .state_size = sizeof(tick_log *), .init = ptr_init, .receive = tick_receive};

static void timers_fire_in_deadline_order(void **s)
{
    tr_runtime *rt = rt_new(2);
    tick_log log = {0};
    latch_init(&log.got);
    tr_actor_ref a;
    assert_ok(tr_spawn(rt, &tick_ops, &log, NULL, &a));
    uint64_t delays[] = {120, 40, 80, 0, 160};
    uint64_t t0 = mono_ms();
    for (size_t i = 0; i < 5; i++) {
        tr_send_args args = {.type = MSG_TICK, .corr_id = delays[i]};
        assert_ok(tr_send_after(rt, delays[i], 0, a, &args, NULL));
    }
    assert_int_equal(latch_wait(&log.got, 5), 5);
    uint64_t expect[] = {0, 40, 80, 120, 160};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(log.tags[i], expect[i]);
        assert_true(log.at[i] - t0 >= expect[i]); /* never early */
    }
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    latch_destroy(&log.got);
}

static void periodic_timer_ticks_until_cancelled(void **s)
{
    tr_runtime *rt = rt_new(2);
    tick_log log = {0};
    latch_init(&log.got);
    tr_actor_ref a;
    assert_ok(tr_spawn(rt, &tick_ops, &log, NULL, &a));
    tr_timer *t;
    tr_send_args args = {.type = MSG_TICK, .corr_id = 7};
    assert_ok(tr_send_after(rt, 5, 5, a, &args, &t));
    assert_true(latch_wait(&log.got, 5) >= 5);
    tr_timer_cancel(t);
    /* A marker sent after cancel queues behind every tick delivered before
     * it; at most one delivery that was under way when cancel was called
     * may land later.  Twelve periods on, a second marker: no tick may have
     * come in between beyond that one.  (No time window is relied on.) */
    tr_send_args marker = {.type = MSG_TICK, .corr_id = 999};
    assert_ok(tr_send_msg(rt, a, &marker));
    for (int i = 0; i < RT_WAIT_MS && __atomic_load_n(&log.markers, __ATOMIC_RELAXED) < 1; i++)
        sleep_ms(1);
    assert_int_equal(__atomic_load_n(&log.markers, __ATOMIC_RELAXED), 1);
    uint64_t ticks1 = __atomic_load_n(&log.ticks7, __ATOMIC_RELAXED);
    sleep_ms(60);
    assert_ok(tr_send_msg(rt, a, &marker));
    for (int i = 0; i < RT_WAIT_MS && __atomic_load_n(&log.markers, __ATOMIC_RELAXED) < 2; i++)
        sleep_ms(1);
    assert_int_equal(__atomic_load_n(&log.markers, __ATOMIC_RELAXED), 2);
    uint64_t ticks2 = __atomic_load_n(&log.ticks7, __ATOMIC_RELAXED);
    assert_true(ticks2 - ticks1 <= 1);
    assert_int_equal(tr_send_after(rt, 5, 5, a, &args, NULL), TR_EINVAL);
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    latch_destroy(&log.got);
}

static void pending_timers_do_not_block_shutdown(void **s)
{
    tr_runtime *rt = rt_new(1);
    tick_log log = {0};
    latch_init(&log.got);
    tr_actor_ref a;
    assert_ok(tr_spawn(rt, &tick_ops, &log, NULL, &a));
    tr_send_args args = {.type = MSG_TICK};
    tr_timer *t;
    assert_ok(tr_send_after(rt, 3600 * 1000, 0, a, &args, NULL));
    assert_ok(tr_send_after(rt, 1000, 1000, a, &args, &t));
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    tr_timer_release(t); /* the handle outlives the runtime's loop */
    assert_int_equal(latch_get(&log.got), 0);
    latch_destroy(&log.got);
}

/* Worker-wheel timers: an actor arms several with tr_ctx_send_after; they
 * arrive in deadline order, never early, from the actor itself.  A deadline
 * is the arming time plus the delay, and arming six timers can take longer
 * than 5 ms on a loaded machine (TSan), so the order expected is that of the
 * deadlines the actor saw when it armed them, not of the delays. */
enum { WHEEL_N = 6 };

typedef struct wheel_log {
    tick_log log;            /* tags = timer index, at = arrival (mono ms) */
    uint64_t due[WHEEL_N];   /* arming time + delay, as the actor saw it   */
} wheel_log;

static int wheel_init(tr_runtime *rt, void *state, void *arg)
{
    *(wheel_log **)state = arg;
    return 0;
}

static int wheel_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    wheel_log *wl = *(wheel_log **)state;
    if (m->type == MSG_START) {
        static const uint64_t delays[WHEEL_N] = {45, 5, 25, 0, 65, 5};
        for (size_t i = 0; i < WHEEL_N; i++) {
            tr_send_args a = {.type = MSG_TICK, .corr_id = i + 1};
            wl->due[i] = mono_ms() + delays[i];
            if (tr_ctx_send_after(ctx, delays[i], tr_self(ctx), &a) != 0)
                return -1;
        }
        return 0;
    }
    tick_log *t = &wl->log;
    if (t->n < 64) {
        t->tags[t->n] = m->corr_id - 1;
        t->at[t->n] = mono_ms();
        if (!tr_ref_eq(m->sender, tr_self(ctx)))
            t->tags[t->n] = 9999; /* wrong sender */
        t->n++;
    }
    latch_add(&t->got, 1);
    return 0;
}

static const tr_actor_ops wheel_ops = {
    .state_size = sizeof(wheel_log *), .init = wheel_init, .receive = wheel_receive};

static void worker_wheel_timers_fire_in_order_never_early(void **s)
{
    tr_runtime *rt = rt_new(2);
    wheel_log wl = {0};
    latch_init(&wl.log.got);
    tr_actor_ref a;
    assert_ok(tr_spawn(rt, &wheel_ops, &wl, NULL, &a));
    assert_ok(tr_send(rt, a, MSG_START, NULL));
    assert_int_equal(latch_wait(&wl.log.got, WHEEL_N), WHEEL_N);
    bool seen[WHEEL_N] = {false};
    for (int k = 0; k < WHEEL_N; k++) {
        uint64_t i = wl.log.tags[k];
        assert_true(i < WHEEL_N); /* a timer of ours, from the actor itself */
        assert_false(seen[i]);    /* each exactly once */
        seen[i] = true;
        assert_true(wl.log.at[k] >= wl.due[i]); /* never early */
        /* deadline order; 1 ms of slack: the runtime reads its clock just
         * after the actor did */
        if (k > 0)
            assert_true(wl.due[wl.log.tags[k - 1]] <= wl.due[i] + 1);
    }
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    latch_destroy(&wl.log.got);
}

/* Cancelling wheel timers: one armed far out and cancelled never fires and
 * does not hold up shutdown; one that already fired cannot be cancelled. */
typedef struct cancel_state {
    tick_log *log;
    tr_wheel_timer far, near;
    int cancel_far, cancel_near_late;
} cancel_state;

static int cancel_init(tr_runtime *rt, void *state, void *arg)
{
    ((cancel_state *)state)->log = arg;
    return 0;
}

static int cancel_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    cancel_state *cs = state;
    if (m->type == MSG_START) {
        tr_send_args far = {.type = MSG_TICK, .corr_id = 2};
        tr_send_args near = {.type = MSG_TICK, .corr_id = 1};
        if (tr_ctx_timer_start(ctx, 3600 * 1000, tr_self(ctx), &far, &cs->far) != 0 ||
            tr_ctx_timer_start(ctx, 1, tr_self(ctx), &near, &cs->near) != 0)
            return -1;
        cs->cancel_far = tr_wheel_timer_cancel(cs->far);
        return 0;
    }
    /* The near timer fired: cancelling it now must fail, and twice the far
     * one too (already cancelled). */
    cs->cancel_near_late = tr_wheel_timer_cancel(cs->near) || tr_wheel_timer_cancel(cs->far);
    tick_log *t = cs->log;
    t->at[0] = (uint64_t)cs->cancel_far;
    t->at[1] = (uint64_t)cs->cancel_near_late;
    t->tags[t->n++] = m->corr_id;
    latch_add(&t->got, 1);
    return 0;
}

static const tr_actor_ops cancel_ops = {
    .state_size = sizeof(cancel_state), .init = cancel_init, .receive = cancel_receive};

static void wheel_timer_cancel_exactly_one_winner(void **s)
{
    tr_runtime *rt = rt_new(1);
    tick_log log = {0};
    latch_init(&log.got);
    tr_actor_ref a;
    assert_ok(tr_spawn(rt, &cancel_ops, &log, NULL, &a));
    assert_ok(tr_send(rt, a, MSG_START, NULL));
    assert_int_equal(latch_wait(&log.got, 1), 1);
    /* An hour-long timer was armed: the drain would wait for it, unless the
     * cancel took it out of the count. */
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.tags[0], 1);
    assert_int_equal(log.at[0], 1); /* the far one was cancelled        */
    assert_int_equal(log.at[1], 0); /* fired / already cancelled: no-op */
    latch_destroy(&log.got);
}

/* A pending wheel timer is work in flight: shutdown's drain waits for it. */
static void shutdown_drain_waits_for_wheel_timers(void **s)
{
    tr_runtime *rt = rt_new(1);
    wheel_log wl = {0};
    latch_init(&wl.log.got);
    tr_actor_ref a;
    assert_ok(tr_spawn(rt, &wheel_ops, &wl, NULL, &a));
    assert_ok(tr_send(rt, a, MSG_START, NULL));
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    assert_int_equal(latch_get(&wl.log.got), WHEEL_N);
    latch_destroy(&wl.log.got);
}

/* ---------------------------------------------------------------------- */
/* ask                                                                     */
/* ---------------------------------------------------------------------- */

typedef struct ask_log {
    latch done;
    tr_actor_ref target;
    uint64_t timeout_ms;
    uint64_t ask_id;
    int rc;
    int replies, timeouts, others;
    uint64_t reply_corr, timeout_corr;
} ask_log;

static int asker_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    ask_log *l = *(ask_log **)state;
    if (m->type == MSG_START) {
        l->rc = tr_ask(ctx, l->target, MSG_ASK, NULL, l->timeout_ms, &l->ask_id);
        if (l->rc != 0)
            latch_add(&l->done, 1);
        return 0;
    }
    if (m->type == TR_MSG_TIMEOUT) {
        l->timeouts++;
        l->timeout_corr = m->corr_id;
    } else if (m->type == MSG_ANSWER && (m->flags & TR_MSG_F_REPLY)) {
        l->replies++;
        l->reply_corr = m->corr_id;
    } else {
        l->others++;
    }
    latch_add(&l->done, 1);
    return 0;
}

static const tr_actor_ops asker_ops = {
    .state_size = sizeof(ask_log *), .init = ptr_init, .receive = asker_receive};

static int echo_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    if (m->type == MSG_ASK)
        tr_reply(ctx, m, MSG_ANSWER, NULL);
    return 0;
}
static const tr_actor_ops echo_ops = {.receive = echo_receive};

/* Replies only after a delay, through a timer of its own. */
typedef struct late_state {
    uint64_t delay;
} late_state;

static int late_init(tr_runtime *rt, void *state, void *arg)
{
    ((late_state *)state)->delay = (uint64_t)(uintptr_t)arg;
    return 0;
}

static int late_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    late_state *ls = state;
    if (m->type == MSG_ASK) {
        tr_send_args a = {.type = MSG_ANSWER, .flags = TR_MSG_F_REPLY,
                          .corr_id = m->corr_id};
        tr_send_after(tr_ctx_runtime(ctx), ls->delay, 0, m->reply_to, &a, NULL);
    }
    return 0;
}
static const tr_actor_ops late_ops = {
    .state_size = sizeof(late_state), .init = late_init, .receive = late_receive};

static void ask_gets_reply(void **s)
{
    tr_runtime *rt = rt_new(2);
    ask_log l = {.timeout_ms = 60000};
    latch_init(&l.done);
    tr_actor_ref asker;
    assert_ok(tr_spawn(rt, &echo_ops, NULL, NULL, &l.target));
    assert_ok(tr_spawn(rt, &asker_ops, &l, NULL, &asker));
    assert_ok(tr_send(rt, asker, MSG_START, NULL));
    assert_int_equal(latch_wait(&l.done, 1), 1);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.replies, 1);
    assert_int_equal(l.reply_corr, l.ask_id);
    assert_int_equal(l.timeouts, 0);
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    assert_int_equal(l.timeouts, 0); /* the cancelled timer never fired */
    latch_destroy(&l.done);
}

static void ask_times_out_and_late_reply_is_dropped(void **s)
{
    tr_runtime *rt = rt_new(2);
    ask_log l = {.timeout_ms = 20};
    latch_init(&l.done);
    tr_actor_ref asker;
    assert_ok(tr_spawn(rt, &late_ops, (void *)(uintptr_t)150, NULL, &l.target));
    assert_ok(tr_spawn(rt, &asker_ops, &l, NULL, &asker));
    uint64_t t0 = mono_ms();
    assert_ok(tr_send(rt, asker, MSG_START, NULL));
    assert_int_equal(latch_wait(&l.done, 1), 1);
    assert_true(mono_ms() - t0 >= 20);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.timeouts, 1);
    assert_int_equal(l.timeout_corr, l.ask_id);
    /* Let the late reply arrive: it must be dropped and counted. */
    tr_runtime_stats st;
    for (int i = 0; i < RT_WAIT_MS; i++) {
        tr_runtime_stats_get(rt, &st, NULL);
        if (st.late_replies > 0)
            break;
        sleep_ms(1);
    }
    assert_int_equal(st.late_replies, 1);
    assert_int_equal(l.replies, 0);
    assert_int_equal(latch_get(&l.done), 1); /* exactly one outcome */
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    latch_destroy(&l.done);
}

static void ask_to_dead_actor_fails_at_once(void **s)
{
    tr_runtime *rt = rt_new(1);
    ask_log l = {.timeout_ms = 10, .target = {999999, 3}};
    latch_init(&l.done);
    tr_actor_ref asker;
    assert_ok(tr_spawn(rt, &asker_ops, &l, NULL, &asker));
    assert_ok(tr_send(rt, asker, MSG_START, NULL));
    assert_int_equal(latch_wait(&l.done, 1), 1);
    assert_int_equal(l.rc, TR_EDEAD);
    sleep_ms(50);
    assert_int_equal(l.timeouts, 0); /* no timeout for a failed ask */
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    latch_destroy(&l.done);
}

/* An actor answering an ask by way of a plain request to a third actor: the
 * third actor's reply must not be taken for a late ask reply. */
typedef struct relay_state {
    tr_actor_ref echo;
    tr_msg pending; /* the ask being served */
    int have_pending;
} relay_state;

static int relay_init(tr_runtime *rt, void *state, void *arg)
{
    ((relay_state *)state)->echo = *(tr_actor_ref *)arg;
    return 0;
}

static int relay_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    relay_state *r = state;
    if (m->type == MSG_ASK && !(m->flags & TR_MSG_F_REPLY)) {
        r->pending = *m;
        r->pending.payload = NULL;
        r->have_pending = 1;
        tr_send_args a = {.type = MSG_ASK, .reply_to = tr_self(ctx)};
        return tr_ctx_send_msg(ctx, r->echo, &a); /* inherits the trace */
    }
    if (m->type == MSG_ANSWER && r->have_pending) {
        r->have_pending = 0;
        return tr_reply(ctx, &r->pending, MSG_ANSWER, NULL);
    }
    return 0;
}

static const tr_actor_ops relay_ops = {
    .state_size = sizeof(relay_state), .init = relay_init, .receive = relay_receive};

static void ask_served_through_a_plain_request(void **s)
{
    tr_runtime *rt = rt_new(2);
    ask_log l = {.timeout_ms = 60000};
    latch_init(&l.done);
    tr_actor_ref echo, asker;
    assert_ok(tr_spawn(rt, &echo_ops, NULL, NULL, &echo));
    assert_ok(tr_spawn(rt, &relay_ops, &echo, NULL, &l.target));
    assert_ok(tr_spawn(rt, &asker_ops, &l, NULL, &asker));
    assert_ok(tr_send(rt, asker, MSG_START, NULL));
    assert_int_equal(latch_wait(&l.done, 1), 1);
    assert_int_equal(l.replies, 1);
    assert_int_equal(l.timeouts, 0);
    tr_runtime_stats st;
    tr_runtime_stats_get(rt, &st, NULL);
    assert_int_equal(st.late_replies, 0);
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    latch_destroy(&l.done);
}

/* Many concurrent asks racing their timeouts: each gets exactly one. */
typedef struct race_state {
    ask_log *l;
    int outcomes;
} race_state;

static void ask_race_exactly_one_outcome(void **s)
{
    tr_runtime *rt = rt_new(2);
    enum { N = 200 };
    ask_log logs[N];
    tr_actor_ref askers[N];
    memset(logs, 0, sizeof(logs));
    for (int i = 0; i < N; i++) {
        logs[i].timeout_ms = 5 + (uint64_t)(i % 10);
        latch_init(&logs[i].done);
        /* Replies due around the timeout: some win, some lose. */
        assert_ok(tr_spawn(rt, &late_ops, (void *)(uintptr_t)(i % 15), NULL,
                           &logs[i].target));
        assert_ok(tr_spawn(rt, &asker_ops, &logs[i], NULL, &askers[i]));
        assert_ok(tr_send(rt, askers[i], MSG_START, NULL));
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(latch_wait(&logs[i].done, 1), 1);
    sleep_ms(100); /* any second outcome would arrive in this window */
    assert_int_equal(tr_runtime_free(rt, 10000), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(logs[i].rc, 0);
        assert_int_equal(logs[i].replies + logs[i].timeouts, 1);
        assert_int_equal(logs[i].others, 0);
        latch_destroy(&logs[i].done);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fire_in_deadline_order),
        cmocka_unit_test(periodic_timer_ticks_until_cancelled),
        cmocka_unit_test(pending_timers_do_not_block_shutdown),
        cmocka_unit_test(worker_wheel_timers_fire_in_order_never_early),
        cmocka_unit_test(shutdown_drain_waits_for_wheel_timers),
        cmocka_unit_test(wheel_timer_cancel_exactly_one_winner),
        cmocka_unit_test(ask_gets_reply),
        cmocka_unit_test(ask_times_out_and_late_reply_is_dropped),
        cmocka_unit_test(ask_to_dead_actor_fails_at_once),
        cmocka_unit_test(ask_race_exactly_one_outcome),
        cmocka_unit_test(ask_served_through_a_plain_request),
    };
    return cmocka_run_group_tests_name("runtime.timers", tests, NULL, NULL);
}
