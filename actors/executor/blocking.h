/*
 * actors/executor/blocking.h -- the pool that runs node types that may block.
 *
 * A host node type marked `blocking` (it does I/O, sleeps, calls a slow
 * library) must never run on a worker: one blocked worker is a core's worth
 * of actors stalled.  The executor hands such a node to this pool instead: a
 * few threads of its own, a bounded queue (a full queue fails the node at
 * once rather than growing), and a completion message back to the executor.
 *
 * A job owns its result buffer; the executor copies the result in only if
 * the attempt is still current (the node's timeout may have fired and a
 * retry started meanwhile).  The executor stays alive while any of its jobs
 * is queued or running, so the upstream results a job reads stay valid.
 */
#ifndef TR_EXECUTOR_BLOCKING_H
#define TR_EXECUTOR_BLOCKING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "troupe/engine.h"

typedef struct tr__job {
    struct tr__job *next;
    tr_node_fn fn;
    void *arg;
    const tr_wf_node *node;
    tr_node_inputs in;   /* borrowed from the executor (kept alive) */
    tr_node_env env;
    tr_runtime *rt;
    tr_actor_ref reply_to;
    uint32_t done_type;
    int32_t tag;         /* echoed in the completion's status field */
    uint64_t corr;
    int rc;
    tr_node_result res;  /* the job's own result */
} tr__job;

typedef struct tr__blocking {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tr__job *head, *tail;
    uint32_t queued, cap;
    bool stopping;
    unsigned nthreads;
    pthread_t *threads;
} tr__blocking;

int tr__blocking_start(tr__blocking *p, unsigned threads, uint32_t queue_cap);
/* Let queued jobs finish, join the threads. */
void tr__blocking_stop(tr__blocking *p);
/* Queue a job (ownership passes to the pool, then to the completion
 * message's receiver).  Returns 0, TR_EFULL or TR_ECLOSED (job not taken). */
int tr__blocking_submit(tr__blocking *p, tr__job *job);

#endif
