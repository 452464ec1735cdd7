/*
 * actors/fanout/sio_conn.h -- Socket.IO v4 over Engine.IO v4 (WebSocket
 * transport only) on the fan-out's "troupe-ws" protocol.
 *
 * Design (details in docs/socketio.md).  A Socket.IO client is an ordinary
 * tr__ws_conn (ws_hub.h) with c->sio set at ESTABLISHED, so rooms, the
 * bounded send queue, slow-client policy, rate limit, payload cap (1009),
 * Origin check and counters are the /ws ones (ws_conn.c).  This file only
 * speaks the wire format: Engine.IO packets (open, ping/pong, close,
 * message) and the Socket.IO packets inside them (CONNECT with the auth
 * token, EVENT with ack ids, ACK, DISCONNECT, CONNECT_ERROR), and turns
 * client events into the /ws ops (tr__ws_conn_op); their answers come back
 * through tr__sio_answer as acks.  Server events use the frame's Socket.IO
 * twin (tr__sio_twin): encoded at most once per event, shared by all
 * Socket.IO connections.  Service thread only (tr__sio_timing: any).
 */
#ifndef TR_FANOUT_SIO_CONN_H
#define TR_FANOUT_SIO_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "actors/fanout/fanout_internal.h"
#include "actors/fanout/ws_hub.h"

#define TR__SIO_PING_MS 25000
#define TR__SIO_TIMEOUT_MS 20000

/* pingInterval / pingTimeout: the defaults above, or the environment's
 * TROUPE_SIO_PING_INTERVAL_MS / TROUPE_SIO_PING_TIMEOUT_MS (10..3600000). */
void tr__sio_timing(uint32_t *ping_ms, uint32_t *timeout_ms);
/* Whether path is the Socket.IO endpoint ("/socket.io/" or "/socket.io"). */
bool tr__sio_path(const char *path);
/* At the upgrade: 0 when the query has EIO=4 and transport=websocket, else
 * the HTTP status to refuse with (400). */
unsigned tr__sio_check_query(struct lws *wsi);
/* A plain HTTP request to the endpoint (Engine.IO polling): a 400 JSON
 * error; resp->body is malloc'd (the caller's). */
void tr__sio_http(const tr__http_req *req, tr__http_resp *resp);

/* f's Socket.IO twin, built on first use (f keeps the reference; the
 * result is borrowed).  NULL when out of memory. */
tr__ws_frame *tr__sio_twin(tr__ws_frame *f);
/* ws_conn.c's answer for a Socket.IO connection: an ack when the event
 * being handled asked for one, a "dropped" event, or nothing.  Steals data. */
void tr__sio_answer(tr__ws_conn *c, const char *ev, json_t *data);
/* One complete inbound text message (borrowed). */
void tr__sio_message(tr__ws_conn *c, const char *text, size_t len);
/* LWS_CALLBACK_ESTABLISHED: mark a /socket.io/ connection, send the open
 * packet and arm the ping timer; nothing for /ws. */
void tr__sio_established(tr__ws_conn *c);
/* LWS_CALLBACK_TIMER: send a ping, or close when the pong is late. */
int tr__sio_timer(tr__ws_conn *c);

#endif
