/*
 * actors/bus/bus_internal.h -- shared between bus.c (handle, API) and
 * bus_actor.c (the actor).
 */
#ifndef TR_ACTORS_BUS_INTERNAL_H
#define TR_ACTORS_BUS_INTERNAL_H

#include <pthread.h>

#include "actors/common/waiter.h"
#include "troupe/bus.h"

/* The handle: what any thread may touch.  Channel names are written once
 * under mu before the id is published (nchannels, release) and never
 * change; counters have a single writer (the actor, relaxed stores) and any
 * number of readers (relaxed loads). */
struct tr_bus {
    tr_runtime *rt;
    tr_actor_ref ref;
    tr__waiter *stopped; /* completed by the actor's stop hook */

    pthread_mutex_t mu;
    uint32_t nchannels; /* atomic */
    struct {
        char name[TR_BUS_NAME_MAX];
        char scope[TR_BUS_NAME_MAX];
    } ch[TR_BUS_MAX_CHANNELS];

    uint64_t next_sub; /* atomic */
    tr_bus_stats stats; /* each field atomic; written by the actor only */
};

/* Control requests (TR_BUS_MSG_CONTROL): a native struct wrapped in a
 * payload whose free function (tr__bus_ctl_free) frees it, its strings and
 * its waiter reference. */
enum { BUS_CTL_SUB = 1, BUS_CTL_UNSUB, BUS_CTL_SYNC, BUS_CTL_SUB_STATS };

typedef struct tr__bus_ctl {
    int op;
    uint64_t id;
    uint32_t channel;
    char *field[3]; /* workflow_id, bot_id, strategy_id (owned, may be NULL) */
    bool is_cb;
    tr_actor_ref to;
    tr_bus_cb cb;
    void *arg;
    tr__waiter *w; /* SYNC, SUB_STATS */
} tr__bus_ctl;

void tr__bus_ctl_free(void *data, void *arg);

extern const tr_actor_ops tr__bus_actor_ops;

#endif
