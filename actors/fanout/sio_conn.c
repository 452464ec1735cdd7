/*
 * actors/fanout/sio_conn.c -- Socket.IO v4 / Engine.IO v4 wire format.
 *
 * Design (see sio_conn.h and docs/socketio.md).
 *  - Engine.IO: ESTABLISHED sends `0{"sid":..,"upgrades":[],"pingInterval":
 *    ..,"pingTimeout":..,"maxPayload":<server.max_payload>}` and arms the
 *    wsi timer.  Timer: send `2` and wait pingTimeout for `3`, else close
 *    (1000 "ping timeout").  `3` re-arms pingInterval.  A client `2`/`2probe`
 *    gets `3`/`3probe`; `1` closes; `6` (noop) is ignored; `4` carries a
 *    Socket.IO packet.  Anything else is a bad frame (ws_conn.c's policy:
 *    counted, closed after 10).
 *  - Socket.IO: namespace "/" only.  CONNECT `0{"token":..}` checks the
 *    token (when server.auth_token is set) and answers `40{"sid":..}` or
 *    `44{"message":"unauthorized"}`.  EVENT `2[<id>]["name",arg]` maps the
 *    client events to /ws ops with c->sio_ack set, so ws_conn.c's answer()
 *    lands in tr__sio_answer and becomes ACK `3<id>[{"ok":..}]` (no id: no
 *    answer, errors only counted).  DISCONNECT `1` closes the connection.
 *  - Twins: a plain event frame {"event":E,"data":D} (data_off marks D) gets
 *    a second frame `42["E",D]` made by copying D's bytes -- no JSON is
 *    re-encoded -- once, owned by the plain frame.
 *
 * Ownership.  Frames built here are pushed with tr__ws_conn_push (which
 * takes its own reference) and then released.  json values passed to
 * tr__sio_answer are stolen and freed here.  Service thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/fanout/metrics_agg.h"
#include "actors/fanout/sio_conn.h"

void tr__sio_timing(uint32_t *ping_ms, uint32_t *timeout_ms)
{
    const char *names[2] = {"TROUPE_SIO_PING_INTERVAL_MS", "TROUPE_SIO_PING_TIMEOUT_MS"};
    uint32_t *out[2] = {ping_ms, timeout_ms};
    *ping_ms = TR__SIO_PING_MS;
    *timeout_ms = TR__SIO_TIMEOUT_MS;
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(names[i]);
        long n = v ? strtol(v, NULL, 10) : 0;
        if (n >= 10 && n <= 3600000)
            *out[i] = (uint32_t)n;
    }
}

bool tr__sio_path(const char *path)
{
    return strcmp(path, "/socket.io/") == 0 || strcmp(path, "/socket.io") == 0;
}

/* "EIO=4" and "transport=websocket" among args (each "name=value"). */
static const char *query_error(const char *const *args, unsigned n)
{
    bool eio = false, ws = false, polling = false;
    for (unsigned i = 0; i < n; i++) {
        eio |= strcmp(args[i], "EIO=4") == 0;
        ws |= strcmp(args[i], "transport=websocket") == 0;
        polling |= strcmp(args[i], "transport=polling") == 0;
    }
    if (polling)
        return "transport polling is not supported: use transports: ['websocket']";
    if (!eio)
        return "unsupported Engine.IO version: EIO=4 only";
    if (!ws)
        return "unsupported transport: websocket only";
    return NULL;
}

unsigned tr__sio_check_query(struct lws *wsi)
{
    char buf[TR__HTTP_ARGS_MAX][TR__HTTP_ARG_LEN];
    const char *args[TR__HTTP_ARGS_MAX];
    unsigned n = 0;
    for (; n < TR__HTTP_ARGS_MAX; n++) {
        if (lws_hdr_copy_fragment(wsi, buf[n], TR__HTTP_ARG_LEN, WSI_TOKEN_HTTP_URI_ARGS,
                                  (int)n) <= 0)
            break;
        args[n] = buf[n];
    }
    return query_error(args, n) ? 400 : 0;
}

void tr__sio_http(const tr__http_req *req, tr__http_resp *resp)
{
    const char *args[TR__HTTP_ARGS_MAX];
    for (unsigned i = 0; i < req->nargs && i < TR__HTTP_ARGS_MAX; i++)
        args[i] = req->args[i];
    const char *err = query_error(args, req->nargs);
    tr__api_error(resp, 400, err ? err : "Socket.IO needs a WebSocket upgrade");
}

tr__ws_frame *tr__sio_twin(tr__ws_frame *f)
{
    if (f->sio != NULL)
        return f->sio;
    const char *text = (const char *)f->buf + LWS_PRE;
    const char *name = f->emergency ? "emergency_event" : "workflow_event";
    if (f->data_off == 0 || f->len < (size_t)f->data_off + 1)
        return NULL;
    size_t dlen = f->len - f->data_off - 1, nlen = strlen(name);
    char *s = malloc(dlen + nlen + 8);
    if (s == NULL)
        return NULL;
    size_t n = (size_t)sprintf(s, "42[\"%s\",", name);
    memcpy(s + n, text + f->data_off, dlen);
    n += dlen;
    s[n++] = ']';
    tr__ws_frame *t = tr__ws_frame_new(s, n);
    free(s);
    if (t == NULL)
        return NULL;
    t->seq = f->seq;
    t->emergency = f->emergency;
    memcpy(t->wf, f->wf, sizeof t->wf);
    memcpy(t->bot, f->bot, sizeof t->bot);
    memcpy(t->strat, f->strat, sizeof t->strat);
    f->sio = t;
    return t;
}

/* Queue text[0..n) as an answer (control frame). */
static void send_text(tr__ws_conn *c, const char *text, size_t n)
{
    tr__ws_frame *f = tr__ws_frame_new(text, n);
    if (f == NULL)
        return tr__ws_conn_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory",
                                 true);
    tr__ws_conn_push(c, f, true);
    tr__ws_frame_unref(f);
}

/* Queue prefix + compact JSON of j; steals j. */
static void send_json(tr__ws_conn *c, const char *prefix, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    size_t pl = strlen(prefix), sl = s ? strlen(s) : 0;
    char *m = s ? malloc(pl + sl) : NULL;
    if (m != NULL) {
        memcpy(m, prefix, pl);
        memcpy(m + pl, s, sl);
        send_text(c, m, pl + sl);
    }
    free(m);
    free(s);
}

void tr__sio_answer(tr__ws_conn *c, const char *ev, json_t *data)
{
    if (data == NULL)
        data = json_object();
    if (strcmp(ev, "dropped") == 0)
        return send_json(c, "42", json_pack("[s,o]", "dropped", data));
    if (c->sio_ack < 0) {
        json_decref(data);
        return;
    }
    char prefix[32];
    snprintf(prefix, sizeof prefix, "43%lld", (long long)c->sio_ack);
    c->sio_ack = -1; /* one answer per event */
    json_t *ack;
    if (strcmp(ev, "error") == 0) {
        const char *msg = json_string_value(json_object_get(data, "error"));
        ack = json_pack("{s:b,s:s}", "ok", 0, "error", msg ? msg : "error");
    } else {
        const char *room = json_string_value(json_object_get(data, "room"));
        json_t *seq = json_object_get(data, "seq");
        json_int_t last = seq ? json_integer_value(seq) : 0;
        tr__ws_room *r = room && !seq ? tr__ws_room_get(c->hub, room, false) : NULL;
        if (r != NULL)
            last = (json_int_t)r->last_seq;
        ack = json_pack("{s:b,s:s,s:I}", "ok", 1, "room", room ? room : "", "seq", last);
    }
    json_decref(data);
    send_json(c, prefix, json_pack("[o]", ack));
}

static const struct {
    const char *event, *op, *key;
} EVENTS[] = {
    {"subscribe_workflow", "subscribe", "workflow_id"},
    {"subscribe_bot", "subscribe", "bot_id"},
    {"subscribe_strategy", "subscribe", "strategy_id"},
    {"unsubscribe_workflow", "unsubscribe", "workflow_id"},
    {"unsubscribe_bot", "unsubscribe", "bot_id"},
    {"unsubscribe_strategy", "unsubscribe", "strategy_id"},
    {"publish", "publish", NULL},
};

/* A client event name + argument (borrowed) -> a /ws op. */
static void on_event(tr__ws_conn *c, const char *name, json_t *arg)
{
    if (strcmp(name, "subscribe_metrics") == 0 || strcmp(name, "unsubscribe_metrics") == 0)
        return tr__metrics_sio_sub(c, name[0] == 's'); /* metrics_agg.c */
    for (size_t i = 0; i < sizeof EVENTS / sizeof EVENTS[0]; i++) {
        if (strcmp(name, EVENTS[i].event) != 0)
            continue;
        if (EVENTS[i].key == NULL) {
            if (!json_is_object(arg))
                return tr__ws_conn_bad(c, name, "publish needs an object argument");
            return tr__ws_conn_op(c, EVENTS[i].op, arg);
        }
        /* {key: id, since?} or just the id as a string */
        json_t *id = json_is_string(arg) ? arg : json_object_get(arg, EVENTS[i].key);
        if (id == NULL) {
            char msg[64];
            snprintf(msg, sizeof msg, "missing field: %s", EVENTS[i].key);
            return tr__ws_conn_bad(c, name, msg);
        }
        json_t *j = json_object();
        json_t *since = json_object_get(arg, "since");
        if (j == NULL || json_object_set(j, EVENTS[i].key, id) != 0 ||
            (since != NULL && json_object_set(j, "since", since) != 0))
            tr__ws_conn_bad(c, name, "out of memory");
        else
            tr__ws_conn_op(c, EVENTS[i].op, j);
        json_decref(j);
        return;
    }
    tr__ws_conn_bad(c, name, "unknown event");
}

/* The Socket.IO packet inside an Engine.IO message. */
static void on_packet(tr__ws_conn *c, const char *p, size_t n)
{
    tr__ws_hub *h = c->hub;
    c->sio_ack = -1;
    if (n == 0)
        return tr__ws_conn_bad(c, NULL, "empty Socket.IO packet");
    char type = *p++;
    n--;
    if (n > 0 && *p == '/') { /* namespace: "/" only */
        const char *comma = memchr(p, ',', n);
        size_t nl = comma ? (size_t)(comma - p) : n;
        if (nl != 1) {
            char pre[80];
            snprintf(pre, sizeof pre, "44%.*s,", (int)(nl < 64 ? nl : 64), p);
            if (type == '0')
                send_json(c, pre, json_pack("{s:s}", "message", "Invalid namespace"));
            return tr__ws_conn_bad(c, NULL, "unknown namespace (only \"/\")");
        }
        p += comma ? nl + 1 : nl;
        n -= comma ? nl + 1 : nl;
    }
    int64_t ack = -1;
    if (type == '2')
        for (int d = 0; n > 0 && *p >= '0' && *p <= '9'; p++, n--, d++) {
            if (d == 15)
                return tr__ws_conn_bad(c, NULL, "ack id too long");
            ack = (ack < 0 ? 0 : ack * 10) + (*p - '0');
        }
    json_error_t jerr;
    json_t *j = n > 0 ? json_loadb(p, n, 0, &jerr) : NULL;
    if (n > 0 && j == NULL)
        type = 'x'; /* malformed JSON */
    c->sio_ack = ack;
    switch (type) {
    case '0': { /* CONNECT */
        const char *tok = json_string_value(json_object_get(j, "token"));
        if (n > 0 && !json_is_object(j)) {
            tr__ws_conn_bad(c, NULL, "CONNECT payload must be an object");
        } else if (h->token[0] != '\0' && (tok == NULL || !tr__token_eq(h->token, tok))) {
            atomic_fetch_add(&h->st.rejected, 1);
            send_json(c, "44", json_pack("{s:s}", "message", "unauthorized"));
        } else {
            unsigned char rnd[9];
            char prefix[40];
            lws_get_random(lws_get_context(c->wsi), rnd, sizeof rnd);
            int k = snprintf(prefix, sizeof prefix, "40{\"sid\":\"");
            for (size_t i = 0; i < sizeof rnd; i++)
                k += snprintf(prefix + k, sizeof prefix - (size_t)k, "%02x", rnd[i]);
            snprintf(prefix + k, sizeof prefix - (size_t)k, "\"}");
            c->sio_ns = true;
            send_text(c, prefix, strlen(prefix));
        }
        break;
    }
    case '1': /* DISCONNECT */
        c->sio_ns = false;
        tr__ws_conn_close(c, LWS_CLOSE_STATUS_NORMAL, "client disconnected", false);
        break;
    case '2': { /* EVENT */
        const char *name = json_string_value(json_array_get(j, 0));
        if (tr__ws_conn_rate_limited(c))
            break;
        if (!c->sio_ns)
            tr__ws_conn_bad(c, name, "not connected: send CONNECT first");
        else if (!json_is_array(j) || name == NULL || json_array_size(j) > 2)
            tr__ws_conn_bad(c, NULL, "EVENT payload must be [\"name\", argument]");
        else
            on_event(c, name, json_array_get(j, 1));
        break;
    }
    case '3': /* ACK: the server never asks for one */
        break;
    default:
        tr__ws_conn_bad(c, NULL, "malformed or unsupported Socket.IO packet");
        break;
    }
    c->sio_ack = -1;
    json_decref(j);
}

void tr__sio_message(tr__ws_conn *c, const char *text, size_t len)
{
    tr__ws_hub *h = c->hub;
    c->sio_ack = -1;
    switch (len > 0 ? text[0] : 'x') {
    case '4':
        return on_packet(c, text + 1, len - 1);
    case '3': /* pong */
        if (c->sio_await_pong) {
            c->sio_await_pong = false;
            lws_set_timer_usecs(c->wsi, (lws_usec_t)h->sio_ping_ms * 1000);
        }
        return;
    case '2': { /* client ping (probe): pong with the same data */
        char *m = malloc(len);
        if (m == NULL)
            return;
        memcpy(m, text, len);
        m[0] = '3';
        send_text(c, m, len);
        free(m);
        return;
    }
    case '1':
        return tr__ws_conn_close(c, LWS_CLOSE_STATUS_NORMAL, "client closed", false);
    case '6': /* noop */
        return;
    default:
        return tr__ws_conn_bad(c, NULL, "malformed Engine.IO packet");
    }
}

void tr__sio_established(tr__ws_conn *c)
{
    char uri[TR__HTTP_PATH_MAX];
    if (lws_hdr_copy(c->wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || !tr__sio_path(uri))
        return;
    tr__ws_hub *h = c->hub;
    c->sio = true;
    c->sio_ack = -1;
    unsigned char rnd[12];
    char sid[32], open[256];
    lws_get_random(lws_get_context(c->wsi), rnd, sizeof rnd);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(sid + 2 * i, 3, "%02x", rnd[i]);
    int n = snprintf(open, sizeof open,
                     "0{\"sid\":\"%s\",\"upgrades\":[],\"pingInterval\":%u,\"pingTimeout\":%u,"
                     "\"maxPayload\":%zu}",
                     sid, h->sio_ping_ms, h->sio_timeout_ms, h->max_payload);
    send_text(c, open, (size_t)n);
    lws_set_timer_usecs(c->wsi, (lws_usec_t)h->sio_ping_ms * 1000);
}

int tr__sio_timer(tr__ws_conn *c)
{
    if (c->kill || c->close_code != 0)
        return 0;
    if (c->sio_await_pong) {
        tr__ws_conn_close(c, LWS_CLOSE_STATUS_NORMAL, "ping timeout", true);
        /* a client that reads nothing never becomes writeable */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 1);
        return 0;
    }
    c->sio_await_pong = true;
    send_text(c, "2", 1);
    lws_set_timer_usecs(c->wsi, (lws_usec_t)c->hub->sio_timeout_ms * 1000);
    return 0;
}
