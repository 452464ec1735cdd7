/*
 * actors/executor/exec_state.h -- one execution's state, shared by the
 * executor actor's files: executor.c (the protocol, walking the DAG, timers,
 * the end), exec_emit.c (its events and result) and exec_run.c (running a
 * node's function, trades and their checks, state writes).  Everything here
 * is touched only by the execution's own actor.
 */
#ifndef TR_EXECUTOR_EXEC_STATE_H
#define TR_EXECUTOR_EXEC_STATE_H

#include "actors/executor/exec_internal.h"

enum { EX_START = 0x45580001u, EX_DUE = 0x45580002u, EX_FLUSH = 0x45580003u,
       EX_JOB = 0x45580004u };
enum { EX_F_READY = 1u << 8, EX_F_TIMEOUT = 2u << 8, EX_F_RETRY = 3u << 8 };
#define EX_F_KIND 0xF00u
#define NODE_BITS 20u
#define NODE_MASK ((1u << NODE_BITS) - 1)

enum { N_PENDING = 0, N_RUNNING, N_WAIT_RETRY, N_DONE, N_FAILED, N_SKIPPED };

typedef struct exec {
    tr_engine *eng;
    tr__wf *wf;
    char id[TR_EXEC_ID_MAX];
    uint64_t corr;
    tr_exec_done_fn done;
    void *done_arg;
    uint64_t t0_ns;
    uint32_t n, terminal, timers, jobs;
    bool over, done_called;
    tr_exec_status status;
    double duration_ms;
    tr__outbox out;
    uint64_t em_version; /* kill-switch version seen by the last node check */
    uint64_t rng;
    /* Per node, one allocation (see exec_init). */
    uint8_t *st;
    uint8_t *trial; /* the running attempt holds its breaker's half-open trial */
    tr_wheel_timer *tm; /* the node's pending wheel timer, when tm_live   */
    uint8_t *tm_live;
    uint32_t *waiting;
    uint16_t *attempt, *gen;
    uint64_t *node_t0;
    uint32_t *stack;
    tr_node_result *res;
    const tr_node_result **done_res; /* NULL until the node completed */
} exec;

/* exec_emit.c */
/* Milliseconds since t0, to the microsecond. */
double tr__ex_ms_since(uint64_t t0_ns);
/* node_started / node_completed / node_failed / node_skipped for node i. */
typedef enum tr__ex_node_ev {
    TR__EV_NODE_STARTED,
    TR__EV_NODE_COMPLETED,
    TR__EV_NODE_FAILED,
    TR__EV_NODE_SKIPPED,
} tr__ex_node_ev;
void tr__ex_emit_node(tr_ctx *ctx, exec *x, uint32_t i, tr__ex_node_ev kind);
void tr__ex_emit_retrying(tr_ctx *ctx, exec *x, uint32_t i, uint64_t wait_ms);
/* The {status, duration_ms, outputs, error?} object, as msgpack into mp. */
void tr__ex_write_result(exec *x, tr_buf *mp, const char *status, double dur,
                         const char *error, const char *error_type,
                         const char *failed_node);

/* exec_run.c */
/* A state store request through the execution's outbox. */
void tr__ex_state_write(tr_ctx *ctx, exec *x, uint32_t type, const tr_state_req *req);
/* Turn r into a failure of the given kind; the caller writes r->error. */
void tr__ex_fail_result(tr_node_result *r, int code, const char *type);
/* Run node i's function inline (built-in or host, not blocking), with the
 * shared feed, book and kill-switch checks it needs.  Returns its code. */
int tr__ex_run_node_fn(tr_ctx *ctx, exec *x, uint32_t i, tr_node_result *r);

#endif
