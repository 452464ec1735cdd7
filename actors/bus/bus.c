/*
 * actors/bus/bus.c -- the event bus handle and its API (troupe/bus.h).
 *
 * DESIGN
 * The handle is what callers hold: the runtime, the actor's ref, the channel
 * registry (names are set once under a mutex, ids published with a release
 * store), the subscription id counter and the statistics the actor exports.
 * Every call here turns into one message to the bus actor (bus_actor.c):
 *   publish        TR_BUS_MSG_PUBLISH, status = channel, payload = event
 *   (un)subscribe  TR_BUS_MSG_CONTROL with a tr__bus_ctl (ids are allocated
 *                  here, so subscribe returns at once)
 *   sync, stats    TR_BUS_MSG_CONTROL with a waiter the caller blocks on
 * Control payloads are native structs wrapped with tr_payload_wrap; their
 * free function releases the strings and the waiter reference, so a request
 * that is never handled (bus stopped) still completes its waiter with
 * TR_ECLOSED and leaks nothing.
 *
 * Shutdown: tr_bus_free asks the actor to stop (after what is queued) and
 * waits on the `stopped` waiter that the actor's stop hook completes; the
 * hook also runs when tr_runtime_free stops every actor, so the handle may
 * be freed after the runtime.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/bus/bus_internal.h"
#include "runtime/atomics.h"

static const struct {
    const char *name, *scope;
} builtin[] = {
    [TR_BUS_CH_WORKFLOW] = {"workflow_events", "workflow_id"},
    [TR_BUS_CH_EMERGENCY] = {"emergency_events", "controller_id"},
    [TR_BUS_CH_METRICS] = {"metrics", "workflow_id"},
};

int tr_bus_start(tr_runtime *rt, const tr_bus_opts *opts, tr_bus **out)
{
    if (rt == NULL || out == NULL)
        return TR_EINVAL;
    *out = NULL;
    tr_bus *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return TR_ENOMEM;
    b->stopped = tr__waiter_new();
    if (b->stopped == NULL) {
        free(b);
        return TR_ENOMEM;
    }
    pthread_mutex_init(&b->mu, NULL);
    for (uint32_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
        strcpy(b->ch[i].name, builtin[i].name);
        strcpy(b->ch[i].scope, builtin[i].scope);
    }
    b->nchannels = sizeof(builtin) / sizeof(builtin[0]);
    b->next_sub = 1;
    b->rt = rt;
    tr_spawn_opts so = {
        .mailbox = opts != NULL && opts->mailbox ? opts->mailbox : 65536,
        .policy = opts != NULL && opts->reject_when_full
                      ? TR_MBOX_REJECT
                      : TR_MBOX_BACKPRESSURE,
    };
    int rc = tr_spawn(rt, &tr__bus_actor_ops, b, &so, &b->ref);
    if (rc != 0) {
        tr__waiter_unref(b->stopped);
        tr__waiter_unref(b->stopped);
        pthread_mutex_destroy(&b->mu);
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void tr_bus_free(tr_bus *bus)
{
    if (bus == NULL)
        return;
    if (!tr__waiter_done(bus->stopped))
        tr_stop(bus->rt, bus->ref);
    tr__waiter_wait(bus->stopped, 0, NULL, NULL, NULL);
    tr__waiter_unref(bus->stopped);
    pthread_mutex_destroy(&bus->mu);
    free(bus);
}

tr_actor_ref tr_bus_ref(const tr_bus *bus) { return bus->ref; }

int tr_bus_channel(tr_bus *bus, const char *name, const char *scope_field,
                   uint32_t *id)
{
    if (bus == NULL || name == NULL || id == NULL || name[0] == '\0' ||
        strlen(name) >= TR_BUS_NAME_MAX)
        return TR_EINVAL;
    if (scope_field == NULL)
        scope_field = "workflow_id";
    if (scope_field[0] == '\0' || strlen(scope_field) >= TR_BUS_NAME_MAX)
        return TR_EINVAL;
    int rc = TR_ELIMIT;
    pthread_mutex_lock(&bus->mu);
    uint32_t n = bus->nchannels;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(bus->ch[i].name, name) == 0) {
            *id = i;
            rc = 0;
            goto out;
        }
    if (n < TR_BUS_MAX_CHANNELS) {
        strcpy(bus->ch[n].name, name);
        strcpy(bus->ch[n].scope, scope_field);
        /* release: a thread that sees the new count sees the names. */
        tr__store_u32_release(&bus->nchannels, n + 1);
        *id = n;
        rc = 0;
    }
out:
    pthread_mutex_unlock(&bus->mu);
    return rc;
}

/* ---------------------------------------------------------------- publish */

int tr_bus_publish(tr_bus *bus, uint32_t channel, tr_payload *event)
{
    if (bus == NULL || event == NULL ||
        channel >= tr__load_u32_acquire(&bus->nchannels))
        return TR_EINVAL;
    tr_send_args a = {.type = TR_BUS_MSG_PUBLISH, .status = (int32_t)channel,
                      .payload = event};
    return tr_send_msg(bus->rt, bus->ref, &a);
}

int tr_bus_publish_ctx(tr_ctx *ctx, tr_bus *bus, uint32_t channel,
                       tr_payload *event)
{
    if (ctx == NULL || bus == NULL || event == NULL ||
        channel >= tr__load_u32_acquire(&bus->nchannels))
        return TR_EINVAL;
    tr_send_args a = {.type = TR_BUS_MSG_PUBLISH, .status = (int32_t)channel,
                      .payload = event};
    return tr_ctx_send_msg(ctx, bus->ref, &a);
}

/* ---------------------------------------------------------------- control */

void tr__bus_ctl_free(void *data, void *arg)
{
    (void)arg;
    tr__bus_ctl *c = data;
    for (int i = 0; i < 3; i++)
        free(c->field[i]);
    tr__waiter_payload_free(c, c->w); /* frees c */
}

static tr__bus_ctl *ctl_new(int op, bool with_waiter)
{
    tr__bus_ctl *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->op = op;
    if (with_waiter && (c->w = tr__waiter_new()) == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

/* Send ctl (ownership passes to the payload in every case). */
static int ctl_send(tr_bus *bus, tr__bus_ctl *c)
{
    tr_payload *p = tr_payload_wrap(c, sizeof(*c), tr__bus_ctl_free, NULL);
    if (p == NULL) {
        tr__bus_ctl_free(c, NULL);
        return TR_ENOMEM;
    }
    int rc = tr_send(bus->rt, bus->ref, TR_BUS_MSG_CONTROL, p);
    tr_payload_unref(p);
    return rc;
}

/* Send ctl and wait for its waiter; copies u64 results out. */
static int ctl_call(tr_bus *bus, tr__bus_ctl *c, uint64_t timeout_ms,
                    uint64_t *u64)
{
    tr__waiter *w = c->w;
    int rc = ctl_send(bus, c);
    if (rc == 0 || tr__waiter_done(w))
        rc = tr__waiter_wait(w, timeout_ms, NULL, NULL, u64);
    tr__waiter_unref(w);
    return rc;
}

static int subscribe(tr_bus *bus, const tr_bus_filter *f, tr__bus_ctl *c,
                     uint64_t *sub_id)
{
    const char *src[3] = {f->workflow_id, f->bot_id, f->strategy_id};
    c->channel = f->channel;
    for (int i = 0; i < 3; i++)
        if (src[i] != NULL && (c->field[i] = strdup(src[i])) == NULL) {
            tr__bus_ctl_free(c, NULL);
            return TR_ENOMEM;
        }
    c->id = tr__faa_u64_relaxed(&bus->next_sub, 1);
    uint64_t id = c->id;
    int rc = ctl_send(bus, c);
    if (rc == 0 && sub_id != NULL)
        *sub_id = id;
    return rc;
}

static bool filter_ok(const tr_bus *bus, const tr_bus_filter *f)
{
    return bus != NULL && f != NULL &&
           f->channel < tr__load_u32_acquire(&bus->nchannels);
}

int tr_bus_subscribe_actor(tr_bus *bus, const tr_bus_filter *filter,
                           tr_actor_ref to, uint64_t *sub_id)
{
    if (!filter_ok(bus, filter) || tr_ref_is_none(to))
        return TR_EINVAL;
    tr__bus_ctl *c = ctl_new(BUS_CTL_SUB, false);
    if (c == NULL)
        return TR_ENOMEM;
    c->to = to;
    return subscribe(bus, filter, c, sub_id);
}

int tr_bus_subscribe_cb(tr_bus *bus, const tr_bus_filter *filter, tr_bus_cb cb,
                        void *arg, uint64_t *sub_id)
{
    if (!filter_ok(bus, filter) || cb == NULL)
        return TR_EINVAL;
    tr__bus_ctl *c = ctl_new(BUS_CTL_SUB, false);
    if (c == NULL)
        return TR_ENOMEM;
    c->is_cb = true;
    c->cb = cb;
    c->arg = arg;
    return subscribe(bus, filter, c, sub_id);
}

int tr_bus_unsubscribe(tr_bus *bus, uint64_t sub_id)
{
    if (bus == NULL)
        return TR_EINVAL;
    tr__bus_ctl *c = ctl_new(BUS_CTL_UNSUB, false);
    if (c == NULL)
        return TR_ENOMEM;
    c->id = sub_id;
    return ctl_send(bus, c);
}

int tr_bus_sync(tr_bus *bus, uint64_t timeout_ms)
{
    if (bus == NULL)
        return TR_EINVAL;
    tr__bus_ctl *c = ctl_new(BUS_CTL_SYNC, true);
    if (c == NULL)
        return TR_ENOMEM;
    return ctl_call(bus, c, timeout_ms, NULL);
}

int tr_bus_sub_stats_get(tr_bus *bus, uint64_t sub_id, tr_bus_sub_stats *out,
                         uint64_t timeout_ms)
{
    if (bus == NULL || out == NULL)
        return TR_EINVAL;
    tr__bus_ctl *c = ctl_new(BUS_CTL_SUB_STATS, true);
    if (c == NULL)
        return TR_ENOMEM;
    c->id = sub_id;
    uint64_t u[4] = {0};
    int rc = ctl_call(bus, c, timeout_ms, u);
    if (rc == 0) {
        out->delivered = u[0];
        out->dropped = u[1];
    }
    return rc;
}

void tr_bus_stats_get(const tr_bus *bus, tr_bus_stats *out)
{
    const tr_bus_stats *s = &bus->stats;
    out->published = tr__load_u64_relaxed(&s->published);
    out->invalid = tr__load_u64_relaxed(&s->invalid);
    out->delivered = tr__load_u64_relaxed(&s->delivered);
    out->dropped = tr__load_u64_relaxed(&s->dropped);
    out->dead_removed = tr__load_u64_relaxed(&s->dead_removed);
    out->subscribers = tr__load_u64_relaxed(&s->subscribers);
}
