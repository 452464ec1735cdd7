/*
 * bench/runtime_bench.c -- `troupe bench runtime`: throughput, spawn cost,
 * memory per idle actor and idle CPU of the actor runtime, next to bare
 * ck_ring ceilings measured in the same run.
 *
 * DESIGN
 * Every workload runs `runs` times (default 5) on a fresh runtime (default
 * options: one worker per CPU), freed with tr_runtime_free between runs so
 * runs are independent; the table shows median, min and max, the JSON the
 * medians.  Messages carry no payload: type and corr_id are all they need.
 *
 *   pingpong  pinger sends PING(seq) to ponger, which answers PONG(seq) to
 *             the sender; N round trips.  Rate = N / elapsed.
 *   fanin     4 producers x M messages into one consumer whose mailbox is
 *             TR_MBOX_BACKPRESSURE (65536).  A producer sends a chunk (256)
 *             per turn, then a CONTINUE to itself; on TR_EFULL it ends the
 *             chunk early and retries on its next turn (the runtime mutes it
 *             meanwhile).  corr_id = producer << 40 | seq.
 *   ring      R actors in a ring; one token, corr_id = hops left + 1 (0 means
 *             "inherit" to tr_ctx_send_msg), goes laps x R hops.
 *   spawn     the bench thread spawns S actors (8 bytes of state each) and
 *             sends each one message; timed until every message is handled.
 *             Bytes per idle actor = RSS growth / S with the actors alive and
 *             idle (heap trimmed before the first reading only, so freed
 *             envelopes still resident count against the runtime).
 *   idle      a fresh runtime sits for ~1 s; process CPU time / wall time.
 *
 * Correctness is checked, not assumed: every receiver verifies per-sender
 * sequence numbers and counts, sends must not fail (except the TR_EFULL the
 * fanin protocol expects), and each wait has a deadline.  Any violation
 * prints what was seen plus the runtime's counters and fails the command
 * (exit 1) -- a benchmark that loses messages must not report a rate.
 * Completion is signalled to the bench thread through a mutex/condvar latch;
 * the end time is taken by the actor that finishes, before it signals.
 *
 * Output: the table (and progress) on stdout, or on stderr with --json, in
 * which case stdout carries exactly one JSON object (built with jansson).
 */
#include <jansson.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "troupe/runtime.h"

/* ------------------------------------------------------------------------ */
/* Parameters                                                                */
/* ------------------------------------------------------------------------ */

#define MAX_RUNS 100u
#define FANIN_MAX 16u
#define SEQ_BITS 40

enum { W_CEIL_PP, W_PINGPONG, W_CEIL_FANIN, W_FANIN, W_RING, W_SPAWN, W_IDLE, W_COUNT };

static const char *const workload_names[W_COUNT] = {
    "ceiling_pingpong", "pingpong", "ceiling_fanin", "fanin", "ring", "spawn", "idle",
};

struct params {
    bool json, quick;
    unsigned runs;
    unsigned only; /* bit mask of workloads; 0 = all */
    uint64_t pp_round_trips;
    unsigned fanin_producers;
    uint64_t fanin_per_producer;
    unsigned fanin_chunk;
    uint32_t fanin_mailbox;
    unsigned ring_actors, ring_laps;
    uint64_t spawn_actors;
    unsigned idle_ms;
    uint64_t timeout_ms; /* per run; a hang fails the command */
    FILE *out;           /* table and progress */
};

static void params_default(struct params *p, bool quick)
{
    p->quick = quick;
    p->runs = quick ? 1 : 5;
    p->pp_round_trips = quick ? 20000 : 1000000;
    p->fanin_producers = 4;
    p->fanin_per_producer = quick ? 50000 : 2500000;
    p->fanin_chunk = 256;
    p->fanin_mailbox = 65536;
    p->ring_actors = quick ? 100 : 1000;
    p->ring_laps = quick ? 100 : 1000;
    p->spawn_actors = quick ? 20000 : 1000000;
    p->idle_ms = quick ? 250 : 1000;
    p->timeout_ms = 120000;
}

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

static int run_pingpong(const struct params *p, double *per_s)
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

static int run_fanin(const struct params *p, double *per_s, uint64_t *efull_out,
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

static int run_ring(const struct params *p, double *per_s)
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

static int run_spawn(const struct params *p, double *per_s, double *bytes_per_actor,
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

static int run_idle(const struct params *p, double *pct)
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

/* ------------------------------------------------------------------------ */
/* Driver                                                                    */
/* ------------------------------------------------------------------------ */

/* One reported figure: runs, and how it compares. */
enum {
    F_CEIL_PP, F_PP, F_PP_NS, F_CEIL_FANIN, F_FANIN, F_RING, F_SPAWN, F_BYTES,
    F_IDLE, F_FANIN_EFULL, F_SPAWN_FREE, F_COUNT
};

struct figure {
    const char *key;      /* JSON key of the median */
    const char *workload; /* table row label */
    const char *unit;
    double target;        /* 0 = none */
    bool lower_is_better;
    double caf, erlang;   /* reference figures; 0 = none */
    double v[MAX_RUNS];
    unsigned n;
    tr__bench_stat st;
};

#define FIG(k, wl, u, t, lower, c, e)                                          \
    {.key = (k), .workload = (wl), .unit = (u), .target = (t),                 \
     .lower_is_better = (lower), .caf = (c), .erlang = (e)}

static const struct figure figures_init[F_COUNT] = {
    [F_CEIL_PP] = FIG("ceiling_pingpong_round_trips_per_s", "ck pingpong", "round trips/s", 0, false, 0, 0),
    [F_PP] = FIG("pingpong_round_trips_per_s", "pingpong", "round trips/s", 3.5e6, false, 1.34e6, 1.76e6),
    [F_PP_NS] = FIG("pingpong_ns_per_round_trip", "pingpong", "ns/round trip", 0, true, 1e9 / 1.34e6, 1e9 / 1.76e6),
    [F_CEIL_FANIN] = FIG("ceiling_fanin_msgs_per_s", "ck fanin", "msgs/s", 0, false, 0, 0),
    [F_FANIN] = FIG("fanin_msgs_per_s", "fanin", "msgs/s", 6e6, false, 5.49e6, 3.47e6),
    [F_RING] = FIG("ring_hops_per_s", "ring", "hops/s", 7e6, false, 2.72e6, 3.56e6),
    [F_SPAWN] = FIG("spawn_per_s", "spawn", "spawns/s", 1e6, false, 241e3, 146e3),
    [F_BYTES] = FIG("bytes_per_idle_actor", "spawn", "bytes/idle actor", 256, true, 1224, 2657),
    [F_IDLE] = FIG("idle_cpu_pct", "idle", "% of one core", 1.0, true, 0, 0),
    [F_FANIN_EFULL] = FIG("fanin_efull_per_run", "fanin", "TR_EFULL/run", 0, true, 0, 0),
    [F_SPAWN_FREE] = FIG("spawn_runtime_free_s", "spawn", "s to free all", 0, true, 0, 0),
};

static void add(struct figure *f, double v)
{
    if (f->n < MAX_RUNS)
        f->v[f->n++] = v;
}

static bool pass(const struct figure *f)
{
    return f->lower_is_better ? f->st.median <= f->target : f->st.median >= f->target;
}

static const char *fmt(char *buf, size_t len, const struct figure *f, double v)
{
    if (f->lower_is_better && f->target != 0 && f->target < 10)
        snprintf(buf, len, "%.2f", v);
    else
        tr__bench_fmt_si(buf, len, v);
    return buf;
}

static bool want(const struct params *p, int w) { return p->only == 0 || (p->only & (1u << w)); }

static void progress(const struct params *p, const char *name, unsigned run, const char *detail)
{
    fprintf(p->out, "  %-17s run %u/%u  %s\n", name, run + 1, p->runs, detail);
    fflush(p->out);
}

static int run_all(const struct params *p, struct figure *F)
{
    char b1[32], b2[32], line[128];
    for (int w = 0; w < W_COUNT; w++) {
        if (!want(p, w))
            continue;
        for (unsigned r = 0; r < p->runs; r++) {
            double x = 0, y = 0, z = 0;
            uint64_t efull = 0;
            uint32_t hwm = 0;
            int rc = 0;
            switch (w) {
            case W_CEIL_PP:
                rc = tr__ceiling_pingpong(p->pp_round_trips, &x);
                if (rc == 0) {
                    add(&F[F_CEIL_PP], x);
                    snprintf(line, sizeof(line), "%s round trips/s", tr__bench_fmt_si(b1, sizeof(b1), x));
                }
                break;
            case W_PINGPONG:
                rc = run_pingpong(p, &x);
                if (rc == 0) {
                    add(&F[F_PP], x);
                    add(&F[F_PP_NS], 1e9 / x);
                    snprintf(line, sizeof(line), "%s round trips/s (%.0f ns)",
                             tr__bench_fmt_si(b1, sizeof(b1), x), 1e9 / x);
                }
                break;
            case W_CEIL_FANIN:
                rc = tr__ceiling_fanin(p->fanin_producers, p->fanin_per_producer,
                                       p->fanin_chunk, &x);
                if (rc == 0) {
                    add(&F[F_CEIL_FANIN], x);
                    snprintf(line, sizeof(line), "%s msgs/s", tr__bench_fmt_si(b1, sizeof(b1), x));
                }
                break;
            case W_FANIN:
                rc = run_fanin(p, &x, &efull, &hwm);
                if (rc == 0) {
                    add(&F[F_FANIN], x);
                    add(&F[F_FANIN_EFULL], (double)efull);
                    snprintf(line, sizeof(line),
                             "%s msgs/s (consumer depth high-water %u, %llu TR_EFULL retries)",
                             tr__bench_fmt_si(b1, sizeof(b1), x), hwm, (unsigned long long)efull);
                }
                break;
            case W_RING:
                rc = run_ring(p, &x);
                if (rc == 0) {
                    add(&F[F_RING], x);
                    snprintf(line, sizeof(line), "%s hops/s", tr__bench_fmt_si(b1, sizeof(b1), x));
                }
                break;
            case W_SPAWN:
                rc = run_spawn(p, &x, &y, &z);
                if (rc == 0) {
                    add(&F[F_SPAWN], x);
                    add(&F[F_BYTES], y);
                    add(&F[F_SPAWN_FREE], z);
                    snprintf(line, sizeof(line), "%s spawns/s, %s B/actor, freed in %.2f s",
                             tr__bench_fmt_si(b1, sizeof(b1), x),
                             tr__bench_fmt_si(b2, sizeof(b2), y), z);
                }
                break;
            case W_IDLE:
                rc = run_idle(p, &x);
                if (rc == 0) {
                    add(&F[F_IDLE], x);
                    snprintf(line, sizeof(line), "%.3f%% of one core", x);
                }
                break;
            default:
                break;
            }
            if (rc != 0) {
                fprintf(stderr, "bench runtime: %s failed on run %u; no figures reported\n",
                        workload_names[w], r + 1);
                return -1;
            }
            progress(p, workload_names[w], r, line);
        }
    }
    for (int i = 0; i < F_COUNT; i++)
        F[i].st = tr__bench_summarize(F[i].v, F[i].n);
    return 0;
}

static double ratio(const struct figure *a, const struct figure *b)
{
    return (a->n > 0 && b->n > 0 && b->st.median > 0) ? a->st.median / b->st.median : 0;
}

static void print_table(const struct params *p, const struct figure *F, unsigned workers)
{
    FILE *o = p->out;
    char b[5][32];
    fprintf(o, "\ntroupe bench runtime: %u workers, %u run%s per figure%s\n\n", workers,
            p->runs, p->runs == 1 ? "" : "s", p->quick ? " (--quick: reduced counts)" : "");
    fprintf(o, "%-12s %-17s %9s %9s %9s %10s  %-6s %10s %10s\n", "workload", "unit",
            "median", "min", "max", "target", "result", "CAF 0.17.6", "OTP 25");
    static const int order[] = {F_PP, F_PP_NS, F_FANIN, F_RING, F_SPAWN, F_BYTES, F_IDLE,
                                F_CEIL_PP, F_CEIL_FANIN};
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        const struct figure *f = &F[order[k]];
        if (f->n == 0)
            continue;
        char target[40] = "", result[8] = "", caf[32] = "", erl[32] = "";
        if (f->target != 0) {
            snprintf(target, sizeof(target), "%s %s", f->lower_is_better ? "<=" : ">=",
                     fmt(b[3], sizeof(b[3]), f, f->target));
            snprintf(result, sizeof(result), "%s", pass(f) ? "PASS" : "MISS");
        }
        if (f->caf != 0)
            snprintf(caf, sizeof(caf), "%s", tr__bench_fmt_si(b[4], sizeof(b[4]), f->caf));
        if (f->erlang != 0)
            snprintf(erl, sizeof(erl), "%s", tr__bench_fmt_si(b[4], sizeof(b[4]), f->erlang));
        fprintf(o, "%-12s %-17s %9s %9s %9s %10s  %-6s %10s %10s\n", f->workload, f->unit,
                fmt(b[0], sizeof(b[0]), f, f->st.median), fmt(b[1], sizeof(b[1]), f, f->st.min),
                fmt(b[2], sizeof(b[2]), f, f->st.max), target, result, caf, erl);
    }

    fprintf(o, "\nagainst the bare ck_ring ceilings (two pinned threads, same run):\n");
    double rp = ratio(&F[F_PP], &F[F_CEIL_PP]), rf = ratio(&F[F_FANIN], &F[F_CEIL_FANIN]);
    if (rp > 0)
        fprintf(o, "  pingpong  %s / %s round trips/s = %.1f%% of the ceiling\n",
                tr__bench_fmt_si(b[0], sizeof(b[0]), F[F_PP].st.median),
                tr__bench_fmt_si(b[1], sizeof(b[1]), F[F_CEIL_PP].st.median), 100 * rp);
    if (rf > 0)
        fprintf(o, "  fanin     %s / %s msgs/s = %.1f%% of the ceiling\n",
                tr__bench_fmt_si(b[0], sizeof(b[0]), F[F_FANIN].st.median),
                tr__bench_fmt_si(b[1], sizeof(b[1]), F[F_CEIL_FANIN].st.median), 100 * rf);
    if (F[F_RING].n > 0 && F[F_CEIL_PP].n > 0)
        fprintf(o, "  ring      %s hops/s = %.1f%% of the ceiling's one-way transfers/s (%s)\n",
                tr__bench_fmt_si(b[0], sizeof(b[0]), F[F_RING].st.median),
                100 * F[F_RING].st.median / (2 * F[F_CEIL_PP].st.median),
                tr__bench_fmt_si(b[1], sizeof(b[1]), 2 * F[F_CEIL_PP].st.median));
    fprintf(o, "\nagainst CAF 0.17.6 / Erlang/OTP 25 (higher is better for rates):\n");
    static const int cmp[] = {F_PP, F_FANIN, F_RING, F_SPAWN, F_BYTES};
    for (size_t k = 0; k < sizeof(cmp) / sizeof(cmp[0]); k++) {
        const struct figure *f = &F[cmp[k]];
        if (f->n == 0 || f->st.median <= 0)
            continue;
        if (f->lower_is_better)
            fprintf(o, "  %-9s %-17s %.2fx less than CAF, %.2fx less than OTP\n", f->workload,
                    f->unit, f->caf / f->st.median, f->erlang / f->st.median);
        else
            fprintf(o, "  %-9s %-17s %.2fx CAF, %.2fx OTP\n", f->workload, f->unit,
                    f->st.median / f->caf, f->st.median / f->erlang);
    }
    fprintf(o, "\n");
    fflush(o);
}

static json_t *build_json(const struct params *p, const struct figure *F, unsigned workers)
{
    json_t *root = json_object();
    json_t *mins = json_object(), *maxs = json_object(), *targets = json_object(),
           *passes = json_object(), *counts = json_object(), *refs = json_object();
    for (int i = 0; i < F_COUNT; i++) {
        const struct figure *f = &F[i];
        if (f->n == 0)
            continue;
        json_object_set_new(root, f->key, json_real(f->st.median));
        json_object_set_new(mins, f->key, json_real(f->st.min));
        json_object_set_new(maxs, f->key, json_real(f->st.max));
        if (f->target != 0) {
            json_object_set_new(targets, f->key, json_real(f->target));
            json_object_set_new(passes, f->key, json_boolean(pass(f)));
        }
    }
    double rp = ratio(&F[F_PP], &F[F_CEIL_PP]), rf = ratio(&F[F_FANIN], &F[F_CEIL_FANIN]);
    if (rp > 0)
        json_object_set_new(root, "pingpong_fraction_of_ceiling", json_real(rp));
    if (rf > 0)
        json_object_set_new(root, "fanin_fraction_of_ceiling", json_real(rf));
    json_object_set_new(counts, "pingpong_round_trips", json_integer((json_int_t)p->pp_round_trips));
    json_object_set_new(counts, "fanin_producers", json_integer(p->fanin_producers));
    json_object_set_new(counts, "fanin_msgs_per_producer", json_integer((json_int_t)p->fanin_per_producer));
    json_object_set_new(counts, "fanin_chunk", json_integer(p->fanin_chunk));
    json_object_set_new(counts, "fanin_mailbox", json_integer(p->fanin_mailbox));
    json_object_set_new(counts, "ring_actors", json_integer(p->ring_actors));
    json_object_set_new(counts, "ring_laps", json_integer(p->ring_laps));
    json_object_set_new(counts, "spawn_actors", json_integer((json_int_t)p->spawn_actors));
    json_object_set_new(counts, "idle_ms", json_integer(p->idle_ms));
    static const int cmp[] = {F_PP, F_FANIN, F_RING, F_SPAWN, F_BYTES};
    json_t *caf = json_object(), *otp = json_object();
    for (size_t k = 0; k < sizeof(cmp) / sizeof(cmp[0]); k++) {
        json_object_set_new(caf, F[cmp[k]].key, json_real(F[cmp[k]].caf));
        json_object_set_new(otp, F[cmp[k]].key, json_real(F[cmp[k]].erlang));
    }
    json_object_set_new(refs, "caf_0.17.6", caf);
    json_object_set_new(refs, "erlang_otp_25", otp);
    json_object_set_new(root, "workers", json_integer(workers));
    json_object_set_new(root, "runs", json_integer(p->runs));
    json_object_set_new(root, "quick", json_boolean(p->quick));
    json_object_set_new(root, "counts", counts);
    json_object_set_new(root, "min", mins);
    json_object_set_new(root, "max", maxs);
    json_object_set_new(root, "targets", targets);
    json_object_set_new(root, "pass", passes);
    json_object_set_new(root, "references", refs);
    return root;
}

static const char usage_text[] =
    "usage: troupe bench runtime [--json] [--runs N] [--quick] [--only W[,W...]]\n"
    "  Actor runtime benchmarks: pingpong, fanin, ring, spawn, idle CPU, and the\n"
    "  bare ck_ring ceilings (ceiling_pingpong, ceiling_fanin); median of N runs.\n"
    "  --json    one JSON object on stdout; progress and table on stderr\n"
    "  --runs N  runs per workload (default 5; 1 with --quick)\n"
    "  --quick   small counts, for smoke tests (figures are not comparable)\n"
    "  --only    run only these workloads (e.g. --only pingpong,ring)\n"
    "  exit status: 0 done (targets may be missed), 1 a workload failed or hung,\n"
    "  2 bad usage\n";

static int parse_only(const char *s, unsigned *mask)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int w = 0; w < W_COUNT; w++)
            if (strcmp(t, workload_names[w]) == 0)
                found = w;
        if (found < 0)
            return -1;
        *mask |= 1u << found;
    }
    return 0;
}

int tr__bench_runtime_main(int argc, char **argv)
{
    bool json = false, quick = false;
    long runs = -1;
    unsigned only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            char *end;
            runs = strtol(argv[++i], &end, 10);
            if (*end != '\0' || runs < 1 || runs > (long)MAX_RUNS) {
                fprintf(stderr, "troupe bench runtime: --runs takes 1..%u\n", MAX_RUNS);
                return 2;
            }
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            if (parse_only(argv[++i], &only) != 0) {
                fprintf(stderr, "troupe bench runtime: unknown workload in '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else {
            fputs(usage_text, stderr);
            return 2;
        }
    }
    struct params p;
    params_default(&p, quick);
    p.json = json;
    p.only = only;
    if (runs > 0)
        p.runs = (unsigned)runs;
    p.out = json ? stderr : stdout;

    struct figure *F = malloc(sizeof(figures_init));
    if (F == NULL)
        return 1;
    memcpy(F, figures_init, sizeof(figures_init));
    unsigned workers;
    {
        tr_runtime *rt;
        if (tr_runtime_new(&rt, NULL) != 0) {
            free(F);
            return 1;
        }
        workers = tr_runtime_workers(rt);
        tr_runtime_free(rt, 1000);
    }
    fprintf(p.out, "troupe bench runtime: %u workers, %u run%s per workload%s\n", workers,
            p.runs, p.runs == 1 ? "" : "s", quick ? " (--quick)" : "");
    if (run_all(&p, F) != 0) {
        free(F);
        return 1;
    }
    print_table(&p, F, workers);
    if (json) {
        json_t *root = build_json(&p, F, workers);
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        json_decref(root);
        if (text == NULL) {
            free(F);
            return 1;
        }
        fputs(text, stdout);
        fputc('\n', stdout);
        free(text);
    }
    free(F);
    return 0;
}
