/*
 * actors/fanout/ws_hub.c -- the fan-out hub: frames, bus hand-off, rooms.
 *
 * Design (see ws_hub.h and docs/websocket.md).  One bus callback, subscribed
 * once to workflow_events and once to emergency_events, encodes each event
 * ONCE into a tr__ws_frame (refcount 1, owned by the hand-off ring), pushes
 * it under a short mutex and wakes the service thread with
 * lws_cancel_service -- only when the ring was empty, since a pending cancel
 * already covers later pushes (cancels coalesce; the drain takes all).
 * tr__ws_hub_drain (service thread) pops frames in batches and dispatches:
 * each matching room gets a reference in its history ring, each subscribed
 * connection a reference in its send queue (once per connection even when
 * several of its rooms match: the dispatch stamp), then the ring's reference
 * is dropped.
 *
 * Ownership.  Frame: refcounted; every ring slot, history slot and send
 * queue slot holds one reference.  Room: owned by the hub (never freed
 * before tr__ws_hub_free); its subs array holds borrowed connection
 * pointers, removed when the connection unsubscribes or closes.  The hub's
 * token and origins are owned copies of the config's strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/fanout/fanout_internal.h"
#include "actors/fanout/metrics_agg.h"
#include "actors/fanout/sio_conn.h"
#include "actors/fanout/ws_hub.h"
#include "troupe/bus.h"
#include "troupe/codec.h"

#define DRAIN_BATCH 256
#define STOP_GRACE_MS 2000

_Static_assert(LWS_PRE >= 10, "the headroom holds the longest frame header");

/* The RFC 6455 header of an unmasked, final text frame of len bytes, into
 * out[10]; returns its size (2, 4 or 10). */
static uint8_t text_header(unsigned char *out, size_t len)
{
    out[0] = 0x81; /* FIN | text */
    if (len < 126) {
        out[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

tr__ws_frame *tr__ws_frame_new(const char *text, size_t len)
{
    tr__ws_frame *f = malloc(sizeof(*f) + LWS_PRE + len + 1);
    if (f == NULL)
        return NULL;
    unsigned char hdr[10];
    f->hlen = text_header(hdr, len);
    memcpy(f->buf + LWS_PRE - f->hlen, hdr, f->hlen);
    atomic_init(&f->refs, 1);
    f->seq = 0;
    f->emergency = false;
    f->wf[0] = f->bot[0] = f->strat[0] = '\0';
    f->data_off = 0;
    f->sio = NULL;
    f->len = len;
    memcpy(f->buf + LWS_PRE, text, len);
    f->buf[LWS_PRE + len] = '\0';
    return f;
}

tr__ws_frame *tr__ws_frame_ref(tr__ws_frame *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

void tr__ws_frame_unref(tr__ws_frame *f)
{
    if (f != NULL && atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1) {
        tr__ws_frame_unref(f->sio);
        free(f);
    }
}

static void copy_id(tr_mp_val root, const char *key, char *dst)
{
    tr_mp_val v;
    const char *s;
    size_t n;
    dst[0] = '\0';
    if (tr_mp_map_get(root, key, &v) == 0 && tr_mp_get_str(v, &s, &n) == 0 &&
        n < TR__WS_ID_MAX && memchr(s, '\0', n) == NULL) {
        memcpy(dst, s, n);
        dst[n] = '\0';
    }
}

/* Bus worker: encode once, hand off, never block (short mutex only). */
static void on_event(void *arg, uint32_t channel, tr_payload *event)
{
    tr__ws_hub *h = arg;
    tr_mp_val root;
    tr_codec_error err;
    if (tr_mp_read_payload(event, &root, &err) != 0)
        return;
    bool em = channel == TR_BUS_CH_EMERGENCY;
    if (!em)
        tr__metrics_on_event(h->metrics, root); /* reuses this decode */
    const char *pre = em ? "{\"event\":\"emergency_event\",\"data\":"
                         : "{\"event\":\"workflow_event\",\"data\":";
    tr_buf b;
    tr_buf_init(&b);
    tr_buf_append(&b, pre, strlen(pre));
    tr_json_write(&b, root);
    tr_buf_append(&b, "}", 1);
    tr__ws_frame *f = tr_buf_error(&b) == 0 ? tr__ws_frame_new((const char *)b.data, b.len)
                                            : NULL;
    tr_buf_fini(&b);
    if (f == NULL) {
        atomic_fetch_add(&h->st.handoff_dropped, 1);
        return;
    }
    tr_mp_val v;
    if (tr_mp_map_get(root, "seq", &v) != 0 || tr_mp_get_uint(v, &f->seq) != 0)
        f->seq = 0;
    f->emergency = em;
    f->data_off = (uint32_t)strlen(pre);
    copy_id(root, "workflow_id", f->wf);
    copy_id(root, "bot_id", f->bot);
    copy_id(root, "strategy_id", f->strat);
    pthread_mutex_lock(&h->mu);
    bool full = h->rlen == TR__WS_HANDOFF, wake = h->rlen == 0;
    if (!full)
        h->ring[(h->rhead + h->rlen++) % TR__WS_HANDOFF] = f;
    pthread_mutex_unlock(&h->mu);
    if (full) {
        tr__ws_frame_unref(f);
        atomic_fetch_add(&h->st.handoff_dropped, 1);
        return;
    }
    atomic_fetch_add(&h->st.events, 1);
    if (wake)
        lws_cancel_service(h->ctx);
}

static uint32_t hash(const char *s)
{
    uint32_t x = 2166136261u;
    for (; *s; s++)
        x = (x ^ (uint8_t)*s) * 16777619u;
    return x;
}

tr__ws_room *tr__ws_room_get(tr__ws_hub *h, const char *name, bool create)
{
    uint32_t b = hash(name) % TR__WS_BUCKETS;
    for (tr__ws_room *r = h->buckets[b]; r != NULL; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    if (!create || h->nrooms >= TR__WS_ROOMS_MAX || strlen(name) >= TR__WS_ROOM_MAX)
        return NULL;
    tr__ws_room *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->is_workflow = strncmp(name, "workflow:", 9) == 0;
    r->hcap = h->history;
    if (r->hcap > 0 && (r->hist = calloc(r->hcap, sizeof(*r->hist))) == NULL) {
        free(r);
        return NULL;
    }
    r->next = h->buckets[b];
    h->buckets[b] = r;
    h->nrooms++;
    return r;
}

int tr__ws_room_add_sub(tr__ws_room *r, tr__ws_conn *c)
{
    if (r->nsubs == r->subcap) {
        uint32_t cap = r->subcap ? r->subcap * 2 : 8;
        tr__ws_conn **n = realloc(r->subs, cap * sizeof(*n));
        if (n == NULL)
            return TR_ENOMEM;
        r->subs = n;
        r->subcap = cap;
    }
    r->subs[r->nsubs++] = c;
    return 0;
}

void tr__ws_room_del_sub(tr__ws_room *r, tr__ws_conn *c)
{
    for (uint32_t i = 0; i < r->nsubs; i++)
        if (r->subs[i] == c) {
            r->subs[i] = r->subs[--r->nsubs];
            return;
        }
}

static void hist_add(tr__ws_room *r, tr__ws_frame *f)
{
    if (r->is_workflow && f->seq > r->last_seq)
        r->last_seq = f->seq;
    if (r->hcap == 0)
        return;
    if (r->hlen == r->hcap) {
        tr__ws_frame_unref(r->hist[r->hhead]);
        r->hhead = (r->hhead + 1) % r->hcap;
        r->hlen--;
    }
    r->hist[(r->hhead + r->hlen++) % r->hcap] = tr__ws_frame_ref(f);
}

static void deliver(tr__ws_hub *h, tr__ws_conn *c, tr__ws_frame *f)
{
    if (c->stamp == h->stamp || c->kill || c->close_code != 0)
        return;
    c->stamp = h->stamp;
    tr__ws_conn_push(c, f, false);
}

static void dispatch(tr__ws_hub *h, tr__ws_frame *f)
{
    h->stamp++;
    if (f->emergency) {
        for (tr__ws_conn *c = h->conns; c != NULL; c = c->next)
            if (c->nsubs > 0 || c->emergency)
                deliver(h, c, f);
        return;
    }
    static const char *const prefix[3] = {"workflow:", "bot:", "strategy:"};
    const char *ids[3] = {f->wf, f->bot, f->strat};
    for (int i = 0; i < 3; i++) {
        if (ids[i][0] == '\0')
            continue;
        char name[TR__WS_ROOM_MAX];
        snprintf(name, sizeof name, "%s%s", prefix[i], ids[i]);
        tr__ws_room *r = tr__ws_room_get(h, name, true);
        if (r == NULL)
            continue;
        hist_add(r, f);
        for (uint32_t k = 0; k < r->nsubs; k++)
            deliver(h, r->subs[k], f);
    }
}

void tr__ws_hub_drain(tr__ws_hub *h)
{
    tr__metrics_service(h->metrics); /* arm its timer; cancel when closing */
    if (atomic_load(&h->closing) && !h->close_sent) {
        h->close_sent = true;
        h->close_deadline_ms = tr__serve_mono_ms() + STOP_GRACE_MS;
        for (tr__ws_conn *c = h->conns; c != NULL; c = c->next) {
            c->kill = true;
            c->close_code = LWS_CLOSE_STATUS_GOINGAWAY;
            snprintf(c->close_reason, sizeof c->close_reason, "server shutting down");
            lws_callback_on_writable(c->wsi);
            /* a client that reads nothing never becomes writeable */
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, STOP_GRACE_MS / 1000);
        }
    }
    tr__ws_frame *batch[DRAIN_BATCH];
    for (uint32_t round = 0; round < TR__WS_HANDOFF / DRAIN_BATCH + 1; round++) {
        uint32_t n = 0;
        pthread_mutex_lock(&h->mu);
        while (n < DRAIN_BATCH && h->rlen > 0) {
            batch[n++] = h->ring[h->rhead];
            h->rhead = (h->rhead + 1) % TR__WS_HANDOFF;
            h->rlen--;
        }
        pthread_mutex_unlock(&h->mu);
        if (n == 0)
            return;
        for (uint32_t i = 0; i < n; i++) {
            dispatch(h, batch[i]);
            tr__ws_frame_unref(batch[i]);
        }
    }
    lws_cancel_service(h->ctx); /* more arrived meanwhile: come back */
}

int tr__ws_hub_new(tr__ws_hub **out, tr_engine *engine, const tr_config *cfg)
{
    tr__ws_hub *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return TR_ENOMEM;
    h->engine = engine;
    const tr_config_server *s = cfg ? &cfg->server : NULL;
    h->token = strdup(s && s->auth_token ? s->auth_token : "");
    h->max_payload = s && s->max_payload > 0 ? (size_t)s->max_payload : 1u << 20;
    h->send_queue = s && s->send_queue > 0 ? (uint32_t)s->send_queue : 1024;
    h->sndbuf = s && s->socket_send_buffer > 0 ? (int)s->socket_send_buffer : 0;
    h->history = s && s->history >= 0 ? (uint32_t)s->history : 1000;
    h->rate_limit = s && s->rate_limit > 0 ? (uint32_t)s->rate_limit : 0;
    h->slow_disconnect = s && s->slow_client == TR_CONFIG_SLOW_DISCONNECT;
    tr__sio_timing(&h->sio_ping_ms, &h->sio_timeout_ms);
    size_t n = s ? s->allowed_origins.count : 0;
    h->any_origin = s == NULL;
    h->origins = n ? calloc(n, sizeof(char *)) : NULL;
    h->metrics = tr__metrics_new(h);
    bool oom = h->token == NULL || h->metrics == NULL || (n && h->origins == NULL);
    for (size_t i = 0; !oom && i < n; i++) {
        if (strcmp(s->allowed_origins.items[i], "*") == 0)
            h->any_origin = true;
        oom = (h->origins[i] = strdup(s->allowed_origins.items[i])) == NULL;
        h->norigins += !oom;
    }
    pthread_mutex_init(&h->mu, NULL);
    atomic_init(&h->closing, false);
    if (oom) {
        tr__ws_hub_free(h);
        return TR_ENOMEM;
    }
    *out = h;
    return 0;
}

int tr__ws_hub_attach(tr__ws_hub *h, struct lws_context *ctx)
{
    h->ctx = ctx;
    tr_bus *bus = tr_engine_bus(h->engine);
    tr_bus_filter wf = {.channel = TR_BUS_CH_WORKFLOW};
    tr_bus_filter em = {.channel = TR_BUS_CH_EMERGENCY};
    int rc = tr_bus_subscribe_cb(bus, &wf, on_event, h, &h->sub_wf);
    if (rc == 0)
        rc = tr_bus_subscribe_cb(bus, &em, on_event, h, &h->sub_em);
    if (rc == 0)
        rc = tr_bus_sync(bus, 5000); /* live before tr_serve_start returns */
    return rc;
}

void tr__ws_hub_begin_stop(tr__ws_hub *h)
{
    tr_bus *bus = tr_engine_bus(h->engine);
    if (h->sub_wf)
        tr_bus_unsubscribe(bus, h->sub_wf);
    if (h->sub_em)
        tr_bus_unsubscribe(bus, h->sub_em);
    /* The barrier guarantees no callback into this hub runs after it: keep
     * at it while the bus is merely busy (a timeout or a full mailbox);
     * any other answer means the bus is gone, and so are its callbacks. */
    if (h->sub_wf || h->sub_em) {
        int rc;
        for (int i = 0; i < 60; i++)
            if ((rc = tr_bus_sync(bus, 5000)) != TR_ETIMEDOUT && rc != TR_EFULL)
                break;
    }
    h->sub_wf = h->sub_em = 0;
    atomic_store(&h->closing, true);
    if (h->ctx)
        lws_cancel_service(h->ctx);
}

bool tr__ws_hub_drained(tr__ws_hub *h)
{
    if (h->conns == NULL)
        return true;
    return h->close_sent && tr__serve_mono_ms() > h->close_deadline_ms;
}

void tr__ws_hub_free(tr__ws_hub *h)
{
    if (h == NULL)
        return;
    while (h->rlen > 0) {
        tr__ws_frame_unref(h->ring[h->rhead]);
        h->rhead = (h->rhead + 1) % TR__WS_HANDOFF;
        h->rlen--;
    }
    for (int b = 0; b < TR__WS_BUCKETS; b++)
        for (tr__ws_room *r = h->buckets[b], *nx; r != NULL; r = nx) {
            nx = r->next;
            for (uint32_t i = 0; i < r->hlen; i++)
                tr__ws_frame_unref(r->hist[(r->hhead + i) % r->hcap]);
            free(r->hist);
            free(r->subs);
            free(r);
        }
    for (size_t i = 0; i < h->norigins; i++)
        free(h->origins[i]);
    free(h->origins);
    free(h->token);
    tr__metrics_free(h->metrics);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

size_t tr__ws_metrics_append(const tr__ws_hub *h, char **text, size_t len)
{
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } m[] = {
        {"troupe_ws_connections", "gauge", "Open /ws connections.",
         offsetof(tr__ws_stats, connections)},
        {"troupe_ws_handshakes_rejected_total", "counter", "Refused /ws handshakes.",
         offsetof(tr__ws_stats, rejected)},
        {"troupe_ws_events_total", "counter", "Events handed to the fan-out.",
         offsetof(tr__ws_stats, events)},
        {"troupe_ws_frames_sent_total", "counter", "Frames written to /ws clients.",
         offsetof(tr__ws_stats, frames_sent)},
        {"troupe_ws_partial_writes_total", "counter",
         "Writes the kernel took only part of (the socket buffer was full).",
         offsetof(tr__ws_stats, partial_writes)},
        {"troupe_ws_frames_dropped_total", "counter", "Frames dropped: send queue full.",
         offsetof(tr__ws_stats, frames_dropped)},
        {"troupe_ws_handoff_dropped_total", "counter", "Events dropped: hand-off full.",
         offsetof(tr__ws_stats, handoff_dropped)},
        {"troupe_ws_slow_disconnects_total", "counter", "Slow clients disconnected.",
         offsetof(tr__ws_stats, slow_disconnects)},
        {"troupe_ws_bad_frames_total", "counter", "Inbound frames answered with an error.",
         offsetof(tr__ws_stats, bad_frames)},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        const atomic_uint_fast64_t *v =
            (const atomic_uint_fast64_t *)((const char *)&h->st + m[i].off);
        char line[512];
        int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", m[i].name,
                         m[i].help, m[i].name, m[i].type, m[i].name,
                         (unsigned long long)atomic_load(v));
        if (n <= 0 || (size_t)n >= sizeof line)
            continue;
        char *nt = realloc(*text, len + (size_t)n + 1);
        if (nt == NULL)
            break;
        memcpy(nt + len, line, (size_t)n + 1);
        *text = nt;
        len += (size_t)n;
    }
    return len;
}
