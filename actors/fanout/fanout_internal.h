/*
 * actors/fanout/fanout_internal.h -- what the fan-out server's files share.
 *
 * Layering: http_server.c owns libwebsockets (context, service thread,
 * per-connection buffers, header and body reading, response writing) and
 * turns each HTTP transaction into a tr__http_req; http_api.c routes that
 * request to a handler that fills a tr__http_resp and knows nothing about
 * lws (so it stays testable and the WebSocket protocols added later can
 * reuse the engine glue).  Both run on the service thread only.
 */
#ifndef TR_FANOUT_INTERNAL_H
#define TR_FANOUT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/engine.h"
#include "troupe/serve.h"

#define TR__HTTP_PATH_MAX 512
#define TR__HTTP_ARGS_MAX 8
#define TR__HTTP_ARG_LEN 256
#define TR__HTTP_AUTH_MAX 512

typedef enum tr__http_method {
    TR__HTTP_OTHER = 0,
    TR__HTTP_GET,
    TR__HTTP_POST,
} tr__http_method;

typedef struct tr__http_req {
    tr__http_method method;
    char path[TR__HTTP_PATH_MAX];              /* urldecoded, no query     */
    char args[TR__HTTP_ARGS_MAX][TR__HTTP_ARG_LEN]; /* "name=value", decoded */
    unsigned nargs;
    char auth[TR__HTTP_AUTH_MAX];              /* Authorization value, or "" */
    const char *body;                          /* NUL-terminated, or NULL  */
    size_t body_len;
} tr__http_req;

typedef struct tr__http_resp {
    int status;
    const char *content_type; /* static */
    const char *cache_control; /* static, or NULL for none */
    char *body;               /* malloc'd */
    size_t body_len;
} tr__http_resp;

struct tr__ws_hub;
struct lws_context;

/* What the handlers need from the server. */
typedef struct tr__api {
    tr_engine *engine;
    const char *auth_token; /* "" = no auth */
    uint64_t started_ms;    /* monotonic, for uptime */
    struct tr__ws_hub *ws;  /* the /ws fan-out (ws_hub.h), owned by the server */
} tr__api;

/* The api of the server owning ctx (http_server.c; service thread). */
tr__api *tr__serve_api(struct lws_context *ctx);

/* Route req and fill resp (always: errors become JSON error bodies; out of
 * memory becomes a 500 with a static-free empty body). */
void tr__api_handle(const tr__api *api, const tr__http_req *req,
                    tr__http_resp *resp);

/* A JSON error body {"error": msg, "status": status}. */
void tr__api_error(tr__http_resp *resp, int status, const char *msg);

/* The Prometheus text exposition of the engine's counters (http_metrics.c). */
void tr__api_metrics(const tr__api *api, tr__http_resp *resp);

/* Monotonic milliseconds. */
uint64_t tr__serve_mono_ms(void);

/* Whether got equals the configured token, in time that depends only on the
 * token's length (no early exit on the first differing byte). */
bool tr__token_eq(const char *want, const char *got);

#endif
