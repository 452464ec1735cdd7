/*
 * bench/runtime_workloads.c -- the runtime benchmark's workloads (see the
 * design block of runtime_bench.c for what each measures and checks).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "bench/runtime_bench.h"

/* Messages. */
enum {
    M_START = 1,
    M_PING,
    M_PONG,
    M_CONTINUE,
    M_DATA,
    M_TOKEN,
    M_HELLO,
};

/* A padded counter, one writer. */
struct cell {
    alignas(64) uint64_t n;
};

static int init_store_arg(tr_runtime *rt, void *state, void *arg)
{
    (void)rt;
    *(void **)state = arg;
    return 0;
}

static void dump_stats(tr_runtime *rt, const char *what)
{
    tr_runtime_stats st;
    tr_runtime_stats_get(rt, &st, NULL);
    fprintf(stderr,
            "  %s: runtime counters: sent=%llu handled=%llu dead_letters=%llu "
            "rejected=%llu spawned=%llu stopped=%llu live=%llu steals=%llu depth_hwm=%u\n",
            what, (unsigned long long)st.sent, (unsigned long long)st.handled,
            (unsigned long long)st.dead_letters, (unsigned long long)st.rejected,
            (unsigned long long)st.spawned, (unsigned long long)st.stopped,
            (unsigned long long)st.live_actors, (unsigned long long)st.steals, st.depth_hwm);
}

static int new_runtime(tr_runtime **rt, const char *what)
{
    int rc = tr_runtime_new(rt, NULL);
    if (rc != 0)
        fprintf(stderr, "bench runtime: %s: tr_runtime_new: %s\n", what, tr_strerror(rc));
    return rc;
}

static int free_runtime(tr_runtime *rt, const char *what)
{
    int rc = tr_runtime_free(rt, 30000);
    if (rc != 0)
        fprintf(stderr, "bench runtime: %s: tr_runtime_free: %s\n", what, tr_strerror(rc));
    return rc;
}
/* ------------------------------------------------------------------------ */
/* pingpong                                                                  */
/* ------------------------------------------------------------------------ */

struct pp {
    tr__bench_latch done;
    uint64_t n;
    tr_actor_ref ponger;
    uint64_t t_end;
    struct cell pongs;  /* pinger */
    struct cell pings;  /* ponger */
    uint64_t errors;    /* pinger: order; ponger uses its own below */
    int send_rc;
    alignas(64) uint64_t ponger_errors;
    int ponger_send_rc;
};

static int pinger_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    struct pp *s = *(struct pp **)state;
    if (m->type == M_PONG) {
        if (m->corr_id != s->pongs.n + 1)
            s->errors++;
        s->pongs.n++;
    } else if (m->type != M_START) {
        s->errors++;
    }
    if (s->pongs.n >= s->n) {
        s->t_end = tr__bench_now_ns();
        tr__bench_latch_add(&s->done, 1);
        return 0;
    }
    tr_send_args a = {.type = M_PING, .corr_id = s->pongs.n + 1};
    int rc = tr_ctx_send_msg(ctx, s->ponger, &a);
    if (rc != 0) {
        s->send_rc = rc;
        tr__bench_latch_add(&s->done, 1);
    }
    return 0;
}

static int ponger_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    struct pp *s = *(struct pp **)state;
    if (m->type != M_PING || m->corr_id != s->pings.n + 1)
        s->ponger_errors++;
    s->pings.n++;
    tr_send_args a = {.type = M_PONG, .corr_id = m->corr_id};
    int rc = tr_ctx_send_msg(ctx, m->sender, &a);
    if (rc != 0 && s->ponger_send_rc == 0) {
        s->ponger_send_rc = rc;
        tr__bench_latch_add(&s->done, 1);
    }
    return 0;
}

static const tr_actor_ops pinger_ops = {
    .state_size = sizeof(void *), .init = init_store_arg,
    .receive = pinger_receive, .name = "bench.pinger"};
static const tr_actor_ops ponger_ops = {
    .state_size = sizeof(void *), .init = init_store_arg,
    .receive = ponger_receive, .name = "bench.ponger"};

int tr__rb_pingpong(const struct params *p, double *per_s)
{
    tr_runtime *rt;
    if (new_runtime(&rt, "pingpong") != 0)
        return -1;
    struct pp *s = aligned_alloc(64, sizeof(*s));
    if (s == NULL)
        return -1;
    memset(s, 0, sizeof(*s));
    tr__bench_latch_init(&s->done);
    s->n = p->pp_round_trips;
    tr_actor_ref pinger;
    int rc = tr_spawn(rt, &ponger_ops, s, NULL, &s->ponger);
    if (rc == 0)
        rc = tr_spawn(rt, &pinger_ops, s, NULL, &pinger);
    if (rc != 0) {
        fprintf(stderr, "bench runtime: pingpong: spawn: %s\n", tr_strerror(rc));
        return -1;
    }
    uint64_t t0 = tr__bench_now_ns();
    if ((rc = tr_send(rt, pinger, M_START, NULL)) != 0) {
        fprintf(stderr, "bench runtime: pingpong: tr_send: %s\n", tr_strerror(rc));
        return -1;
    }
    if (tr__bench_latch_wait(&s->done, 1, p->timeout_ms) < 1) {
        fprintf(stderr,
                "bench runtime: pingpong: HUNG: no completion after %llu ms "
                "(pongs seen %llu, pings seen %llu of %llu)\n",
                (unsigned long long)p->timeout_ms, (unsigned long long)s->pongs.n,
                (unsigned long long)s->pings.n, (unsigned long long)s->n);
        dump_stats(rt, "pingpong");
        return -1;
    }
    if (s->send_rc != 0 || s->ponger_send_rc != 0 || s->errors != 0 ||
        s->ponger_errors != 0 || s->pongs.n != s->n || s->pings.n != s->n) {
        fprintf(stderr,
                "bench runtime: pingpong: FAILED: pongs %llu pings %llu of %llu, "
                "order errors %llu/%llu, send errors %s/%s\n",
                (unsigned long long)s->pongs.n, (unsigned long long)s->pings.n,
                (unsigned long long)s->n, (unsigned long long)s->errors,
                (unsigned long long)s->ponger_errors, tr_err_name(s->send_rc),
                tr_err_name(s->ponger_send_rc));
        dump_stats(rt, "pingpong");
        return -1;
    }
    *per_s = (double)s->n * 1e9 / (double)(s->t_end - t0);
    rc = free_runtime(rt, "pingpong");
    tr__bench_latch_destroy(&s->done);
    free(s);
    return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* fanin                                                                     */
/* ------------------------------------------------------------------------ */

struct fanin;

struct producer {
    alignas(64) struct fanin *s;
    unsigned idx;
    uint64_t sent, efull, turns;
    int send_rc;
};

struct fanin {
    tr__bench_latch done;
    unsigned producers;
    uint64_t per_producer, total;
    unsigned chunk;
    tr_actor_ref consumer;
    uint64_t t_end;
    /* Written by the consumer only. */
    alignas(64) uint64_t received;
    uint64_t next_seq[FANIN_MAX];
    uint64_t order_errors;
    struct producer p[FANIN_MAX];
};

static int consumer_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)ctx;
    struct fanin *s = *(struct fanin **)state;
    uint64_t who = m->corr_id >> SEQ_BITS;
    uint64_t seq = m->corr_id & ((UINT64_C(1) << SEQ_BITS) - 1);
    if (m->type != M_DATA || who >= s->producers || seq != s->next_seq[who] + 1)
        s->order_errors++;
    else
        s->next_seq[who] = seq;
    if (++s->received == s->total) {
        s->t_end = tr__bench_now_ns();
        tr__bench_latch_add(&s->done, 1);
    }
    return 0;
}

static int producer_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)m;
    struct producer *p = *(struct producer **)state;
    struct fanin *s = p->s;
    p->turns++;
    for (unsigned k = 0; k < s->chunk && p->sent < s->per_producer; k++) {
        tr_send_args a = {.type = M_DATA,
                          .corr_id = ((uint64_t)p->idx << SEQ_BITS) | (p->sent + 1)};
        int rc = tr_ctx_send_msg(ctx, s->consumer, &a);
        if (rc == TR_EFULL) {
            p->efull++;
            break; /* muted by the runtime; retry on the next turn */
        }
        if (rc != 0) {
            p->send_rc = rc;
            tr__bench_latch_add(&s->done, 1);
            return 0;
        }
        p->sent++;
    }
    if (p->sent < s->per_producer) {
        int rc = tr_ctx_send(ctx, tr_self(ctx), M_CONTINUE, NULL);
        if (rc != 0) {
            p->send_rc = rc;
            tr__bench_latch_add(&s->done, 1);
        }
    }
    return 0;
}

static const tr_actor_ops consumer_ops = {
    .state_size = sizeof(void *), .init = init_store_arg,
    .receive = consumer_receive, .name = "bench.consumer"};
static const tr_actor_ops producer_ops = {
    .state_size = sizeof(void *), .init = init_store_arg,
    .receive = producer_receive, .name = "bench.producer"};

int tr__rb_fanin(const struct params *p, double *per_s, uint64_t *efull_out,
                 uint32_t *hwm_out)
{
    if (p->fanin_producers == 0 || p->fanin_producers > FANIN_MAX)
        return -1;
    tr_runtime *rt;
    if (new_runtime(&rt, "fanin") != 0)
        return -1;
    struct fanin *s = aligned_alloc(64, sizeof(*s));
    if (s == NULL)
        return -1;
    memset(s, 0, sizeof(*s));
    tr__bench_latch_init(&s->done);
    s->producers = p->fanin_producers;
    s->per_producer = p->fanin_per_producer;
    s->total = s->per_producer * s->producers;
    s->chunk = p->fanin_chunk;
    tr_spawn_opts copts = {.mailbox = p->fanin_mailbox, .policy = TR_MBOX_BACKPRESSURE};
    int rc = tr_spawn(rt, &consumer_ops, s, &copts, &s->consumer);
    tr_actor_ref prod[FANIN_MAX];
    for (unsigned i = 0; rc == 0 && i < s->producers; i++) {
        s->p[i].s = s;
        s->p[i].idx = i;
        rc = tr_spawn(rt, &producer_ops, &s->p[i], NULL, &prod[i]);
    }
    if (rc != 0) {
        fprintf(stderr, "bench runtime: fanin: spawn: %s\n", tr_strerror(rc));
        return -1;
    }
    uint64_t t0 = tr__bench_now_ns();
    for (unsigned i = 0; i < s->producers; i++) {
        if ((rc = tr_send(rt, prod[i], M_START, NULL)) != 0) {
            fprintf(stderr, "bench runtime: fanin: tr_send: %s\n", tr_strerror(rc));
            return -1;
        }
    }
    uint64_t got = tr__bench_latch_wait(&s->done, 1, p->timeout_ms);
    uint64_t sent = 0, efull = 0;
    int send_rc = 0;
    for (unsigned i = 0; i < s->producers; i++) {
        sent += s->p[i].sent;
        efull += s->p[i].efull;
        if (s->p[i].send_rc != 0)
            send_rc = s->p[i].send_rc;
    }
    if (got < 1) {
        fprintf(stderr,
                "bench runtime: fanin: HUNG: no completion after %llu ms "
                "(received %llu of %llu, producers sent %llu, TR_EFULL %llu)\n",
                (unsigned long long)p->timeout_ms, (unsigned long long)s->received,
                (unsigned long long)s->total, (unsigned long long)sent,
                (unsigned long long)efull);
        for (unsigned i = 0; i < s->producers; i++)
            fprintf(stderr, "  producer %u: sent %llu, turns %llu, efull %llu\n", i,
                    (unsigned long long)s->p[i].sent, (unsigned long long)s->p[i].turns,
                    (unsigned long long)s->p[i].efull);
        dump_stats(rt, "fanin");
        return -1;
    }
    if (send_rc != 0 || s->order_errors != 0 || s->received != s->total ||
        sent != s->total) {
        fprintf(stderr,
                "bench runtime: fanin: FAILED: received %llu, sent %llu of %llu, "
                "order errors %llu, send error %s\n",
                (unsigned long long)s->received, (unsigned long long)sent,
                (unsigned long long)s->total, (unsigned long long)s->order_errors,
                tr_err_name(send_rc));
        dump_stats(rt, "fanin");
        return -1;
    }
    *per_s = (double)s->total * 1e9 / (double)(s->t_end - t0);
    *efull_out = efull;
    *hwm_out = 0;
    (void)tr_actor_depth_hwm(rt, s->consumer, hwm_out);
    rc = free_runtime(rt, "fanin");
    tr__bench_latch_destroy(&s->done);
    free(s);
    return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* ring                                                                      */
/* ------------------------------------------------------------------------ */

struct ring;

struct ring_node {
    alignas(64) uint64_t received; /* written by this actor only */
    struct ring *s;
    unsigned idx;
};

struct ring {
    tr__bench_latch done;
    unsigned n;
    tr_actor_ref *refs;
    struct ring_node *nodes;
    uint64_t t_end;
    int send_rc;
    uint64_t errors;
};

static int ring_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    struct ring_node *node = *(struct ring_node **)state;
    struct ring *s = node->s;
    node->received++;
    if (m->type != M_TOKEN || m->corr_id == 0) {
        s->errors++;
        tr__bench_latch_add(&s->done, 1);
        return 0;
    }
    if (m->corr_id == 1) {
        s->t_end = tr__bench_now_ns();
        tr__bench_latch_add(&s->done, 1);
        return 0;
    }
    unsigned next = node->idx + 1 == s->n ? 0 : node->idx + 1;
    tr_send_args a = {.type = M_TOKEN, .corr_id = m->corr_id - 1};
    int rc = tr_ctx_send_msg(ctx, s->refs[next], &a);
    if (rc != 0) {
        s->send_rc = rc;
        tr__bench_latch_add(&s->done, 1);
    }
    return 0;
}

static const tr_actor_ops ring_ops = {
    .state_size = sizeof(void *), .init = init_store_arg,
    .receive = ring_receive, .name = "bench.ring"};

int tr__rb_ring(const struct params *p, double *per_s)
{
    tr_runtime *rt;
    if (new_runtime(&rt, "ring") != 0)
        return -1;
    struct ring s;
    memset(&s, 0, sizeof(s));
    tr__bench_latch_init(&s.done);
    s.n = p->ring_actors;
    s.refs = calloc(s.n, sizeof(*s.refs));
    s.nodes = aligned_alloc(64, s.n * sizeof(*s.nodes));
    if (s.refs == NULL || s.nodes == NULL)
        return -1;
    memset(s.nodes, 0, s.n * sizeof(*s.nodes));
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < s.n; i++) {
        s.nodes[i].s = &s;
        s.nodes[i].idx = i;
        rc = tr_spawn(rt, &ring_ops, &s.nodes[i], NULL, &s.refs[i]);
    }
    if (rc != 0) {
        fprintf(stderr, "bench runtime: ring: spawn: %s\n", tr_strerror(rc));
        return -1;
    }
    uint64_t hops = (uint64_t)s.n * p->ring_laps;
    uint64_t t0 = tr__bench_now_ns();
    /* The first delivery (from outside) is not a hop: the token then makes
     * `hops` actor-to-actor sends, the last arriving with corr_id 1. */
    tr_send_args a = {.type = M_TOKEN, .corr_id = hops + 1};
    if ((rc = tr_send_msg(rt, s.refs[0], &a)) != 0) {
        fprintf(stderr, "bench runtime: ring: tr_send: %s\n", tr_strerror(rc));
        return -1;
    }
    uint64_t got = tr__bench_latch_wait(&s.done, 1, p->timeout_ms);
    uint64_t received = 0;
    for (unsigned i = 0; i < s.n; i++)
        received += s.nodes[i].received;
    if (got < 1) {
        fprintf(stderr,
                "bench runtime: ring: HUNG: no completion after %llu ms "
                "(%llu of %llu deliveries seen)\n",
                (unsigned long long)p->timeout_ms, (unsigned long long)received,
                (unsigned long long)hops + 1);
        dump_stats(rt, "ring");
        return -1;
    }
    if (s.send_rc != 0 || s.errors != 0 || received != hops + 1) {
        fprintf(stderr,
                "bench runtime: ring: FAILED: %llu deliveries (expected %llu), "
                "errors %llu, send error %s\n",
                (unsigned long long)received, (unsigned long long)hops + 1,
                (unsigned long long)s.errors, tr_err_name(s.send_rc));
        dump_stats(rt, "ring");
        return -1;
    }
    *per_s = (double)hops * 1e9 / (double)(s.t_end - t0);
    rc = free_runtime(rt, "ring");
    tr__bench_latch_destroy(&s.done);
    free(s.refs);
    free(s.nodes);
    return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* spawn                                                                     */
/* ------------------------------------------------------------------------ */

struct spawn_bench {
    tr__bench_latch done;
    uint64_t target;
    uint64_t t_end;
    alignas(64) atomic_uint_fast64_t handled;
};

/* The actor's whole state is the 8-byte pointer init stores. */
static int idle_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)ctx;
    (void)m;
    struct spawn_bench *s = *(struct spawn_bench **)state;
    if (atomic_fetch_add_explicit(&s->handled, 1, memory_order_relaxed) + 1 == s->target) {
        s->t_end = tr__bench_now_ns();
        tr__bench_latch_add(&s->done, 1);
    }
    return 0;
}

static const tr_actor_ops idle_ops = {
    .state_size = sizeof(void *), .init = init_store_arg,
    .receive = idle_receive, .name = "bench.idle"};

int tr__rb_spawn(const struct params *p, double *per_s, double *bytes_per_actor,
                 double *free_s)
{
    tr__bench_trim_heap();
    tr_runtime *rt;
    if (new_runtime(&rt, "spawn") != 0)
        return -1;
    struct spawn_bench *s = aligned_alloc(64, sizeof(*s));
    if (s == NULL)
        return -1;
    memset(s, 0, sizeof(*s));
    tr__bench_latch_init(&s->done);
    s->target = p->spawn_actors;
    atomic_init(&s->handled, 0);
    tr__bench_sleep_ms(20); /* let the workers park */
    tr__bench_trim_heap();
    int64_t rss0 = tr__bench_rss_bytes();

    uint64_t t0 = tr__bench_now_ns();
    for (uint64_t i = 0; i < s->target; i++) {
        tr_actor_ref ref;
        int rc = tr_spawn(rt, &idle_ops, s, NULL, &ref);
        if (rc == 0)
            rc = tr_send(rt, ref, M_HELLO, NULL);
        if (rc != 0) {
            fprintf(stderr, "bench runtime: spawn: FAILED at actor %llu: %s\n",
                    (unsigned long long)i, tr_strerror(rc));
            dump_stats(rt, "spawn");
            return -1;
        }
    }
    if (tr__bench_latch_wait(&s->done, 1, p->timeout_ms) < 1) {
        fprintf(stderr,
                "bench runtime: spawn: HUNG: %llu of %llu first messages handled "
                "after %llu ms\n",
                (unsigned long long)atomic_load(&s->handled),
                (unsigned long long)s->target, (unsigned long long)p->timeout_ms);
        dump_stats(rt, "spawn");
        return -1;
    }
    uint64_t t1 = s->t_end;
    /* Let the workers go idle (park) before reading memory: the actors are
     * alive and idle, their mailboxes empty. */
    tr__bench_sleep_ms(20);
    int64_t rss1 = tr__bench_rss_bytes();
    tr_runtime_stats st;
    tr_runtime_stats_get(rt, &st, NULL);
    if (st.live_actors != s->target || st.dead_letters != 0 || st.rejected != 0 ||
        atomic_load(&s->handled) != s->target) {
        fprintf(stderr,
                "bench runtime: spawn: FAILED: handled %llu of %llu, live actors %llu, "
                "dead letters %llu, rejected %llu\n",
                (unsigned long long)atomic_load(&s->handled), (unsigned long long)s->target,
                (unsigned long long)st.live_actors, (unsigned long long)st.dead_letters,
                (unsigned long long)st.rejected);
        return -1;
    }
    *per_s = (double)s->target * 1e9 / (double)(t1 - t0);
    *bytes_per_actor = (rss0 < 0 || rss1 < 0) ? -1 : (double)(rss1 - rss0) / (double)s->target;
    uint64_t f0 = tr__bench_now_ns();
    int rc = free_runtime(rt, "spawn");
    *free_s = (double)(tr__bench_now_ns() - f0) / 1e9;
    tr__bench_latch_destroy(&s->done);
    free(s);
    return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* idle                                                                      */
/* ------------------------------------------------------------------------ */

int tr__rb_idle(const struct params *p, double *pct)
{
    tr_runtime *rt;
    if (new_runtime(&rt, "idle") != 0)
        return -1;
    uint64_t c0 = tr__bench_cpu_ns(), t0 = tr__bench_now_ns();
    tr__bench_sleep_ms(p->idle_ms);
    uint64_t c1 = tr__bench_cpu_ns(), t1 = tr__bench_now_ns();
    *pct = 100.0 * (double)(c1 - c0) / (double)(t1 - t0);
    return free_runtime(rt, "idle") == 0 ? 0 : -1;
}

