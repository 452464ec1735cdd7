/*
 * actors/fanout/metrics_agg.h -- per bot / per strategy execution metrics,
 * pushed as `metrics` server events by the fan-out (docs/websocket.md,
 * docs/socketio.md, "Metrics").
 *
 * Design.
 *  - Fed by the hub's own workflow_events bus callback (ws_hub.c on_event),
 *    which has already decoded the event to a msgpack view for encoding the
 *    workflow_event frame: reusing that decode is cheaper than a second bus
 *    subscription (a second decode) or re-parsing the JSON frame on the
 *    service thread.  Only execution_started/completed/failed/halted and
 *    node_completed events whose outputs carry daily_pnl/total_realized_pnl
 *    touch the aggregate, in place, under a short mutex (a few field
 *    updates; an entity is allocated once, on first sight of its id).
 *  - Entities: one per bot_id and one per strategy_id (at most
 *    TR__MET_ENTITIES; beyond, events of new ids are ignored).  Each keeps
 *    counters, a fixed ring of the last TR__MET_WINDOW execution durations
 *    (completed + failed; no allocation per event) and the latest P&L.
 *  - Emission: an lws_sul timer on the service thread, armed from the hub's
 *    drain when something changed, fires every interval (2000 ms, or the
 *    environment's TROUPE_METRICS_INTERVAL_MS, 10..3600000) and emits one
 *    frame per changed entity: {"event":"metrics","data":{...}} plus its
 *    Socket.IO twin 42["metrics",{...}], built once and shared, delivered
 *    to the entity's room (bot:<id> / strategy:<id>) subscribers and to
 *    connections subscribed to the "metrics" channel; the same object is
 *    published on the bus's TR_BUS_CH_METRICS channel.  Percentiles are
 *    nearest-rank over the ring, sorted on the service thread outside the
 *    mutex.  The timer is cancelled on the service thread once the hub is
 *    closing (and never re-armed), so nothing is pending at context destroy.
 */
#ifndef TR_FANOUT_METRICS_AGG_H
#define TR_FANOUT_METRICS_AGG_H

#include <stdbool.h>

#include "actors/fanout/ws_hub.h"
#include "troupe/codec.h"

#define TR__MET_WINDOW 1000     /* durations kept per entity (latency)    */
#define TR__MET_ENTITIES 4096   /* bots + strategies tracked              */
#define TR__MET_INTERVAL_MS 2000

typedef struct tr__metrics tr__metrics;

/* A new aggregator for hub h (interval from the environment).  NULL = OOM. */
tr__metrics *tr__metrics_new(tr__ws_hub *h);
/* After the lws context is destroyed.  m may be NULL. */
void tr__metrics_free(tr__metrics *m);
/* Bus worker: account one workflow event (root: its decoded map). */
void tr__metrics_on_event(tr__metrics *m, tr_mp_val root);
/* Service thread (the hub's drain): arm the timer when something changed;
 * cancel it for good once the hub is closing. */
void tr__metrics_service(tr__metrics *m);
/* Service thread: the Socket.IO events subscribe_metrics (sub) and
 * unsubscribe_metrics, as the /ws op on channel "metrics" (acked). */
void tr__metrics_sio_sub(tr__ws_conn *c, bool sub);

#endif
