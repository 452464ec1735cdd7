/*
 * actors/fanout/metrics_agg.c -- per bot / per strategy metrics (see
 * metrics_agg.h for the design; wire format in docs/websocket.md).
 *
 * Threads and ownership.  tr__metrics_on_event runs on the bus worker and
 * only touches entities under m->mu (field updates, a ring slot, the dirty
 * list; calloc once per new id).  Everything else runs on the lws service
 * thread: the timer pops dirty entities one at a time (copying the
 * snapshot and the duration ring under the mutex), then sorts, encodes and
 * delivers outside it.  Entities are owned by m and freed with it; frames
 * built here are refcounted like the hub's (ws_hub.h): the /ws frame owns
 * its Socket.IO twin, each send queue holds one reference.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/fanout/metrics_agg.h"
#include "troupe/bus.h"

#define BUCKETS 256

typedef struct ent {
    char id[TR__WS_ID_MAX];
    bool strategy;               /* a strategy_id entity, else a bot_id one */
    bool dirty;                  /* on the dirty list                      */
    bool has_pnl;
    uint64_t started, completed, failed, halted;
    double daily_pnl, total_pnl;
    uint32_t lnext, llen;        /* lat[0..llen) valid; next write at lnext */
    double lat[TR__MET_WINDOW];
    struct ent *next, *dnext;    /* hash chain, dirty list                 */
} ent;

typedef struct snap {
    char id[TR__WS_ID_MAX];
    bool strategy, has_pnl;
    uint64_t started, completed, failed, halted;
    double daily_pnl, total_pnl;
    uint32_t n;
} snap;

struct tr__metrics {
    tr__ws_hub *hub;
    uint32_t interval_ms;
    pthread_mutex_t mu;          /* guards the entities and the dirty list */
    ent *buckets[BUCKETS];
    uint32_t nents;
    ent *dirty;
    atomic_bool pending;         /* something changed since the last arm   */
    /* service thread only */
    lws_sorted_usec_list_t sul;
    bool armed, stopped;
    double scratch[TR__MET_WINDOW];
};

static uint32_t interval_from_env(void)
{
    const char *v = getenv("TROUPE_METRICS_INTERVAL_MS");
    char *end;
    unsigned long x = v ? strtoul(v, &end, 10) : 0;
    if (v == NULL || *v == '\0' || *end != '\0' || x < 10 || x > 3600000)
        return TR__MET_INTERVAL_MS;
    return (uint32_t)x;
}

tr__metrics *tr__metrics_new(tr__ws_hub *h)
{
    tr__metrics *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->hub = h;
    m->interval_ms = interval_from_env();
    pthread_mutex_init(&m->mu, NULL);
    atomic_init(&m->pending, false);
    return m;
}

void tr__metrics_free(tr__metrics *m)
{
    if (m == NULL)
        return;
    for (int b = 0; b < BUCKETS; b++)
        for (ent *e = m->buckets[b], *nx; e != NULL; e = nx) {
            nx = e->next;
            free(e);
        }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* ---- bus worker ---------------------------------------------------------- */

static bool get_str(tr_mp_val root, const char *key, const char **s, size_t *n)
{
    tr_mp_val v;
    return tr_mp_map_get(root, key, &v) == 0 && tr_mp_get_str(v, s, n) == 0 && *n > 0 &&
           *n < TR__WS_ID_MAX && memchr(*s, '\0', *n) == NULL;
}

/* Under m->mu: the entity of (strategy, id[0..n)), created when absent. */
static ent *ent_get(tr__metrics *m, bool strategy, const char *id, size_t n)
{
    uint32_t x = strategy ? 2166136261u : 16777619u;
    for (size_t i = 0; i < n; i++)
        x = (x ^ (uint8_t)id[i]) * 16777619u;
    ent **b = &m->buckets[x % BUCKETS];
    for (ent *e = *b; e != NULL; e = e->next)
        if (e->strategy == strategy && strncmp(e->id, id, n) == 0 && e->id[n] == '\0')
            return e;
    if (m->nents >= TR__MET_ENTITIES)
        return NULL;
    ent *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    memcpy(e->id, id, n);
    e->strategy = strategy;
    e->next = *b;
    *b = e;
    m->nents++;
    return e;
}

enum { EV_STARTED, EV_COMPLETED, EV_FAILED, EV_HALTED, EV_PNL };

void tr__metrics_on_event(tr__metrics *m, tr_mp_val root)
{
    static const char *const types[] = {"execution_started", "execution_completed",
                                        "execution_failed", "execution_halted",
                                        "node_completed"};
    tr_mp_val v;
    int kind = -1;
    if (m == NULL || tr_mp_map_get(root, "type", &v) != 0)
        return;
    for (int i = 0; i < 5 && kind < 0; i++)
        if (tr_mp_str_eq(v, types[i]))
            kind = i;
    double dur = 0, daily = NAN, total = NAN;
    bool has_dur = false;
    if (kind < 0)
        return;
    if (kind == EV_PNL) {
        if (tr_mp_path(root, "outputs.daily_pnl", &v) == 0)
            tr_mp_get_double(v, &daily);
        if (tr_mp_path(root, "outputs.total_realized_pnl", &v) == 0)
            tr_mp_get_double(v, &total);
        if (isnan(daily) && isnan(total))
            return; /* not a trade node */
    } else if (kind == EV_COMPLETED || kind == EV_FAILED) {
        has_dur = tr_mp_map_get(root, "duration_ms", &v) == 0 &&
                  tr_mp_get_double(v, &dur) == 0 && dur >= 0;
    }
    const char *ids[2];
    size_t lens[2];
    bool have[2] = {get_str(root, "bot_id", &ids[0], &lens[0]),
                    get_str(root, "strategy_id", &ids[1], &lens[1])};
    if (!have[0] && !have[1])
        return;
    pthread_mutex_lock(&m->mu);
    for (int k = 0; k < 2; k++) {
        ent *e = have[k] ? ent_get(m, k == 1, ids[k], lens[k]) : NULL;
        if (e == NULL)
            continue;
        switch (kind) {
        case EV_STARTED: e->started++; break;
        case EV_COMPLETED: e->completed++; break;
        case EV_FAILED: e->failed++; break;
        case EV_HALTED: e->halted++; break;
        default:
            if (!isnan(daily))
                e->daily_pnl = daily;
            if (!isnan(total))
                e->total_pnl = total;
            e->has_pnl = true;
        }
        if (has_dur) {
            e->lat[e->lnext] = dur;
            e->lnext = (e->lnext + 1) % TR__MET_WINDOW;
            if (e->llen < TR__MET_WINDOW)
                e->llen++;
        }
        if (!e->dirty) {
            e->dirty = true;
            e->dnext = m->dirty;
            m->dirty = e;
        }
    }
    pthread_mutex_unlock(&m->mu);
    atomic_store_explicit(&m->pending, true, memory_order_release);
}

/* ---- service thread ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least p of the samples <= it. */
static double pct(const double *s, uint32_t n, double p)
{
    uint32_t r = (uint32_t)ceil(p * n);
    return s[r > 0 ? r - 1 : 0];
}

/* The data object of one snapshot (sorted durations in m->scratch). */
static json_t *encode(const tr__metrics *m, const snap *s)
{
    json_t *lat = s->n > 0 ? json_pack("{s:f,s:f,s:f}", "p50", pct(m->scratch, s->n, 0.50),
                                       "p95", pct(m->scratch, s->n, 0.95), "p99",
                                       pct(m->scratch, s->n, 0.99))
                           : json_pack("{s:n,s:n,s:n}", "p50", "p95", "p99");
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:o,s:o,s:I}", "type", "metrics",
                     s->strategy ? "strategy_id" : "bot_id", s->id, "started",
                     (json_int_t)s->started, "executions",
                     (json_int_t)(s->completed + s->failed + s->halted), "completed",
                     (json_int_t)s->completed, "failures", (json_int_t)s->failed, "halted",
                     (json_int_t)s->halted, "latency_ms", lat, "window", (json_int_t)s->n,
                     "daily_pnl", s->has_pnl ? json_real(s->daily_pnl) : json_null(),
                     "total_realized_pnl", s->has_pnl ? json_real(s->total_pnl) : json_null(),
                     "interval_ms", (json_int_t)m->interval_ms);
}

/* The /ws frame for data text d, owning its Socket.IO twin.  NULL = OOM. */
static tr__ws_frame *make_frame(const char *d, size_t dn)
{
    static const char pre[] = "{\"event\":\"metrics\",\"data\":";
    static const char spre[] = "42[\"metrics\",";
    size_t pn = sizeof pre - 1, sn = sizeof spre - 1;
    char *t = malloc(pn + dn + 2);
    if (t == NULL)
        return NULL;
    memcpy(t, pre, pn);
    memcpy(t + pn, d, dn);
    t[pn + dn] = '}';
    tr__ws_frame *f = tr__ws_frame_new(t, pn + dn + 1);
    memcpy(t, spre, sn);
    memcpy(t + sn, d, dn);
    t[sn + dn] = ']';
    tr__ws_frame *tw = f ? tr__ws_frame_new(t, sn + dn + 1) : NULL;
    free(t);
    if (tw == NULL) {
        tr__ws_frame_unref(f);
        return NULL;
    }
    f->data_off = (uint32_t)pn; /* a plain event frame: the twin below */
    f->sio = tw;
    return f;
}

static void deliver(tr__ws_hub *h, tr__ws_conn *c, tr__ws_frame *f)
{
    if (c->stamp == h->stamp || c->kill || c->close_code != 0)
        return;
    c->stamp = h->stamp;
    tr__ws_conn_push(c, f, false);
}

static void emit(tr__metrics *m, const snap *s)
{
    qsort(m->scratch, s->n, sizeof m->scratch[0], cmp_double);
    json_t *d = encode(m, s);
    char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (text == NULL)
        return;
    size_t n = strlen(text);
    tr__ws_hub *h = m->hub;
    tr__ws_frame *f = make_frame(text, n);
    if (f != NULL) {
        char room[TR__WS_ROOM_MAX];
        snprintf(room, sizeof room, "%s%s", s->strategy ? "strategy:" : "bot:", s->id);
        tr__ws_room *r = tr__ws_room_get(h, room, false);
        h->stamp++;
        for (uint32_t k = 0; r != NULL && k < r->nsubs; k++)
            deliver(h, r->subs[k], f);
        for (tr__ws_conn *c = h->conns; c != NULL; c = c->next)
            if (c->metrics)
                deliver(h, c, f);
        tr__ws_frame_unref(f);
    }
    /* Embedders: the same object on the metrics channel.  tr_bus_publish
     * only waits when the bus is over capacity; the bus worker never waits
     * for this thread, so that cannot deadlock. */
    tr_buf b;
    tr_buf_init(&b);
    tr_payload *p = NULL;
    if (tr_json_to_mp(&b, text, n, NULL) == 0 && tr_buf_finish(&b, &p) == 0)
        tr_bus_publish(tr_engine_bus(h->engine), TR_BUS_CH_METRICS, p);
    tr_payload_unref(p);
    tr_buf_fini(&b);
    free(text);
}

static void tick(lws_sorted_usec_list_t *sul)
{
    tr__metrics *m = lws_container_of(sul, tr__metrics, sul);
    m->armed = false;
    if (m->stopped || atomic_load(&m->hub->closing))
        return;
    for (;;) {
        snap s;
        pthread_mutex_lock(&m->mu);
        ent *e = m->dirty;
        if (e != NULL) {
            m->dirty = e->dnext;
            e->dirty = false;
            e->dnext = NULL;
            memcpy(s.id, e->id, sizeof s.id);
            s.strategy = e->strategy;
            s.has_pnl = e->has_pnl;
            s.started = e->started;
            s.completed = e->completed;
            s.failed = e->failed;
            s.halted = e->halted;
            s.daily_pnl = e->daily_pnl;
            s.total_pnl = e->total_pnl;
            s.n = e->llen;
            memcpy(m->scratch, e->lat, e->llen * sizeof e->lat[0]);
        }
        pthread_mutex_unlock(&m->mu);
        if (e == NULL)
            break;
        emit(m, &s);
    }
}

void tr__metrics_service(tr__metrics *m)
{
    if (m == NULL || m->stopped)
        return;
    if (atomic_load(&m->hub->closing)) {
        m->stopped = true;
        if (m->armed)
            lws_sul_cancel(&m->sul);
        m->armed = false;
        return;
    }
    if (m->armed || !atomic_exchange_explicit(&m->pending, false, memory_order_acq_rel))
        return;
    m->armed = true;
    lws_sul_schedule(m->hub->ctx, 0, &m->sul, tick, (lws_usec_t)m->interval_ms * 1000);
}

void tr__metrics_sio_sub(tr__ws_conn *c, bool sub)
{
    json_t *j = json_pack("{s:s}", "channel", "metrics");
    if (j == NULL)
        return tr__ws_conn_bad(c, sub ? "subscribe_metrics" : "unsubscribe_metrics",
                               "out of memory");
    tr__ws_conn_op(c, sub ? "subscribe" : "unsubscribe", j);
    json_decref(j);
}
