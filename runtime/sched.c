/*
 * runtime/sched.c -- worker threads: finding the next actor, stealing,
 * sleeping and waking.
 *
 * DESIGN
 * Where a runnable actor waits:
 *   - runnext: the actor a worker's current actor just made runnable.  It runs
 *     next on the same core while the message is still in cache (a ping-pong
 *     pair never leaves its core).  Not stealable.  Bounded by a streak of
 *     RUNNEXT_STREAK turns, after which the worker looks at its deque first,
 *     so a chatty pair cannot starve the rest.
 *   - the worker's deque (deque.h): a FIFO anyone can pop; actors displaced
 *     from runnext and actors that used up their batch go to its back.
 *   - the global injection queue: actors made runnable by threads that are
 *     not workers (timers, the embedding program).  Producers push wait-free;
 *     a worker drains it into its deque under a trylock, never waiting.
 *
 * Sleeping: a worker that finds nothing searches a bounded number of rounds
 * (as "spinning"), then parks on a futex.  Parking publishes `parked` and
 * `sleepers` (seq_cst) and re-checks every queue before sleeping; a producer
 * publishes its work, issues a seq_cst fence, then reads `spinning` and
 * `sleepers`.  One of the two always sees the other (Dekker), so no wake-up
 * is lost.  A sleeper is woken only when no worker is spinning (the spinner
 * will find the work) and only for work that another worker can take (the
 * deque or the injection queue; never for runnext), so a busy pair of actors
 * on one core does not keep waking the other core.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/mpsc.h"

#define RUNNEXT_STREAK 64u
#define SPIN_ROUNDS 128u
#define INJECT_BATCH 256u

static _Thread_local tr__worker *tls_worker;

static void futex_wait(uint32_t *addr, uint32_t val, const struct timespec *ts)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, ts, NULL, 0);
}

static void futex_wake(uint32_t *addr, int n)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

uint64_t tr__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

tr__worker *tr__sched_current(tr_runtime *rt)
{
    tr__worker *w = tls_worker;
    return (w != NULL && w->rt == rt) ? w : NULL;
}

static tr__mpsc_ref inject_q(tr_runtime *rt)
{
    return (tr__mpsc_ref){&rt->inj_head, &rt->inj_tail, &rt->inj_stub};
}

static bool inject_nonempty(tr_runtime *rt)
{
    return tr__load_u32_acquire(&rt->inj_count) > 0;
}

/* Pending wheel timers will produce work: shutdown's drain waits for them. */
static bool timers_pending(tr_runtime *rt)
{
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (tr__load_u64_relaxed(&rt->workers[i].wheel.count) > 0)
            return true;
    return false;
}

static bool has_stealable_work(tr_runtime *rt)
{
    if (inject_nonempty(rt))
        return true;
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (tr__deque_size(&rt->workers[i].dq) > 0)
            return true;
    return false;
}

static void wake_one(tr_runtime *rt)
{
    unsigned n = rt->nworkers;
    unsigned start = tr__faa_u32_relaxed(&rt->rr, 1);
    for (unsigned k = 0; k < n; k++) {
        tr__worker *w = &rt->workers[(start + k) % n];
        uint32_t one = 1;
        if (tr__load_u32_relaxed(&w->parked) == 1 &&
            tr__cas_u32(&w->parked, &one, 0)) {
            tr__faa_u32(&rt->sleepers, (uint32_t)-1);
            futex_wake(&w->parked, 1);
            return;
        }
    }
}

void tr__wake_all(tr_runtime *rt)
{
    for (unsigned i = 0; i < rt->nworkers; i++) {
        tr__worker *w = &rt->workers[i];
        uint32_t one = 1;
        if (tr__cas_u32(&w->parked, &one, 0)) {
            tr__faa_u32(&rt->sleepers, (uint32_t)-1);
            futex_wake(&w->parked, 1);
        }
    }
}

/* Called after work another worker could take was published. */
static void notify(tr_runtime *rt)
{
    tr__fence_seq_cst();
    if (tr__load_u32_relaxed(&rt->spinning) == 0 &&
        tr__load_u32_relaxed(&rt->sleepers) > 0)
        wake_one(rt);
}

static void deque_push(tr__worker *w, tr__actor *a)
{
    while (!tr__deque_push(&w->dq, a)) {
        /* Growing the deque failed (out of memory).  The actor must not be
         * lost: hand it to the injection queue, which needs no memory. */
        tr_runtime *rt = w->rt;
        tr__mpsc_push(inject_q(rt), &a->run_node);
        tr__faa_u32(&rt->inj_count, 1);
        return;
    }
}

void tr__schedule(tr_runtime *rt, tr__worker *w, tr__actor *a)
{
    if (w != NULL) {
        tr__actor *prev = w->runnext;
        w->runnext = a;
        if (prev != NULL) {
            deque_push(w, prev);
            notify(rt);
        }
        return;
    }
    tr__mpsc_push(inject_q(rt), &a->run_node);
    tr__faa_u32(&rt->inj_count, 1);
    notify(rt);
}

void tr__reschedule(tr__worker *w, tr__actor *a)
{
    deque_push(w, a);
    if (tr__deque_size(&w->dq) > 1)
        notify(w->rt);
}

/* Move up to INJECT_BATCH actors from the injection queue to w's deque and
 * return the first.  Never waits: if another worker holds the consumer side,
 * it is already draining. */
static tr__actor *inject_take(tr_runtime *rt, tr__worker *w)
{
    if (!inject_nonempty(rt) || pthread_mutex_trylock(&rt->inject_lock) != 0)
        return NULL;
    tr__actor *first = NULL;
    uint32_t taken = 0;
    tr__mpsc_ref q = inject_q(rt);
    while (taken < INJECT_BATCH) {
        tr__node *n = tr__mpsc_pop(q);
        if (n == NULL)
            break;
        tr__actor *a = (tr__actor *)((char *)n - offsetof(tr__actor, run_node));
        taken++;
        if (first == NULL)
            first = a;
        else
            deque_push(w, a);
    }
    if (taken > 0)
        tr__faa_u32(&rt->inj_count, (uint32_t)-taken);
    pthread_mutex_unlock(&rt->inject_lock);
    if (taken > 1 || inject_nonempty(rt))
        notify(rt);
    return first;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static tr__actor *steal(tr_runtime *rt, tr__worker *w)
{
    unsigned n = rt->nworkers;
    if (n < 2)
        return NULL;
    unsigned start = (unsigned)(xorshift(&w->rng) % n);
    for (unsigned k = 0; k < n; k++) {
        tr__worker *v = &rt->workers[(start + k) % n];
        if (v == w)
            continue;
        tr__actor *a = tr__deque_pop(&v->dq);
        if (a != NULL) {
            tr__store_u64_relaxed(&w->steals, w->steals + 1);
            if (tr__deque_size(&v->dq) > 0)
                notify(rt);
            return a;
        }
    }
    return NULL;
}

static tr__actor *find_work(tr_runtime *rt, tr__worker *w)
{
    tr__actor *a = w->runnext;
    if (a != NULL && w->runnext_streak < RUNNEXT_STREAK) {
        w->runnext = NULL;
        w->runnext_streak++;
        return a;
    }
    w->runnext_streak = 0;
    if (a != NULL) {
        w->runnext = NULL;
        deque_push(w, a);
    }
    if ((a = tr__deque_pop(&w->dq)) != NULL) {
        if (tr__deque_size(&w->dq) > 0)
            notify(rt);
        return a;
    }
    if ((a = inject_take(rt, w)) != NULL)
        return a;
    return steal(rt, w);
}

/* Bounded search before sleeping: a few rounds of looking, each a handful
 * of pause instructions apart (~10-20 us in all), because a futex sleep and
 * wake costs far more than that when work is about to arrive. */
static tr__actor *search(tr_runtime *rt, tr__worker *w)
{
    tr__faa_u32(&rt->spinning, 1);
    tr__actor *a = NULL;
    for (unsigned i = 0; i < SPIN_ROUNDS && a == NULL; i++) {
        for (unsigned k = 0; k < 16; k++)
            tr__cpu_relax();
        if (tr__load_u32_relaxed(&rt->exiting))
            break;
        if ((a = inject_take(rt, w)) == NULL)
            a = steal(rt, w);
    }
    tr__faa_u32(&rt->spinning, (uint32_t)-1);
    return a;
}

/* Sleep until woken, or until `due` (monotonic ms; UINT64_MAX = no limit)
 * when the worker's timer wheel has something pending. */
static void park(tr_runtime *rt, tr__worker *w, uint64_t due)
{
    tr__xchg_u32(&w->parked, 1);
    uint32_t sleepers = tr__faa_u32(&rt->sleepers, 1) + 1;
    if (has_stealable_work(rt) || tr__load_u32_relaxed(&rt->exiting)) {
        uint32_t one = 1;
        if (tr__cas_u32(&w->parked, &one, 0))
            tr__faa_u32(&rt->sleepers, (uint32_t)-1);
        return; /* else a waker took us off: it has fixed sleepers */
    }
    if (sleepers == rt->nworkers) {
        tr__faa_u32(&rt->quiet_seq, 1);
        futex_wake(&rt->quiet_seq, INT_MAX);
    }
    tr__store_u64_relaxed(&w->parks, w->parks + 1);
    while (tr__load_u32_acquire(&w->parked) == 1) {
        if (due == UINT64_MAX) {
            futex_wait(&w->parked, 1, NULL);
            continue;
        }
        uint64_t now = tr__now_ms();
        if (now >= due) {
            /* Our own timer is due: take ourselves off the sleepers, unless
             * a waker just did (then it also fixed the count). */
            uint32_t one = 1;
            if (tr__cas_u32(&w->parked, &one, 0))
                tr__faa_u32(&rt->sleepers, (uint32_t)-1);
            return;
        }
        uint64_t left = due - now;
        struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
        futex_wait(&w->parked, 1, &ts);
    }
}

static void *worker_main(void *arg)
{
    tr__worker *w = arg;
    tr_runtime *rt = w->rt;
    tls_worker = w;
    char name[16]; /* shown by top -H, perf and gdb */
    snprintf(name, sizeof name, "tr-worker-%u", w->index);
    pthread_setname_np(pthread_self(), name);
    for (;;) {
        if (tr__load_u64_relaxed(&w->wheel.count) > 0)
            tr__wheel_advance(w, tr__now_ms());
        tr__actor *a = find_work(rt, w);
        if (a == NULL && !tr__load_u32_relaxed(&rt->exiting))
            a = search(rt, w);
        if (a != NULL) {
            tr__actor_run(w, a);
            continue;
        }
        if (tr__load_u32_acquire(&rt->exiting))
            break;
        park(rt, w, tr__load_u64_relaxed(&w->wheel.count) > 0 ? w->wheel.next_due
                                                                : UINT64_MAX);
    }
    tls_worker = NULL;
    return NULL;
}

int tr__sched_start(tr_runtime *rt)
{
    tr__mpsc_init(inject_q(rt));
    rt->inj_count = 0;
    pthread_mutex_init(&rt->inject_lock, NULL);
    for (unsigned i = 0; i < rt->nworkers; i++) {
        tr__worker *w = &rt->workers[i];
        w->rt = rt;
        w->index = i;
        w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
        w->ctx.rt = rt;
        w->ctx.worker = w;
        w->env_out = calloc(rt->nworkers, sizeof(*w->env_out));
        if (w->env_out == NULL || tr__deque_init(&w->dq, 1024) != 0 ||
            tr__wheel_init(&w->wheel, tr__now_ms()) != 0)
            return TR_ENOMEM;
    }
    for (unsigned i = 0; i < rt->nworkers; i++) {
        if (pthread_create(&rt->workers[i].thread, NULL, worker_main,
                           &rt->workers[i]) != 0) {
            rt->nstarted = i;
            return TR_ESYS;
        }
    }
    rt->nstarted = rt->nworkers;
    return 0;
}

void tr__sched_join(tr_runtime *rt)
{
    tr__store_u32_release(&rt->exiting, 1);
    tr__fence_seq_cst();
    tr__wake_all(rt);
    for (unsigned i = 0; i < rt->nstarted; i++)
        pthread_join(rt->workers[i].thread, NULL);
    rt->nstarted = 0;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        tr__deque_fini(&rt->workers[i].dq);
        tr__wheel_fini(&rt->workers[i].wheel);
    }
    pthread_mutex_destroy(&rt->inject_lock);
}

int tr__sched_wait_quiet(tr_runtime *rt, uint64_t deadline_ms)
{
    for (;;) {
        uint32_t seq = tr__load_u32_acquire(&rt->quiet_seq);
        if (tr__load_u32_acquire(&rt->sleepers) == rt->nworkers &&
            !has_stealable_work(rt) &&
            (tr__load_u32_relaxed(&rt->abandon) || !timers_pending(rt)))
            return 0;
        uint64_t now = tr__now_ms();
        if (now >= deadline_ms)
            return TR_ETIMEDOUT;
        uint64_t left = deadline_ms - now;
        if (left > 50)
            left = 50; /* re-check periodically: the last park may race */
        struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
        futex_wait(&rt->quiet_seq, seq, &ts);
    }
}
