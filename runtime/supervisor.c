/*
 * runtime/supervisor.c -- a one-for-one supervisor actor.
 *
 * The supervisor's state points at the shared handle (tr_supervisor), whose
 * child refs are atomics so any thread can read them.  The handle has two
 * references: the caller's and the actor's (dropped in the stop hook).
 * Restart times live in a ring of max_restarts+1 timestamps: if the oldest of
 * the last max_restarts+1 restarts is within window_ms of now, the limit is
 * exceeded.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"
#include "troupe/supervisor.h"

struct tr_supervisor {
    uint32_t refs;
    uint32_t gave_up;
    uint64_t restarts;
    tr_runtime *rt;
    tr_actor_ref self;
    tr_supervisor_opts opts;
    size_t n;
    tr_child_spec *specs;
    uint64_t *child; /* packed tr_actor_ref, atomic */
    uint64_t *stamps; /* ring of restart times (actor only) */
    size_t stamp_next;
};

static uint64_t pack(tr_actor_ref r) { return ((uint64_t)r.gen << 32) | r.id; }
static tr_actor_ref unpack(uint64_t v)
{
    return (tr_actor_ref){(uint32_t)v, (uint32_t)(v >> 32)};
}

static void sup_unref(tr_supervisor *s)
{
    if (tr__faa_u32_release(&s->refs, (uint32_t)-1) != 1)
        return;
    tr__fence_acquire();
    free(s->specs);
    free(s->child);
    free(s->stamps);
    free(s);
}

struct sup_state {
    tr_supervisor *s;
};

static int sup_init(tr_runtime *rt, void *state, void *arg)
{
    ((struct sup_state *)state)->s = arg;
    return 0;
}

static bool limit_exceeded(tr_supervisor *s, uint64_t now)
{
    size_t cap = s->opts.max_restarts + 1;
    s->stamps[s->stamp_next % cap] = now;
    s->stamp_next++;
    if (s->stamp_next < cap)
        return false;
    uint64_t oldest = s->stamps[s->stamp_next % cap];
    return now - oldest <= s->opts.window_ms;
}

static int sup_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    tr_supervisor *s = ((struct sup_state *)state)->s;
    if (m->type != TR_MSG_DOWN)
        return 0;
    size_t i;
    for (i = 0; i < s->n; i++)
        if (tr__load_u64_acquire(&s->child[i]) == pack(m->sender))
            break;
    if (i == s->n)
        return 0; /* not (or no longer) one of ours */
    if (m->status == 0 || m->status == TR_ECLOSED) {
        tr__store_u64_release(&s->child[i], 0);
        return 0;
    }
    if (limit_exceeded(s, tr__now_ms())) {
        tr__store_u32_release(&s->gave_up, 1);
        tr__store_u64_release(&s->child[i], 0);
        tr_ctx_stop(ctx, TR_ELIMIT);
        return 0;
    }
    tr_actor_ref r;
    int rc = tr_ctx_spawn(ctx, s->specs[i].ops, s->specs[i].arg,
                          &s->specs[i].opts, &r);
    if (rc != 0) {
        tr__store_u32_release(&s->gave_up, 1);
        tr__store_u64_release(&s->child[i], 0);
        tr_ctx_stop(ctx, rc);
        return 0;
    }
    tr__store_u64_release(&s->child[i], pack(r));
    tr__faa_u64(&s->restarts, 1);
    if (tr_monitor(ctx, r, NULL) != 0) { /* cannot watch it: cannot supervise */
        tr__store_u32_release(&s->gave_up, 1);
        tr_ctx_stop(ctx, TR_ENOMEM);
    }
    return 0;
}

static void sup_stop(tr_ctx *ctx, void *state, int reason)
{
    tr_supervisor *s = ((struct sup_state *)state)->s;
    for (size_t i = 0; i < s->n; i++) {
        uint64_t v = tr__load_u64_acquire(&s->child[i]);
        tr__store_u64_release(&s->child[i], 0);
        if (v != 0)
            tr_stop(tr_ctx_runtime(ctx), unpack(v));
    }
    sup_unref(s);
}

static const tr_actor_ops sup_ops = {
    .state_size = sizeof(struct sup_state),
    .init = sup_init,
    .receive = sup_receive,
    .stop = sup_stop,
    .name = "supervisor",
};

int tr_supervisor_start(tr_runtime *rt, const tr_child_spec *children,
                        size_t nchildren, const tr_supervisor_opts *opts,
                        tr_supervisor **out)
{
    if (rt == NULL || out == NULL || (nchildren > 0 && children == NULL))
        return TR_EINVAL;
    tr_supervisor *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return TR_ENOMEM;
    s->refs = 2;
    s->rt = rt;
    s->opts.max_restarts = opts && opts->max_restarts ? opts->max_restarts : 3;
    s->opts.window_ms = opts && opts->window_ms ? opts->window_ms : 5000;
    s->n = nchildren;
    s->specs = calloc(nchildren ? nchildren : 1, sizeof(*s->specs));
    s->child = calloc(nchildren ? nchildren : 1, sizeof(*s->child));
    s->stamps = calloc(s->opts.max_restarts + 1, sizeof(*s->stamps));
    if (s->specs == NULL || s->child == NULL || s->stamps == NULL) {
        s->refs = 1;
        sup_unref(s);
        return TR_ENOMEM;
    }
    memcpy(s->specs, children, nchildren * sizeof(*s->specs));
    int rc = tr_spawn(rt, &sup_ops, s, NULL, &s->self);
    if (rc != 0) {
        s->refs = 1;
        sup_unref(s);
        return rc;
    }
    for (size_t i = 0; i < nchildren; i++) {
        tr_actor_ref r;
        rc = tr_spawn(rt, children[i].ops, children[i].arg, &children[i].opts, &r);
        if (rc != 0) {
            tr_supervisor_free(s); /* stops the children spawned so far */
            return rc;
        }
        /* Known as ours before the monitor can report it. */
        tr__store_u64_release(&s->child[i], pack(r));
        if ((rc = tr_monitor_ref(rt, s->self, r, NULL)) != 0) {
            tr_supervisor_free(s); /* the supervisor's stop stops r too */
            return rc;
        }
    }
    *out = s;
    return 0;
}

tr_actor_ref tr_supervisor_ref(const tr_supervisor *s) { return s->self; }

tr_actor_ref tr_supervisor_child(const tr_supervisor *s, size_t i)
{
    if (i >= s->n)
        return TR_REF_NONE;
    return unpack(tr__load_u64_acquire((uint64_t *)&s->child[i]));
}

uint64_t tr_supervisor_restarts(const tr_supervisor *s)
{
    return tr__load_u64_relaxed(&s->restarts);
}

bool tr_supervisor_gave_up(const tr_supervisor *s)
{
    return tr__load_u32_acquire(&s->gave_up) != 0;
}

void tr_supervisor_free(tr_supervisor *s)
{
    if (s == NULL)
        return;
    tr_stop(s->rt, s->self); /* TR_EDEAD if it already stopped: fine */
    sup_unref(s);
}
