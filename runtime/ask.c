/*
 * runtime/ask.c -- request/reply with a deadline, and the per-actor extension.
 *
 * tr_ask records the ask id in the asker's table with a one-shot timer that
 * will deliver TR_MSG_TIMEOUT, then sends the request.  Every reply and
 * timeout passes tr__ask_filter before the receive function: the first of
 * the two to arrive finds the id, removes it (cancelling the timer if it was
 * the reply) and is delivered; the second finds nothing and is dropped (a
 * late reply is counted).  All of this runs in the asker's own context, so
 * the table needs no synchronisation: exactly one outcome, by construction.
 *
 * Ask ids carry TR__ASK_BIT so a reply to a plain request (tr_reply to a
 * message that was not an ask) is never mistaken for a late ask reply.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

#define TOMBSTONE UINT64_MAX

tr__actor_ext *tr__actor_ext_get(tr__actor *a)
{
    tr__actor_ext *x = tr__load_ptr_acquire((void *const *)&a->ext);
    if (x != NULL)
        return x;
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    pthread_mutex_init(&x->mute_lock, NULL);
    void *expected = NULL;
    /* The muted list may be created by a sender's worker while the owner
     * creates it for an ask: one CAS decides, the loser frees its copy. */
    if (!tr__cas_ptr((void **)&a->ext, &expected, x)) {
        pthread_mutex_destroy(&x->mute_lock);
        free(x);
        return expected;
    }
    return x;
}

void tr__actor_ext_reset(tr__actor *a)
{
    tr__actor_ext *x = tr__actor_ext_peek(a);
    if (x == NULL)
        return;
    free(x->asks);
    x->asks = NULL;
    x->asks_cap = x->asks_len = 0;
    free(x->watchers);
    x->watchers = NULL;
    x->watchers_cap = x->watchers_len = 0;
}

void tr__actor_ext_free(tr__actor *a)
{
    tr__actor_ext *x = tr__actor_ext_peek(a);
    if (x == NULL)
        return;
    free(x->asks);
    free(x->watchers);
    free(x->muted);
    pthread_mutex_destroy(&x->mute_lock);
    free(x);
    a->ext = NULL;
}


uint64_t tr__next_id(tr_runtime *rt, tr__worker *w)
{
    if (w != NULL) {
        w->next_id++;
        return ((uint64_t)(w->index + 1) << 40) | w->next_id;
    }
    return tr__faa_u64(&rt->next_corr, 1) + 1;
}

static size_t ask_hash(uint64_t id, uint32_t cap)
{
    id ^= id >> 33;
    id *= UINT64_C(0xff51afd7ed558ccd);
    id ^= id >> 33;
    return (size_t)(id & (cap - 1));
}

static struct tr__ask_slot *ask_find(tr__actor_ext *x, uint64_t id)
{
    if (x == NULL || x->asks_cap == 0)
        return NULL;
    for (size_t i = ask_hash(id, x->asks_cap), n = 0; n < x->asks_cap;
         i = (i + 1) & (x->asks_cap - 1), n++) {
        if (x->asks[i].id == id)
            return &x->asks[i];
        if (x->asks[i].id == 0)
            return NULL;
    }
    return NULL;
}

static int ask_insert(tr__actor_ext *x, uint64_t id, tr_timer *t)
{
    if ((x->asks_len + 1) * 2 > x->asks_cap) {
        uint32_t cap = x->asks_cap ? x->asks_cap * 2 : 8;
        struct tr__ask_slot *n = calloc(cap, sizeof(*n));
        if (n == NULL)
            return TR_ENOMEM;
        struct tr__ask_slot *old = x->asks;
        uint32_t oldcap = x->asks_cap;
        x->asks = n;
        x->asks_cap = cap;
        x->asks_len = 0;
        for (uint32_t i = 0; i < oldcap; i++)
            if (old[i].id != 0 && old[i].id != TOMBSTONE)
                ask_insert(x, old[i].id, old[i].timer);
        free(old);
    }
    size_t i = ask_hash(id, x->asks_cap);
    while (x->asks[i].id != 0 && x->asks[i].id != TOMBSTONE)
        i = (i + 1) & (x->asks_cap - 1);
    x->asks[i].id = id;
    x->asks[i].timer = t;
    x->asks_len++;
    return 0;
}

static void ask_remove(tr__actor_ext *x, struct tr__ask_slot *s)
{
    s->id = TOMBSTONE;
    s->timer = NULL;
    if (--x->asks_len == 0) /* the common case: clear the tombstones too */
        memset(x->asks, 0, x->asks_cap * sizeof(*x->asks));
}

int tr_ask(tr_ctx *ctx, tr_actor_ref to, uint32_t type, tr_payload *payload,
           uint64_t timeout_ms, uint64_t *ask_id)
{
    if (type >= TR_MSG_SYSTEM || timeout_ms == 0)
        return TR_EINVAL;
    tr__actor_ext *x = tr__actor_ext_get(ctx->actor);
    if (x == NULL)
        return TR_ENOMEM;
    uint64_t id = tr__next_id(ctx->rt, ctx->worker) | TR__ASK_BIT;
    tr_send_args to_args = {.type = TR_MSG_TIMEOUT, .corr_id = id,
                            .status = TR_ETIMEDOUT};
    tr_timer *t = NULL;
    int rc = tr__send_after_internal(ctx->rt, timeout_ms, 0, ctx->self,
                                     &to_args, &t);
    if (rc != 0)
        return rc;
    if ((rc = ask_insert(x, id, t)) != 0) {
        tr_timer_cancel(t);
        return rc;
    }
    tr_send_args req = {.type = type, .reply_to = ctx->self, .corr_id = id,
                        .payload = payload};
    rc = tr__deliver(ctx->rt, ctx, to, &req, ctx->self, false);
    if (rc != 0) {
        ask_remove(x, ask_find(x, id));
        tr_timer_cancel(t);
        return rc;
    }
    if (ask_id != NULL)
        *ask_id = id;
    return 0;
}

bool tr__ask_filter(tr_ctx *ctx, const tr_msg *m)
{
    if (!(m->corr_id & TR__ASK_BIT))
        return true; /* a reply to a plain request: not ours to judge */
    tr__actor_ext *x = tr__actor_ext_peek(ctx->actor);
    struct tr__ask_slot *s = ask_find(x, m->corr_id);
    if (s == NULL) {
        if (m->type != TR_MSG_TIMEOUT)
            tr__faa_u64_relaxed(&ctx->rt->late_replies, 1);
        return false;
    }
    tr_timer *t = s->timer;
    ask_remove(x, s);
    if (m->type == TR_MSG_TIMEOUT)
        tr_timer_release(t);
    else
        tr_timer_cancel(t);
    return true;
}

void tr__ask_clear(tr_runtime *rt, tr__actor *a)
{
    (void)rt;
    tr__actor_ext *x = tr__actor_ext_peek(a);
    if (x == NULL)
        return;
    for (uint32_t i = 0; i < x->asks_cap; i++)
        if (x->asks[i].id != 0 && x->asks[i].id != TOMBSTONE) {
            tr_timer_cancel(x->asks[i].timer);
            x->asks[i].id = TOMBSTONE;
        }
    x->asks_len = 0;
}
