/*
 * runtime/internal.h -- the runtime's private structures, shared by its files.
 *
 * Layout of the runtime (docs/runtime.md has the prose):
 *
 *   registry.c   actor slots: paged, never freed while the runtime lives, so a
 *                stale tr_actor_ref can always be checked against the slot's
 *                generation without touching freed memory.
 *   mpsc.h       the mailbox: an intrusive Vyukov MPSC queue (one atomic
 *                exchange per push, wait-free for producers) whose bound and
 *                liveness live in one 64-bit control word (see CTL below).
 *   actor.c      spawn, send, the actor's turn, stop and drain.
 *   sched.c      workers: run-next slot, a work-stealing FIFO per worker, a
 *                global injection queue for sends from non-workers, and the
 *                park/wake protocol.
 *   io.c         the I/O thread (libuv loop) and timers.
 *   ask.c        request/reply with a deadline; monitor.c monitors.
 */
#ifndef TR_RUNTIME_INTERNAL_H
#define TR_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/atomics.h"
#include "runtime/deque.h"
#include "runtime/wheel.h"
#include "troupe/runtime.h"

#define TR__CACHELINE 64

/* Intrusive queue link. */
typedef struct tr__node {
    struct tr__node *next;
} tr__node;

/* A message in flight: the link, then the envelope receive functions see.
 * Owned by the mailbox from a successful push until the consumer frees it. */
typedef struct tr__env {
    tr__node node; /* must be first */
    tr_msg msg;    /* msg.payload holds one reference */
    uint32_t home; /* 1 + index of the worker whose pool it returns to; 0: none */
} tr__env;

/* Envelopes freed on one worker for another's pool, sent back in batches. */
typedef struct tr__env_batch {
    tr__node *head, *tail;
    uint32_t n;
} tr__env_batch;

/*
 * The control word of a slot (CTL), one 64-bit atomic:
 *
 *   bits 63..32  generation of the actor living in the slot
 *   bit  31      CLOSED: no send is accepted (slot free, or actor stopping)
 *   bits 30..0   COUNT: messages accepted and not yet retired by the consumer
 *
 * A sender CASes COUNT up only if the generation matches its ref, CLOSED is
 * clear and COUNT is below the hard limit: liveness, bound and the decision to
 * schedule (COUNT was 0) are one atomic step, so a message can neither slip
 * into a slot's next life nor be enqueued without someone scheduling it.  The
 * consumer retires a whole batch with one subtraction at the end of its turn:
 * the actor stays "scheduled" while COUNT > 0, so exactly one party -- the
 * sender that moves COUNT from 0 to 1 -- puts an idle actor on a run queue.
 */
#define TR__CTL_CLOSED (UINT64_C(1) << 31)
#define TR__CTL_COUNT_MASK (TR__CTL_CLOSED - 1)
#define TR__CTL_GEN(c) ((uint32_t)((c) >> 32))
#define TR__CTL_COUNT(c) ((uint32_t)((c)&TR__CTL_COUNT_MASK))
#define TR__CTL_MAKE(gen, closed, count)                                       \
    (((uint64_t)(gen) << 32) | ((closed) ? TR__CTL_CLOSED : 0) | (count))

/* actor->flags, touched only by the thread running the actor. */
enum {
    TR__AF_STOPPING = 1u << 0, /* stop after the current message          */
    TR__AF_MUTED = 1u << 1,    /* sent into an overloaded mailbox          */
    TR__AF_PHANTOM = 1u << 2,  /* COUNT holds one extra unit while muted   */
    TR__AF_SYSTEM_STOP = 1u << 3,
};

typedef struct tr__actor_ext tr__actor_ext;

/* One actor slot: 128 bytes, two cache lines split by writer. */
typedef struct tr__actor {
    /* Line 1 -- written by senders on any thread; capacity and policy are
     * read-only while the actor lives. */
    alignas(TR__CACHELINE) uint64_t ctl;
    tr__node *mb_head;   /* Vyukov producer end (exchange target)   */
    /* capacity, hard_limit and policy are read by senders that may race a
     * respawn of the slot (their CAS then fails): relaxed atomics, so the
     * race is defined; the acquire load of ctl orders them for senders
     * that succeed. */
    uint32_t capacity;   /* soft capacity (policy REJECT: the limit) */
    uint32_t hard_limit; /* COUNT never exceeds this                 */
    uint32_t policy;
    uint8_t pad1_[TR__CACHELINE - 8 - 8 - 4 - 4 - 4];

    /* Line 2 -- owned by whichever worker runs the actor (the CTL protocol
     * guarantees one at a time), plus links used by the run queues. */
    tr__node *mb_tail;      /* Vyukov consumer end                     */
    tr__node mb_stub;       /* the queue's stub node                   */
    tr__node run_node;      /* link in the global injection queue      */
    const tr_actor_ops *ops;
    void *state;
    tr__actor_ext *ext;     /* asks, monitors, muted senders; lazily   */
    uint32_t id;
    uint32_t flags;
    uint32_t hwm;           /* mailbox depth high-water mark           */
    int32_t stop_reason;
} tr__actor;

_Static_assert(sizeof(tr__actor) == 2 * TR__CACHELINE, "actor slot is two lines");
_Static_assert(offsetof(tr__actor, mb_tail) == TR__CACHELINE, "consumer line");

/* Rarely used per-actor data, allocated on first use by the actor's own
 * context (asks, monitors) or under mute_lock (muted senders). */
struct tr__actor_ext {
    /* Outstanding asks: open-addressed set of ask ids -> timer. */
    struct tr__ask_slot *asks;
    uint32_t asks_cap, asks_len;
    /* Watchers: who gets DOWN when this actor stops. */
    struct tr__watch *watchers;
    uint32_t watchers_len, watchers_cap;
    /* Actors muted because they sent into this (overloaded) mailbox. */
    pthread_mutex_t mute_lock;
    tr__actor **muted;
    uint32_t muted_len, muted_cap;
    uint32_t has_muted; /* atomic hint: muted_len > 0 */
};

struct tr__ask_slot {
    uint64_t id; /* 0 = empty, UINT64_MAX = tombstone */
    tr_timer *timer;
};

struct tr__watch {
    tr_actor_ref watcher;
    uint64_t monitor_id;
};

/* The context handed to receive: one per worker, pointed at the actor being
 * run.  Also the home of per-worker state. */
struct tr_ctx {
    tr_runtime *rt;
    struct tr__worker *worker;
    tr__actor *actor;
    tr_actor_ref self;
    uint64_t corr_id; /* of the message being handled */
    uint64_t log_corr; /* what this thread's logger was last told */
    tr__actor *mute_on; /* set by a send into an overloaded mailbox */
    uint32_t mute_gen;  /* ... and the generation it was sent to    */
};

typedef struct tr__worker {
    /* Written by thieves and wakers. */
    alignas(TR__CACHELINE) uint32_t parked; /* futex word: 1 = asleep */
    uint8_t pad0_[TR__CACHELINE - 4];

    tr__deque dq; /* has its own line layout */

    /* Owner-only. */
    alignas(TR__CACHELINE) tr_runtime *rt;
    unsigned index;
    pthread_t thread;
    tr__actor *runnext;
    unsigned runnext_streak;
    uint64_t rng;
    tr__actor *free_slots; /* via run_node.next; reusable slots */
    tr__node *env_pool;    /* envelopes to reuse (owner only)       */
    uint32_t env_pool_n;
    tr__env_batch *env_out; /* per home worker, nworkers entries     */
    tr__wheel wheel;        /* tr_ctx_send_after timers               */
    uint32_t free_count;
    struct tr_ctx ctx;

    /* Envelopes other workers returned: a stack they push chains onto and
     * the owner takes whole with one exchange (so no ABA). */
    alignas(TR__CACHELINE) tr__node *env_remote;

    /* Counters: written by the owner with relaxed stores, read by anyone. */
    uint64_t handled, sent, steals, parks, rejected, dead, spawned, stopped;
    uint64_t next_id; /* ask and monitor ids: worker index in the top bits */
    uint32_t depth_hwm;
} tr__worker;

#define TR__PAGE_SHIFT 12
#define TR__PAGE_SLOTS (1u << TR__PAGE_SHIFT)
#define TR__MAX_PAGES 4096u /* 16.7M actor slots */

struct tr_runtime {
    /* Read-mostly configuration. */
    unsigned nworkers;
    unsigned nstarted; /* worker threads actually running */
    uint32_t default_mailbox;
    uint32_t batch;
    tr__worker *workers;
    tr__actor **pages; /* TR__MAX_PAGES entries; published with release */
    char name[32];

    /* Registry. */
    alignas(TR__CACHELINE) uint32_t next_id; /* next never-used slot id */
    pthread_mutex_t page_lock;               /* page allocation only    */
    pthread_mutex_t free_lock;               /* global free-slot list   */
    tr__actor *free_slots;
    uint32_t free_count;

    /* Global injection queue (sends from outside the workers): Vyukov MPSC;
     * consumers take inject_lock with trylock only, so no worker ever waits. */
    alignas(TR__CACHELINE) tr__node *inj_head;
    alignas(TR__CACHELINE) tr__node *inj_tail;
    tr__node inj_stub;
    uint32_t inj_count; /* actors queued; lets idle checks skip the lock */
    pthread_mutex_t inject_lock;

    /* Sleep/wake. */
    alignas(TR__CACHELINE) uint32_t sleepers;
    uint32_t spinning;
    uint32_t quiet_seq; /* futex word bumped when every worker is parked */
    uint32_t exiting;
    uint32_t closing; /* refuse external sends and spawns */
    uint32_t abandon; /* drain deadline passed: stop actors at once */

    /* Global counters (rare events or non-worker threads). */
    alignas(TR__CACHELINE) uint64_t ext_sent, ext_rejected, ext_dead;
    uint64_t dead_stop;   /* messages left in mailboxes of stopped actors */
    uint64_t late_replies;
    uint64_t spawned, stopped;
    uint64_t next_corr;   /* ask and monitor ids */
    uint32_t ext_hwm;

    struct tr__io *io;
    uint32_t rr; /* round robin for external scheduling hints */
};

/* ---- wheel.c ---- */
int tr__wheel_init(tr__wheel *wh, uint64_t now_ms);
void tr__wheel_fini(tr__wheel *wh);
/* Fire what is due at `now` (owner worker only). */
void tr__wheel_advance(struct tr__worker *w, uint64_t now);

/* ---- envelope.c ---- */
tr__env *tr__env_alloc(tr__worker *w);
/* Release the payload and recycle the envelope (w: the freeing worker, or
 * NULL on any other thread). */
void tr__env_free(tr__worker *w, tr__env *e);
void tr__env_pools_fini(tr_runtime *rt);

/* ---- registry.c ---- */
int tr__registry_init(tr_runtime *rt);
void tr__registry_fini(tr_runtime *rt);
/* A slot for a new actor (closed, no messages) or NULL (TR_ENOMEM/limit). */
tr__actor *tr__slot_alloc(tr_runtime *rt, tr__worker *w);
/* Return a drained slot; bumps the generation so old refs go stale. */
void tr__slot_free(tr_runtime *rt, tr__worker *w, tr__actor *a);
/* The slot for ref.id, or NULL if the id was never allocated. */
static inline tr__actor *tr__slot_get(tr_runtime *rt, uint32_t id)
{
    uint32_t page = id >> TR__PAGE_SHIFT;
    if (id == 0 || page >= TR__MAX_PAGES)
        return NULL;
    tr__actor *p = tr__load_ptr_acquire((void *const *)&rt->pages[page]);
    return p == NULL ? NULL : &p[id & (TR__PAGE_SLOTS - 1)];
}
static inline tr_actor_ref tr__ref_of(const tr__actor *a)
{
    return (tr_actor_ref){a->id, TR__CTL_GEN(tr__load_u64_relaxed(&a->ctl))};
}

/* ---- actor.c ---- */
/* Run one turn of `a` on worker w. */
void tr__actor_run(tr__worker *w, tr__actor *a);
/* Deliver from anywhere; ctx is NULL outside actors.  `internal` bypasses the
 * closing check (runtime-generated messages during shutdown). */
int tr__deliver(tr_runtime *rt, tr_ctx *ctx, tr_actor_ref to,
                const tr_send_args *args, tr_actor_ref sender, bool internal);
/* Stop every live actor (shutdown). */
void tr__stop_all(tr_runtime *rt);
/* Free the envelopes left in slots at the very end. */
void tr__reap_all(tr_runtime *rt);

/* ---- sched.c ---- */
int tr__sched_start(tr_runtime *rt);
void tr__sched_join(tr_runtime *rt);
/* Make `a` runnable.  From a worker: its run-next slot / deque; from any
 * other thread: the injection queue.  Wakes a sleeper when useful. */
void tr__schedule(tr_runtime *rt, tr__worker *w, tr__actor *a);
/* Requeue an actor that used up its batch (fair: goes behind others). */
void tr__reschedule(tr__worker *w, tr__actor *a);
/* Block (the caller is not a worker) until every worker is parked with no
 * queued work, or deadline (ms, CLOCK_MONOTONIC) passes.  0 or TR_ETIMEDOUT. */
int tr__sched_wait_quiet(tr_runtime *rt, uint64_t deadline_ms);
/* The worker the calling thread runs, or NULL. */
tr__worker *tr__sched_current(tr_runtime *rt);
void tr__wake_all(tr_runtime *rt);

/* ---- ask.c / monitor.c ---- */
/* Called for replies/timeouts before receive; returns false to drop. */
bool tr__ask_filter(tr_ctx *ctx, const tr_msg *m);
void tr__ask_clear(tr_runtime *rt, tr__actor *a);
/* System message handlers, run in the target's context. */
void tr__monitor_add(tr_ctx *ctx, const tr_msg *m);
void tr__monitor_notify(tr_runtime *rt, tr__actor *a, int reason);
/* A monitor request that reached a dead or stopping actor. */
void tr__monitor_bounce(tr_runtime *rt, const tr_msg *m, int reason);
tr__actor_ext *tr__actor_ext_get(tr__actor *a);
/* The extension or NULL.  Acquire: a sender's worker may install it (for
 * the muted list) while the owner runs. */
static inline tr__actor_ext *tr__actor_ext_peek(tr__actor *a)
{
    return tr__load_ptr_acquire((void *const *)&a->ext);
}
/* Empty the extension for the slot's next life (the struct and its lock
 * stay: see mute_on in actor.c); _free only at runtime free. */
void tr__actor_ext_reset(tr__actor *a);
void tr__actor_ext_free(tr__actor *a);

/* Internal system message types (never seen by receive functions). */
#define TR__MSG_MONITOR (TR_MSG_SYSTEM + 0x100u)

/* ---- io.c ---- */
/* Whether the calling thread is a runtime's I/O thread. */
bool tr__on_io_thread(void);
/* Ask ids carry this bit (see ask.c). */
#define TR__ASK_BIT (UINT64_C(1) << 63)
/* tr_send_after without the type check; system messages are delivered as
 * internal (never refused for room or because the runtime is closing). */
int tr__send_after_internal(tr_runtime *rt, uint64_t delay_ms,
                            uint64_t period_ms, tr_actor_ref to,
                            const tr_send_args *args, tr_timer **out);
uint64_t tr__next_id(tr_runtime *rt, struct tr__worker *w);
int tr__io_start(tr_runtime *rt);
/* Cancel every pending timer (shutdown). */
void tr__io_cancel_timers(tr_runtime *rt);
void tr__io_stop(tr_runtime *rt);

/* Monotonic milliseconds. */
uint64_t tr__now_ms(void);

#endif /* TR_RUNTIME_INTERNAL_H */
