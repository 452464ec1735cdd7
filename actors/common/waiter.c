/*
 * actors/state/waiter.c -- see waiter.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/common/waiter.h"
#include "runtime/atomics.h"
#include "troupe/error.h"

tr__waiter *tr__waiter_new(void)
{
    tr__waiter *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->refs = 2;
    return w;
}

void tr__waiter_unref(tr__waiter *w)
{
    if (w == NULL)
        return;
    /* acq_rel: the last holder must see every write the other made (the
     * results, under the mutex, are also ordered by it) before freeing. */
    if (tr__faa_u32_release(&w->refs, (uint32_t)-1) != 1)
        return;
    tr__fence_acquire();
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->text);
    free(w);
}

bool tr__waiter_complete(tr__waiter *w, int rc, char *text, size_t len,
                         const uint64_t *u64)
{
    pthread_mutex_lock(&w->mu);
    bool first = !w->done;
    if (first) {
        w->done = true;
        w->rc = rc;
        w->text = text;
        w->len = len;
        if (u64 != NULL)
            memcpy(w->u64, u64, sizeof(w->u64));
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (!first)
        free(text);
    return first;
}

int tr__waiter_wait(tr__waiter *w, uint64_t timeout_ms, char **text,
                    size_t *len, uint64_t *u64)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += (time_t)(timeout_ms / 1000);
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        if (timeout_ms == 0)
            pthread_cond_wait(&w->cv, &w->mu);
        else if (pthread_cond_timedwait(&w->cv, &w->mu, &dl) == ETIMEDOUT)
            break;
    }
    int rc = w->done ? w->rc : TR_ETIMEDOUT;
    if (w->done) {
        if (text != NULL) {
            *text = w->text;
            w->text = NULL;
        }
        if (len != NULL)
            *len = w->len;
        if (u64 != NULL)
            memcpy(u64, w->u64, sizeof(w->u64));
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

bool tr__waiter_done(tr__waiter *w)
{
    pthread_mutex_lock(&w->mu);
    bool d = w->done;
    pthread_mutex_unlock(&w->mu);
    return d;
}

void tr__waiter_payload_free(void *data, void *arg)
{
    tr__waiter *w = arg;
    if (w != NULL) {
        tr__waiter_complete(w, TR_ECLOSED, NULL, 0, NULL);
        tr__waiter_unref(w);
    }
    free(data);
}
