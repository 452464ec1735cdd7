/*
 * actors/fanout/ws_hub.h -- the plain WebSocket fan-out (/ws): shared types.
 *
 * Design (details in docs/websocket.md).
 *  - tr__ws_frame: ONE encoded server frame ({"event":...,"data":...}) with
 *    LWS_PRE bytes of headroom, reference counted.  An event is encoded once
 *    by the bus callback; the same frame is then held by every room history
 *    ring and every connection send queue it is on (one reference each).
 *    Its RFC 6455 header (unmasked, FIN, text) is built once, at the end of
 *    the headroom, so header + text are one contiguous run of bytes that
 *    every connection sends as is (ws_conn.c); the bytes are never written
 *    again once the frame is shared.
 *  - Hand-off: the bus callback (bus worker) never touches lws nor rooms:
 *    it encodes the frame and pushes the pointer into a bounded ring under
 *    a short mutex, then calls lws_cancel_service (the only thread-safe lws
 *    call).  Full ring = the event is dropped and counted.  The service
 *    thread drains the whole ring in LWS_CALLBACK_EVENT_WAIT_CANCELLED
 *    (cancels coalesce) and dispatches each frame to rooms and connections.
 *  - Rooms ("workflow:<id>", "bot:<id>", "strategy:<id>") live on the
 *    service thread only: a bounded history ring (server.history frames)
 *    and the list of subscribed connections.  Protocol-agnostic so the
 *    Socket.IO transport can reuse them (a subscriber is a tr__ws_conn).
 *  - Connections own a bounded send queue of frame references (ws_conn.c).
 *
 * Threads: everything here runs on the lws service thread except
 * tr__ws_hub_new/free (the starting/stopping thread, service thread not
 * running), the bus callback, and the atomic counters (read anywhere).
 */
#ifndef TR_FANOUT_WS_HUB_H
#define TR_FANOUT_WS_HUB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "troupe/config.h"
#include "troupe/engine.h"

#define TR__WS_ID_MAX 128      /* workflow/bot/strategy id bytes, NUL incl. */
#define TR__WS_ROOM_MAX 144    /* "strategy:" + id                          */
#define TR__WS_SUBS_MAX 64     /* subscriptions per connection              */
#define TR__WS_ROOMS_MAX 4096  /* rooms kept (beyond: no history, counted)  */
#define TR__WS_HANDOFF 16384   /* bus -> service thread ring capacity       */
#define TR__WS_BUCKETS 256
#define TR__WS_BATCH 65536     /* bytes of frames given to one sendmsg      */
#define TR__WS_IOV 64          /* frames given to one sendmsg               */

typedef struct tr__ws_frame {
    atomic_uint refs;
    uint64_t seq;                /* the event's seq (0 for control frames) */
    bool emergency;              /* an emergency_events event               */
    char wf[TR__WS_ID_MAX];      /* ids of the event ("" when absent)       */
    char bot[TR__WS_ID_MAX];
    char strat[TR__WS_ID_MAX];
    /* Socket.IO twin (sio_conn.c): data_off > 0 marks a plain event frame
     * whose data JSON starts at text + data_off and ends before the final
     * '}'; sio = its 42["<event>",data] frame, built lazily on the service
     * thread at most once and owned (one reference) by this frame. */
    uint32_t data_off;
    struct tr__ws_frame *sio;
    size_t len;                  /* text bytes at buf + LWS_PRE             */
    uint8_t hlen;                /* header bytes, at buf + LWS_PRE - hlen   */
    unsigned char buf[];         /* LWS_PRE + len + 1 (NUL)                 */
} tr__ws_frame;

/* A new frame holding text[0..len), refs = 1 (the caller's).  NULL = OOM. */
tr__ws_frame *tr__ws_frame_new(const char *text, size_t len);
tr__ws_frame *tr__ws_frame_ref(tr__ws_frame *f);
void tr__ws_frame_unref(tr__ws_frame *f);

typedef struct tr__ws_conn tr__ws_conn;

typedef struct tr__ws_room {
    char name[TR__WS_ROOM_MAX];
    bool is_workflow;
    uint64_t last_seq;           /* highest seq seen in the room            */
    tr__ws_frame **hist;         /* ring of `hcap` refs, owned              */
    uint32_t hhead, hlen, hcap;
    tr__ws_conn **subs;          /* subscribers (borrowed), array owned     */
    uint32_t nsubs, subcap;
    struct tr__ws_room *next;    /* hash chain                              */
} tr__ws_room;

typedef struct tr__ws_stats {
    atomic_uint_fast64_t connections;   /* open now                        */
    atomic_uint_fast64_t accepted;      /* handshakes accepted             */
    atomic_uint_fast64_t rejected;      /* handshakes refused (401/403)    */
    atomic_uint_fast64_t frames_sent;
    atomic_uint_fast64_t partial_writes;/* kernel took part of a frame     */
    atomic_uint_fast64_t frames_dropped;/* per-connection queue overflow   */
    atomic_uint_fast64_t handoff_dropped;
    atomic_uint_fast64_t slow_disconnects;
    atomic_uint_fast64_t bad_frames;
    atomic_uint_fast64_t events;        /* events handed to the fan-out    */
} tr__ws_stats;

typedef struct tr__ws_hub {
    tr_engine *engine;
    struct lws_context *ctx;     /* set before the bus subscription         */
    char *token;                 /* owned; "" = no auth                     */
    char **origins;              /* owned copies                            */
    size_t norigins;
    bool any_origin;
    size_t max_payload;
    uint32_t send_queue, history;
    int sndbuf;                  /* SO_SNDBUF per connection; 0 = kernel    */
    uint32_t rate_limit;
    bool slow_disconnect;
    uint32_t sio_ping_ms, sio_timeout_ms; /* Engine.IO pingInterval/Timeout */
    uint64_t sub_wf, sub_em;     /* bus subscription ids (0 = none)         */
    struct tr__metrics *metrics; /* per bot/strategy metrics (metrics_agg.h) */
    /* hand-off ring: producer = bus callback, consumer = service thread */
    pthread_mutex_t mu;
    tr__ws_frame *ring[TR__WS_HANDOFF];
    uint32_t rhead, rlen;
    /* service thread only */
    tr__ws_room *buckets[TR__WS_BUCKETS];
    uint32_t nrooms;
    tr__ws_conn *conns;          /* all open connections (list)             */
    uint64_t stamp;              /* dispatch counter (dedup per conn)       */
    atomic_bool closing;         /* tr__ws_hub_begin_stop was called        */
    bool close_sent;
    uint64_t close_deadline_ms;
    tr__ws_stats st;
} tr__ws_hub;

/* Create the hub from cfg (NULL = defaults).  No bus subscription yet. */
int tr__ws_hub_new(tr__ws_hub **out, tr_engine *engine, const tr_config *cfg);
/* Subscribe the bus callback (after ctx is set). */
int tr__ws_hub_attach(tr__ws_hub *h, struct lws_context *ctx);
/* Unsubscribe from the bus and wait until no callback runs; then ask the
 * service thread (woken by the caller) to close every connection (1001). */
void tr__ws_hub_begin_stop(tr__ws_hub *h);
/* From the service loop: true when it may exit (no ws connection left, or
 * the close deadline passed). */
bool tr__ws_hub_drained(tr__ws_hub *h);
/* After the context is destroyed: free rooms, frames, the hub.  h may be
 * NULL. */
void tr__ws_hub_free(tr__ws_hub *h);

/* Service thread: drain the hand-off ring and dispatch. */
void tr__ws_hub_drain(tr__ws_hub *h);
/* Service thread: the room named name; create = make it if absent (NULL
 * when the room cap is reached or out of memory). */
tr__ws_room *tr__ws_room_get(tr__ws_hub *h, const char *name, bool create);
int tr__ws_room_add_sub(tr__ws_room *r, tr__ws_conn *c);
void tr__ws_room_del_sub(tr__ws_room *r, tr__ws_conn *c);

/* Append the fan-out's Prometheus lines to text (malloc'd, may be
 * reallocated); returns the new length. */
size_t tr__ws_metrics_append(const tr__ws_hub *h, char **text, size_t len);

/* ---- ws_conn.c ---------------------------------------------------------- */

typedef struct tr__ws_drop {
    char room[TR__WS_ROOM_MAX];  /* "workflow:<id>" or "emergency"          */
    uint64_t from, to;
} tr__ws_drop;

struct tr__ws_conn {
    struct lws *wsi;
    tr__ws_hub *hub;
    tr__ws_conn *prev, *next;    /* hub->conns list                         */
    tr__ws_frame **q;            /* send queue ring (refs owned), grows     */
    uint32_t qhead, qlen, qcap, qmax;
    tr__ws_room *subs[TR__WS_SUBS_MAX];   /* borrowed rooms                 */
    uint32_t nsubs;
    bool emergency;              /* subscribed to the emergency channel     */
    bool metrics;                /* subscribed to the metrics channel       */
    uint64_t stamp;              /* last dispatch that queued here          */
    tr__ws_drop *drops;          /* pending dropped ranges (owned)          */
    uint32_t ndrops;
    char *rx;                    /* inbound message being assembled (owned) */
    size_t rxlen, rxcap;
    uint64_t win_ms;             /* rate-limit window start                 */
    uint32_t win_n, errors;
    int close_code;              /* != 0: close after the queue drains      */
    char close_reason[64];
    bool kill;                   /* close at once (going away / slow)       */
    bool live;
    /* Socket.IO over this connection (sio_conn.c); all false/0 on /ws */
    bool sio;                    /* an Engine.IO v4 connection              */
    bool sio_ns;                 /* CONNECTed to namespace "/"              */
    bool sio_await_pong;
    int64_t sio_ack;             /* ack id of the event being handled, -1   */
};

/* Queue f on c (takes a new reference); control = an answer (not an event:
 * not subject to the event limit).  Returns false when dropped. */
bool tr__ws_conn_push(tr__ws_conn *c, tr__ws_frame *f, bool control);

/* Shared with sio_conn.c: close (now = at once, else after the queue
 * drains); an error answer, counted (op may be NULL); rate-limit check
 * (true = over the limit, the error/close already handled); run an op
 * ("subscribe", "unsubscribe", "publish") on its JSON object j. */
void tr__ws_conn_close(tr__ws_conn *c, int code, const char *reason, bool now);
void tr__ws_conn_bad(tr__ws_conn *c, const char *op, const char *msg);
bool tr__ws_conn_rate_limited(tr__ws_conn *c);
void tr__ws_conn_op(tr__ws_conn *c, const char *op, json_t *j);

/* The lws protocol ("troupe-ws") and the vhost options that make it the
 * default protocol for an upgrade without Sec-WebSocket-Protocol. */
int tr__ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
extern const struct lws_protocol_vhost_options tr__ws_pvo;
#define TR__WS_PROTOCOL_NAME "troupe-ws"

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE on the http protocol: path /ws, token,
 * Origin.  0 = go on, 1 = refused with an HTTP status already sent. */
int tr__ws_confirm_upgrade(tr__ws_hub *h, struct lws *wsi, const char *to);

#endif
