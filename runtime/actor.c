/*
 * runtime/actor.c -- spawn, send, an actor's turn, stop and drain.
 *
 * DESIGN
 * A send (tr__deliver) allocates the envelope first, then claims a place in
 * the target's mailbox with one CAS on the slot's control word (generation,
 * CLOSED, COUNT: see internal.h), then pushes the envelope on the Vyukov
 * queue.  If COUNT went 0 -> 1 the sender schedules the actor.  Nothing can
 * fail after the CAS, so an accepted message is never lost, and a refused one
 * is reported to its sender (TR_EDEAD, TR_EFULL) and counted.
 *
 * A turn (tr__actor_run) handles at most `batch` messages, then retires them
 * all with one subtraction on COUNT: if messages remain, the actor goes to the
 * back of its worker's queue (fairness); if none, it is idle and the next
 * sender schedules it.
 *
 * Back-pressure: a send that leaves a BACKPRESSURE mailbox at or above its
 * capacity marks the sending actor (ctx->mute_on).  At the end of the
 * sender's turn it is parked on the receiver's muted list instead of being
 * requeued, holding one phantom unit of its own COUNT so no sender schedules
 * it meanwhile.  The receiver unparks its muted senders when it has drained
 * to half its capacity (or stops).  An actor whose own mailbox is over
 * capacity is never muted: that would let two overloaded actors mute each
 * other forever.
 *
 * Stop: CLOSED is set (later sends are dead letters), the stop hook runs, the
 * state is freed, watchers get DOWN, muted senders are released, and the
 * mailbox is drained: each message left is a dead letter.  The slot is
 * recycled when COUNT is back to 0 -- if a sender that passed the CAS before
 * CLOSED has not finished its push yet, the actor is requeued to finish
 * draining later rather than waiting.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/internal.h"
#include "runtime/mpsc.h"
#include "troupe/log.h"

static inline void counter_add(uint64_t *c, uint64_t d)
{
    /* Owner-written counters read by stats: relaxed store of a private sum. */
    tr__store_u64_relaxed(c, *c + d);
}


/* ------------------------------------------------------------------------ */
/* Spawn                                                                     */
/* ------------------------------------------------------------------------ */

static uint32_t round_capacity(uint32_t c)
{
    if (c == 0)
        return 0;
    if (c > (1u << 29))
        c = 1u << 29;
    return c;
}

static int spawn(tr_runtime *rt, tr__worker *w, const tr_actor_ops *ops,
                 void *arg, const tr_spawn_opts *opts, tr_actor_ref *out)
{
    if (ops == NULL || ops->receive == NULL || out == NULL)
        return TR_EINVAL;
    if (tr__load_u32_relaxed(&rt->closing))
        return TR_ECLOSED;
    tr__actor *a = tr__slot_alloc(rt, w);
    if (a == NULL)
        return TR_ENOMEM;
    void *state = NULL;
    if (ops->state_size > 0 && (state = calloc(1, ops->state_size)) == NULL) {
        tr__slot_free(rt, w, a);
        return TR_ENOMEM;
    }
    uint32_t cap = round_capacity(opts && opts->mailbox ? opts->mailbox
                                                        : rt->default_mailbox);
    uint32_t policy = opts ? (uint32_t)opts->policy : TR_MBOX_REJECT;
    tr__store_u32_relaxed(&a->policy, policy);
    tr__store_u32_relaxed(&a->capacity, cap);
    tr__store_u32_relaxed(&a->hard_limit, policy == TR_MBOX_BACKPRESSURE ? cap * 2 : cap);
    a->ops = ops;
    a->state = state;
    a->flags = 0; /* a->ext persists across lives: see tr__actor_ext_reset */
    a->hwm = 0;
    a->stop_reason = 0;
    tr__mpsc_init(tr__mbox_of(a));
    if (ops->init != NULL) {
        int rc = ops->init(rt, state, arg);
        if (rc != 0) {
            free(state);
            tr__slot_free(rt, w, a);
            return rc < 0 ? rc : TR_EFAILED;
        }
    }
    uint32_t gen = TR__CTL_GEN(tr__load_u64_relaxed(&a->ctl));
    /* Release: the initialised slot and state before any sender can pass
     * the CAS (which acquires). */
    tr__store_u64_release(&a->ctl, TR__CTL_MAKE(gen, 0, 0));
    if (w != NULL)
        counter_add(&w->spawned, 1);
    else
        tr__faa_u64_relaxed(&rt->spawned, 1);
    *out = (tr_actor_ref){a->id, gen};
    return 0;
}

int tr_spawn(tr_runtime *rt, const tr_actor_ops *ops, void *arg,
             const tr_spawn_opts *opts, tr_actor_ref *out)
{
    if (rt == NULL)
        return TR_EINVAL;
    return spawn(rt, tr__sched_current(rt), ops, arg, opts, out);
}

int tr_ctx_spawn(tr_ctx *ctx, const tr_actor_ops *ops, void *arg,
                 const tr_spawn_opts *opts, tr_actor_ref *out)
{
    return spawn(ctx->rt, ctx->worker, ops, arg, opts, out);
}

bool tr_actor_alive(tr_runtime *rt, tr_actor_ref ref)
{
    tr__actor *a = tr__slot_get(rt, ref.id);
    if (a == NULL)
        return false;
    uint64_t c = tr__load_u64_acquire(&a->ctl);
    return TR__CTL_GEN(c) == ref.gen && !(c & TR__CTL_CLOSED);
}

int tr_actor_depth_hwm(tr_runtime *rt, tr_actor_ref ref, uint32_t *out)
{
    tr__actor *a = tr__slot_get(rt, ref.id);
    if (a == NULL)
        return TR_EDEAD;
    uint64_t c = tr__load_u64_acquire(&a->ctl);
    if (TR__CTL_GEN(c) != ref.gen || (c & TR__CTL_CLOSED))
        return TR_EDEAD;
    *out = tr__load_u32_relaxed(&a->hwm);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Send                                                                      */
/* ------------------------------------------------------------------------ */

static void count_failure(tr_runtime *rt, tr__worker *w, int rc)
{
    if (w != NULL)
        counter_add(rc == TR_EFULL ? &w->rejected : &w->dead, 1);
    else
        tr__faa_u64_relaxed(rc == TR_EFULL ? &rt->ext_rejected : &rt->ext_dead, 1);
}

/* A thread outside the runtime sent into an overloaded BACKPRESSURE mailbox:
 * it is not a worker, so it may wait -- until the receiver has drained to
 * half its capacity, stopped, or the runtime closes. */
static void external_backoff(tr_runtime *rt, tr__actor *a, uint32_t gen,
                             uint32_t capacity)
{
    long ns = 20000;
    for (;;) {
        uint64_t c = tr__load_u64_acquire(&a->ctl);
        if (TR__CTL_GEN(c) != gen || (c & TR__CTL_CLOSED) ||
            TR__CTL_COUNT(c) <= capacity / 2 ||
            tr__load_u32_relaxed(&rt->exiting))
            return;
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        if (ns < 1000000)
            ns *= 2;
    }
}

int tr__deliver(tr_runtime *rt, tr_ctx *ctx, tr_actor_ref to,
                const tr_send_args *args, tr_actor_ref sender, bool internal)
{
    tr__worker *w = ctx != NULL ? ctx->worker : NULL;
    if (w == NULL && !internal)
        w = tr__sched_current(rt);
    if (ctx == NULL && w == NULL && !internal &&
        tr__load_u32_relaxed(&rt->closing))
        return TR_ECLOSED;
    tr__actor *a = tr__slot_get(rt, to.id);
    if (a == NULL) {
        count_failure(rt, w, TR_EDEAD);
        return TR_EDEAD;
    }

    tr__env *e = tr__env_alloc(w);
    if (e == NULL)
        return TR_ENOMEM;
    e->msg.type = args->type;
    e->msg.flags = args->flags;
    e->msg.sender = sender;
    e->msg.reply_to = args->reply_to;
    e->msg.corr_id = args->corr_id;
    e->msg.status = args->status;
    e->msg.payload = args->payload;

    /* Claim a place: generation, CLOSED and the bound in one CAS.  System
     * messages (internal) ignore the bound: a stop or a monitor request must
     * never be refused for lack of room.  The slot's settings are read here,
     * after an acquire load that shows our generation: once the message is
     * pushed the actor may stop and the slot may start a new life, so
     * nothing of the slot is read after the push. */
    uint64_t c = tr__load_u64_acquire(&a->ctl);
    uint32_t capacity, hard_limit, policy;
    for (;;) {
        if (TR__CTL_GEN(c) != to.gen || (c & TR__CTL_CLOSED)) {
            e->msg.payload = NULL; /* not referenced yet */
            tr__env_free(w, e);
            count_failure(rt, w, TR_EDEAD);
            return TR_EDEAD;
        }
        capacity = tr__load_u32_relaxed(&a->capacity);
        hard_limit = tr__load_u32_relaxed(&a->hard_limit);
        policy = tr__load_u32_relaxed(&a->policy);
        if (TR__CTL_COUNT(c) >= hard_limit && !internal) {
            e->msg.payload = NULL; /* not referenced yet */
            tr__env_free(w, e);
            count_failure(rt, w, TR_EFULL);
            /* A back-pressure receiver also mutes the actor that hit its
             * hard limit, so a retry after this turn is not a spin. */
            if (policy == TR_MBOX_BACKPRESSURE && ctx != NULL &&
                ctx->actor != a) {
                ctx->mute_on = a;
                ctx->mute_gen = to.gen;
            }
            return TR_EFULL;
        }
        if (tr__cas_u64(&a->ctl, &c, c + 1))
            break;
    }
    uint32_t depth = TR__CTL_COUNT(c) + 1;
    tr_payload_ref(e->msg.payload);
    tr__mpsc_push(tr__mbox_of(a), &e->node);
    if (depth == 1)
        tr__schedule(rt, w, a);

    if (w != NULL) {
        counter_add(&w->sent, 1);
        if (depth > w->depth_hwm)
            tr__store_u32_relaxed(&w->depth_hwm, depth);
    } else {
        tr__faa_u64_relaxed(&rt->ext_sent, 1);
        uint32_t h = tr__load_u32_relaxed(&rt->ext_hwm);
        while (depth > h && !tr__cas_u32(&rt->ext_hwm, &h, depth))
            ;
    }
    if (policy == TR_MBOX_BACKPRESSURE && depth >= capacity && !internal) {
        if (ctx != NULL && ctx->actor != a) {
            ctx->mute_on = a;
            ctx->mute_gen = to.gen;
        } else if (w == NULL && !tr__on_io_thread()) {
            /* Never on the I/O thread: one full mailbox must not hold up
             * every timer.  Its sends fail with TR_EFULL at the hard limit. */
            external_backoff(rt, a, to.gen, capacity);
        }
    }
    return 0;
}

int tr_send_msg(tr_runtime *rt, tr_actor_ref to, const tr_send_args *args)
{
    if (rt == NULL || args == NULL || args->type >= TR_MSG_SYSTEM)
        return TR_EINVAL;
    return tr__deliver(rt, NULL, to, args, TR_REF_NONE, false);
}

int tr_send(tr_runtime *rt, tr_actor_ref to, uint32_t type, tr_payload *payload)
{
    tr_send_args a = {.type = type, .payload = payload};
    return tr_send_msg(rt, to, &a);
}

int tr_ctx_send_msg(tr_ctx *ctx, tr_actor_ref to, const tr_send_args *args)
{
    if (args == NULL || args->type >= TR_MSG_SYSTEM)
        return TR_EINVAL;
    tr_send_args a = *args;
    if (a.corr_id == 0)
        a.corr_id = ctx->corr_id & ~TR__ASK_BIT; /* the trace, not the ask */
    return tr__deliver(ctx->rt, ctx, to, &a, ctx->self, false);
}

int tr_ctx_send(tr_ctx *ctx, tr_actor_ref to, uint32_t type, tr_payload *payload)
{
    tr_send_args a = {.type = type, .payload = payload};
    return tr_ctx_send_msg(ctx, to, &a);
}

int tr_reply(tr_ctx *ctx, const tr_msg *req, uint32_t type, tr_payload *payload)
{
    tr_actor_ref to = tr_ref_is_none(req->reply_to) ? req->sender : req->reply_to;
    tr_send_args a = {.type = type, .flags = TR_MSG_F_REPLY,
                      .corr_id = req->corr_id, .payload = payload};
    if (type >= TR_MSG_SYSTEM)
        return TR_EINVAL;
    return tr__deliver(ctx->rt, ctx, to, &a, ctx->self, false);
}

int tr_stop(tr_runtime *rt, tr_actor_ref ref)
{
    tr_send_args a = {.type = TR_MSG_STOP, .status = 0};
    return tr__deliver(rt, NULL, ref, &a, TR_REF_NONE, true);
}

tr_actor_ref tr_self(const tr_ctx *ctx) { return ctx->self; }
tr_runtime *tr_ctx_runtime(const tr_ctx *ctx) { return ctx->rt; }
unsigned tr_ctx_worker(const tr_ctx *ctx)
{
    return ctx->worker != NULL ? ctx->worker->index : 0;
}

void tr_ctx_stop(tr_ctx *ctx, int reason)
{
    ctx->actor->flags |= TR__AF_STOPPING;
    ctx->actor->stop_reason = reason;
}

/* ------------------------------------------------------------------------ */
/* A turn                                                                    */
/* ------------------------------------------------------------------------ */

static void dispatch(tr_ctx *ctx, tr__actor *a, const tr_msg *m)
{
    ctx->corr_id = m->corr_id;
    if (m->corr_id != ctx->log_corr) { /* every log line of the handler */
        tr_log_set_corr(m->corr_id);   /* carries it; set only on change  */
        ctx->log_corr = m->corr_id;
    }
    switch (m->type) {
    case TR_MSG_STOP:
        a->flags |= TR__AF_STOPPING;
        a->stop_reason = m->status;
        return;
    case TR__MSG_MONITOR:
        tr__monitor_add(ctx, m);
        return;
    default:
        break;
    }
    if (((m->flags & TR_MSG_F_REPLY) || m->type == TR_MSG_TIMEOUT) &&
        !tr__ask_filter(ctx, m))
        return;
    int rc = a->ops->receive(ctx, a->state, m);
    if (rc < 0) {
        TR_LOG_WARN("runtime", "actor %u (%s) failed handling message type %u: %s",
                    a->id, a->ops->name ? a->ops->name : "anonymous", m->type,
                    tr_err_name(rc));
        a->flags |= TR__AF_STOPPING;
        a->stop_reason = TR_EFAILED;
    }
}

/* Take (and clear) the list of actors muted on `a`, then schedule them. */
static void unmute_all(tr_runtime *rt, tr__worker *w, tr__actor_ext *x)
{
    if (x == NULL || !tr__load_u32_acquire(&x->has_muted))
        return;
    pthread_mutex_lock(&x->mute_lock);
    tr__actor **list = x->muted;
    uint32_t n = x->muted_len;
    x->muted = NULL;
    x->muted_len = x->muted_cap = 0;
    tr__store_u32_relaxed(&x->has_muted, 0);
    pthread_mutex_unlock(&x->mute_lock);
    for (uint32_t i = 0; i < n; i++)
        tr__schedule(rt, w, list[i]);
    free(list);
}

/* Park `a` (which holds a phantom COUNT unit) on `target`'s muted list.
 * Returns false if it must not be parked (target drained, stopped or was
 * replaced meanwhile, or out of memory): the caller then requeues it.  The
 * target's extension is never freed while the runtime lives (ext_reset), so
 * taking its lock is safe even if the target stops concurrently; its stop
 * sets CLOSED before it empties the muted list under the same lock. */
static bool mute_on(tr__actor *a, tr__actor *target, uint32_t gen)
{
    tr__actor_ext *x = tr__actor_ext_get(target);
    if (x == NULL)
        return false;
    pthread_mutex_lock(&x->mute_lock);
    if (x->muted_len == x->muted_cap) {
        uint32_t cap = x->muted_cap ? x->muted_cap * 2 : 4;
        tr__actor **n = realloc(x->muted, cap * sizeof(*n));
        if (n == NULL) {
            pthread_mutex_unlock(&x->mute_lock);
            return false;
        }
        x->muted = n;
        x->muted_cap = cap;
    }
    x->muted[x->muted_len++] = a;
    /* An RMW, not a release store: the target retires COUNT (an RMW) and
     * then reads has_muted; we publish has_muted and then read COUNT.  Both
     * sides need store->load order, or each could miss the other. */
    tr__xchg_u32(&x->has_muted, 1);
    /* Re-check under the lock: if the target already drained (its unmute
     * took the lock before we added ourselves), nobody would wake us. */
    uint64_t c = tr__load_u64_acquire(&target->ctl);
    bool stay = TR__CTL_GEN(c) == gen && !(c & TR__CTL_CLOSED) &&
                TR__CTL_COUNT(c) > tr__load_u32_relaxed(&target->capacity) / 2;
    if (!stay) {
        x->muted_len--;
        if (x->muted_len == 0)
            tr__store_u32_relaxed(&x->has_muted, 0);
    }
    pthread_mutex_unlock(&x->mute_lock);
    return stay;
}

static void finish_stop(tr__worker *w, tr__actor *a, uint32_t retire);

void tr__actor_run(tr__worker *w, tr__actor *a)
{
    tr_runtime *rt = w->rt;
    tr_ctx *ctx = &w->ctx;
    ctx->actor = a;
    ctx->self = tr__ref_of(a);
    ctx->mute_on = NULL;

    uint32_t retire = 0;
    if (a->flags & TR__AF_PHANTOM) {
        a->flags &= ~TR__AF_PHANTOM;
        retire = 1;
    }
    if (a->flags & TR__AF_SYSTEM_STOP) { /* still draining after stop */
        finish_stop(w, a, retire);
        return;
    }
    if (tr__load_u32_relaxed(&rt->abandon)) {
        /* Shutdown's drain deadline passed: stop now; what is queued becomes
         * dead letters (tr_runtime_free). */
        a->flags |= TR__AF_STOPPING;
        a->stop_reason = TR_ECLOSED;
        finish_stop(w, a, retire);
        return;
    }
    uint64_t c0 = tr__load_u64_relaxed(&a->ctl);
    uint32_t depth = TR__CTL_COUNT(c0) - retire;
    if (depth > a->hwm)
        tr__store_u32_relaxed(&a->hwm, depth);

    uint32_t n = 0, batch = rt->batch;
    tr__mpsc_ref mb = tr__mbox_of(a);
    while (n < batch) {
        tr__node *node = tr__mpsc_pop(mb);
        if (node == NULL)
            break;
        n++;
        tr__env *e = (tr__env *)node;
        dispatch(ctx, a, &e->msg);
        tr__env_free(w, e);
        if ((a->flags & TR__AF_STOPPING) || ctx->mute_on != NULL)
            break;
    }
    counter_add(&w->handled, n);
    ctx->corr_id = 0;
    if (ctx->log_corr != 0) {
        tr_log_set_corr(0);
        ctx->log_corr = 0;
    }
    retire += n;

    if (a->flags & TR__AF_STOPPING) {
        finish_stop(w, a, retire);
        return;
    }

    tr__actor *target = ctx->mute_on;
    if (target != NULL && retire > 0 &&
        TR__CTL_COUNT(tr__load_u64_relaxed(&a->ctl)) - retire < a->capacity) {
        /* Keep one unit as the phantom that holds the actor "scheduled". */
        tr__faa_u64(&a->ctl, -(uint64_t)(retire - 1));
        a->flags |= TR__AF_PHANTOM;
        if (!mute_on(a, target, ctx->mute_gen))
            tr__reschedule(w, a);
        return;
    }

    /* Read what we need of the slot before retiring: once COUNT reaches 0
     * the actor may be scheduled -- and stopped, and its slot reused --
     * elsewhere.  The extension outlives every life of the slot. */
    uint32_t half = a->capacity / 2;
    tr__actor_ext *x = tr__actor_ext_peek(a);
    uint64_t old = tr__faa_u64(&a->ctl, -(uint64_t)retire);
    uint32_t left = TR__CTL_COUNT(old) - retire;
    if (left <= half)
        unmute_all(rt, w, x);
    if (left > 0)
        tr__reschedule(w, a);
}

/* ------------------------------------------------------------------------ */
/* Stop                                                                      */
/* ------------------------------------------------------------------------ */

static void drain_one(tr_runtime *rt, tr__worker *w, tr__actor *a, tr__env *e)
{
    if (e->msg.type == TR__MSG_MONITOR)
        tr__monitor_bounce(rt, &e->msg, a->stop_reason); /* still one DOWN */
    else
        tr__faa_u64_relaxed(&rt->dead_stop, 1);
    tr__env_free(w, e);
}

static void finish_stop(tr__worker *w, tr__actor *a, uint32_t retire)
{
    tr_runtime *rt = w->rt;
    if (!(a->flags & TR__AF_SYSTEM_STOP)) {
        a->flags |= TR__AF_SYSTEM_STOP;
        /* CLOSED: from here every send is a dead letter.  COUNT < 2^31, so
         * adding the bit cannot carry. */
        tr__faa_u64(&a->ctl, TR__CTL_CLOSED);
        int reason = a->stop_reason;
        if (a->ops->stop != NULL)
            a->ops->stop(&w->ctx, a->state, reason);
        free(a->state);
        a->state = NULL;
        tr__ask_clear(rt, a);
        tr__monitor_notify(rt, a, reason);
        unmute_all(rt, w, tr__actor_ext_peek(a));
        counter_add(&w->stopped, 1);
    }
    tr__mpsc_ref mb = tr__mbox_of(a);
    tr__node *node;
    while ((node = tr__mpsc_pop(mb)) != NULL) {
        drain_one(rt, w, a, (tr__env *)node);
        retire++;
    }
    uint64_t old = tr__faa_u64(&a->ctl, -(uint64_t)retire);
    if (TR__CTL_COUNT(old) - retire > 0) {
        /* A sender passed the CAS before CLOSED and is still pushing: come
         * back for its message instead of waiting for it. */
        tr__reschedule(w, a);
        return;
    }
    tr__actor_ext_reset(a);
    a->flags = 0;
    tr__slot_free(rt, w, a);
}

void tr__stop_all(tr_runtime *rt)
{
    uint32_t n = tr__load_u32_acquire(&rt->next_id);
    for (uint32_t id = 1; id < n; id++) {
        tr__actor *a = tr__slot_get(rt, id);
        if (a == NULL)
            continue;
        uint64_t c = tr__load_u64_acquire(&a->ctl);
        if (c & TR__CTL_CLOSED)
            continue;
        tr_send_args s = {.type = TR_MSG_STOP, .status = TR_ECLOSED};
        tr__deliver(rt, NULL, (tr_actor_ref){id, TR__CTL_GEN(c)}, &s,
                    TR_REF_NONE, true);
    }
}

/* Last resort at free time, workers joined: whatever is still in a slot
 * (actors that did not stop before the drain deadline) is released here
 * without running more handlers.  Stop hooks run first (they may still send),
 * then every mailbox is emptied. */
void tr__reap_all(tr_runtime *rt)
{
    uint32_t n = rt->next_id;
    for (uint32_t id = 1; id < n; id++) {
        tr__actor *a = tr__slot_get(rt, id);
        if (a == NULL || a->ops == NULL || (a->flags & TR__AF_SYSTEM_STOP))
            continue;
        a->flags |= TR__AF_SYSTEM_STOP;
        tr__faa_u64(&a->ctl, TR__CTL_CLOSED);
        if (a->ops->stop != NULL) {
            struct tr_ctx ctx = {.rt = rt, .worker = NULL, .actor = a,
                                 .self = tr__ref_of(a)};
            a->ops->stop(&ctx, a->state, TR_ECLOSED);
        }
        free(a->state);
        a->state = NULL;
    }
    for (uint32_t id = 1; id < n; id++) {
        tr__actor *a = tr__slot_get(rt, id);
        if (a == NULL || a->ops == NULL)
            continue;
        tr__node *node;
        tr__mpsc_ref mb = tr__mbox_of(a);
        while ((node = tr__mpsc_pop(mb)) != NULL) {
            tr__faa_u64_relaxed(&rt->dead_stop, 1);
            tr__env_free(NULL, (tr__env *)node);
        }
        tr__ask_clear(rt, a);
        tr__actor_ext_reset(a);
        a->ops = NULL;
    }
}
