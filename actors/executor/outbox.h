/*
 * actors/executor/outbox.h -- sends that never lose a message to a full
 * receiver.
 *
 * An executor publishes a dozen events and two state writes per execution,
 * most of them inside one turn, so the runtime's back-pressure (which mutes
 * a sender between turns) cannot slow it down in time: past twice the bus's
 * capacity a send fails with TR_EFULL.  The outbox keeps what could not be
 * sent, in order, and everything sent after it waits behind it (events must
 * reach the bus in publish order: that is their seq order).  It asks to be
 * flushed by sending its actor a message of the caller's `flush_type`; the
 * runtime has muted the actor on the full receiver, so that message runs
 * once the receiver has drained.  Sends to a receiver that is gone are
 * dropped (the runtime counts them as dead letters).
 *
 * One outbox per actor, used only from that actor's receive function.
 */
#ifndef TR_EXECUTOR_OUTBOX_H
#define TR_EXECUTOR_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "troupe/runtime.h"

typedef struct tr__out_msg {
    tr_actor_ref to;
    uint32_t type;
    int32_t status;
    tr_payload *payload;
} tr__out_msg;

typedef struct tr__outbox {
    tr__out_msg *q;
    uint32_t head, len, cap;
    uint32_t flush_type;
    bool flush_asked;
} tr__outbox;

void tr__outbox_init(tr__outbox *o, uint32_t flush_type);
/* Drop anything still queued (unref the payloads) and free the queue. */
void tr__outbox_fini(tr__outbox *o);
/* Send, or queue behind earlier sends.  Takes the caller's payload
 * reference in every case.  Returns 0 (sent or queued), or the send's error
 * when the message was dropped (dead receiver, out of memory). */
int tr__outbox_send(tr__outbox *o, tr_ctx *ctx, tr_actor_ref to, uint32_t type,
                    int32_t status, tr_payload *payload);
/* On the flush message: retry in order.  Returns true when empty. */
bool tr__outbox_flush(tr__outbox *o, tr_ctx *ctx);
static inline bool tr__outbox_empty(const tr__outbox *o) { return o->len == 0; }

#endif
