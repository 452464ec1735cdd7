/*
 * actors/state/state_internal.h -- shared by state.c (API) and
 * state_actor.c (the actor).
 */
#ifndef TR_ACTORS_STATE_INTERNAL_H
#define TR_ACTORS_STATE_INTERNAL_H

#include "actors/common/waiter.h"
#include "troupe/state.h"

/* A request sent by a *_sync call carries status = TR__STATE_SYNC and
 * corr_id = the tr__waiter's address; its payload was wrapped with
 * tr__waiter_payload_free, so the waiter lives while the actor handles it.
 * The actor completes the waiter instead of replying. */
#define TR__STATE_SYNC 0x53594e43 /* 'SYNC' */

struct tr_state {
    tr_runtime *rt;
    tr_actor_ref ref;
    tr__waiter *stopped; /* completed by the actor's stop hook */
    const tr_state_backend_ops *ops;
    void *be;
    uint32_t history_cap;
    tr_state_stats stats; /* written by the actor only (relaxed atomics) */
};

extern const tr_actor_ops tr__state_actor_ops;

#endif
