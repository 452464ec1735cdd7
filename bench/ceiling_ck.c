/*
 * bench/ceiling_ck.c -- the ceilings troupe's runtime figures are compared
 * with: bare Concurrency Kit rings between two pinned threads.
 *
 * DESIGN
 * These measure what the hardware and a good lock-free queue give when there
 * is no runtime at all: no envelopes to allocate, no scheduling, no parking.
 * Both threads busy-poll (ck_pr_stall) -- acceptable in a benchmark, never in
 * the runtime -- and are pinned to two different CPUs, so the figure is the
 * cross-core cost of moving one pointer.  On a single CPU pinning is skipped
 * and the spin yields, or the pair would only make progress per time slice.
 *
 *   pingpong: thread A enqueues i on ring `ping` and waits for i on ring
 *             `pong`; thread B echoes.  One item is in flight at a time.
 *   fanin:    one producer thread plays `producers` producers round-robin,
 *             `chunk` items per turn, into one MPSC ring (ck_ring_enqueue_mpsc,
 *             so the multi-producer CAS is paid); one consumer thread.
 *
 * Items are tagged (sequence, producer) and every receiver checks per-producer
 * FIFO and the total, so a broken baseline fails rather than flatters.
 * Ring sizes are powers of two; usable capacity is size - 1.
 */
#include <ck_pr.h>
#include <ck_ring.h>
#include <sched.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"

#define PP_RING_SIZE 64u
#define FANIN_RING_SIZE 65536u
#define FANIN_MAX_PRODUCERS 64u

struct pair {
    int cpus[2];
    bool pin;
    bool yield; /* one CPU: spinning must give the other thread the CPU */
    pthread_barrier_t start;
};

static void pair_init(struct pair *p)
{
    int cpus[2];
    unsigned n = tr__bench_cpus(cpus, 2);
    p->pin = n >= 2;
    p->yield = n < 2;
    p->cpus[0] = cpus[0];
    p->cpus[1] = n >= 2 ? cpus[1] : cpus[0];
    pthread_barrier_init(&p->start, NULL, 2);
}

static void pair_enter(struct pair *p, int which)
{
    if (p->pin)
        (void)tr__bench_pin_self(p->cpus[which]);
    pthread_barrier_wait(&p->start);
}

static inline void spin(const struct pair *p)
{
    if (p->yield)
        sched_yield();
    else
        ck_pr_stall();
}

/* ------------------------------------------------------------------------ */
/* pingpong                                                                  */
/* ------------------------------------------------------------------------ */

struct pp {
    alignas(64) ck_ring_t ping;
    alignas(64) ck_ring_t pong;
    alignas(64) ck_ring_buffer_t ping_buf[PP_RING_SIZE];
    alignas(64) ck_ring_buffer_t pong_buf[PP_RING_SIZE];
    struct pair pair;
    uint64_t n;
    uint64_t t0, t1;
    uint64_t errors;
};

static void *pp_initiator(void *arg)
{
    struct pp *s = arg;
    pair_enter(&s->pair, 0);
    s->t0 = tr__bench_now_ns();
    for (uint64_t i = 1; i <= s->n; i++) {
        void *v = (void *)(uintptr_t)i;
        while (!ck_ring_enqueue_spsc(&s->ping, s->ping_buf, v))
            spin(&s->pair);
        void *r;
        while (!ck_ring_dequeue_spsc(&s->pong, s->pong_buf, &r))
            spin(&s->pair);
        if (r != v)
            s->errors++;
    }
    s->t1 = tr__bench_now_ns();
    return NULL;
}

static void *pp_echo(void *arg)
{
    struct pp *s = arg;
    pair_enter(&s->pair, 1);
    for (uint64_t i = 1; i <= s->n; i++) {
        void *r;
        while (!ck_ring_dequeue_spsc(&s->ping, s->ping_buf, &r))
            spin(&s->pair);
        while (!ck_ring_enqueue_spsc(&s->pong, s->pong_buf, r))
            spin(&s->pair);
    }
    return NULL;
}

int tr__ceiling_pingpong(uint64_t round_trips, double *per_s)
{
    struct pp *s = aligned_alloc(64, sizeof(*s));
    if (s == NULL)
        return -1;
    memset(s, 0, sizeof(*s));
    ck_ring_init(&s->ping, PP_RING_SIZE);
    ck_ring_init(&s->pong, PP_RING_SIZE);
    pair_init(&s->pair);
    s->n = round_trips;
    pthread_t a, b;
    int rc = -1;
    if (pthread_create(&b, NULL, pp_echo, s) != 0)
        goto out;
    if (pthread_create(&a, NULL, pp_initiator, s) != 0) {
        /* b waits at the barrier forever; nothing sane to do but report. */
        fprintf(stderr, "ceiling pingpong: pthread_create failed\n");
        abort();
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    if (s->errors != 0) {
        fprintf(stderr, "ceiling pingpong: %llu round trips returned the wrong item\n",
                (unsigned long long)s->errors);
        goto out;
    }
    *per_s = (double)round_trips * 1e9 / (double)(s->t1 - s->t0);
    rc = 0;
out:
    pthread_barrier_destroy(&s->pair.start);
    free(s);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* fanin                                                                     */
/* ------------------------------------------------------------------------ */

struct fanin {
    alignas(64) ck_ring_t ring;
    struct pair pair;
    ck_ring_buffer_t *buf;
    unsigned producers, chunk;
    uint64_t per_producer;
    uint64_t t0, t1;
    uint64_t received, errors;
};

static void *fanin_producer(void *arg)
{
    struct fanin *s = arg;
    uint64_t seq[FANIN_MAX_PRODUCERS] = {0};
    uint64_t left = (uint64_t)s->producers * s->per_producer;
    pair_enter(&s->pair, 0);
    s->t0 = tr__bench_now_ns();
    for (unsigned p = 0; left > 0; p = (p + 1) % s->producers) {
        for (unsigned k = 0; k < s->chunk && seq[p] < s->per_producer; k++) {
            seq[p]++;
            void *v = (void *)(uintptr_t)((seq[p] << 8) | p);
            while (!ck_ring_enqueue_mpsc(&s->ring, s->buf, v))
                spin(&s->pair);
            left--;
        }
    }
    return NULL;
}

static void *fanin_consumer(void *arg)
{
    struct fanin *s = arg;
    uint64_t next[FANIN_MAX_PRODUCERS] = {0};
    uint64_t total = (uint64_t)s->producers * s->per_producer;
    pair_enter(&s->pair, 1);
    while (s->received < total) {
        void *r;
        while (!ck_ring_dequeue_mpsc(&s->ring, s->buf, &r))
            spin(&s->pair);
        uintptr_t v = (uintptr_t)r;
        unsigned p = (unsigned)(v & 0xff);
        uint64_t seq = (uint64_t)(v >> 8);
        if (p >= s->producers || seq != next[p] + 1)
            s->errors++;
        else
            next[p] = seq;
        s->received++;
    }
    s->t1 = tr__bench_now_ns();
    return NULL;
}

int tr__ceiling_fanin(unsigned producers, uint64_t per_producer, unsigned chunk,
                      double *per_s)
{
    if (producers == 0 || producers > FANIN_MAX_PRODUCERS || chunk == 0)
        return -1;
    struct fanin *s = aligned_alloc(64, sizeof(*s));
    ck_ring_buffer_t *buf = aligned_alloc(64, FANIN_RING_SIZE * sizeof(*buf));
    if (s == NULL || buf == NULL) {
        free(s);
        free(buf);
        return -1;
    }
    memset(s, 0, sizeof(*s));
    ck_ring_init(&s->ring, FANIN_RING_SIZE);
    pair_init(&s->pair);
    s->buf = buf;
    s->producers = producers;
    s->per_producer = per_producer;
    s->chunk = chunk;
    pthread_t a, b;
    int rc = -1;
    if (pthread_create(&b, NULL, fanin_consumer, s) != 0)
        goto out;
    if (pthread_create(&a, NULL, fanin_producer, s) != 0) {
        fprintf(stderr, "ceiling fanin: pthread_create failed\n");
        abort();
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    if (s->errors != 0) {
        fprintf(stderr, "ceiling fanin: %llu items lost, duplicated or out of order\n",
                (unsigned long long)s->errors);
        goto out;
    }
    *per_s = (double)s->received * 1e9 / (double)(s->t1 - s->t0);
    rc = 0;
out:
    pthread_barrier_destroy(&s->pair.start);
    free(buf);
    free(s);
    return rc;
}
