/*
 * actors/executor/exec_emit.c -- what an execution tells the world: its
 * node events (built in the per-thread scratch buffer of events.c, sent
 * through the outbox) and its result object for the state store.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "actors/executor/exec_state.h"

/* Milliseconds since t0, to the microsecond (a whole number of µs also
 * prints short and fast in JSON). */
double tr__ex_ms_since(uint64_t t0_ns)
{
    return (double)((tr__mono_ns() - t0_ns) / 1000u) / 1000.0;
}

static void node_fields(tr_buf *b, const tr_wf_node *node)
{
    tr_mp_write_cstr(b, "node_id");
    tr_mp_write_cstr(b, node->id);
    tr_mp_write_cstr(b, "node_name");
    tr_mp_write_cstr(b, node->name);
    tr_mp_write_cstr(b, "node_category");
    tr_mp_write_cstr(b, tr_wf_category_name(node->category));
}

void tr__ex_emit_node(tr_ctx *ctx, exec *x, uint32_t i, tr__ex_node_ev kind)
{
    static const char *const names[] = {"node_started", "node_completed", "node_failed",
                                        "node_skipped"};
    const char *type = names[kind];
    const tr_wf_node *node = tr_wf_plan_node(x->wf->plan, i);
    const tr_node_result *r = &x->res[i];
    bool started = kind == TR__EV_NODE_STARTED;
    bool completed = kind == TR__EV_NODE_COMPLETED;
    bool skipped = kind == TR__EV_NODE_SKIPPED;
    /* A trading node's start names the kill-switch version its check saw,
     * so "no trade started after the halt" can be verified from events. */
    bool em = started && tr_wf_category_trades(node->category);
    uint32_t extra = 3 + (skipped ? 0 : 1) + (completed ? 3 : 0) +
                     (!started && !completed && !skipped ? 3 : 0) + (em ? 1 : 0);
    tr_buf *b = tr__ev_begin(x->wf, x->id, type, extra);
    if (b == NULL)
        return;
    node_fields(b, node);
    if (!skipped) {
        tr_mp_write_cstr(b, "attempt");
        tr_mp_write_uint(b, x->attempt[i]);
    }
    if (em) {
        tr_mp_write_cstr(b, "emergency_version");
        tr_mp_write_uint(b, x->em_version);
    }
    if (completed) {
        tr_mp_write_cstr(b, "duration_ms");
        tr_mp_write_double(b, tr__ex_ms_since(x->node_t0[i]));
        tr_mp_write_cstr(b, "status");
        tr_mp_write_cstr(b, "success");
        tr_mp_write_cstr(b, "outputs");
        tr_node_result_write_outputs(b, r);
    } else if (!started && !skipped) { /* node_failed, node_retrying */
        tr_mp_write_cstr(b, "error");
        tr_mp_write_cstr(b, r->error);
        tr_mp_write_cstr(b, "error_type");
        tr_mp_write_cstr(b, r->error_type ? r->error_type : "Error");
        tr_mp_write_cstr(b, "duration_ms");
        tr_mp_write_double(b, tr__ex_ms_since(x->node_t0[i]));
    }
    tr__ev_publish(ctx, x->eng, &x->out, b);
}

void tr__ex_emit_retrying(tr_ctx *ctx, exec *x, uint32_t i, uint64_t wait_ms)
{
    const tr_wf_node *node = tr_wf_plan_node(x->wf->plan, i);
    const tr_node_result *r = &x->res[i];
    tr_buf *b = tr__ev_begin(x->wf, x->id, "node_retrying", 7);
    if (b == NULL)
        return;
    node_fields(b, node);
    tr_mp_write_cstr(b, "attempt");
    tr_mp_write_uint(b, x->attempt[i]);
    tr_mp_write_cstr(b, "error");
    tr_mp_write_cstr(b, r->error);
    tr_mp_write_cstr(b, "error_type");
    tr_mp_write_cstr(b, r->error_type ? r->error_type : "Error");
    tr_mp_write_cstr(b, "retry_in_ms");
    tr_mp_write_uint(b, wait_ms);
    tr__ev_publish(ctx, x->eng, &x->out, b);
}

/* The execution's result object (state key ...:result), as JSON text. */
void tr__ex_write_result(exec *x, tr_buf *mp, const char *status, double dur,
                         const char *error, const char *error_type,
                         const char *failed_node)
{
    uint32_t ndone = 0;
    for (uint32_t i = 0; i < x->n; i++)
        ndone += x->st[i] == N_DONE;
    tr_mp_write_map(mp, 3 + (error ? 3 : 0));
    tr_mp_write_cstr(mp, "status");
    tr_mp_write_cstr(mp, status);
    tr_mp_write_cstr(mp, "duration_ms");
    tr_mp_write_double(mp, dur);
    tr_mp_write_cstr(mp, "outputs");
    tr_mp_write_map(mp, ndone);
    for (uint32_t i = 0; i < x->n; i++) {
        if (x->st[i] != N_DONE)
            continue;
        tr_mp_write_cstr(mp, tr_wf_plan_node(x->wf->plan, i)->id);
        tr_node_result_write_outputs(mp, &x->res[i]);
    }
    if (error) {
        tr_mp_write_cstr(mp, "error");
        tr_mp_write_cstr(mp, error);
        tr_mp_write_cstr(mp, "error_type");
        tr_mp_write_cstr(mp, error_type ? error_type : "Error");
        tr_mp_write_cstr(mp, "node_id");
        tr_mp_write_cstr(mp, failed_node);
    }
}
