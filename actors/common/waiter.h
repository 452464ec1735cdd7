/*
 * actors/common/waiter.h -- a one-shot completion for synchronous wrappers.
 *
 * A thread outside the runtime cannot receive messages, so the *_sync calls of
 * the state store and the event bus send an ordinary request whose envelope
 * names a waiter (see each actor's design block for how), and block on the
 * waiter's condition variable until the actor completes it.
 *
 * Lifetime: a waiter starts with two references, one for the waiting thread
 * and one owned by the request payload (tr_payload_wrap with
 * tr__waiter_payload_free as free function and the waiter as arg).  The
 * actor completes the waiter while it handles the request (it holds the
 * payload, so the waiter is alive); the payload's last unref drops the
 * request's reference, completing the waiter with TR_ECLOSED first if the
 * request was never handled (send failed, actor stopped with it queued).
 * So a caller that gave up (TR_ETIMEDOUT) returns at once, and a late
 * completion writes into a waiter that is still allocated.
 *
 * Completion is exactly once (the first tr__waiter_complete wins; later ones
 * are ignored).  Results are written before done is set, under the mutex.
 */
#ifndef TR_ACTORS_WAITER_H
#define TR_ACTORS_WAITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tr__waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t refs; /* atomic (runtime/atomics.h) */
    bool done;
    int rc;
    /* Results, owned by the waiter until taken (freed at the last unref). */
    char *text;
    size_t len;
    uint64_t u64[4];
} tr__waiter;

/* A new waiter with two references, or NULL. */
tr__waiter *tr__waiter_new(void);
void tr__waiter_unref(tr__waiter *w);

/* Complete with rc; text (malloc'd, may be NULL) is adopted, or freed if the
 * waiter was already complete.  u64 may be NULL.  Returns whether this call
 * completed it.  Does not drop a reference. */
bool tr__waiter_complete(tr__waiter *w, int rc, char *text, size_t len,
                         const uint64_t *u64);

/* Block until complete or timeout_ms passed (0 = wait forever).  Returns the
 * completion code, or TR_ETIMEDOUT.  On success with text, *text (if
 * non-NULL) takes ownership of it. */
int tr__waiter_wait(tr__waiter *w, uint64_t timeout_ms, char **text,
                    size_t *len, uint64_t *u64);

/* Whether the waiter has been completed (a hint for the caller). */
bool tr__waiter_done(tr__waiter *w);

/* Payload free function for requests that carry a waiter as `arg`:
 * completes it with TR_ECLOSED if nobody did, drops the request's reference
 * and frees data. */
void tr__waiter_payload_free(void *data, void *arg);

#endif
