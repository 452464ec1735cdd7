/* actors/executor/blocking.c -- see blocking.h. */
#include <stdlib.h>
#include <string.h>

#include "actors/executor/blocking.h"

static void *pool_main(void *arg)
{
    tr__blocking *p = arg;
    pthread_setname_np(pthread_self(), "tr-blocking");
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu); /* not a worker: may wait */
        if (p->head == NULL)
            break;
        tr__job *j = p->head;
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->mu);

        memset(&j->res, 0, offsetof(tr_node_result, outputs));
        j->res.error[0] = '\0';
        j->rc = j->fn(j->arg, j->node, &j->in, &j->env, &j->res);
        j->res.status = j->rc;
        /* The job's address travels in corr_id: a message inside this
         * process, to the executor that submitted it and waits for it. */
        tr_send_args a = {.type = j->done_type, .status = j->tag,
                          .corr_id = (uint64_t)(uintptr_t)j};
        if (tr_send_msg(j->rt, j->reply_to, &a) != 0)
            free(j); /* the executor is gone (runtime shutting down) */

        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int tr__blocking_start(tr__blocking *p, unsigned threads, uint32_t queue_cap)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->cap = queue_cap;
    p->threads = calloc(threads, sizeof(*p->threads));
    if (p->threads == NULL)
        return TR_ENOMEM;
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            tr__blocking_stop(p);
            return TR_ESYS;
        }
        p->nthreads++;
    }
    return 0;
}

void tr__blocking_stop(tr__blocking *p)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    p->threads = NULL;
    p->nthreads = 0;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

int tr__blocking_submit(tr__blocking *p, tr__job *job)
{
    pthread_mutex_lock(&p->mu);
    int rc = p->stopping ? TR_ECLOSED : p->queued >= p->cap ? TR_EFULL : 0;
    if (rc == 0) {
        job->next = NULL;
        if (p->tail != NULL)
            p->tail->next = job;
        else
            p->head = job;
        p->tail = job;
        p->queued++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}
