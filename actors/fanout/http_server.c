/*
 * actors/fanout/http_server.c -- the fan-out server's libwebsockets side.
 *
 * Design.  tr_serve_start creates ONE lws context (default poll loop, no
 * libuv: see docs/serve.md) with one vhost bound to server.listen, then
 * starts a service thread that calls lws_service until told to stop.  Every
 * lws call is made on that thread, except lws_cancel_service (the only
 * thread-safe one) which tr_serve_stop uses to wake it; the context is
 * destroyed after the thread is joined, so no two threads ever touch it.
 *
 * Protocols.  protocols[0] ("http") handles HTTP/1.1: one session per
 * connection, reused across keep-alive transactions.  A transaction reads
 * the method, path, urldecoded query fragments and Authorization header
 * (LWS_CALLBACK_HTTP), then the body if any (HTTP_BODY, capped at
 * server.max_payload: a larger Content-Length is answered 413 at once and
 * the connection closed), hands a tr__http_req to http_api.c, writes the
 * headers and then the body in chunks from HTTP_WRITEABLE, and finally
 * lws_http_transaction_completed keeps the connection alive for the next
 * request.  protocols[1] ("troupe-ws", ws_conn.c) is the /ws fan-out, made
 * the vhost's default WebSocket protocol by tr__ws_pvo; its hub (ws_hub.c)
 * lives in api.ws, is fed by a bus callback and is drained on this thread.
 * Socket.IO (sio_conn.c) rides on "troupe-ws" (an upgrade to /socket.io/),
 * and plain HTTP to /socket.io/ (Engine.IO polling) is refused there.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "actors/fanout/fanout_internal.h"
#include "actors/fanout/sio_conn.h"
#include "actors/fanout/ws_hub.h"

#define CHUNK 4096

struct tr_serve {
    struct lws_context *ctx;
    pthread_t thread;
    atomic_bool stop;
    int port;
    int64_t max_payload;
    tr__api api;
    char *token;         /* owned copy of the auth token */
    char iface[128];
};

typedef struct session {
    tr__http_req req;
    char *body;
    size_t body_len, body_cap;
    bool too_big, responding, close_after, answered;
    tr__http_resp resp;
    size_t sent;
} session;

uint64_t tr__serve_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void session_reset(session *s)
{
    free(s->body);
    free(s->resp.body);
    memset(s, 0, sizeof(*s));
}

/* Start answering: headers now, the body from HTTP_WRITEABLE. */
static int respond(struct lws *wsi, session *s)
{
    unsigned char hbuf[LWS_PRE + 1024];
    unsigned char *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof(hbuf) - 1;
    if (s->resp.content_type == NULL)
        s->resp.content_type = "application/json";
    if (lws_add_http_common_headers(wsi, (unsigned)s->resp.status, s->resp.content_type,
                                    (lws_filepos_t)s->resp.body_len, &p, end) != 0)
        return -1;
    if (s->close_after &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close",
                                     5, &p, end) != 0)
        return -1;
    if (s->resp.cache_control != NULL &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)s->resp.cache_control,
                                     (int)strlen(s->resp.cache_control), &p, end) != 0)
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end) != 0)
        return -1;
    s->responding = true;
    s->sent = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

static int handle(struct lws *wsi, tr_serve *srv, session *s)
{
    s->answered = true;
    if (s->too_big) {
        s->close_after = true;
        tr__api_error(&s->resp, 413, "request body too large");
    } else {
        s->req.body = s->body;
        s->req.body_len = s->body_len;
        if (tr__sio_path(s->req.path)) /* Engine.IO polling: refused */
            tr__sio_http(&s->req, &s->resp);
        else
            tr__api_handle(&srv->api, &s->req, &s->resp);
        if (s->resp.status == 200 && strcmp(s->req.path, "/metrics") == 0)
            s->resp.body_len =
                tr__ws_metrics_append(srv->api.ws, &s->resp.body, s->resp.body_len);
    }
    return respond(wsi, s);
}

static void read_request(struct lws *wsi, session *s, const char *uri, size_t len)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
        s->req.method = TR__HTTP_GET;
    else if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
        s->req.method = TR__HTTP_POST;
    else
        s->req.method = TR__HTTP_OTHER;
    if (len >= sizeof(s->req.path))
        len = sizeof(s->req.path) - 1;
    memcpy(s->req.path, uri, len);
    s->req.path[len] = '\0';
    for (int i = 0; s->req.nargs < TR__HTTP_ARGS_MAX; i++) {
        char *a = s->req.args[s->req.nargs];
        if (lws_hdr_copy_fragment(wsi, a, TR__HTTP_ARG_LEN, WSI_TOKEN_HTTP_URI_ARGS, i) <= 0)
            break;
        s->req.nargs++;
    }
    if (lws_hdr_copy(wsi, s->req.auth, sizeof(s->req.auth), WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
        s->req.auth[0] = '\0';
}

static int body_append(tr_serve *srv, session *s, const void *in, size_t len)
{
    if (s->too_big || len == 0)
        return 0;
    if ((int64_t)(s->body_len + len) > srv->max_payload) {
        s->too_big = true;
        return 0;
    }
    if (s->body_len + len + 1 > s->body_cap) {
        size_t cap = s->body_cap ? s->body_cap : 1024;
        while (cap < s->body_len + len + 1)
            cap *= 2;
        char *nb = realloc(s->body, cap);
        if (nb == NULL)
            return -1;
        s->body = nb;
        s->body_cap = cap;
    }
    memcpy(s->body + s->body_len, in, len);
    s->body_len += len;
    s->body[s->body_len] = '\0';
    return 0;
}

static int write_more(struct lws *wsi, session *s)
{
    unsigned char buf[LWS_PRE + CHUNK];
    size_t n = s->resp.body_len - s->sent;
    if (n > CHUNK)
        n = CHUNK;
    bool last = s->sent + n == s->resp.body_len;
    if (n > 0)
        memcpy(buf + LWS_PRE, s->resp.body + s->sent, n);
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) <
        (int)n)
        return -1;
    s->sent += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    bool close_after = s->close_after;
    session_reset(s);
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    session *s = user;
    tr_serve *srv = wsi ? lws_context_user(lws_get_context(wsi)) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        session_reset(s);
        read_request(wsi, s, in ? in : "/", in ? strnlen(in, len ? len : TR__HTTP_PATH_MAX) : 1);
        if (s->req.method != TR__HTTP_POST)
            return handle(wsi, srv, s);
        char clen[32] = "";
        bool has_len = lws_hdr_copy(wsi, clen, sizeof clen, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0;
        bool chunked = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
        long long n = has_len ? strtoll(clen, NULL, 10) : 0;
        if (n > srv->max_payload) {
            s->too_big = true;
            return handle(wsi, srv, s);
        }
        if (has_len || chunked)
            return 0; /* lws reads the body (even an empty one): HTTP_BODY*,
                         then HTTP_BODY_COMPLETION answers */
        return handle(wsi, srv, s);
    }
    case LWS_CALLBACK_HTTP_BODY:
        return body_append(srv, s, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (s->answered) /* 413 already sent for an announced length */
            return 0;
        return handle(wsi, srv, s);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!s->responding)
            return 0;
        return write_more(wsi, s);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (s != NULL)
            session_reset(s);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http", http_cb, sizeof(session), 0, 0, NULL, 0},
    {TR__WS_PROTOCOL_NAME, tr__ws_callback, sizeof(tr__ws_conn), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *service_main(void *arg)
{
    tr_serve *srv = arg;
    pthread_setname_np(pthread_self(), "tr-serve");
    /* after stop: until the /ws clients got their 1001 (bounded, ws_hub.c) */
    while (!atomic_load(&srv->stop) || !tr__ws_hub_drained(srv->api.ws))
        if (lws_service(srv->ctx, 0) < 0)
            break;
    return NULL;
}

/* "host:port" or "[v6]:port" into iface (NULL = any) and port. */
static int parse_listen(const char *listen, char *iface, size_t cap, int *port, bool *v6)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon[1] == '\0')
        return TR_EINVAL;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    *v6 = false;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
        *v6 = true;
    }
    if (hl == 0 || hl >= cap)
        return TR_EINVAL;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || errno != 0 || p < 0 || p > 65535)
        return TR_EINVAL;
    memcpy(iface, h, hl);
    iface[hl] = '\0';
    if (strcmp(iface, "localhost") == 0)
        snprintf(iface, cap, "127.0.0.1");
    *port = (int)p;
    return 0;
}

/* Can host:port be bound?  Checked before lws_create_context, whose failure
 * path leaks in 4.1.6 (LeakSanitizer: 72 bytes per failed bind).  Only for
 * numeric addresses; others are left to lws.  lws sets SO_REUSEADDR, so do
 * we: a port in TIME_WAIT is bindable, one with a listener is not. */
static bool bindable(const char *iface, int port, bool v6)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, iface, &a->sin6_addr) != 1)
            return true;
        sl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (iface != NULL && inet_pton(AF_INET, iface, &a->sin_addr) != 1)
            return true;
        sl = sizeof(*a);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return true;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool ok = bind(fd, (struct sockaddr *)&ss, sl) == 0;
    close(fd);
    return ok;
}

int tr_serve_start(tr_serve **out, const tr_serve_opts *opts)
{
    if (out == NULL || opts == NULL || opts->engine == NULL)
        return TR_EINVAL;
    const tr_config *cfg = opts->config;
    const char *listen = opts->listen;
    if (listen == NULL)
        listen = cfg && cfg->server.listen && cfg->server.listen[0] ? cfg->server.listen
                                                                     : "127.0.0.1:8001";
    tr_serve *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return TR_ENOMEM;
    int port;
    bool v6;
    if (parse_listen(listen, srv->iface, sizeof(srv->iface), &port, &v6) != 0) {
        free(srv);
        return TR_EINVAL;
    }
    srv->token = strdup(cfg && cfg->server.auth_token ? cfg->server.auth_token : "");
    if (srv->token == NULL) {
        free(srv);
        return TR_ENOMEM;
    }
    srv->max_payload = cfg && cfg->server.max_payload > 0 ? cfg->server.max_payload : 1 << 20;
    srv->api.engine = opts->engine;
    srv->api.auth_token = srv->token;
    srv->api.started_ms = tr__serve_mono_ms();
    if (tr__ws_hub_new(&srv->api.ws, opts->engine, cfg) != 0) {
        free(srv->token);
        free(srv);
        return TR_ENOMEM;
    }
    atomic_init(&srv->stop, false);

    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    bool any = strcmp(srv->iface, "0.0.0.0") == 0 || strcmp(srv->iface, "*") == 0;
    info.iface = any ? NULL : srv->iface;
    if (port != 0 && !bindable(info.iface, port, v6)) {
        tr__ws_hub_free(srv->api.ws);
        free(srv->token);
        free(srv);
        return TR_EIO;
    }
    info.protocols = protocols;
    info.user = srv;
    info.options = v6 ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6;
    info.vhost_name = "troupe";
    info.pvo = &tr__ws_pvo;
    srv->ctx = lws_create_context(&info);
    if (srv->ctx == NULL) {
        tr__ws_hub_free(srv->api.ws);
        free(srv->token);
        free(srv);
        return TR_EIO;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(srv->ctx, "troupe");
    srv->port = vh ? lws_get_vhost_listen_port(vh) : -1;
    if (srv->port <= 0 || tr__ws_hub_attach(srv->api.ws, srv->ctx) != 0 ||
        pthread_create(&srv->thread, NULL, service_main, srv) != 0) {
        tr__ws_hub_begin_stop(srv->api.ws);
        lws_context_destroy(srv->ctx);
        tr__ws_hub_free(srv->api.ws);
        free(srv->token);
        free(srv);
        return TR_EIO;
    }
    *out = srv;
    return 0;
}

tr__api *tr__serve_api(struct lws_context *ctx)
{
    tr_serve *srv = lws_context_user(ctx);
    return srv ? &srv->api : NULL;
}

int tr_serve_port(const tr_serve *srv)
{
    return srv ? srv->port : TR_EINVAL;
}

int tr_serve_stop(tr_serve *srv)
{
    if (srv == NULL)
        return 0;
    tr__ws_hub_begin_stop(srv->api.ws); /* no bus callback after this */
    atomic_store(&srv->stop, true);
    lws_cancel_service(srv->ctx);
    pthread_join(srv->thread, NULL);
    /* The service thread is gone: destroying here closes the listener and
     * every connection (their sessions are freed through CLOSED_HTTP). */
    lws_context_destroy(srv->ctx);
    tr__ws_hub_free(srv->api.ws);
    free(srv->token);
    free(srv);
    return 0;
}
