/*
 * troupe/bus.h -- the event bus: named channels, filtered subscriptions.
 *
 * The bus is one actor on a tr_runtime.  Publishers hand it events (each one
 * msgpack map, see docs/events.md); it stamps each event with `seq`, finds
 * the subscriptions whose filter matches, and delivers ONE shared payload to
 * all of them: a message to a subscriber actor, or a call of a C callback on
 * the bus's worker.  A subscriber that is dead, slow or full never stops or
 * slows delivery to the others.
 *
 * Channels.  Three are built in (TR_BUS_CH_WORKFLOW "workflow_events",
 * TR_BUS_CH_EMERGENCY "emergency_events", TR_BUS_CH_METRICS "metrics");
 * tr_bus_channel() adds others by name.  A channel is named by a small id
 * that stays valid for the bus's life.
 *
 * seq.  Per channel, events are numbered per *scope*: the value of the
 * channel's scope field (workflow_id for workflow_events and by default,
 * controller_id for emergency_events).  The bus is the single writer of the
 * counters, so within a scope seq is 1, 2, 3, ... in the order the bus
 * receives the events.  The delivered event is the published map with
 * "seq":N added (after "type" when "type" is the first key, else first; a
 * "seq" the publisher put in is replaced): one re-encoding per event -- one
 * allocation and a copy of its bytes -- whatever the number of subscribers,
 * and none when nothing matches.
 *
 * Ordering.  Events from one publishing thread (or one actor) reach the bus
 * in the order they were published (the runtime's per-sender FIFO), so one
 * executor's events of a workflow get increasing seq in publish order, and
 * every subscriber receives the events it matches in bus order.
 *
 * Errors: 0 or a negative TR_E* code (troupe/error.h).  Threads: every
 * function may be called from any thread unless it says otherwise.
 */
#ifndef TROUPE_BUS_H
#define TROUPE_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"
#include "troupe/payload.h"
#include "troupe/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tr_bus tr_bus;

/* Built-in channel ids. */
enum {
    TR_BUS_CH_WORKFLOW = 0,  /* "workflow_events", scope workflow_id    */
    TR_BUS_CH_EMERGENCY = 1, /* "emergency_events", scope controller_id */
    TR_BUS_CH_METRICS = 2,   /* "metrics", scope workflow_id            */
};
#define TR_BUS_MAX_CHANNELS 64
#define TR_BUS_NAME_MAX 64 /* channel and scope-field names, NUL included */

/* Message types of the bus protocol ('BU' range). */
#define TR_BUS_MSG_BASE 0x42550000u
enum {
    /* To a subscriber actor: one event.  payload = the shared, stamped event
     * (borrowed like any payload; tr_payload_ref it to keep it), status = the
     * channel id, corr_id = the publisher's correlation id (0 from outside
     * an actor), sender = TR_REF_NONE (the bus sends without back-pressure
     * on itself, so a subscriber can never mute it). */
    TR_BUS_MSG_EVENT = TR_BUS_MSG_BASE + 1,
    /* To the bus: publish payload (a msgpack map) on channel `status`.  What
     * tr_bus_publish sends; actors may send it themselves. */
    TR_BUS_MSG_PUBLISH = TR_BUS_MSG_BASE + 2,
    /* To the bus, from an actor with tr_ask (no payload): answered with
     * TR_BUS_MSG_SYNC_OK once every message the bus received before it has
     * been handled (e.g. a subscription is live). */
    TR_BUS_MSG_SYNC = TR_BUS_MSG_BASE + 3,
    TR_BUS_MSG_SYNC_OK = TR_BUS_MSG_BASE + 4,
    /* Internal control messages (subscribe, unsubscribe, queries): their
     * payload is a native struct, not msgpack.  Use the functions. */
    TR_BUS_MSG_CONTROL = TR_BUS_MSG_BASE + 5,
};

typedef struct tr_bus_opts {
    uint32_t mailbox; /* bus mailbox capacity; 0 = 65536 */
    /* false (default): the bus mailbox uses TR_MBOX_BACKPRESSURE -- threads
     * outside the runtime that publish wait while the bus is over capacity,
     * publishing actors (tr_bus_publish_ctx) are muted, and a publish fails
     * with TR_EFULL only at twice the capacity.  true: TR_MBOX_REJECT, a
     * publish to a full bus fails at once with TR_EFULL. */
    bool reject_when_full;
} tr_bus_opts;

/* Spawn the bus actor on rt.  opts may be NULL.  Returns 0 and *out (owned
 * by the caller, released with tr_bus_free), TR_ENOMEM, or tr_spawn's code. */
TR_EXTERN int tr_bus_start(tr_runtime *rt, const tr_bus_opts *opts,
                           tr_bus **out);

/* Stop the bus (events already queued are delivered first), wait for the
 * actor to stop and free the handle.  Callable before or after
 * tr_runtime_free (after it, the actor is already gone).  Must not be called
 * from a worker, the I/O thread or a bus callback.  bus may be NULL. */
TR_EXTERN void tr_bus_free(tr_bus *bus);

/* The bus actor (for tr_ask TR_BUS_MSG_SYNC, monitors, ...). */
TR_EXTERN tr_actor_ref tr_bus_ref(const tr_bus *bus);

/* Id of channel `name`, registering it if new with scope field scope_field
 * (NULL = "workflow_id"; ignored for an existing channel).  Returns 0,
 * TR_EINVAL (name empty or longer than TR_BUS_NAME_MAX - 1), TR_ELIMIT
 * (TR_BUS_MAX_CHANNELS reached).  Takes a mutex: look ids up once, not per
 * event. */
TR_EXTERN int tr_bus_channel(tr_bus *bus, const char *name,
                             const char *scope_field, uint32_t *id);

/* ---------------------------------------------------------------------------
 * Publishing
 * ------------------------------------------------------------------------ */

/* Publish event (a msgpack map) on channel.  Any thread.  The payload is
 * BORROWED: the caller still owns its reference (unref it afterwards,
 * success or not); it must not change after the call.  The bus reads
 * workflow_id/bot_id/strategy_id (strings) and the channel's scope field
 * from it; an event that is not a well-formed map is counted as invalid and
 * dropped.  Returns 0 (queued), TR_EINVAL (unknown channel, NULL payload),
 * TR_EFULL (bus mailbox full), TR_EDEAD/TR_ECLOSED (bus stopped).  From a
 * worker prefer tr_bus_publish_ctx: this form never blocks a worker, but
 * does not apply back-pressure to the publishing actor either. */
TR_EXTERN int tr_bus_publish(tr_bus *bus, uint32_t channel,
                             tr_payload *event);

/* The same from inside a receive function (sender = the actor, corr_id =
 * the message being handled, passed on to subscribers).  With a
 * back-pressure bus the publishing actor is muted while the bus is over
 * capacity. */
TR_EXTERN int tr_bus_publish_ctx(tr_ctx *ctx, tr_bus *bus, uint32_t channel,
                                 tr_payload *event);

/* ---------------------------------------------------------------------------
 * Subscribing
 * ------------------------------------------------------------------------ */

/* An event matches when it is on `channel` and, for each non-NULL field,
 * the event has that key with an equal string value.  The strings are
 * copied; the filter may be freed after the call. */
typedef struct tr_bus_filter {
    uint32_t channel;
    const char *workflow_id;
    const char *bot_id;
    const char *strategy_id;
} tr_bus_filter;

/* Called on the bus's worker for each matching event, with the stamped
 * event BORROWED for the call (tr_payload_ref it to keep it).  Must be quick
 * and must never block (no locks held for long, no I/O, no *_sync call, no
 * tr_bus_free): every other subscriber waits for it.  It may publish or
 * (un)subscribe; those take effect after the current event. */
typedef void (*tr_bus_cb)(void *arg, uint32_t channel, tr_payload *event);

/* Subscribe actor `to`: it receives TR_BUS_MSG_EVENT messages.  The
 * subscription is live for every event the bus receives after this request
 * (events published later from the same thread are always seen; use
 * tr_bus_sync to be sure across threads).  If the actor is found dead on a
 * delivery the subscription is removed; if its mailbox is full the event is
 * dropped for it alone and counted.  Returns 0 and *sub_id, TR_EINVAL,
 * TR_ENOMEM, or a send error (the subscription then does not exist). */
TR_EXTERN int tr_bus_subscribe_actor(tr_bus *bus, const tr_bus_filter *filter,
                                     tr_actor_ref to, uint64_t *sub_id);

/* Subscribe a C callback (see tr_bus_cb); arg is passed back and must stay
 * valid until the unsubscription has taken effect (tr_bus_sync after
 * tr_bus_unsubscribe, or tr_bus_free). */
TR_EXTERN int tr_bus_subscribe_cb(tr_bus *bus, const tr_bus_filter *filter,
                                  tr_bus_cb cb, void *arg, uint64_t *sub_id);

/* Remove a subscription (takes effect for events the bus receives after
 * this request).  Returns 0 once queued; an unknown id is ignored. */
TR_EXTERN int tr_bus_unsubscribe(tr_bus *bus, uint64_t sub_id);

/* Block until the bus has handled everything sent to it before this call
 * (from any thread).  NOT from a worker or a callback.  timeout_ms 0 =
 * forever.  Returns 0, TR_ETIMEDOUT, TR_ECLOSED or TR_ENOMEM. */
TR_EXTERN int tr_bus_sync(tr_bus *bus, uint64_t timeout_ms);

/* ---------------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------------ */

typedef struct tr_bus_stats {
    uint64_t published;    /* events handled by the bus (valid ones)        */
    uint64_t invalid;      /* refused: not a well-formed msgpack map         */
    uint64_t delivered;    /* (event, subscriber) deliveries that succeeded  */
    uint64_t dropped;      /* deliveries refused by a full mailbox (TR_EFULL)
                              or failed for lack of memory                  */
    uint64_t dead_removed; /* subscriptions removed because the actor died  */
    uint64_t subscribers;  /* live subscriptions                             */
} tr_bus_stats;

/* Snapshot of the counters (each read atomically). */
TR_EXTERN void tr_bus_stats_get(const tr_bus *bus, tr_bus_stats *out);

typedef struct tr_bus_sub_stats {
    uint64_t delivered;
    uint64_t dropped;
} tr_bus_sub_stats;

/* One subscription's counters, asked of the bus (like tr_bus_sync: NOT from
 * a worker).  Returns 0, TR_ENOENT (unknown or removed), TR_ETIMEDOUT... */
TR_EXTERN int tr_bus_sub_stats_get(tr_bus *bus, uint64_t sub_id,
                                   tr_bus_sub_stats *out, uint64_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_BUS_H */
