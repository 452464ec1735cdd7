/*
 * runtime/monitor.c -- monitors: a DOWN message when a watched actor stops.
 *
 * A monitor request travels to the target as a system message, so the
 * watcher list is only ever touched in the target's own context: no lock.
 * Three outcomes, each giving the watcher exactly one DOWN:
 *   - the target is already gone: the send fails, DOWN(TR_EDEAD) at once;
 *   - the request is handled: the watcher is listed and gets DOWN(reason)
 *     when the target stops;
 *   - the target stops with the request still queued: the drain bounces it
 *     into DOWN(reason).
 */
#include <stdlib.h>

#include "runtime/internal.h"

static void send_down(tr_runtime *rt, tr_actor_ref watcher, tr_actor_ref target,
                      uint64_t monitor_id, int reason)
{
    tr_send_args a = {.type = TR_MSG_DOWN, .corr_id = monitor_id,
                      .status = reason};
    tr__deliver(rt, NULL, watcher, &a, target, true);
}

int tr_monitor_ref(tr_runtime *rt, tr_actor_ref watcher, tr_actor_ref target,
                   uint64_t *monitor_id)
{
    if (rt == NULL || tr_ref_is_none(watcher))
        return TR_EINVAL;
    uint64_t id = tr__next_id(rt, tr__sched_current(rt));
    tr_send_args a = {.type = TR__MSG_MONITOR, .corr_id = id, .reply_to = target};
    int rc = tr__deliver(rt, NULL, target, &a, watcher, true);
    if (rc == TR_EDEAD)
        send_down(rt, watcher, target, id, TR_EDEAD);
    else if (rc != 0)
        return rc;
    if (monitor_id != NULL)
        *monitor_id = id;
    return 0;
}

int tr_monitor(tr_ctx *ctx, tr_actor_ref target, uint64_t *monitor_id)
{
    return tr_monitor_ref(ctx->rt, ctx->self, target, monitor_id);
}

void tr__monitor_add(tr_ctx *ctx, const tr_msg *m)
{
    tr__actor_ext *x = tr__actor_ext_get(ctx->actor);
    if (x != NULL && x->watchers_len == x->watchers_cap) {
        uint32_t cap = x->watchers_cap ? x->watchers_cap * 2 : 4;
        struct tr__watch *n = realloc(x->watchers, cap * sizeof(*n));
        if (n == NULL) {
            x = NULL;
        } else {
            x->watchers = n;
            x->watchers_cap = cap;
        }
    }
    if (x == NULL) {
        /* Cannot remember the watcher: tell it now rather than never. */
        send_down(ctx->rt, m->sender, ctx->self, m->corr_id, TR_ENOMEM);
        return;
    }
    x->watchers[x->watchers_len++] =
        (struct tr__watch){.watcher = m->sender, .monitor_id = m->corr_id};
}

void tr__monitor_notify(tr_runtime *rt, tr__actor *a, int reason)
{
    tr__actor_ext *x = tr__actor_ext_peek(a);
    if (x == NULL)
        return;
    tr_actor_ref self = tr__ref_of(a);
    for (uint32_t i = 0; i < x->watchers_len; i++)
        send_down(rt, x->watchers[i].watcher, self, x->watchers[i].monitor_id,
                  reason);
    x->watchers_len = 0;
}

void tr__monitor_bounce(tr_runtime *rt, const tr_msg *m, int reason)
{
    /* A monitor request carries its target in reply_to (see tr_monitor_ref),
     * so the DOWN names the actor that stopped. */
    send_down(rt, m->sender, m->reply_to, m->corr_id, reason);
}
