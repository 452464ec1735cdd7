/*
 * runtime/wheel.h -- a timer wheel per worker, for timers that are cheap
 * enough to arm for every workflow node.
 *
 * A hashed wheel of WHEEL_SLOTS one-millisecond slots (Varghese & Lauck):
 * arming is a push on the slot's list (O(1), no atomics, no lock: only the
 * owning worker touches its wheel); advancing visits the slots passed since
 * the last advance and fires the entries that are due, keeping the ones due
 * in a later round.  Timers here are one-shot.  One can be cancelled from any
 * thread through the handle it was armed with: the entry's state word packs
 * a generation and ARMED/CANCELLED/FIRED, and the canceller and the firing
 * wheel race on one CAS -- exactly one wins, and a handle whose generation
 * has moved on (the entry fired and was reused) cancels nothing.  Entries
 * are never freed while the runtime lives (they go back to the wheel's spare
 * list), so a stale handle always points at valid memory.  A cancelled entry
 * stays in its slot until due, but no longer counts as pending work.
 *
 * A worker advances its wheel between actor turns and parks with a deadline
 * when its wheel is not empty, so timers fire on time on an idle runtime too.
 */
#ifndef TR_RUNTIME_WHEEL_H
#define TR_RUNTIME_WHEEL_H

#include <stdint.h>

#include "troupe/runtime.h"

#define TR__WHEEL_SLOTS 1024u

enum { TR__WE_FREE = 0, TR__WE_ARMED = 1, TR__WE_CANCELLED = 2, TR__WE_FIRED = 3 };

typedef struct tr__wheel_entry {
    struct tr__wheel_entry *next;
    uint32_t state;          /* gen << 2 | TR__WE_*, atomic */
    struct tr__wheel *wheel; /* the owning wheel (for its count) */
    uint64_t due_ms;
    tr_actor_ref to;
    tr_actor_ref sender;
    tr_send_args args; /* args.payload holds one reference */
} tr__wheel_entry;

typedef struct tr__wheel {
    tr__wheel_entry **slots; /* TR__WHEEL_SLOTS lists */
    uint64_t now_ms;         /* last advanced to */
    uint64_t next_due;       /* earliest due time, UINT64_MAX when empty */
    uint64_t count;          /* armed, not cancelled (atomic: cancel and
                                shutdown's drain use it from other threads) */
    tr__wheel_entry *spare;  /* recycled entries */
} tr__wheel;

#endif
