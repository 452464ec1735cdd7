/* actors/executor/outbox.c -- see outbox.h. */
#include <stdlib.h>

#include "actors/executor/outbox.h"

void tr__outbox_init(tr__outbox *o, uint32_t flush_type)
{
    o->q = NULL;
    o->head = o->len = o->cap = 0;
    o->flush_type = flush_type;
    o->flush_asked = false;
}

void tr__outbox_fini(tr__outbox *o)
{
    for (uint32_t k = 0; k < o->len; k++)
        tr_payload_unref(o->q[(o->head + k) % o->cap].payload);
    free(o->q);
    o->q = NULL;
    o->head = o->len = o->cap = 0;
}

static int try_send(tr_ctx *ctx, const tr__out_msg *m)
{
    tr_send_args a = {.type = m->type, .status = m->status, .payload = m->payload};
    return tr_ctx_send_msg(ctx, m->to, &a);
}

static void ask_flush(tr__outbox *o, tr_ctx *ctx)
{
    if (o->flush_asked)
        return;
    tr_send_args a = {.type = o->flush_type};
    o->flush_asked = tr_ctx_send_msg(ctx, tr_self(ctx), &a) == 0;
}

int tr__outbox_send(tr__outbox *o, tr_ctx *ctx, tr_actor_ref to, uint32_t type,
                    int32_t status, tr_payload *payload)
{
    tr__out_msg m = {to, type, status, payload};
    if (o->len == 0) {
        int rc = try_send(ctx, &m);
        if (rc != TR_EFULL) {
            tr_payload_unref(payload);
            return rc;
        }
    }
    if (o->len == o->cap) {
        uint32_t cap = o->cap ? o->cap * 2 : 16;
        tr__out_msg *q = malloc(cap * sizeof(*q));
        if (q == NULL) {
            tr_payload_unref(payload);
            return TR_ENOMEM;
        }
        for (uint32_t k = 0; k < o->len; k++)
            q[k] = o->q[(o->head + k) % o->cap];
        free(o->q);
        o->q = q;
        o->head = 0;
        o->cap = cap;
    }
    o->q[(o->head + o->len) % o->cap] = m;
    o->len++;
    ask_flush(o, ctx);
    return 0;
}

bool tr__outbox_flush(tr__outbox *o, tr_ctx *ctx)
{
    o->flush_asked = false;
    while (o->len > 0) {
        tr__out_msg *m = &o->q[o->head];
        int rc = try_send(ctx, m);
        if (rc == TR_EFULL) {
            ask_flush(o, ctx); /* muted now: runs again once drained */
            return false;
        }
        tr_payload_unref(m->payload);
        o->head = (o->head + 1) % o->cap;
        o->len--;
    }
    return true;
}
