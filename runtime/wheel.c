/* runtime/wheel.c -- per-worker timer wheel; see wheel.h. */
#include <stdlib.h>

#include "runtime/internal.h"

int tr__wheel_init(tr__wheel *wh, uint64_t now_ms)
{
    wh->slots = calloc(TR__WHEEL_SLOTS, sizeof(*wh->slots));
    wh->now_ms = now_ms;
    wh->next_due = UINT64_MAX;
    wh->count = 0;
    wh->spare = NULL;
    return wh->slots == NULL ? TR_ENOMEM : 0;
}

static void entry_drop(tr__wheel_entry *e)
{
    tr_payload_unref(e->args.payload);
    free(e);
}

void tr__wheel_fini(tr__wheel *wh)
{
    if (wh->slots != NULL) {
        for (uint32_t i = 0; i < TR__WHEEL_SLOTS; i++) {
            tr__wheel_entry *e = wh->slots[i];
            while (e != NULL) {
                tr__wheel_entry *n = e->next;
                entry_drop(e);
                e = n;
            }
        }
        free(wh->slots);
        wh->slots = NULL;
    }
    while (wh->spare != NULL) {
        tr__wheel_entry *n = wh->spare->next;
        free(wh->spare);
        wh->spare = n;
    }
    wh->count = 0;
}

int tr_ctx_send_after(tr_ctx *ctx, uint64_t delay_ms, tr_actor_ref to,
                      const tr_send_args *args)
{
    return tr_ctx_timer_start(ctx, delay_ms, to, args, NULL);
}

int tr_ctx_timer_start(tr_ctx *ctx, uint64_t delay_ms, tr_actor_ref to,
                       const tr_send_args *args, tr_wheel_timer *handle)
{
    if (args == NULL || args->type >= TR_MSG_SYSTEM)
        return TR_EINVAL;
    tr__worker *w = ctx->worker;
    if (w == NULL)
        return TR_ECLOSED; /* a stop hook run after the workers exited */
    tr__wheel *wh = &w->wheel;
    tr__wheel_entry *e = wh->spare;
    if (e != NULL)
        wh->spare = e->next;
    else if ((e = malloc(sizeof(*e))) == NULL)
        return TR_ENOMEM;
    else
        e->state = 0; /* generation 0, free */
    /* The wheel's clock lags behind real time by at most one actor turn;
     * arm from the real clock so a timer never fires early. */
    uint64_t now = tr__now_ms();
    if (now > wh->now_ms && tr__load_u64_relaxed(&wh->count) == 0)
        wh->now_ms = now;
    /* now is truncated to the millisecond: one more keeps "never early". */
    e->due_ms = now + delay_ms + (delay_ms > 0);
    if (e->due_ms <= wh->now_ms)
        e->due_ms = wh->now_ms + 1; /* the slot being visited is behind us */
    e->to = to;
    e->sender = ctx->self;
    e->args = *args;
    if (e->args.corr_id == 0)
        e->args.corr_id = ctx->corr_id & ~TR__ASK_BIT;
    tr_payload_ref(e->args.payload);
    e->wheel = wh;
    uint32_t gen = tr__load_u32_relaxed(&e->state) >> 2;
    /* Release: a canceller that sees ARMED sees a filled entry. */
    tr__store_u32_release(&e->state, gen << 2 | TR__WE_ARMED);
    tr__wheel_entry **slot = &wh->slots[e->due_ms & (TR__WHEEL_SLOTS - 1)];
    e->next = *slot;
    *slot = e;
    if (e->due_ms < wh->next_due)
        wh->next_due = e->due_ms;
    tr__faa_u64(&wh->count, 1);
    if (handle != NULL)
        *handle = (tr_wheel_timer){e, gen};
    return 0;
}

bool tr_wheel_timer_cancel(tr_wheel_timer h)
{
    tr__wheel_entry *e = h.entry;
    if (e == NULL)
        return false;
    uint32_t armed = h.gen << 2 | TR__WE_ARMED;
    if (!tr__cas_u32(&e->state, &armed, h.gen << 2 | TR__WE_CANCELLED))
        return false; /* fired (or its generation moved on): nothing to stop */
    tr__faa_u64(&e->wheel->count, (uint64_t)-1);
    return true;
}

/* The earliest due time of what is left.  Walk forward slot by slot over one
 * turn (the next timer is usually close); only if nothing is due within a
 * turn, look at every entry. */
static uint64_t next_due_after(tr__wheel *wh, uint64_t now)
{
    if (tr__load_u64_relaxed(&wh->count) == 0)
        return UINT64_MAX;
    for (uint64_t t = now + 1; t <= now + TR__WHEEL_SLOTS; t++)
        for (tr__wheel_entry *e = wh->slots[t & (TR__WHEEL_SLOTS - 1)]; e != NULL;
             e = e->next)
            if (e->due_ms == t)
                return t;
    uint64_t best = UINT64_MAX;
    for (uint32_t i = 0; i < TR__WHEEL_SLOTS; i++)
        for (tr__wheel_entry *e = wh->slots[i]; e != NULL; e = e->next)
            if (e->due_ms < best)
                best = e->due_ms;
    return best;
}

void tr__wheel_advance(tr__worker *w, uint64_t now)
{
    tr__wheel *wh = &w->wheel;
    uint64_t pending = tr__load_u64_relaxed(&wh->count);
    if (pending == 0 || now < wh->next_due) {
        if (pending == 0)
            wh->now_ms = now;
        return;
    }
    uint64_t from = wh->now_ms + 1;
    /* A full turn visits every slot; more than that changes nothing. */
    if (now - wh->now_ms > TR__WHEEL_SLOTS)
        from = now - TR__WHEEL_SLOTS + 1;
    tr__wheel_entry *fire = NULL;
    for (uint64_t t = from; t <= now; t++) {
        tr__wheel_entry **pp = &wh->slots[t & (TR__WHEEL_SLOTS - 1)];
        while (*pp != NULL) {
            tr__wheel_entry *e = *pp;
            if (e->due_ms <= now) {
                *pp = e->next;
                e->next = fire;
                fire = e;
            } else {
                pp = &e->next;
            }
        }
    }
    wh->now_ms = now;
    if (fire != NULL)
        wh->next_due = next_due_after(wh, now);
    while (fire != NULL) {
        tr__wheel_entry *e = fire;
        fire = e->next;
        uint32_t st = tr__load_u32_relaxed(&e->state);
        uint32_t gen = st >> 2;
        uint32_t armed = gen << 2 | TR__WE_ARMED;
        /* One CAS against a canceller: whoever moves ARMED decides. */
        if (tr__cas_u32(&e->state, &armed, gen << 2 | TR__WE_FIRED)) {
            tr__faa_u64(&wh->count, (uint64_t)-1);
            tr__deliver(w->rt, NULL, e->to, &e->args, e->sender, false);
        }
        /* Reuse under a new generation: old handles cancel nothing. */
        tr__store_u32_release(&e->state, (gen + 1) << 2 | TR__WE_FREE);
        tr_payload_unref(e->args.payload);
        e->args.payload = NULL;
        e->next = wh->spare;
        wh->spare = e;
    }
}
