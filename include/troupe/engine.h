/*
 * troupe/engine.h -- the workflow engine: runs workflow plans as actors.
 *
 * An engine owns a runtime, the event bus, the state store and the set of
 * registered workflows.  Each execution is one executor actor that walks the
 * plan's DAG: it runs ready nodes (independent ones overlap: a node whose
 * result is due later -- simulated latency, `delay` -- waits on a timer while
 * the others run), publishes every step as an event on the bus's
 * workflow_events channel, writes the contract's state keys, applies per-node
 * timeouts, retries with exponential backoff and jitter, and a circuit
 * breaker per workflow and service.  See docs/engine.md.
 *
 * Threads.  The engine functions may be called from any thread that is not
 * one of the runtime's workers, unless noted.  Completion callbacks run on a
 * worker and must be quick.
 */
#ifndef TROUPE_ENGINE_H
#define TROUPE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/bus.h"
#include "troupe/config.h"
#include "troupe/emergency.h"
#include "troupe/nodes.h"
#include "troupe/resilience.h"
#include "troupe/runtime.h"
#include "troupe/state.h"
#include "troupe/workflow.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tr_engine tr_engine;

/* The final status of an execution. */
typedef enum tr_exec_status {
    TR_EXEC_COMPLETED = 0,
    TR_EXEC_FAILED = 1,
    TR_EXEC_HALTED = 2,
} tr_exec_status;

TR_EXTERN const char *tr_exec_status_name(tr_exec_status s);

#define TR_EXEC_ID_MAX 160 /* "exec_" + workflow id (<= 128) + "_" + 8 hex */

/* A host node type's run function: same contract as tr_node_run (fill out,
 * return 0 or a negative code with out->error/error_type set).  It runs on a
 * worker and must not block -- unless its descriptor is marked `blocking`:
 * then it runs on the engine's blocking pool (a few threads of their own,
 * a bounded queue: a node that finds it full fails with ResourceExhausted).
 * A blocking function must still return: the node's timeout abandons the
 * attempt (its late result is dropped) but cannot interrupt the thread, and
 * tr_engine_free waits for running jobs.  env has no feeds or book for host
 * types; upstream results are readable for the duration of the call. */
typedef int (*tr_node_fn)(void *arg, const tr_wf_node *node,
                          const tr_node_inputs *upstream, tr_node_env *env,
                          tr_node_result *out);

typedef struct tr_engine_opts {
    const tr_config *config; /* NULL: the development preset's values      */
    unsigned workers;        /* 0: config->workers, else online CPUs         */
    uint32_t history_cap;    /* executions kept per workflow; 0 = 100       */
    const char *state_dir;   /* NULL: config->state_dir: where the emergency
                                controllers keep their state files          */
} tr_engine_opts;

/* Start an engine: runtime, bus, state store, the emergency controllers
 * (restored from state_dir: a host that was halted comes back halted), the
 * built-in node types.  Call it from the host's thread, not a worker.
 * Returns 0 and *out, or an error (nothing is left running). */
TR_EXTERN int tr_engine_new(tr_engine **out, const tr_engine_opts *opts);

/* Stop accepting executions, let running ones finish (up to drain_ms), then
 * free everything.  Returns 0 or TR_ETIMEDOUT (executions were cut short). */
TR_EXTERN int tr_engine_free(tr_engine *e, uint64_t drain_ms);

TR_EXTERN tr_runtime *tr_engine_runtime(tr_engine *e);
TR_EXTERN tr_bus *tr_engine_bus(tr_engine *e);
TR_EXTERN tr_state *tr_engine_state(tr_engine *e);
/* The kill switch: the global controller and one per bot.  Executions check
 * it before they start (can_operate) and before every node (can_trade); a
 * trade is refused when it would pass max_position_size, and a fill that
 * takes the bot's daily P&L below daily_loss_limit halts the bot when
 * emergency.auto_halt is set (docs/emergency.md). */
TR_EXTERN tr_emergency *tr_engine_emergency(tr_engine *e);
/* The registry plans must be parsed with to know host types.  Valid for the
 * engine's life; register host types before parsing plans that use them. */
TR_EXTERN tr_node_type_registry *tr_engine_registry(tr_engine *e);

/* Register a host node type: desc is borrowed (must outlive the engine),
 * fn/arg run it.  Returns 0, TR_EEXIST, TR_EINVAL, TR_ENOMEM.  Not
 * concurrent with parsing. */
TR_EXTERN int tr_engine_register_node(tr_engine *e, const tr_node_type *desc,
                                      tr_node_fn fn, void *arg);

/* Register a validated plan (the engine takes its own reference).  A plan
 * with the id of a registered workflow replaces it for executions started
 * afterwards; running ones keep theirs.  Returns 0, TR_ENOENT (a node type
 * that is neither built in nor registered with tr_engine_register_node),
 * TR_ENOMEM, or tr_node_prepare's error for a node. */
TR_EXTERN int tr_engine_add_plan(tr_engine *e, tr_wf_plan *plan);

/* Visit every registered workflow's plan (fn runs under the engine's lock:
 * quick, and no engine calls from it; the plan is borrowed for the call). */
typedef void (*tr_engine_wf_fn)(void *arg, const tr_wf_plan *plan);
TR_EXTERN void tr_engine_workflows(tr_engine *e, tr_engine_wf_fn fn, void *arg);

/* A new reference to workflow_id's plan (tr_wf_plan_free it), or TR_ENOENT. */
TR_EXTERN int tr_engine_plan_get(tr_engine *e, const char *workflow_id,
                                 tr_wf_plan **out);

/* Called once per execution when it ends (on a worker; quick, no blocking).
 * exec_id is valid during the call only. */
typedef void (*tr_exec_done_fn)(void *arg, const char *exec_id,
                                tr_exec_status status, double duration_ms);

/* Start one execution of workflow_id.  exec_id (if non-NULL, room for
 * TR_EXEC_ID_MAX bytes) receives its id.  done (may be NULL) is called when
 * it ends.  Returns 0, TR_ENOENT (no such workflow), TR_ECLOSED (engine
 * stopping), TR_ENOMEM.  Any thread, workers included. */
TR_EXTERN int tr_engine_execute(tr_engine *e, const char *workflow_id,
                                tr_exec_done_fn done, void *arg,
                                char *exec_id);

/* The circuit breaker stats of workflow_id's service (a provider node id,
 * or its config.service), or TR_ENOENT.  Any thread. */
TR_EXTERN int tr_engine_breaker_stats(tr_engine *e, const char *workflow_id,
                                      const char *service,
                                      tr_breaker_stats *out);
/* Manual control of that breaker: "force_open", "force_close" or "reset". */
TR_EXTERN int tr_engine_breaker_control(tr_engine *e, const char *workflow_id,
                                        const char *service, const char *action);

/* A copy of bot_id's paper book (positions, realized and daily P&L), or
 * TR_ENOENT if the bot has not traded.  Any thread. */
TR_EXTERN int tr_engine_book(tr_engine *e, const char *bot_id,
                             tr_paper_book *out);

typedef struct tr_engine_stats {
    uint64_t started, completed, failed, halted, running;
} tr_engine_stats;
TR_EXTERN void tr_engine_stats_get(tr_engine *e, tr_engine_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_ENGINE_H */
