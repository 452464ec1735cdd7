/*
 * runtime/deque.h -- a worker's run queue: a growable FIFO that its owner
 * pushes at the bottom and that anyone (the owner or a thief) pops at the top.
 *
 * This is the stealing half of a Chase-Lev deque.  The owner never pops at the
 * bottom, so runnable actors are taken in the order they became runnable
 * (fairness) and there is no owner/thief race on the last element to settle:
 * every pop is one CAS on `top`.  `top` and `bottom` only grow (64-bit, no
 * ABA).  When full, the owner copies the live range into a buffer twice the
 * size and publishes it; old buffers stay readable until tr__deque_fini, so a
 * thief that loaded the old pointer still reads the same item at index t (the
 * owner writes only to the newest buffer) and its CAS decides.
 *
 * Happens-before: the owner stores the slot, then publishes bottom with
 * release; a popper acquires bottom, then reads the slot.  The CAS on top
 * (seq_cst) gives each item to exactly one popper.
 */
#ifndef TR_RUNTIME_DEQUE_H
#define TR_RUNTIME_DEQUE_H

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/atomics.h"

typedef struct tr__deque_buf {
    uint64_t mask;
    struct tr__deque_buf *prev; /* retired buffers, freed at fini */
    void *slots[];
} tr__deque_buf;

typedef struct tr__deque {
    alignas(64) uint64_t top;   /* CAS by every popper           */
    alignas(64) uint64_t bottom; /* written by the owner only     */
    tr__deque_buf *buf;          /* written by the owner only     */
} tr__deque;

int tr__deque_init(tr__deque *d, uint64_t cap_pow2);
void tr__deque_fini(tr__deque *d);
/* Owner only.  Returns false only when growing failed (out of memory). */
bool tr__deque_push(tr__deque *d, void *item);
/* Any thread.  NULL when empty.  Lock-free: a failed CAS means another
 * popper made progress, and the loop retries. */
void *tr__deque_pop(tr__deque *d);

static inline uint64_t tr__deque_size(tr__deque *d)
{
    uint64_t t = tr__load_u64_acquire(&d->top);
    uint64_t b = tr__load_u64_acquire(&d->bottom);
    return b > t ? b - t : 0;
}

#endif
