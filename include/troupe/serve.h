/*
 * troupe/serve.h -- the HTTP API server of `troupe serve` (fan-out host).
 *
 * One libwebsockets context, serviced by a thread of its own (lws's default
 * poll loop, not the runtime's libuv loop: LWS_MAX_SMP is 1 and every lws
 * call but lws_cancel_service must come from that thread).  The context has
 * one vhost listening on server.listen ("host:port"; 127.0.0.1:8001 by
 * default) and a protocol list whose first entry serves HTTP/1.1 with
 * keep-alive; the WebSocket and Socket.IO protocols will join that list, on
 * the same port.  The routes, their JSON shapes and status codes are in
 * docs/http-api.md.
 *
 * Route handlers run on the service thread and may block briefly on the
 * engine (tr_state_get_sync, tr_state_history, emergency transitions): the
 * service thread is not a runtime worker.
 *
 * Errors: 0 or a negative TR_E* code.  Threads: start/stop from one thread
 * outside the runtime; tr_serve_port from any thread.
 */
#ifndef TROUPE_SERVE_H
#define TROUPE_SERVE_H

#include <stdint.h>

#include "troupe/config.h"
#include "troupe/engine.h"
#include "troupe/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tr_serve tr_serve;

typedef struct tr_serve_opts {
    tr_engine *engine;       /* required; must outlive the server          */
    const tr_config *config; /* server.*; NULL = the development preset's  */
    const char *listen;      /* "host:port" overriding server.listen (port
                                0 = a free port: read it with tr_serve_port) */
} tr_serve_opts;

/* Bind and start serving.  Returns 0 and *out, TR_EINVAL (no engine, a
 * malformed listen address), TR_EIO (cannot bind: the address is in use or
 * not local), TR_ENOMEM.  Nothing is left running on failure. */
TR_EXTERN int tr_serve_start(tr_serve **out, const tr_serve_opts *opts);

/* The bound TCP port (useful after listening on port 0). */
TR_EXTERN int tr_serve_port(const tr_serve *srv);

/* Stop accepting, close every connection, join the service thread and free
 * the server.  srv may be NULL.  Returns 0. */
TR_EXTERN int tr_serve_stop(tr_serve *srv);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_SERVE_H */
