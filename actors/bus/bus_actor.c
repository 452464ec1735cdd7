/*
 * actors/bus/bus_actor.c -- the event bus actor (memory backend).
 *
 * DESIGN
 * Accepts:
 *   TR_BUS_MSG_PUBLISH  status = channel id, payload = event (msgpack map)
 *   TR_BUS_MSG_SYNC     (tr_ask) -> TR_BUS_MSG_SYNC_OK reply, no payload
 *   TR_BUS_MSG_CONTROL  payload = tr__bus_ctl (subscribe, unsubscribe,
 *                       sync and stats for threads outside the runtime,
 *                       answered through the ctl's waiter)
 * Emits:
 *   TR_BUS_MSG_EVENT    to subscriber actors (status = channel, payload =
 *                       the shared stamped event); C callbacks are called
 *                       in place with the same payload.
 *
 * Publish path, for one event: validate the msgpack once (tr_mp_read), one
 * pass over the top-level pairs picks out type, seq, workflow_id, bot_id,
 * strategy_id and the channel's scope field; the scope's counter (a string
 * map per channel) gives seq.  Subscriptions are indexed per channel by
 * their most selective field: a workflow_id map, else a bot_id map, else a
 * strategy_id map, else the channel's `all` list -- each subscription is in
 * exactly one list, so the candidates of an event are four lookups, and the
 * cost is O(candidates), not O(all subscriptions).  The first candidate that
 * matches triggers the one re-encoding (seq added) into the scratch buffer
 * and a one-allocation copy; every match then shares that payload.
 *
 * Sends to subscriber actors use tr_send_msg, not tr_ctx_send: the bus is
 * never muted by a subscriber's back-pressure.  TR_EDEAD removes the
 * subscription (counted), TR_EFULL counts a drop for that subscriber only.
 * A dead subscriber is found at its next matching event (no monitor: it
 * costs nothing until then).
 *
 * Memory: per-scope seq counters live as long as the bus (one small entry
 * per workflow id ever seen).
 */
#include <stdlib.h>
#include <string.h>

#include "actors/bus/bus_internal.h"
#include "actors/common/strmap.h"
#include "runtime/atomics.h"
#include "troupe/codec.h"
#include "troupe/log.h"

enum { F_WF = 0, F_BOT = 1, F_STRAT = 2, F_NONE = 3 };
static const char *const field_names[3] = {"workflow_id", "bot_id",
                                           "strategy_id"};

typedef struct sublist sublist;

typedef struct sub {
    uint64_t id;
    uint32_t channel;
    uint8_t primary; /* F_* index the subscription is filed under */
    bool is_cb;
    tr_actor_ref to;
    tr_bus_cb cb;
    void *arg;
    char *field[3];
    size_t flen[3];
    sublist *home;
    uint32_t pos; /* index in home->v */
    uint64_t delivered, dropped;
} sub;

struct sublist {
    sub **v;
    uint32_t n, cap;
};

typedef struct chan {
    bool ready;
    char scope[TR_BUS_NAME_MAX];
    tr__strmap seqs;   /* scope value -> uint64 last seq */
    tr__strmap idx[3]; /* field value -> sublist*        */
    sublist all;
} chan;

typedef struct bus_state {
    tr_bus *h;
    tr_runtime *rt;
    chan ch[TR_BUS_MAX_CHANNELS];
    tr__strmap subs; /* 8-byte id -> sub* */
    tr_buf scratch;
    tr_bus_stats st;
} bus_state;

/* One event, as picked out of its top-level map. */
typedef struct ev_view {
    const uint8_t *doc, *end, *body;
    uint32_t pairs;
    const uint8_t *type_end;          /* end of pair 0 when its key is "type" */
    const uint8_t *seq_b, *seq_e;     /* the publisher's "seq" pair, if any  */
    const char *f[3];                 /* workflow_id, bot_id, strategy_id    */
    size_t fl[3];
    const char *scope;
    size_t scope_len;
    uint64_t seq;
    tr_payload *stamped;
    bool failed;
} ev_view;

/* ---------------------------------------------------------------- lists */

static int list_add(sublist *l, sub *s)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        sub **v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return TR_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    s->home = l;
    s->pos = l->n;
    l->v[l->n++] = s;
    return 0;
}

static void list_del(sublist *l, sub *s)
{
    uint32_t i = s->pos;
    l->v[i] = l->v[--l->n];
    l->v[i]->pos = i;
    s->home = NULL;
}

/* Drop an empty per-value list from its index. */
static void index_prune(chan *c, int f, const char *key, size_t klen)
{
    tr__strval *v = tr__strmap_get(&c->idx[f], key, klen);
    if (v == NULL)
        return;
    sublist *l = v->p;
    if (l->n != 0)
        return;
    tr__strmap_del(&c->idx[f], key, klen, NULL);
    free(l->v);
    free(l);
}

/* ---------------------------------------------------------------- channels */

static chan *chan_get(bus_state *s, uint32_t id)
{
    if (id >= TR_BUS_MAX_CHANNELS)
        return NULL;
    chan *c = &s->ch[id];
    if (c->ready)
        return c;
    tr_bus *h = s->h;
    pthread_mutex_lock(&h->mu);
    bool known = id < h->nchannels;
    if (known)
        memcpy(c->scope, h->ch[id].scope, sizeof(c->scope));
    pthread_mutex_unlock(&h->mu);
    if (!known)
        return NULL;
    c->ready = true;
    return c;
}

/* ---------------------------------------------------------------- subscriptions */

static void sub_free(sub *sb)
{
    for (int i = 0; i < 3; i++)
        free(sb->field[i]);
    free(sb);
}

static void sub_remove(bus_state *s, sub *sb, bool prune)
{
    chan *c = &s->ch[sb->channel];
    list_del(sb->home, sb);
    if (prune && sb->primary != F_NONE)
        index_prune(c, sb->primary, sb->field[sb->primary],
                    sb->flen[sb->primary]);
    tr__strmap_del(&s->subs, (const char *)&sb->id, sizeof(sb->id), NULL);
    s->st.subscribers--;
    sub_free(sb);
}

static int sub_add(bus_state *s, const tr__bus_ctl *ctl)
{
    chan *c = chan_get(s, ctl->channel);
    if (c == NULL)
        return TR_EINVAL;
    sub *sb = calloc(1, sizeof(*sb));
    if (sb == NULL)
        return TR_ENOMEM;
    sb->id = ctl->id;
    sb->channel = ctl->channel;
    sb->is_cb = ctl->is_cb;
    sb->to = ctl->to;
    sb->cb = ctl->cb;
    sb->arg = ctl->arg;
    sb->primary = F_NONE;
    for (int i = 0; i < 3; i++) {
        if (ctl->field[i] == NULL)
            continue;
        sb->flen[i] = strlen(ctl->field[i]);
        sb->field[i] = malloc(sb->flen[i] + 1);
        if (sb->field[i] == NULL)
            goto nomem;
        memcpy(sb->field[i], ctl->field[i], sb->flen[i] + 1);
        if (sb->primary == F_NONE)
            sb->primary = (uint8_t)i;
    }
    sublist *l = &c->all;
    if (sb->primary != F_NONE) {
        tr__strval *v;
        bool created;
        int f = sb->primary;
        if (tr__strmap_put(&c->idx[f], sb->field[f], sb->flen[f], &v,
                           &created) != 0)
            goto nomem;
        if (created && (v->p = calloc(1, sizeof(sublist))) == NULL) {
            tr__strmap_del(&c->idx[f], sb->field[f], sb->flen[f], NULL);
            goto nomem;
        }
        l = v->p;
    }
    tr__strval *slot;
    if (tr__strmap_put(&s->subs, (const char *)&sb->id, sizeof(sb->id), &slot,
                       NULL) != 0)
        goto nomem_index;
    if (list_add(l, sb) != 0) {
        tr__strmap_del(&s->subs, (const char *)&sb->id, sizeof(sb->id), NULL);
        goto nomem_index;
    }
    slot->p = sb;
    s->st.subscribers++;
    return 0;
nomem_index:
    if (sb->primary != F_NONE)
        index_prune(c, sb->primary, sb->field[sb->primary],
                    sb->flen[sb->primary]);
nomem:
    sub_free(sb);
    return TR_ENOMEM;
}

static sub *sub_find(bus_state *s, uint64_t id)
{
    tr__strval *v = tr__strmap_get(&s->subs, (const char *)&id, sizeof(id));
    return v != NULL ? v->p : NULL;
}

/* ---------------------------------------------------------------- publish */

static bool view_event(const tr_payload *p, const chan *c, ev_view *ev)
{
    tr_mp_val root, k, v;
    if (tr_mp_read_payload(p, &root, NULL) != TR_OK ||
        tr_mp_typeof(root) != TR_MP_MAP || tr_mp_count(root, &ev->pairs) != 0)
        return false;
    tr_mp_iter it;
    tr_mp_iter_init(&it, root);
    ev->doc = root.p;
    ev->end = root.end;
    ev->body = it.p;
    size_t scope_len = strlen(c->scope);
    for (uint32_t i = 0; tr_mp_iter_next(&it, &k, &v) > 0; i++) {
        const char *ks, *vs;
        size_t kl, vl;
        if (tr_mp_get_str(k, &ks, &kl) != TR_OK)
            continue;
        if (i == 0 && kl == 4 && memcmp(ks, "type", 4) == 0)
            ev->type_end = it.p;
        if (kl == 3 && memcmp(ks, "seq", 3) == 0 && ev->seq_b == NULL) {
            ev->seq_b = k.p;
            ev->seq_e = it.p;
            continue;
        }
        if (tr_mp_get_str(v, &vs, &vl) != TR_OK)
            continue;
        for (int f = 0; f < 3; f++)
            if (ev->f[f] == NULL && strlen(field_names[f]) == kl &&
                memcmp(ks, field_names[f], kl) == 0) {
                ev->f[f] = vs;
                ev->fl[f] = vl;
            }
        if (ev->scope == NULL && kl == scope_len &&
            memcmp(ks, c->scope, kl) == 0) {
            ev->scope = vs;
            ev->scope_len = vl;
        }
    }
    return true;
}

/* The event with "seq" added: built once, on the first match. */
static tr_payload *stamp(bus_state *s, ev_view *ev)
{
    if (ev->stamped != NULL || ev->failed)
        return ev->stamped;
    tr_buf *b = &s->scratch;
    tr_buf_reset(b);
    tr_mp_write_map(b, ev->pairs + (ev->seq_b == NULL ? 1 : 0));
    const uint8_t *rest = ev->body;
    if (ev->type_end != NULL) {
        tr_buf_append(b, ev->body, (size_t)(ev->type_end - ev->body));
        rest = ev->type_end;
    }
    tr_mp_write_str(b, "seq", 3);
    tr_mp_write_uint(b, ev->seq);
    if (ev->seq_b != NULL && ev->seq_b >= rest) {
        tr_buf_append(b, rest, (size_t)(ev->seq_b - rest));
        tr_buf_append(b, ev->seq_e, (size_t)(ev->end - ev->seq_e));
    } else {
        tr_buf_append(b, rest, (size_t)(ev->end - rest));
    }
    if (tr_buf_copy(b, &ev->stamped) != TR_OK)
        ev->failed = true;
    return ev->stamped;
}

static bool matches(const sub *sb, const ev_view *ev)
{
    for (int f = 0; f < 3; f++) {
        if (sb->field[f] == NULL || f == sb->primary)
            continue;
        if (ev->f[f] == NULL || ev->fl[f] != sb->flen[f] ||
            memcmp(ev->f[f], sb->field[f], sb->flen[f]) != 0)
            return false;
    }
    return true;
}

static void deliver_list(bus_state *s, sublist *l, ev_view *ev, uint32_t ch,
                         uint64_t corr)
{
    for (uint32_t i = 0; i < l->n;) {
        sub *sb = l->v[i];
        if (!matches(sb, ev)) {
            i++;
            continue;
        }
        tr_payload *p = stamp(s, ev);
        if (p == NULL) {
            sb->dropped++;
            s->st.dropped++;
            i++;
            continue;
        }
        if (sb->is_cb) {
            sb->cb(sb->arg, ch, p);
            sb->delivered++;
            s->st.delivered++;
            i++;
            continue;
        }
        tr_send_args a = {.type = TR_BUS_MSG_EVENT, .status = (int32_t)ch,
                          .corr_id = corr, .payload = p};
        int rc = tr_send_msg(s->rt, sb->to, &a);
        if (rc == 0) {
            sb->delivered++;
            s->st.delivered++;
        } else if (rc == TR_EDEAD) {
            s->st.dead_removed++;
            sub_remove(s, sb, false); /* swaps the last one into i */
            continue;
        } else {
            sb->dropped++;
            s->st.dropped++;
        }
        i++;
    }
}

static void on_publish(bus_state *s, const tr_msg *m)
{
    uint32_t ch = (uint32_t)m->status;
    chan *c = m->payload != NULL ? chan_get(s, ch) : NULL;
    ev_view ev = {0};
    if (c == NULL || !view_event(m->payload, c, &ev)) {
        s->st.invalid++;
        return;
    }
    tr__strval *cnt;
    if (tr__strmap_put(&c->seqs, ev.scope ? ev.scope : "", ev.scope_len, &cnt,
                       NULL) != 0) {
        s->st.invalid++; /* out of memory: cannot number it, refuse it */
        return;
    }
    ev.seq = ++cnt->u;
    s->st.published++;
    for (int f = 0; f < 3; f++) {
        if (ev.f[f] == NULL || c->idx[f].len == 0)
            continue;
        tr__strval *v = tr__strmap_get(&c->idx[f], ev.f[f], ev.fl[f]);
        if (v == NULL)
            continue;
        deliver_list(s, v->p, &ev, ch, m->corr_id);
        index_prune(c, f, ev.f[f], ev.fl[f]);
    }
    deliver_list(s, &c->all, &ev, ch, m->corr_id);
    tr_payload_unref(ev.stamped);
}

/* ---------------------------------------------------------------- control */

static void on_control(bus_state *s, const tr_msg *m)
{
    if (m->payload == NULL || tr_payload_len(m->payload) != sizeof(tr__bus_ctl))
        return;
    const tr__bus_ctl *ctl = (const tr__bus_ctl *)tr_payload_data(m->payload);
    switch (ctl->op) {
    case BUS_CTL_SUB: {
        int rc = sub_add(s, ctl);
        if (rc != 0)
            TR_LOG_WARN("bus", "subscription %llu refused: %s",
                        (unsigned long long)ctl->id, tr_strerror(rc));
        break;
    }
    case BUS_CTL_UNSUB: {
        sub *sb = sub_find(s, ctl->id);
        if (sb != NULL)
            sub_remove(s, sb, true);
        break;
    }
    case BUS_CTL_SYNC:
        tr__waiter_complete(ctl->w, 0, NULL, 0, NULL);
        break;
    case BUS_CTL_SUB_STATS: {
        sub *sb = sub_find(s, ctl->id);
        uint64_t u[4] = {sb ? sb->delivered : 0, sb ? sb->dropped : 0, 0, 0};
        tr__waiter_complete(ctl->w, sb ? 0 : TR_ENOENT, NULL, 0, u);
        break;
    }
    default:
        break;
    }
}

/* ---------------------------------------------------------------- actor */

static void publish_stats(bus_state *s)
{
    tr_bus_stats *o = &s->h->stats;
    tr__store_u64_relaxed(&o->published, s->st.published);
    tr__store_u64_relaxed(&o->invalid, s->st.invalid);
    tr__store_u64_relaxed(&o->delivered, s->st.delivered);
    tr__store_u64_relaxed(&o->dropped, s->st.dropped);
    tr__store_u64_relaxed(&o->dead_removed, s->st.dead_removed);
    tr__store_u64_relaxed(&o->subscribers, s->st.subscribers);
}

static int bus_init(tr_runtime *rt, void *state, void *arg)
{
    bus_state *s = state;
    s->h = arg;
    s->rt = rt;
    tr__strmap_init(&s->subs);
    for (int i = 0; i < TR_BUS_MAX_CHANNELS; i++) {
        tr__strmap_init(&s->ch[i].seqs);
        for (int f = 0; f < 3; f++)
            tr__strmap_init(&s->ch[i].idx[f]);
    }
    tr_buf_init(&s->scratch);
    return 0;
}

static int bus_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    bus_state *s = state;
    switch (m->type) {
    case TR_BUS_MSG_PUBLISH:
        on_publish(s, m);
        break;
    case TR_BUS_MSG_CONTROL:
        on_control(s, m);
        break;
    case TR_BUS_MSG_SYNC:
        tr_reply(ctx, m, TR_BUS_MSG_SYNC_OK, NULL);
        break;
    default:
        break;
    }
    publish_stats(s);
    return 0;
}

static void bus_stop(tr_ctx *ctx, void *state, int reason)
{
    (void)ctx;
    (void)reason;
    bus_state *s = state;
    size_t i = 0;
    tr__strval v;
    while (tr__strmap_next(&s->subs, &i, NULL, NULL, &v))
        sub_free(v.p);
    tr__strmap_fini(&s->subs);
    for (int c = 0; c < TR_BUS_MAX_CHANNELS; c++) {
        for (int f = 0; f < 3; f++) {
            i = 0;
            while (tr__strmap_next(&s->ch[c].idx[f], &i, NULL, NULL, &v)) {
                free(((sublist *)v.p)->v);
                free(v.p);
            }
            tr__strmap_fini(&s->ch[c].idx[f]);
        }
        free(s->ch[c].all.v);
        tr__strmap_fini(&s->ch[c].seqs);
    }
    tr_buf_fini(&s->scratch);
    s->st.subscribers = 0;
    publish_stats(s);
    tr__waiter *w = s->h->stopped;
    tr__waiter_complete(w, 0, NULL, 0, NULL);
    tr__waiter_unref(w);
}

const tr_actor_ops tr__bus_actor_ops = {
    .state_size = sizeof(bus_state),
    .init = bus_init,
    .receive = bus_receive,
    .stop = bus_stop,
    .name = "bus",
};
