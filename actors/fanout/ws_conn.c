/*
 * actors/fanout/ws_conn.c -- one /ws connection: handshake, ops, send queue.
 *
 * Design.  The lws protocol "troupe-ws" (the vhost default for upgrades
 * without a subprotocol) keeps a tr__ws_conn as per-session data.  lws asks
 * that default protocol to vet the upgrade (CONFIRM_UPGRADE: path /ws,
 * bearer token or ?token=, Origin allow-list) while it is still HTTP, so a
 * refused client gets a plain HTTP 401/403/404.  Inbound text messages are reassembled (capped at
 * server.max_payload: beyond it the connection is closed 1009), rate limited
 * (server.rate_limit msgs/s: error, then close 1008) and parsed with jansson
 * into ops (subscribe / unsubscribe / publish).  Every answer is a frame
 * queued on the same send queue as the events, so a client sees
 * `subscribed`, then the replayed history, then live events, in order.
 *
 * Send queue.  A ring of frame references that grows on demand up to
 * qmax (server.send_queue) for live events, plus headroom for answers and
 * replay (history + 16).  WRITEABLE sends up to 64 queued frames (64 KB)
 * with ONE sendmsg, without copying them (write_queued), and re-arms while
 * frames remain.  A live
 * event that finds the queue full is dropped for this connection only: with
 * slow_client=drop the missed seq range is remembered per room and sent as a
 * `dropped` marker once the queue has drained; with slow_client=disconnect
 * the connection is closed (1008) at once.  Nothing ever waits on a client.
 *
 * Socket.IO (sio_conn.c) shares this protocol: an upgrade to /socket.io/
 * becomes a tr__ws_conn with c->sio set; the queue, limits, rooms, ops and
 * close paths here are reused, answers become acks (tr__sio_answer) and
 * event frames are swapped for their Socket.IO twin in tr__ws_conn_push.
 *
 * Ownership.  c->q slots and replayed frames hold frame references; c->rx,
 * c->drops and c->q are malloc'd by the connection and freed on CLOSED.  The
 * rooms in c->subs are the hub's (borrowed).  Service thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <jansson.h>

#include "actors/fanout/fanout_internal.h"
#include "actors/fanout/sio_conn.h"
#include "actors/fanout/ws_hub.h"
#include "codecs/mp_jansson.h"
#include "troupe/bus.h"
#include "troupe/codec.h"

#define MAX_ERRORS 10   /* error answers before the connection is closed */
#define DROPS_MAX 256   /* distinct rooms with pending drop ranges        */
#define CONTROL_ROOM 16 /* queue headroom for answers                     */

static const struct lws_protocol_vhost_options pvo_default = {NULL, NULL, "default", "1"};
const struct lws_protocol_vhost_options tr__ws_pvo = {NULL, &pvo_default, TR__WS_PROTOCOL_NAME,
                                                      ""};

static void count(atomic_uint_fast64_t *v, int d)
{
    if (d >= 0)
        atomic_fetch_add(v, (uint_fast64_t)d);
    else
        atomic_fetch_sub(v, (uint_fast64_t)-d);
}

static void schedule_close(tr__ws_conn *c, int code, const char *reason, bool now)
{
    if (c->close_code == 0 || now) {
        c->close_code = code;
        snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    }
    c->kill |= now;
    lws_callback_on_writable(c->wsi);
}

static void note_drop(tr__ws_conn *c, const tr__ws_frame *f)
{
    if (f->seq == 0)
        return; /* a metrics snapshot: the next one supersedes it */
    char room[TR__WS_ROOM_MAX];
    snprintf(room, sizeof room, "%s%s", f->emergency ? "emergency" : "workflow:",
             f->emergency ? "" : f->wf);
    for (uint32_t i = 0; i < c->ndrops; i++)
        if (strcmp(c->drops[i].room, room) == 0) {
            if (f->seq < c->drops[i].from)
                c->drops[i].from = f->seq;
            if (f->seq > c->drops[i].to)
                c->drops[i].to = f->seq;
            return;
        }
    if (c->ndrops == DROPS_MAX)
        return;
    tr__ws_drop *nd = realloc(c->drops, (c->ndrops + 1) * sizeof(*nd));
    if (nd == NULL)
        return;
    c->drops = nd;
    snprintf(nd[c->ndrops].room, sizeof nd[c->ndrops].room, "%s", room);
    nd[c->ndrops].from = nd[c->ndrops].to = f->seq;
    c->ndrops++;
}

static bool grow(tr__ws_conn *c, uint32_t hard)
{
    uint32_t cap = c->qcap ? c->qcap * 2 : 64;
    if (cap > hard)
        cap = hard;
    tr__ws_frame **n = malloc(cap * sizeof(*n));
    if (n == NULL)
        return false;
    for (uint32_t i = 0; i < c->qlen; i++)
        n[i] = c->q[(c->qhead + i) % c->qcap];
    free(c->q);
    c->q = n;
    c->qcap = cap;
    c->qhead = 0;
    return true;
}

void tr__ws_conn_close(tr__ws_conn *c, int code, const char *reason, bool now)
{
    schedule_close(c, code, reason, now);
}

bool tr__ws_conn_push(tr__ws_conn *c, tr__ws_frame *f, bool control)
{
    tr__ws_hub *h = c->hub;
    if (c->sio && f->data_off > 0 && (f = tr__sio_twin(f)) == NULL)
        return false; /* out of memory */
    uint32_t hard = c->qmax + h->history + CONTROL_ROOM;
    if (c->qlen >= (control ? hard : c->qmax) || (c->qlen == c->qcap && !grow(c, hard))) {
        if (control) {
            schedule_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "send queue full", true);
            return false;
        }
        count(&h->st.frames_dropped, 1);
        if (h->slow_disconnect) {
            if (!c->kill) {
                count(&h->st.slow_disconnects, 1);
                schedule_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                               "slow client: send queue full", true);
                /* a client that reads nothing never becomes writeable */
                lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 1);
            }
        } else {
            note_drop(c, f);
        }
        return false;
    }
    c->q[(c->qhead + c->qlen++) % c->qcap] = tr__ws_frame_ref(f);
    if (c->qlen == 1) /* else already armed: on_writeable re-arms while queued */
        lws_callback_on_writable(c->wsi);
    return true;
}

/* Queue {"event":ev,"data":data}; steals data. */
static void answer(tr__ws_conn *c, const char *ev, json_t *data)
{
    if (c->sio)
        return tr__sio_answer(c, ev, data); /* an ack (or nothing) instead */
    json_t *j = json_pack("{s:s,s:o}", "event", ev, "data", data ? data : json_object());
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    tr__ws_frame *f = s ? tr__ws_frame_new(s, strlen(s)) : NULL;
    if (f != NULL)
        tr__ws_conn_push(c, f, true);
    tr__ws_frame_unref(f);
    free(s);
    json_decref(j);
}

static void bad(tr__ws_conn *c, const char *op, const char *msg)
{
    count(&c->hub->st.bad_frames, 1);
    json_t *d = json_pack("{s:s}", "error", msg);
    if (d != NULL && op != NULL)
        json_object_set_new(d, "op", json_string(op));
    answer(c, "error", d);
    if (++c->errors >= MAX_ERRORS)
        schedule_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many bad frames", false);
}

void tr__ws_conn_bad(tr__ws_conn *c, const char *op, const char *msg)
{
    bad(c, op, msg);
}

static void marker(tr__ws_conn *c, const char *room, uint64_t from, uint64_t to)
{
    answer(c, "dropped",
           json_pack("{s:s,s:I,s:I}", "room", room, "from_seq", (json_int_t)from, "to_seq",
                     (json_int_t)to));
}

static const char *const id_keys[3] = {"workflow_id", "bot_id", "strategy_id"};

/* The room an op names: "" + error text on failure. */
static const char *room_of(json_t *j, bool one, char *room, const char **kind, const char **id)
{
    static const char *const prefix[3] = {"workflow:", "bot:", "strategy:"};
    int found = 0;
    for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(j, id_keys[i]);
        if (v == NULL)
            continue;
        const char *s = json_string_value(v);
        if (s == NULL || s[0] == '\0' || strlen(s) >= TR__WS_ID_MAX)
            return "ids must be non-empty strings of at most 127 bytes";
        if (found++ == 0) {
            snprintf(room, TR__WS_ROOM_MAX, "%s%s", prefix[i], s);
            *kind = id_keys[i];
            *id = s;
        }
    }
    if (found == 0)
        return "missing field: workflow_id, bot_id or strategy_id";
    if (one && found > 1)
        return "give exactly one of workflow_id, bot_id, strategy_id";
    return NULL;
}

static void op_subscribe(tr__ws_conn *c, json_t *j, bool sub)
{
    const char *op = sub ? "subscribe" : "unsubscribe";
    json_t *ch = json_object_get(j, "channel");
    if (ch != NULL) {
        const char *chn = json_is_string(ch) ? json_string_value(ch) : "";
        bool met = strcmp(chn, "metrics") == 0; /* metrics_agg.c */
        if (!met && strcmp(chn, "emergency") != 0)
            return bad(c, op, "unknown channel (\"emergency\" or \"metrics\")");
        *(met ? &c->metrics : &c->emergency) = sub;
        return answer(c, sub ? "subscribed" : "unsubscribed",
                      json_pack("{s:s}", "room", chn));
    }
    char name[TR__WS_ROOM_MAX];
    const char *kind, *id, *err = room_of(j, true, name, &kind, &id);
    if (err != NULL)
        return bad(c, op, err);
    uint32_t at = c->nsubs;
    for (uint32_t i = 0; i < c->nsubs; i++)
        if (strcmp(c->subs[i]->name, name) == 0)
            at = i;
    if (!sub) {
        if (at < c->nsubs) {
            tr__ws_room_del_sub(c->subs[at], c);
            c->subs[at] = c->subs[--c->nsubs];
        }
        return answer(c, "unsubscribed", json_pack("{s:s}", "room", name));
    }
    json_t *since = json_object_get(j, "since");
    if (since != NULL && (!json_is_integer(since) || json_integer_value(since) < 0))
        return bad(c, op, "since must be a non-negative integer");
    if (since != NULL && strcmp(kind, "workflow_id") != 0)
        return bad(c, op, "since is only supported with workflow_id (seq is per workflow)");
    if (at == c->nsubs && c->nsubs == TR__WS_SUBS_MAX)
        return bad(c, op, "too many subscriptions (max 64 per connection)");
    tr__ws_room *r = tr__ws_room_get(c->hub, name, true);
    if (r == NULL)
        return bad(c, op, "too many rooms");
    if (at == c->nsubs) {
        if (tr__ws_room_add_sub(r, c) != 0)
            return bad(c, op, "out of memory");
        c->subs[c->nsubs++] = r;
    }
    answer(c, "subscribed", json_pack("{s:s,s:I}", "room", name, "seq", (json_int_t)r->last_seq));
    if (since == NULL)
        return;
    uint64_t from = (uint64_t)json_integer_value(since);
    if (r->hlen > 0 && r->hist[r->hhead]->seq > from + 1)
        marker(c, name, from + 1, r->hist[r->hhead]->seq - 1); /* beyond history */
    for (uint32_t i = 0; i < r->hlen; i++) {
        tr__ws_frame *f = r->hist[(r->hhead + i) % r->hcap];
        if (f->seq > from && !tr__ws_conn_push(c, f, true))
            break;
    }
}

static bool named_by_op(json_t *op, const char *key, size_t n)
{
    for (int i = 0; i < 3; i++)
        if (strlen(id_keys[i]) == n && memcmp(id_keys[i], key, n) == 0)
            return json_object_get(op, id_keys[i]) != NULL;
    return false;
}

/* The event as msgpack, written straight from the parsed op (no second
 * parse): its members, with the ids the op names (workflow_id, bot_id,
 * strategy_id) taking the place of the event's own. */
static int publish_payload(json_t *op, json_t *ev, tr_payload **out)
{
    uint32_t n = 0;
    for (void *it = json_object_iter(ev); it != NULL; it = json_object_iter_next(ev, it))
        n += !named_by_op(op, json_object_iter_key(it), json_object_iter_key_len(it));
    for (int i = 0; i < 3; i++)
        n += json_object_get(op, id_keys[i]) != NULL;
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_map(&b, n);
    int rc = 0;
    for (void *it = json_object_iter(ev); rc == 0 && it != NULL;
         it = json_object_iter_next(ev, it)) {
        const char *k = json_object_iter_key(it);
        size_t kn = json_object_iter_key_len(it);
        if (named_by_op(op, k, kn))
            continue;
        tr_mp_write_str(&b, k, kn);
        rc = tr__mp_from_jansson(&b, json_object_iter_value(it));
    }
    for (int i = 0; rc == 0 && i < 3; i++) {
        json_t *v = json_object_get(op, id_keys[i]);
        if (v == NULL)
            continue;
        tr_mp_write_cstr(&b, id_keys[i]);
        rc = tr__mp_from_jansson(&b, v);
    }
    if (rc == 0)
        rc = tr_buf_finish(&b, out);
    tr_buf_fini(&b);
    return rc;
}

static void op_publish(tr__ws_conn *c, json_t *j)
{
    char name[TR__WS_ROOM_MAX];
    const char *kind, *id, *err = room_of(j, false, name, &kind, &id);
    if (err != NULL)
        return bad(c, "publish", err);
    json_t *ev = json_object_get(j, "event");
    if (!json_is_object(ev) || !json_is_string(json_object_get(ev, "type")))
        return bad(c, "publish", "event must be an object with a string type");
    tr_payload *p = NULL;
    int rc = publish_payload(j, ev, &p);
    if (rc == TR_EPROTO)
        return bad(c, "publish", "event nested too deep");
    if (rc == 0)
        rc = tr_bus_publish(tr_engine_bus(c->hub->engine), TR_BUS_CH_WORKFLOW, p);
    tr_payload_unref(p);
    if (rc != 0)
        return bad(c, "publish", "the bus refused the event");
    answer(c, "published", json_pack("{s:s}", "room", name));
}

bool tr__ws_conn_rate_limited(tr__ws_conn *c)
{
    tr__ws_hub *h = c->hub;
    if (h->rate_limit > 0) {
        uint64_t now = tr__serve_mono_ms();
        if (now - c->win_ms >= 1000) {
            c->win_ms = now;
            c->win_n = 0;
        }
        if (++c->win_n > h->rate_limit) {
            if (c->close_code == 0) {
                bad(c, NULL, "rate limit exceeded");
                schedule_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "rate limit exceeded",
                               false);
            }
            return true;
        }
    }
    return false;
}

void tr__ws_conn_op(tr__ws_conn *c, const char *op, json_t *j)
{
    if (strcmp(op, "subscribe") == 0 || strcmp(op, "unsubscribe") == 0)
        op_subscribe(c, j, op[0] == 's');
    else if (strcmp(op, "publish") == 0)
        op_publish(c, j);
    else
        bad(c, op, "unknown op");
}

static void on_message(tr__ws_conn *c, const char *text, size_t len)
{
    if (tr__ws_conn_rate_limited(c))
        return;
    json_error_t jerr;
    json_t *j = json_loadb(text, len, 0, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        return bad(c, NULL, "malformed frame: expected a JSON object");
    }
    const char *op = json_string_value(json_object_get(j, "op"));
    if (op == NULL)
        bad(c, NULL, "missing field: op");
    else
        tr__ws_conn_op(c, op, j);
    json_decref(j);
}

static int on_receive(tr__ws_conn *c, const void *in, size_t len)
{
    if (c->rxlen + len > c->hub->max_payload) {
        count(&c->hub->st.bad_frames, 1);
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                         (unsigned char *)"frame too big", 13);
        return -1;
    }
    if (c->rxlen + len + 1 > c->rxcap) {
        size_t cap = c->rxcap ? c->rxcap : 1024;
        while (cap < c->rxlen + len + 1)
            cap *= 2;
        char *n = realloc(c->rx, cap);
        if (n == NULL)
            return -1;
        c->rx = n;
        c->rxcap = cap;
    }
    memcpy(c->rx + c->rxlen, in, len);
    c->rxlen += len;
    if (!lws_is_final_fragment(c->wsi))
        return 0;
    size_t n = c->rxlen;
    c->rxlen = 0;
    if (c->sio)
        tr__sio_message(c, c->rx, n);
    else
        on_message(c, c->rx, n);
    return 0;
}

static tr__ws_frame *pop(tr__ws_conn *c)
{
    tr__ws_frame *f = c->q[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    return f;
}

/* Send what is queued: up to TR__WS_IOV frames / TR__WS_BATCH bytes in ONE
 * sendmsg, straight from the shared frames (header and text are contiguous,
 * ws_hub.h), so a burst costs one system call and no copy.  lws calls
 * WRITEABLE only when it has nothing of its own pending on the socket, so
 * these bytes go out in order.  The one thing lws must not see is a frame cut
 * in the middle (its own pong or close would land inside it): when the kernel
 * takes part of a frame, the rest is handed to lws_write as raw bytes, which
 * lws sends or keeps (a copy of at most one frame) and flushes before
 * anything else.  Returns the frames written, -1 when the connection is
 * broken. */
static int write_queued(tr__ws_conn *c)
{
    struct iovec iov[TR__WS_IOV];
    int n = 0;
    size_t bytes = 0;
    for (uint32_t i = 0; i < c->qlen && n < TR__WS_IOV && bytes < TR__WS_BATCH; i++, n++) {
        tr__ws_frame *f = c->q[(c->qhead + i) % c->qcap];
        iov[n].iov_base = f->buf + LWS_PRE - f->hlen;
        iov[n].iov_len = f->hlen + f->len;
        bytes += iov[n].iov_len;
    }
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t sent = sendmsg(lws_get_socket_fd(c->wsi), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        sent = 0; /* full: lws asks again when there is room */
    }
    int done = 0;
    for (size_t left = (size_t)sent; left > 0; done++) {
        tr__ws_frame *f = pop(c);
        size_t flen = f->hlen + (size_t)f->len;
        if (left < flen) { /* the kernel took part of it: lws keeps the rest */
            size_t rest = flen - left;
            atomic_fetch_add_explicit(&c->hub->st.partial_writes, 1, memory_order_relaxed);
            int w = lws_write(c->wsi, f->buf + LWS_PRE - f->hlen + left, rest, LWS_WRITE_RAW);
            tr__ws_frame_unref(f);
            if (w < (int)rest)
                return -1;
            return done + 1;
        }
        left -= flen;
        tr__ws_frame_unref(f);
    }
    return done;
}

static int on_writeable(tr__ws_conn *c)
{
    if (c->kill || (c->close_code != 0 && c->qlen == 0)) {
        lws_close_reason(c->wsi, (enum lws_close_status)c->close_code,
                         (unsigned char *)c->close_reason, strlen(c->close_reason));
        return -1;
    }
    if (c->qlen == 0 && c->ndrops > 0) {
        uint32_t n = c->ndrops;
        c->ndrops = 0;
        for (uint32_t i = 0; i < n; i++)
            marker(c, c->drops[i].room, c->drops[i].from, c->drops[i].to);
    }
    if (c->qlen == 0)
        return 0;
    int n = write_queued(c);
    if (n < 0)
        return -1;
    atomic_fetch_add_explicit(&c->hub->st.frames_sent, (uint_fast64_t)n, memory_order_relaxed);
    if (c->qlen > 0 || c->ndrops > 0 || c->close_code != 0)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static void conn_open(tr__ws_hub *h, tr__ws_conn *c, struct lws *wsi)
{
    memset(c, 0, sizeof(*c));
    c->wsi = wsi;
    c->hub = h;
    c->qmax = h->send_queue;
    c->live = true;
    /* Bound what a slow client can hold in the kernel too (best effort: the
     * kernel clamps and doubles the value, and a failure leaves autotuning). */
    if (h->sndbuf > 0)
        (void)setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &h->sndbuf,
                         sizeof h->sndbuf);
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    count(&h->st.connections, 1);
    count(&h->st.accepted, 1);
    if (atomic_load(&h->closing))
        schedule_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down", true);
}

static void conn_close(tr__ws_hub *h, tr__ws_conn *c)
{
    if (!c->live)
        return;
    c->live = false;
    for (uint32_t i = 0; i < c->nsubs; i++)
        tr__ws_room_del_sub(c->subs[i], c);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    for (uint32_t i = 0; i < c->qlen; i++)
        tr__ws_frame_unref(c->q[(c->qhead + i) % c->qcap]);
    free(c->q);
    free(c->drops);
    free(c->rx);
    count(&h->st.connections, -1);
    /* Stopping: the service loop waits for the last connection; wake it to
     * see this one gone (lws may otherwise sleep in poll for its own next
     * timer, tens of seconds away). */
    if (atomic_load(&h->closing))
        lws_cancel_service(h->ctx);
}

int tr__ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    tr__ws_conn *c = user;
    struct lws_context *ctx = wsi ? lws_get_context(wsi) : NULL;
    tr__api *api = ctx ? tr__serve_api(ctx) : NULL;
    tr__ws_hub *h = api ? api->ws : NULL;
    if (h == NULL)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: /* the vhost default protocol gets it */
        return tr__ws_confirm_upgrade(h, wsi, in);
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        tr__ws_hub_drain(h);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        conn_open(h, c, wsi);
        tr__sio_established(c); /* /socket.io/: the Engine.IO open packet */
        return 0;
    case LWS_CALLBACK_TIMER:
        return c->sio ? tr__sio_timer(c) : 0;
    case LWS_CALLBACK_RECEIVE:
        return c->kill ? 0 : on_receive(c, in, len); /* closing: ignore input */
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(c);
    case LWS_CALLBACK_CLOSED:
        conn_close(h, c);
        return 0;
    default:
        return 0;
    }
}

static bool origin_ok(tr__ws_hub *h, struct lws *wsi)
{
    char origin[256], host[256];
    if (h->any_origin || lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
        return true; /* no Origin: not a browser */
    for (size_t i = 0; i < h->norigins; i++)
        if (strcmp(h->origins[i], origin) == 0)
            return true;
    if (h->norigins > 0 || lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0)
        return false;
    const char *o = strstr(origin, "://"); /* empty list: same origin only */
    return o != NULL && strcmp(o + 3, host) == 0;
}

static bool token_ok(tr__ws_hub *h, struct lws *wsi)
{
    if (h->token[0] == '\0')
        return true;
    char buf[TR__HTTP_AUTH_MAX];
    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
        strncmp(buf, "Bearer ", 7) == 0 && tr__token_eq(h->token, buf + 7))
        return true;
    for (int i = 0; i < TR__HTTP_ARGS_MAX; i++) {
        if (lws_hdr_copy_fragment(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_URI_ARGS, i) <= 0)
            break;
        if (strncmp(buf, "token=", 6) == 0 && tr__token_eq(h->token, buf + 6))
            return true;
    }
    return false;
}

int tr__ws_confirm_upgrade(tr__ws_hub *h, struct lws *wsi, const char *to)
{
    if (h == NULL || to == NULL || strcmp(to, "websocket") != 0)
        return 0;
    char uri[TR__HTTP_PATH_MAX];
    unsigned code = 0;
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        code = 404;
    else if (tr__sio_path(uri))
        code = tr__sio_check_query(wsi); /* auth comes later, in CONNECT */
    else if (strcmp(uri, "/ws") != 0)
        code = 404;
    else if (!token_ok(h, wsi))
        code = 401;
    if (code == 0 && !origin_ok(h, wsi))
        code = 403;
    if (code == 0)
        return 0;
    count(&h->st.rejected, 1);
    if (lws_return_http_status(wsi, code, NULL) != 0)
        return -1;
    return 1;
}
