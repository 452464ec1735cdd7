/*
 * tests/bus/test_bus.c -- the event bus actor (troupe/bus.h).
 *
 * Subscribers record what they get into a `sink`; tests compare sinks with
 * what the filters should have selected.  tr_bus_sync is the barrier for
 * callbacks (they run on the bus before it answers the sync); actor
 * subscribers are awaited with a latch.  No assertion depends on timing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_test.h"
#include "troupe/bus.h"
#include "troupe/codec.h"

#define MAXREC 50000

typedef struct rec {
    uint64_t seq;
    int64_t i;
    char wf[32];
    const uint8_t *data;
    tr_payload *held;
} rec;

typedef struct sink {
    pthread_mutex_t mu;
    rec *r;
    size_t n;
    bool hold;       /* keep a reference to every payload */
    latch l;
    pthread_mutex_t gate_mu; /* a "slow" actor blocks on the gate */
    pthread_cond_t gate_cv;
    bool gated, blocked;
} sink;

#define MSG_BLOCK 7u

static void sink_init(sink *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->gate_mu, NULL);
    pthread_cond_init(&s->gate_cv, NULL);
    latch_init(&s->l);
    s->r = calloc(MAXREC, sizeof(rec));
}

static void sink_fini(sink *s)
{
    for (size_t i = 0; i < s->n; i++)
        tr_payload_unref(s->r[i].held);
    free(s->r);
    latch_destroy(&s->l);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->gate_mu);
    pthread_cond_destroy(&s->gate_cv);
}

static void get_str(tr_mp_val root, const char *k, char *out, size_t cap)
{
    tr_mp_val v;
    const char *s;
    size_t l;
    out[0] = '\0';
    if (tr_mp_map_get(root, k, &v) == TR_OK && tr_mp_get_str(v, &s, &l) == 0 &&
        l < cap) {
        memcpy(out, s, l);
        out[l] = '\0';
    }
}

static void record(sink *s, tr_payload *p)
{
    tr_mp_val root, v;
    assert_ok(tr_mp_read_payload(p, &root, NULL));
    rec r = {0};
    if (tr_mp_map_get(root, "seq", &v) == TR_OK)
        tr_mp_get_uint(v, &r.seq);
    if (tr_mp_map_get(root, "i", &v) == TR_OK)
        tr_mp_get_int(v, &r.i);
    get_str(root, "workflow_id", r.wf, sizeof(r.wf));
    r.data = tr_payload_data(p);
    if (s->hold)
        r.held = tr_payload_ref(p);
    pthread_mutex_lock(&s->mu);
    if (s->n < MAXREC)
        s->r[s->n++] = r;
    pthread_mutex_unlock(&s->mu);
    latch_add(&s->l, 1);
}

static void on_event_cb(void *arg, uint32_t channel, tr_payload *ev)
{
    (void)channel;
    record(arg, ev);
}

static int sub_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)ctx;
    sink *s = *(sink **)state;
    if (m->type == MSG_BLOCK) {
        /* Hold this worker until the test opens the gate.  The test sends
         * this while the bus is idle, so no other actor is queued behind us
         * on this worker (a blocked worker strands its own queue). */
        pthread_mutex_lock(&s->gate_mu);
        s->blocked = true;
        pthread_cond_broadcast(&s->gate_cv);
        while (s->gated)
            pthread_cond_wait(&s->gate_cv, &s->gate_mu);
        pthread_mutex_unlock(&s->gate_mu);
        return 0;
    }
    if (m->type != TR_BUS_MSG_EVENT)
        return 0;
    record(s, m->payload);
    return 0;
}

static int sub_init(tr_runtime *rt, void *state, void *arg)
{
    (void)rt;
    *(sink **)state = arg;
    return 0;
}

static const tr_actor_ops sub_ops = {.state_size = sizeof(sink *),
                                     .init = sub_init,
                                     .receive = sub_receive,
                                     .name = "test_sub"};

static tr_actor_ref spawn_sub(tr_runtime *rt, sink *s, uint32_t mailbox)
{
    tr_actor_ref r;
    tr_spawn_opts o = {.mailbox = mailbox, .policy = TR_MBOX_REJECT};
    assert_ok(tr_spawn(rt, &sub_ops, s, &o, &r));
    return r;
}

/* {"type":type,"workflow_id":wf,"bot_id":bot,"strategy_id":st,"i":i} with
 * NULL fields left out. */
static tr_payload *event(const char *type, const char *wf, const char *bot,
                         const char *st, int64_t i)
{
    tr_buf b;
    tr_buf_init(&b);
    uint32_t n = 2 + (wf != NULL) + (bot != NULL) + (st != NULL);
    tr_mp_write_map(&b, n);
    tr_mp_write_cstr(&b, "type");
    tr_mp_write_cstr(&b, type);
    const char *k[3] = {"workflow_id", "bot_id", "strategy_id"};
    const char *v[3] = {wf, bot, st};
    for (int j = 0; j < 3; j++)
        if (v[j] != NULL) {
            tr_mp_write_cstr(&b, k[j]);
            tr_mp_write_cstr(&b, v[j]);
        }
    tr_mp_write_cstr(&b, "i");
    tr_mp_write_int(&b, i);
    tr_payload *p;
    assert_ok(tr_buf_finish(&b, &p));
    return p;
}

static void publish(tr_bus *bus, uint32_t ch, tr_payload *p)
{
    assert_ok(tr_bus_publish(bus, ch, p));
    tr_payload_unref(p);
}

/* ------------------------------------------------------------------------ */

static const char *WF[3] = {"w1", "w2", "w3"};
static const char *BOT[2] = {"b1", "b2"};
static const char *STRAT[2] = {"s1", "s2"};

static void filters_select_exactly_in_order_with_consecutive_seq(void **st)
{
    (void)st;
    tr_runtime *rt = rt_new(2);
    tr_bus *bus;
    assert_ok(tr_bus_start(rt, NULL, &bus));
    enum { NS = 5 };
    sink s[NS];
    tr_bus_filter f[NS] = {
        {.channel = TR_BUS_CH_WORKFLOW},
        {.channel = TR_BUS_CH_WORKFLOW, .workflow_id = "w1"},
        {.channel = TR_BUS_CH_WORKFLOW, .bot_id = "b2"},
        {.channel = TR_BUS_CH_WORKFLOW, .workflow_id = "w2", .strategy_id = "s1"},
        {.channel = TR_BUS_CH_EMERGENCY},
    };
    tr_actor_ref actor = TR_REF_NONE;
    for (int i = 0; i < NS; i++) {
        sink_init(&s[i]);
        uint64_t id;
        if (i == 2) { /* one of them is an actor */
            actor = spawn_sub(rt, &s[i], 1024);
            assert_ok(tr_bus_subscribe_actor(bus, &f[i], actor, &id));
        } else {
            assert_ok(tr_bus_subscribe_cb(bus, &f[i], on_event_cb, &s[i], &id));
        }
    }
    enum { N = 60 };
    for (int i = 0; i < N; i++)
        publish(bus, TR_BUS_CH_WORKFLOW,
                event("node_completed", WF[i % 3], BOT[(i / 3) % 2],
                      STRAT[(i / 2) % 2], i));
    assert_ok(tr_bus_sync(bus, RT_WAIT_MS));
    uint64_t expect_n[NS] = {0};
    for (int i = 0; i < N; i++) {
        const char *wf = WF[i % 3], *bot = BOT[(i / 3) % 2],
                   *sg = STRAT[(i / 2) % 2];
        bool m[NS] = {true, strcmp(wf, "w1") == 0, strcmp(bot, "b2") == 0,
                      strcmp(wf, "w2") == 0 && strcmp(sg, "s1") == 0, false};
        for (int k = 0; k < NS; k++) {
            if (!m[k])
                continue;
            if (k == 2)
                assert_int_equal(latch_wait(&s[k].l, expect_n[k] + 1) >
                                     expect_n[k], 1);
            pthread_mutex_lock(&s[k].mu);
            assert_true(expect_n[k] < s[k].n);
            rec r = s[k].r[expect_n[k]];
            pthread_mutex_unlock(&s[k].mu);
            assert_int_equal(r.i, i);
            assert_string_equal(r.wf, wf);
            assert_int_equal(r.seq, (uint64_t)(i / 3 + 1)); /* per workflow */
            expect_n[k]++;
        }
    }
    for (int k = 0; k < NS; k++) {
        if (k == 2)
            latch_wait(&s[k].l, expect_n[k]);
        assert_int_equal(latch_get(&s[k].l), expect_n[k]);
    }
    assert_int_equal(expect_n[0], N);
    assert_int_equal(expect_n[4], 0);
    tr_bus_stats bs;
    tr_bus_stats_get(bus, &bs);
    assert_int_equal(bs.published, N);
    assert_int_equal(bs.subscribers, NS);
    assert_int_equal(bs.dropped, 0);
    tr_bus_free(bus);
    assert_ok(tr_runtime_free(rt, RT_WAIT_MS));
    for (int i = 0; i < NS; i++)
        sink_fini(&s[i]);
}

static void seq_is_added_after_type_and_replaces_the_publishers(void **st)
{
    (void)st;
    tr_runtime *rt = rt_new(2);
    tr_bus *bus;
    assert_ok(tr_bus_start(rt, NULL, &bus));
    sink s;
    sink_init(&s);
    s.hold = true;
    uint32_t ch;
    assert_ok(tr_bus_channel(bus, "audit", "account", &ch));
    assert_int_equal(ch, 3);
    uint32_t again;
    assert_ok(tr_bus_channel(bus, "audit", NULL, &again));
    assert_int_equal(again, ch);
    tr_bus_filter f = {.channel = ch};
    assert_ok(tr_bus_subscribe_cb(bus, &f, on_event_cb, &s, NULL));
    const char *in[] = {
        "{\"type\":\"a\",\"seq\":999,\"account\":\"x\"}",
        "{\"account\":\"x\",\"type\":\"b\"}",
        "{\"seq\":5,\"type\":\"c\"}",
        "{\"type\":\"d\",\"account\":\"y\"}",
    };
    const char *want[] = {
        "{\"type\":\"a\",\"seq\":1,\"account\":\"x\"}",
        "{\"seq\":2,\"account\":\"x\",\"type\":\"b\"}",
        "{\"seq\":1,\"type\":\"c\"}", /* no scope field: channel-wide */
        "{\"type\":\"d\",\"seq\":1,\"account\":\"y\"}",
    };
    for (int i = 0; i < 4; i++) {
        tr_buf b;
        tr_buf_init(&b);
        assert_ok(tr_json_to_mp(&b, in[i], strlen(in[i]), NULL));
        tr_payload *p;
        assert_ok(tr_buf_finish(&b, &p));
        publish(bus, ch, p);
    }
    tr_payload *bad = tr_payload_copy("\x93\x01\x02\x03", 4); /* an array */
    publish(bus, ch, bad);
    assert_int_equal(tr_bus_publish(bus, 40, bad = tr_payload_copy("\x80", 1)),
                     TR_EINVAL);
    tr_payload_unref(bad);
    assert_ok(tr_bus_sync(bus, RT_WAIT_MS));
    assert_int_equal(s.n, 4);
    for (int i = 0; i < 4; i++) {
        tr_buf o;
        tr_buf_init(&o);
        assert_ok(tr_json_from_mp(&o, tr_payload_data(s.r[i].held),
                                  tr_payload_len(s.r[i].held), NULL));
        assert_string_equal(tr_buf_cstr(&o), want[i]);
        tr_buf_fini(&o);
    }
    tr_bus_stats bs;
    tr_bus_stats_get(bus, &bs);
    assert_int_equal(bs.invalid, 1);
    assert_int_equal(bs.published, 4);
    /* free the runtime first: the bus handle must still be freeable */
    assert_ok(tr_runtime_free(rt, RT_WAIT_MS));
    tr_bus_free(bus);
    sink_fini(&s);
}

static void unsubscribe_stops_delivery(void **st)
{
    (void)st;
    tr_runtime *rt = rt_new(2);
    tr_bus *bus;
    assert_ok(tr_bus_start(rt, NULL, &bus));
    sink a, c;
    sink_init(&a);
    sink_init(&c);
    tr_actor_ref ar = spawn_sub(rt, &a, 256);
    tr_bus_filter f = {.channel = TR_BUS_CH_WORKFLOW, .workflow_id = "w1"};
    uint64_t ida, idc;
    assert_ok(tr_bus_subscribe_actor(bus, &f, ar, &ida));
    assert_ok(tr_bus_subscribe_cb(bus, &f, on_event_cb, &c, &idc));
    for (int i = 0; i < 5; i++)
        publish(bus, TR_BUS_CH_WORKFLOW, event("x", "w1", NULL, NULL, i));
    assert_ok(tr_bus_unsubscribe(bus, ida));
    assert_ok(tr_bus_unsubscribe(bus, idc));
    for (int i = 5; i < 10; i++)
        publish(bus, TR_BUS_CH_WORKFLOW, event("x", "w1", NULL, NULL, i));
    assert_ok(tr_bus_sync(bus, RT_WAIT_MS));
    assert_int_equal(latch_wait(&a.l, 5), 5);
    assert_int_equal(c.n, 5);
    tr_bus_sub_stats ss;
    assert_int_equal(tr_bus_sub_stats_get(bus, ida, &ss, RT_WAIT_MS), TR_ENOENT);
    tr_bus_stats bs;
    tr_bus_stats_get(bus, &bs);
    assert_int_equal(bs.delivered, 10); /* 5 each, nothing after */
    assert_int_equal(bs.published, 10);
    assert_int_equal(bs.subscribers, 0);
    tr_bus_free(bus);
    assert_ok(tr_runtime_free(rt, RT_WAIT_MS));
    assert_int_equal(latch_get(&a.l), 5);
    sink_fini(&a);
    sink_fini(&c);
}

static void dead_subscriber_is_removed_others_continue(void **st)
{
    (void)st;
    tr_runtime *rt = rt_new(2);
    tr_bus *bus;
    assert_ok(tr_bus_start(rt, NULL, &bus));
    sink a, b;
    sink_init(&a);
    sink_init(&b);
    tr_actor_ref ra = spawn_sub(rt, &a, 256), rb = spawn_sub(rt, &b, 256);
    tr_bus_filter f = {.channel = TR_BUS_CH_WORKFLOW};
    assert_ok(tr_bus_subscribe_actor(bus, &f, ra, NULL));
    assert_ok(tr_bus_subscribe_actor(bus, &f, rb, NULL));
    publish(bus, TR_BUS_CH_WORKFLOW, event("x", "w1", NULL, NULL, 0));
    assert_int_equal(latch_wait(&a.l, 1), 1);
    assert_ok(tr_stop(rt, ra));
    while (tr_actor_alive(rt, ra))
        sleep_ms(1);
    for (int i = 1; i <= 3; i++)
        publish(bus, TR_BUS_CH_WORKFLOW, event("x", "w1", NULL, NULL, i));
    assert_ok(tr_bus_sync(bus, RT_WAIT_MS));
    assert_int_equal(latch_wait(&b.l, 4), 4);
    tr_bus_stats bs;
    tr_bus_stats_get(bus, &bs);
    assert_int_equal(bs.dead_removed, 1);
    assert_int_equal(bs.subscribers, 1);
    assert_int_equal(bs.delivered, 5);
    tr_bus_free(bus);
    assert_ok(tr_runtime_free(rt, RT_WAIT_MS));
    sink_fini(&a);
    sink_fini(&b);
}

static void full_mailbox_drops_for_that_subscriber_only(void **st)
{
    (void)st;
    tr_runtime *rt = rt_new(3);
    tr_bus *bus;
    assert_ok(tr_bus_start(rt, NULL, &bus));
    sink slow, fast;
    sink_init(&slow);
    sink_init(&fast);
    slow.gated = true;
    tr_actor_ref rs = spawn_sub(rt, &slow, 4);
    /* Park the slow actor inside its receive (its mailbox then fills with
     * what the bus sends: the message in hand counts, so 3 more fit). */
    assert_ok(tr_send(rt, rs, MSG_BLOCK, NULL));
    pthread_mutex_lock(&slow.gate_mu);
    while (!slow.blocked)
        pthread_cond_wait(&slow.gate_cv, &slow.gate_mu);
    pthread_mutex_unlock(&slow.gate_mu);
    tr_bus_filter f = {.channel = TR_BUS_CH_WORKFLOW};
    uint64_t ids;
    assert_ok(tr_bus_subscribe_actor(bus, &f, rs, &ids));
    assert_ok(tr_bus_subscribe_cb(bus, &f, on_event_cb, &fast, NULL));
    enum { N = 200 };
    for (int i = 0; i < N; i++)
        publish(bus, TR_BUS_CH_WORKFLOW, event("x", "w1", NULL, NULL, i));
    /* The bus finished every event while the slow actor is still stuck. */
    assert_ok(tr_bus_sync(bus, RT_WAIT_MS));
    assert_int_equal(fast.n, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(fast.r[i].i, i);
    tr_bus_sub_stats ss;
    assert_ok(tr_bus_sub_stats_get(bus, ids, &ss, RT_WAIT_MS));
    assert_int_equal(ss.delivered + ss.dropped, N);
    assert_int_equal(ss.dropped, N - 3);
    tr_bus_stats bs;
    tr_bus_stats_get(bus, &bs);
    assert_int_equal(bs.dropped, ss.dropped);
    assert_int_equal(bs.delivered, N + ss.delivered);
    pthread_mutex_lock(&slow.gate_mu);
    slow.gated = false;
    pthread_cond_broadcast(&slow.gate_cv);
    pthread_mutex_unlock(&slow.gate_mu);
    assert_int_equal(latch_wait(&slow.l, ss.delivered), ss.delivered);
    tr_bus_free(bus);
    assert_ok(tr_runtime_free(rt, RT_WAIT_MS));
    sink_fini(&slow);
    sink_fini(&fast);
}

static void one_buffer_is_shared_by_all_subscribers(void **st)
{
    (void)st;
    tr_runtime *rt = rt_new(2);
    tr_bus *bus;
    assert_ok(tr_bus_start(rt, NULL, &bus));
    enum { NC = 3, NA = 3 };
    sink s[NC + NA];
    tr_bus_filter f = {.channel = TR_BUS_CH_WORKFLOW, .workflow_id = "w9"};
    for (int i = 0; i < NC + NA; i++) {
        sink_init(&s[i]);
        s[i].hold = true;
        if (i < NC)
            assert_ok(tr_bus_subscribe_cb(bus, &f, on_event_cb, &s[i], NULL));
        else
            assert_ok(tr_bus_subscribe_actor(bus, &f, spawn_sub(rt, &s[i], 64),
                                             NULL));
    }
    tr_payload *p = event("x", "w9", NULL, NULL, 7);
    assert_ok(tr_bus_publish(bus, TR_BUS_CH_WORKFLOW, p));
    assert_ok(tr_bus_sync(bus, RT_WAIT_MS));
    for (int i = 0; i < NC + NA; i++)
        assert_int_equal(latch_wait(&s[i].l, 1), 1);
    tr_payload *shared = s[0].r[0].held;
    assert_ptr_not_equal(shared, p); /* the stamped copy, not the input */
    for (int i = 0; i < NC + NA; i++) {
        assert_ptr_equal(s[i].r[0].held, shared);
        assert_ptr_equal(s[i].r[0].data, tr_payload_data(shared));
    }
    /* Only the subscribers' own references remain: the bus and the
     * envelopes released theirs.  Wait for the envelopes to go (an actor's
     * envelope is released after its receive returns). */
    tr_bus_free(bus);
    assert_ok(tr_runtime_free(rt, RT_WAIT_MS));
    assert_int_equal(tr_payload_refs(shared), NC + NA);
    assert_int_equal(tr_payload_refs(p), 1);
    tr_payload_unref(p);
    for (int i = 0; i < NC + NA; i++)
        sink_fini(&s[i]);
}

/* ------------------------------------------------------------------------ */

enum { NT = 4, PER = 5000 };

typedef struct pub_arg {
    tr_bus *bus;
    int t;
} pub_arg;

static void *publisher(void *arg)
{
    pub_arg *a = arg;
    char own[8];
    snprintf(own, sizeof(own), "t%d", a->t);
    for (int i = 0; i < PER; i++) {
        /* every other event on the shared workflow, the rest on our own */
        tr_payload *p = event("x", (i & 1) ? "shared" : own, NULL, NULL,
                              (int64_t)a->t * PER + i);
        if (tr_bus_publish(a->bus, TR_BUS_CH_WORKFLOW, p) != 0)
            abort();
        tr_payload_unref(p);
    }
    return NULL;
}

static void concurrent_publishers_lose_nothing(void **st)
{
    (void)st;
    tr_runtime *rt = rt_new(2);
    tr_bus *bus;
    tr_bus_opts o = {.mailbox = 1024}; /* small: exercises back-pressure */
    assert_ok(tr_bus_start(rt, &o, &bus));
    sink s;
    sink_init(&s);
    tr_bus_filter f = {.channel = TR_BUS_CH_WORKFLOW};
    assert_ok(tr_bus_subscribe_cb(bus, &f, on_event_cb, &s, NULL));
    pthread_t th[NT];
    pub_arg pa[NT];
    for (int t = 0; t < NT; t++) {
        pa[t] = (pub_arg){bus, t};
        pthread_create(&th[t], NULL, publisher, &pa[t]);
    }
    for (int t = 0; t < NT; t++)
        pthread_join(th[t], NULL);
    assert_ok(tr_bus_sync(bus, RT_WAIT_MS));
    assert_int_equal(s.n, NT * PER);
    uint64_t seq_own[NT] = {0}, seq_shared = 0;
    int64_t last[NT];
    for (int t = 0; t < NT; t++)
        last[t] = -1;
    for (size_t k = 0; k < s.n; k++) {
        const rec *r = &s.r[k];
        int t = (int)(r->i / PER);
        assert_true(r->i > last[t]); /* per-publisher FIFO */
        last[t] = r->i;
        if (strcmp(r->wf, "shared") == 0)
            assert_int_equal(r->seq, ++seq_shared);
        else
            assert_int_equal(r->seq, ++seq_own[t]);
    }
    assert_int_equal(seq_shared, NT * PER / 2);
    tr_bus_stats bs;
    tr_bus_stats_get(bus, &bs);
    assert_int_equal(bs.published, NT * PER);
    tr_bus_free(bus);
    assert_ok(tr_runtime_free(rt, RT_WAIT_MS));
    sink_fini(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(filters_select_exactly_in_order_with_consecutive_seq),
        cmocka_unit_test(seq_is_added_after_type_and_replaces_the_publishers),
        cmocka_unit_test(unsubscribe_stops_delivery),
        cmocka_unit_test(dead_subscriber_is_removed_others_continue),
        cmocka_unit_test(full_mailbox_drops_for_that_subscriber_only),
        cmocka_unit_test(one_buffer_is_shared_by_all_subscribers),
        cmocka_unit_test(concurrent_publishers_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
