/*
 * runtime/envelope.c -- envelope allocation with per-worker pools.
 *
 * Why: an envelope is allocated by the sender's worker and freed by the
 * receiver's.  With malloc that is a free into another thread's arena (a lock
 * and a cold cache line per message); it measured as the largest cost of a
 * fan-in after the atomics themselves.  Here each envelope remembers its home
 * worker.  Freed on its home, it goes on the owner-only pool; freed elsewhere,
 * it joins a per-home batch that is pushed back as one chain (one CAS per
 * BATCH envelopes) onto the home's remote stack, which the home takes whole
 * with one exchange when its pool runs dry.  Envelopes from non-worker threads
 * (home 0) are plain malloc/free.  The pools hold at most what was in flight
 * at once (bounded by the mailboxes), plus POOL_MAX idle, and are freed with
 * the runtime.
 */
#include <stdlib.h>

#include "runtime/internal.h"

#define BATCH 64u
#define POOL_MAX 4096u

tr__env *tr__env_alloc(tr__worker *w)
{
    if (w == NULL) {
        tr__env *e = malloc(sizeof(*e));
        if (e != NULL)
            e->home = 0;
        return e;
    }
    tr__node *n = w->env_pool;
    if (n == NULL) /* take everything other workers sent back */
        n = tr__xchg_ptr((void **)&w->env_remote, NULL);
    if (n != NULL) {
        w->env_pool = n->next;
        if (w->env_pool_n > 0)
            w->env_pool_n--;
        return (tr__env *)n;
    }
    tr__env *e = malloc(sizeof(*e));
    if (e != NULL)
        e->home = w->index + 1;
    return e;
}

static void push_remote(tr__worker *home, tr__node *head, tr__node *tail)
{
    void *old = tr__load_ptr_relaxed((void *const *)&home->env_remote);
    do {
        tail->next = old;
    } while (!tr__cas_ptr((void **)&home->env_remote, &old, head));
}

void tr__env_free(tr__worker *w, tr__env *e)
{
    tr_payload_unref(e->msg.payload);
    if (w == NULL || e->home == 0) {
        free(e);
        return;
    }
    if (e->home == w->index + 1) {
        if (w->env_pool_n >= POOL_MAX) {
            free(e);
            return;
        }
        e->node.next = w->env_pool;
        w->env_pool = &e->node;
        w->env_pool_n++;
        return;
    }
    tr__env_batch *b = &w->env_out[e->home - 1];
    e->node.next = b->head;
    b->head = &e->node;
    if (b->tail == NULL)
        b->tail = &e->node;
    if (++b->n >= BATCH) {
        push_remote(&w->rt->workers[e->home - 1], b->head, b->tail);
        b->head = b->tail = NULL;
        b->n = 0;
    }
}

static void free_chain(tr__node *n)
{
    while (n != NULL) {
        tr__node *next = n->next;
        free(n);
        n = next;
    }
}

void tr__env_pools_fini(tr_runtime *rt)
{
    for (unsigned i = 0; i < rt->nworkers; i++) {
        tr__worker *w = &rt->workers[i];
        free_chain(w->env_pool);
        free_chain(w->env_remote);
        w->env_pool = w->env_remote = NULL;
        if (w->env_out != NULL)
            for (unsigned k = 0; k < rt->nworkers; k++)
                free_chain(w->env_out[k].head);
        free(w->env_out);
        w->env_out = NULL;
    }
}
