/*
 * runtime/mpsc.h -- intrusive Vyukov multi-producer single-consumer queue.
 *
 * Used for mailboxes (nodes are envelopes) and for the global injection queue
 * (nodes are actors).  Why not ck_ring's MPSC mode: a ck_ring producer that
 * wins its ticket and is preempted before committing makes every later
 * producer spin in ck_pr_stall() until it runs again (measured: 4 producers
 * on 2 cores fell to thousands of items/s).  Here a push is one atomic
 * exchange plus one store -- wait-free for producers.  A producer preempted
 * between the two leaves the consumer seeing "empty" for a moment (never a
 * wrong item); callers treat that as "come back later", not as a spin.
 *
 * Bounding is not the queue's job: the mailbox bound lives in the actor's
 * control word (runtime/internal.h), checked before anything is pushed.
 *
 * Happens-before: the producer fills the node, then its exchange on head
 * (seq_cst) and its release store of prev->next publish it; the consumer's
 * acquire load of ->next sees the filled node.
 */
#ifndef TR_RUNTIME_MPSC_H
#define TR_RUNTIME_MPSC_H

#include "runtime/internal.h"

typedef struct tr__mpsc_ref {
    tr__node **head; /* producers' end */
    tr__node **tail; /* consumer's end */
    tr__node *stub;
} tr__mpsc_ref;

static inline void tr__mpsc_init(tr__mpsc_ref q)
{
    q.stub->next = NULL;
    *q.head = q.stub;
    *q.tail = q.stub;
}

/* Any thread. */
static inline void tr__mpsc_push(tr__mpsc_ref q, tr__node *n)
{
    tr__store_ptr_relaxed((void **)&n->next, NULL);
    tr__node *prev = tr__xchg_ptr((void **)q.head, n);
    tr__store_ptr_release((void **)&prev->next, n);
}

/* The single consumer.  NULL when empty or when a producer is between its
 * exchange and its link (try again later). */
static inline tr__node *tr__mpsc_pop(tr__mpsc_ref q)
{
    tr__node *tail = *q.tail;
    tr__node *next = tr__load_ptr_acquire((void *const *)&tail->next);
    if (tail == q.stub) {
        if (next == NULL)
            return NULL;
        *q.tail = next;
        tail = next;
        next = tr__load_ptr_acquire((void *const *)&next->next);
    }
    if (next != NULL) {
        *q.tail = next;
        return tail;
    }
    tr__node *head = tr__load_ptr_acquire((void *const *)q.head);
    if (tail != head)
        return NULL; /* a producer is mid-push */
    tr__mpsc_push(q, q.stub);
    next = tr__load_ptr_acquire((void *const *)&tail->next);
    if (next != NULL) {
        *q.tail = next;
        return tail;
    }
    return NULL;
}

static inline tr__mpsc_ref tr__mbox_of(tr__actor *a)
{
    return (tr__mpsc_ref){&a->mb_head, &a->mb_tail, &a->mb_stub};
}

#endif
