/*
 * runtime/wheel.h -- a timer wheel per worker, for timers that are cheap
 * enough to arm for every workflow node.
 *
 * A hashed wheel of WHEEL_SLOTS one-millisecond slots (Varghese & Lauck):
 * arming is a push on the slot's list (O(1), no atomics, no lock: only the
 * owning worker touches its wheel); advancing visits the slots passed since
 * the last advance and fires the entries that are due, keeping the ones due
 * in a later round.  Timers here are one-shot and cannot be cancelled: their
 * users (the executor's node deadlines and retry waits) arm exactly one timer
 * that always fires and decide on arrival whether it still matters, which is
 * what makes them this cheap.  Cancellable timers are tr_send_after's.
 *
 * A worker advances its wheel between actor turns and parks with a deadline
 * when its wheel is not empty, so timers fire on time on an idle runtime too.
 */
#ifndef TR_RUNTIME_WHEEL_H
#define TR_RUNTIME_WHEEL_H

#include <stdint.h>

#include "troupe/runtime.h"

#define TR__WHEEL_SLOTS 1024u

typedef struct tr__wheel_entry {
    struct tr__wheel_entry *next;
    uint64_t due_ms;
    tr_actor_ref to;
    tr_actor_ref sender;
    tr_send_args args; /* args.payload holds one reference */
} tr__wheel_entry;

typedef struct tr__wheel {
    tr__wheel_entry **slots; /* TR__WHEEL_SLOTS lists */
    uint64_t now_ms;         /* last advanced to */
    uint64_t next_due;       /* earliest due time, UINT64_MAX when empty */
    uint64_t count;          /* armed entries (read by shutdown: atomic) */
    tr__wheel_entry *spare;  /* recycled entries */
} tr__wheel;

#endif
