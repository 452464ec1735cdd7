/*
 * actors/emergency/emergency_internal.h -- layouts and internal calls shared
 * by emergency.c (set, transitions, subscribers), em_persist.c (state file,
 * store key, restore), em_risk.c (risk limits, status) and em_util.c.
 *
 * Locking.  em->mu guards the id -> controller map and the controller list;
 * each controller's mu guards everything of that controller below its head
 * (reason, limits, ...) and serializes its transitions; em->subs_lock (a
 * rwlock) guards the subscriber list: delivery holds it for reading,
 * (un)subscribe for writing.  Order: em->mu before ctl->mu; subs_lock is
 * never held with either.  The head's word is written only with ctl->mu
 * held and read anywhere without a lock.
 */
#ifndef TR_ACTORS_EMERGENCY_INTERNAL_H
#define TR_ACTORS_EMERGENCY_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>

#include "actors/common/strmap.h"
#include "troupe/emergency.h"

#define TR__EM_MODULE "emergency"
#define TR__EM_TS_MAX 32 /* "2026-01-25T10:15:23.501Z" */

/* One risk limit's last check. */
typedef struct tr__em_limit {
    char name[TR_EMERGENCY_LIMIT_NAME_MAX];
    double value, limit, utilization;
    bool exceeded;
} tr__em_limit;

struct tr_emergency_controller {
    /* Line 1: read by every checker, written by transitions only. */
    tr__emergency_head head; /* first member: the inline checks cast to it */
    char pad_[64 - sizeof(tr__emergency_head)];
    /* Line 2+: under mu. */
    tr_emergency *em;
    pthread_mutex_t mu;
    char id[TR_EMERGENCY_ID_MAX];
    char reason[TR_EMERGENCY_REASON_MAX];
    char halt_reason[TR_EMERGENCY_REASON_MAX];
    char persist_error[256]; /* "" when the last persist succeeded */
    char *context;           /* last alert's context JSON (malloc), or NULL */
    uint64_t updated_ms;
    tr__em_limit *limits;
    size_t nlimits, caplimits;
};
_Static_assert(offsetof(struct tr_emergency_controller, em) == 64,
               "the snapshot word has a cache line of its own");

typedef struct tr__em_sub {
    uint64_t id;
    tr_emergency_cb cb;
    void *arg;
} tr__em_sub;

struct tr_emergency {
    char *state_dir;
    tr_config_emergency limits; /* controller_id points to global->id */
    tr_bus *bus;
    tr_state *state;
    uint64_t store_timeout_ms;
    tr_emergency_clock_fn clock;
    void *clock_arg;

    pthread_mutex_t mu;
    tr__strmap by_id; /* id -> tr_emergency_controller * */
    tr_emergency_controller *global;

    pthread_rwlock_t subs_lock;
    tr__em_sub *subs;
    size_t nsubs, capsubs;
    uint64_t next_sub;
};

/* What a transition writes (file, store key) and restore reads back. */
typedef struct tr__em_record {
    tr_emergency_state state;
    uint64_t version;
    uint64_t updated_ms;
    const char *reason;      /* borrowed */
    const char *halt_reason; /* borrowed */
} tr__em_record;

/* Thread-local error text for tr_emergency_last_error.  Returns err. */
int tr__em_fail(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tr__em_clear_error(void);

bool tr__em_valid_id(const char *id);
uint64_t tr__em_realtime_ms(void *arg); /* the default clock */
uint64_t tr__em_now(const tr_emergency *em);
void tr__em_iso8601(uint64_t ms, char out[TR__EM_TS_MAX]);
void tr__em_copy(char *dst, size_t cap, const char *src);

/* Create a controller (em->mu held), state normal, version 0; registered in
 * by_id.  0, TR_ENOMEM. */
int tr__em_ctl_create(tr_emergency *em, const char *id,
                      tr_emergency_controller **out);
/* Release store of (version << 2) | state, then a full fence (ctl->mu held). */
void tr__em_publish(tr_emergency_controller *ctl, tr_emergency_state s,
                    uint64_t version);

/* em_persist.c */
/* mkdir -p.  0 or TR_EIO (error text set). */
int tr__em_mkdirs(const char *dir);
/* Write the record to the file (atomically) and, with a store, the key
 * (fire-and-forget).  0, or TR_EIO/TR_ENOMEM with why[] filled (the store
 * part never fails the call: its errors are only logged). */
int tr__em_persist(tr_emergency_controller *ctl, const tr__em_record *rec,
                   char *why, size_t why_cap);
/* Restore the global controller and every emergency-*.json (em->mu NOT
 * held; called by tr_emergency_new before the set is shared).  0, TR_EIO
 * (directory not listable), TR_ENOMEM. */
int tr__em_restore_all(tr_emergency *em);

/* em_risk.c: the built-in limits seeded into a new controller. */
int tr__em_limits_seed(tr_emergency_controller *ctl);

#endif
