/*
 * troupe/runtime.h -- the actor runtime.
 *
 * A tr_runtime owns N worker threads that run actors and one I/O thread that
 * runs a libuv loop (timers, later the network).  An actor is private state, a
 * receive function and a bounded mailbox; it is named by a tr_actor_ref (slot
 * id + generation), never by a pointer, so a send to an actor that has stopped
 * is detected (TR_EDEAD, counted as a dead letter) instead of touching freed
 * memory.  See docs/runtime.md for the model and its guarantees.
 *
 * Threads.  Unless a function says otherwise it may be called from any thread:
 * a worker (from inside a receive function), the I/O thread, or a thread the
 * embedding program owns.  Functions taking a tr_ctx may only be called from
 * inside the receive (or stop) function that was handed that ctx.
 *
 * Ownership.  Payloads (troupe/payload.h) are reference counted and immutable
 * once sent.  Every send *borrows* the caller's reference: the runtime takes
 * its own reference for each receiver, so the caller still owns (and must
 * unref) the payload it passed, whether the send succeeded or not.
 */
#ifndef TROUPE_RUNTIME_H
#define TROUPE_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"
#include "troupe/payload.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tr_runtime tr_runtime;
typedef struct tr_ctx tr_ctx;
typedef struct tr_timer tr_timer;

/* An actor's name.  {0, 0} is "nobody" (TR_REF_NONE).  Refs are plain values:
 * copy them freely, compare them with tr_ref_eq. */
typedef struct tr_actor_ref {
    uint32_t id;
    uint32_t gen;
} tr_actor_ref;

#define TR_REF_NONE ((tr_actor_ref){0, 0})

static inline bool tr_ref_eq(tr_actor_ref a, tr_actor_ref b)
{
    return a.id == b.id && a.gen == b.gen;
}
static inline bool tr_ref_is_none(tr_actor_ref a) { return a.id == 0; }

/* ---------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------ */

/* Message types at or above TR_MSG_SYSTEM are the runtime's own.  (Macros,
 * not an enum: the values do not fit an int.) */
#define TR_MSG_SYSTEM 0xFFFF0000u
/* A watched actor stopped: sender = that actor, status = its stop reason
 * (0 normal, TR_EFAILED when its receive failed, TR_ECLOSED at runtime
 * shutdown, or the reason it gave tr_ctx_stop; TR_EDEAD when it was already
 * gone at tr_monitor time), corr_id = the monitor id tr_monitor returned. */
#define TR_MSG_DOWN (TR_MSG_SYSTEM + 1u)
/* A tr_ask got no reply in time: corr_id = the ask's id,
 * status = TR_ETIMEDOUT. */
#define TR_MSG_TIMEOUT (TR_MSG_SYSTEM + 2u)
/* Ask the receiver to stop after the messages already in its mailbox
 * (sent with tr_stop). Never seen by receive functions. */
#define TR_MSG_STOP (TR_MSG_SYSTEM + 3u)

#define TR_MSG_F_REPLY 0x1u /* the message answers a tr_ask (see corr_id) */

/* The envelope a receive function sees.  Valid only during the call; the
 * payload is borrowed (tr_payload_ref it to keep it). */
typedef struct tr_msg {
    uint32_t type;          /* application-defined below TR_MSG_SYSTEM     */
    uint32_t flags;         /* TR_MSG_F_*                                  */
    tr_actor_ref sender;    /* TR_REF_NONE when sent from outside an actor */
    tr_actor_ref reply_to;  /* where an answer should go (may be NONE)     */
    uint64_t corr_id;       /* correlation id; ask id for replies          */
    int32_t status;         /* system messages: a TR_E* code or 0          */
    tr_payload *payload;    /* NULL or an immutable msgpack buffer         */
} tr_msg;

/* ---------------------------------------------------------------------------
 * Runtime lifecycle
 * ------------------------------------------------------------------------ */

typedef struct tr_runtime_opts {
    unsigned workers;          /* 0 = number of online CPUs                 */
    uint32_t default_mailbox;  /* 0 = 1024; rounded up to a power of two    */
    uint32_t batch;            /* messages per actor turn; 0 = 64           */
    const char *name;          /* used in log lines; NULL = "troupe"        */
} tr_runtime_opts;

/* Create and start a runtime (workers and the I/O thread are running when it
 * returns).  opts may be NULL.  Returns 0 and *out, or TR_ENOMEM/TR_ESYS. */
TR_EXTERN int tr_runtime_new(tr_runtime **out, const tr_runtime_opts *opts);

/* Graceful shutdown, then free.  Stops accepting new spawns and external
 * sends, lets every actor drain the messages already in its mailbox (and
 * whatever those handlers send to each other, until the system is quiet or
 * drain_ms passes), stops every actor (stop hooks run, monitors get
 * TR_ECLOSED), joins all threads and frees everything.  Must not be called
 * from a worker or the I/O thread.  Returns 0, or TR_ETIMEDOUT if the drain
 * deadline passed: every actor is then stopped at its next turn, and the
 * messages still queued are dropped and counted as dead letters.  New timers
 * (and so tr_ask) fail with TR_ECLOSED from the start of shutdown. */
TR_EXTERN int tr_runtime_free(tr_runtime *rt, uint64_t drain_ms);

/* Number of worker threads. */
TR_EXTERN unsigned tr_runtime_workers(const tr_runtime *rt);

/* ---------------------------------------------------------------------------
 * Actors
 * ------------------------------------------------------------------------ */

/* What to do when a mailbox is full. */
typedef enum tr_mbox_policy {
    /* The send fails with TR_EFULL; the message is not enqueued and the
     * caller still owns everything it passed.  Counted as a rejected send. */
    TR_MBOX_REJECT = 0,
    /* The send succeeds while the mailbox holds fewer than twice its
     * capacity; from capacity on, a sending *actor* is muted: it finishes the
     * message it is handling and is not run again until the receiver has
     * drained to half its capacity.  A worker is never blocked.  A sender
     * outside the runtime is made to wait (it is not a worker).  At twice the
     * capacity the send fails with TR_EFULL like REJECT. */
    TR_MBOX_BACKPRESSURE = 1,
} tr_mbox_policy;

/* Behaviour of an actor.  The runtime allocates state_size zeroed bytes of
 * private state, calls init once (on the spawning thread, before the actor
 * can receive anything), receive once per message (on a worker, never two at
 * a time for one actor), and stop once when the actor stops for any reason,
 * then frees the state.  The ops structure must outlive every actor using it. */
typedef struct tr_actor_ops {
    size_t state_size;
    /* Optional. A non-zero return aborts the spawn: a negative value is
     * returned by tr_spawn as is, a positive one as TR_EFAILED. */
    int (*init)(tr_runtime *rt, void *state, void *arg);
    /* Required. Return 0 to continue; a negative value stops the actor with
     * reason TR_EFAILED (monitors and supervisors see it). */
    int (*receive)(tr_ctx *ctx, void *state, const tr_msg *msg);
    /* Optional stop hook; reason as in TR_MSG_DOWN.  Must not send to the
     * stopping actor itself.  Frees whatever init allocated. */
    void (*stop)(tr_ctx *ctx, void *state, int reason);
    const char *name; /* for logs and metrics; may be NULL */
} tr_actor_ops;

typedef struct tr_spawn_opts {
    uint32_t mailbox;         /* capacity; 0 = the runtime's default        */
    tr_mbox_policy policy;
} tr_spawn_opts;

/* Spawn an actor.  opts may be NULL.  Returns 0 and *out, TR_ECLOSED after
 * shutdown began, TR_ENOMEM, or init's error (nothing is left behind). */
TR_EXTERN int tr_spawn(tr_runtime *rt, const tr_actor_ops *ops, void *arg,
                       const tr_spawn_opts *opts, tr_actor_ref *out);

/* Ask an actor to stop once it has handled what is already in its mailbox.
 * Returns 0 or TR_EDEAD. */
TR_EXTERN int tr_stop(tr_runtime *rt, tr_actor_ref ref);

/* Whether the actor is alive right now (a hint: it may stop at any time). */
TR_EXTERN bool tr_actor_alive(tr_runtime *rt, tr_actor_ref ref);

/* ---------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------ */

/* Full envelope for tr_send_msg.  Unset fields are zero. */
typedef struct tr_send_args {
    uint32_t type;
    uint32_t flags;
    tr_actor_ref reply_to;
    uint64_t corr_id;
    int32_t status;
    tr_payload *payload; /* borrowed; may be NULL */
} tr_send_args;

/* Send from outside any actor (sender = TR_REF_NONE).  Returns 0, TR_EDEAD
 * (dead letter, counted), TR_EFULL (rejected, counted), TR_ECLOSED, or
 * TR_ENOMEM.  Per-sender FIFO: two sends from one thread to one actor are
 * received in the order they were made. */
TR_EXTERN int tr_send(tr_runtime *rt, tr_actor_ref to, uint32_t type,
                      tr_payload *payload);
TR_EXTERN int tr_send_msg(tr_runtime *rt, tr_actor_ref to,
                          const tr_send_args *args);

/* Send from inside a receive function: sender = self, corr_id = the corr_id
 * of the message being handled (so correlation flows through the system). */
TR_EXTERN int tr_ctx_send(tr_ctx *ctx, tr_actor_ref to, uint32_t type,
                          tr_payload *payload);
TR_EXTERN int tr_ctx_send_msg(tr_ctx *ctx, tr_actor_ref to,
                              const tr_send_args *args);

/* Answer a message: sent to msg->reply_to (or msg->sender when unset) with
 * TR_MSG_F_REPLY and the request's corr_id. */
TR_EXTERN int tr_reply(tr_ctx *ctx, const tr_msg *request, uint32_t type,
                       tr_payload *payload);

/* Request/reply with a deadline.  Sends type/payload to `to` with reply_to =
 * self and a fresh corr_id (stored in *ask_id).  Exactly one of these then
 * reaches the asker: the reply (TR_MSG_F_REPLY, corr_id = *ask_id), or
 * TR_MSG_TIMEOUT (corr_id = *ask_id) after timeout_ms.  A reply that comes
 * after the timeout is dropped by the runtime and counted as late.  If the
 * target is dead the call fails with TR_EDEAD and nothing is delivered. */
TR_EXTERN int tr_ask(tr_ctx *ctx, tr_actor_ref to, uint32_t type,
                     tr_payload *payload, uint64_t timeout_ms,
                     uint64_t *ask_id);

/* ---------------------------------------------------------------------------
 * Inside a receive function
 * ------------------------------------------------------------------------ */

TR_EXTERN tr_actor_ref tr_self(const tr_ctx *ctx);
TR_EXTERN tr_runtime *tr_ctx_runtime(const tr_ctx *ctx);
/* Index of the worker running this ctx (0..workers-1). */
TR_EXTERN unsigned tr_ctx_worker(const tr_ctx *ctx);
/* Stop self after the current message; reason as in TR_MSG_DOWN. */
TR_EXTERN void tr_ctx_stop(tr_ctx *ctx, int reason);
/* Spawn from inside an actor (same as tr_spawn). */
TR_EXTERN int tr_ctx_spawn(tr_ctx *ctx, const tr_actor_ops *ops, void *arg,
                           const tr_spawn_opts *opts, tr_actor_ref *out);

/* ---------------------------------------------------------------------------
 * Monitors
 * ------------------------------------------------------------------------ */

/* Watch `target`: when it stops, self receives TR_MSG_DOWN (sender = target,
 * status = reason, corr_id = *monitor_id).  If target is already gone the
 * DOWN arrives at once with status TR_EDEAD.  Exactly one DOWN per monitor. */
TR_EXTERN int tr_monitor(tr_ctx *ctx, tr_actor_ref target,
                         uint64_t *monitor_id);
/* The same for a watcher given by ref (e.g. from outside any actor). */
TR_EXTERN int tr_monitor_ref(tr_runtime *rt, tr_actor_ref watcher,
                             tr_actor_ref target, uint64_t *monitor_id);

/* ---------------------------------------------------------------------------
 * Timers (run on the I/O thread's libuv loop)
 * ------------------------------------------------------------------------ */

/* Deliver a message to `to` after delay_ms (and then every period_ms if
 * period_ms > 0).  If out is non-NULL the caller gets a handle it must give
 * back with tr_timer_cancel or tr_timer_release; with out == NULL the timer
 * is fire-and-forget (one-shot only).  Messages from one timer arrive in
 * order; timers with earlier deadlines fire first.  Returns 0, TR_EINVAL,
 * TR_ENOMEM or TR_ECLOSED.  A delivery that fails (dead target, full
 * mailbox) is counted like any failed send; a periodic timer whose target
 * is dead cancels itself. */
TR_EXTERN int tr_send_after(tr_runtime *rt, uint64_t delay_ms,
                            uint64_t period_ms, tr_actor_ref to,
                            const tr_send_args *args, tr_timer **out);
/* A one-shot timer on the calling worker's timer wheel: after delay_ms (at
 * millisecond resolution, never early) the message is sent to `to` with
 * sender = self and, unless args->corr_id is set, the current correlation.
 * Costs about as much as a send: no thread hop, no lock.  Pending wheel
 * timers keep the runtime's drain going at shutdown and are dropped if it is
 * abandoned.  Returns 0, TR_EINVAL, TR_ENOMEM or TR_ECLOSED (stop hooks at
 * free). */
TR_EXTERN int tr_ctx_send_after(tr_ctx *ctx, uint64_t delay_ms, tr_actor_ref to,
                                const tr_send_args *args);

/* The same, with a handle for cancelling it.  A handle is a plain value. */
typedef struct tr_wheel_timer {
    void *entry;
    uint32_t gen;
} tr_wheel_timer;
TR_EXTERN int tr_ctx_timer_start(tr_ctx *ctx, uint64_t delay_ms, tr_actor_ref to,
                                 const tr_send_args *args, tr_wheel_timer *handle);
/* Cancel from any thread while the runtime lives.  true: it will not fire
 * (and no longer holds up shutdown's drain); false: it has fired already (its
 * message is on its way) or the handle is stale -- exactly one of the
 * canceller and the firing wheel wins.  Lock-free: one CAS. */
TR_EXTERN bool tr_wheel_timer_cancel(tr_wheel_timer h);

/* Stop the timer (no delivery starts after this returns) and release the
 * handle. */
TR_EXTERN void tr_timer_cancel(tr_timer *t);
/* Release the handle without stopping the timer. */
TR_EXTERN void tr_timer_release(tr_timer *t);

/* ---------------------------------------------------------------------------
 * Metrics
 * ------------------------------------------------------------------------ */

typedef struct tr_worker_stats {
    uint64_t handled;       /* messages handled by actors on this worker     */
    uint64_t sent;          /* sends made from actors on this worker         */
    uint64_t steals;        /* actors stolen from other workers              */
    uint64_t parks;         /* times the worker went to sleep                */
    uint32_t depth_hwm;     /* largest mailbox depth seen by its sends       */
} tr_worker_stats;

typedef struct tr_runtime_stats {
    unsigned workers;
    uint64_t sent;          /* all successful sends                          */
    uint64_t handled;
    uint64_t dead_letters;  /* sends to dead actors + undelivered at stop    */
    uint64_t rejected;      /* TR_EFULL results                              */
    uint64_t late_replies;  /* replies that lost to their ask's timeout      */
    uint64_t spawned;
    uint64_t stopped;
    uint64_t live_actors;
    uint64_t steals;
    uint32_t depth_hwm;     /* largest mailbox depth seen anywhere           */
} tr_runtime_stats;

/* Snapshot of the counters (each read atomically; the set is not one
 * instant).  per_worker may be NULL; otherwise it has room for
 * tr_runtime_workers(rt) entries. */
TR_EXTERN void tr_runtime_stats_get(tr_runtime *rt, tr_runtime_stats *out,
                                    tr_worker_stats *per_worker);

/* Mailbox depth high-water mark of one actor, or TR_EDEAD. */
TR_EXTERN int tr_actor_depth_hwm(tr_runtime *rt, tr_actor_ref ref,
                                 uint32_t *out);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_RUNTIME_H */
