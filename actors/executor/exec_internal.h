/*
 * actors/executor/exec_internal.h -- shared by the engine (engine.c), the
 * executor actor (executor.c) and event encoding (events.c).
 *
 * Ownership:
 *   tr_engine   owns the runtime, bus, state store, registry, the workflow
 *               table (id -> tr__wf) and the bot table (id -> tr__bot).
 *   tr__wf      one registered version of a workflow: the plan, the node
 *               preparations, and what executions of it share -- the price
 *               feeds' random walks and the circuit breakers -- under `lock`.
 *               Reference counted: the table holds one, each running
 *               execution one.
 *   tr__bot     a bot's paper book under its own lock; lives as long as the
 *               engine.
 * Why locks: executions of one workflow run as separate actors (on any
 * worker) but share feeds and breakers, and a bot's trades share its book.
 * The sections are a node function (~50-150 ns) and are contended only by
 * concurrent executions of the same workflow or bot.
 */
#ifndef TR_EXECUTOR_INTERNAL_H
#define TR_EXECUTOR_INTERNAL_H

#include <pthread.h>

#include "actors/common/strmap.h"
#include "actors/executor/blocking.h"
#include "actors/executor/outbox.h"
#include "troupe/codec.h"
#include "troupe/engine.h"

typedef struct tr__bot {
    char *id;
    pthread_mutex_t lock;
    tr_paper_book book;
    double peak_pnl; /* high-water mark of realized P&L (drawdown) */
    bool traded;
} tr__bot;

typedef struct tr__host_type {
    const tr_node_type *desc;
    tr_node_fn fn;
    void *arg;
} tr__host_type;

typedef struct tr__wf {
    uint32_t refs;
    tr_wf_plan *plan;
    const char *id, *bot_id, *strategy_id; /* borrowed from the plan */
    uint32_t n;
    tr_node_prep *preps;        /* per node; kind NONE for host types   */
    const tr__host_type **host; /* per node; NULL for built-ins         */
    pthread_mutex_t lock;       /* feeds and breakers                   */
    tr_price_feed_state *feeds; /* per node                             */
    int32_t *breaker_of;        /* per node: index in breakers, or -1   */
    tr_breaker *breakers;
    const char **services;      /* per breaker (borrowed from the plan) */
    uint32_t nbreakers;
    tr__bot *bot;
    tr_emergency_controller *ctl; /* the bot's (or the global) controller */
} tr__wf;

struct tr_engine {
    tr_runtime *rt;
    tr_bus *bus;
    tr_state *state;
    tr_node_type_registry *reg;
    tr_config_resilience res;
    tr_emergency *em;
    bool auto_halt;
    tr__blocking pool; /* runs the node types marked blocking */
    bool pool_started;
    uint32_t history_cap;
    pthread_mutex_t lock; /* workflows, bots, host types */
    tr__strmap workflows; /* id -> tr__wf* */
    tr__strmap bots;      /* id -> tr__bot* */
    tr__host_type *hosts;
    size_t nhosts, hosts_cap;
    uint64_t exec_seq; /* executions started (under lock) */
    uint32_t id_key;   /* random key of execution ids  */
    uint32_t closing;
    uint64_t started, completed, failed, halted;
};

/* engine.c */
void tr__wf_unref(tr__wf *wf);
const tr_actor_ops *tr__executor_ops(void);
uint64_t tr__wall_ms(void);
uint64_t tr__mono_ns(void);

/* executor.c: the spawn argument. */
typedef struct tr__exec_arg {
    tr_engine *eng;
    tr__wf *wf; /* the reference passes to the executor */
    char id[TR_EXEC_ID_MAX];
    uint64_t corr;
    tr_exec_done_fn done;
    void *done_arg;
} tr__exec_arg;

/* events.c: build an event map in a thread-local scratch buffer.  begin
 * writes the map header (nfields extra fields after the six common ones:
 * type, execution_id, workflow_id, bot_id, strategy_id, timestamp) and
 * returns the buffer to append the extra key/value pairs to (NULL when out
 * of memory); publish copies it into a payload and sends it to the bus on
 * the workflow channel through the actor's outbox (never lost to a full
 * bus). */
tr_buf *tr__ev_begin(const tr__wf *wf, const char *exec_id, const char *type,
                     uint32_t nfields);
int tr__ev_publish(tr_ctx *ctx, tr_engine *eng, tr__outbox *out, tr_buf *b);
/* ISO-8601 UTC with milliseconds ("2026-01-25T10:15:23.501Z"). */
void tr__iso_time(char out[32], uint64_t wall_ms);

#endif
