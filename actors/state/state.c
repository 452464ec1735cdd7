/*
 * actors/state/state.c -- the state store handle and its API
 * (troupe/state.h).
 *
 * DESIGN
 * Every call encodes one request (a msgpack array, tr_state_req_encode) and sends
 * it to the state actor (state_actor.c):
 *   - fire-and-forget calls send it with tr_send and return;
 *   - *_sync calls wrap the same bytes in a payload whose free function
 *     owns a reference to a tr__waiter, mark the envelope (status
 *     TR__STATE_SYNC, corr_id = the waiter) and block on the waiter.  If
 *     the request is never handled, the payload's last unref completes the
 *     waiter with TR_ECLOSED; a caller that timed out just drops its
 *     reference (see waiter.h).
 * The handle is immutable after start except for the statistics (written
 * by the actor, read anywhere with relaxed loads).  tr_state_free stops the
 * actor, waits for its stop hook (which also runs under tr_runtime_free)
 * and only then closes the backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/state/state_internal.h"
#include "runtime/atomics.h"
#include "troupe/codec.h"

int tr_state_start(tr_runtime *rt, const tr_state_opts *opts, tr_state **out)
{
    if (rt == NULL || out == NULL)
        return TR_EINVAL;
    *out = NULL;
    tr_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return TR_ENOMEM;
    st->rt = rt;
    st->ops = opts != NULL && opts->backend ? opts->backend
                                            : tr_state_memory_backend();
    st->history_cap = opts != NULL && opts->history_cap ? opts->history_cap
                                                        : 100;
    int rc = st->ops->open(&st->be, opts != NULL ? opts->backend_arg : NULL);
    if (rc != 0) {
        free(st);
        return rc;
    }
    if ((st->stopped = tr__waiter_new()) == NULL) {
        st->ops->close(st->be);
        free(st);
        return TR_ENOMEM;
    }
    tr_spawn_opts so = {
        .mailbox = opts != NULL && opts->mailbox ? opts->mailbox : 65536,
        .policy = TR_MBOX_BACKPRESSURE,
    };
    rc = tr_spawn(rt, &tr__state_actor_ops, st, &so, &st->ref);
    if (rc != 0) {
        tr__waiter_unref(st->stopped);
        tr__waiter_unref(st->stopped);
        st->ops->close(st->be);
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void tr_state_free(tr_state *st)
{
    if (st == NULL)
        return;
    if (!tr__waiter_done(st->stopped))
        tr_stop(st->rt, st->ref);
    tr__waiter_wait(st->stopped, 0, NULL, NULL, NULL);
    tr__waiter_unref(st->stopped);
    st->ops->close(st->be);
    free(st);
}

tr_actor_ref tr_state_ref(const tr_state *st) { return st->ref; }

void tr_state_stats_get(const tr_state *st, tr_state_stats *out)
{
    out->requests = tr__load_u64_relaxed(&st->stats.requests);
    out->failed = tr__load_u64_relaxed(&st->stats.failed);
}

int tr_state_key(char *buf, size_t cap, tr_state_key_kind kind,
                 const char *wf, const char *exec)
{
    if (buf == NULL || wf == NULL)
        return TR_EINVAL;
    int n;
    switch (kind) {
    case TR_STATE_KEY_STATUS:
    case TR_STATE_KEY_RESULT:
        if (exec == NULL)
            return TR_EINVAL;
        n = snprintf(buf, cap, "workflow:%s:execution:%s:%s", wf, exec,
                     kind == TR_STATE_KEY_STATUS ? "status" : "result");
        break;
    case TR_STATE_KEY_LATEST:
        n = snprintf(buf, cap, "workflow:%s:latest_execution", wf);
        break;
    case TR_STATE_KEY_EXECUTIONS:
        n = snprintf(buf, cap, "workflow:%s:executions", wf);
        break;
    case TR_STATE_KEY_EMERGENCY:
        n = snprintf(buf, cap, "emergency:%s", wf);
        break;
    default:
        return TR_EINVAL;
    }
    if (n < 0)
        return TR_EINVAL;
    return (size_t)n < cap ? n : TR_ETOOBIG;
}

/* ---------------------------------------------------------------- encoding */

static void put_str(tr_buf *b, const char *s)
{
    tr_mp_write_str(b, s, strlen(s));
}

/* Encode into b; TR_EINVAL when a field the type needs is missing. */
static int encode(tr_buf *b, uint32_t type, const tr_state_req *r)
{
    bool key = r->key != NULL, val = r->value != NULL || r->value_len == 0;
    bool ids = r->wf != NULL && r->exec != NULL;
    switch (type) {
    case TR_STATE_MSG_SET:
    case TR_STATE_MSG_LIST_PUSH:
        if (!key || r->value == NULL)
            return TR_EINVAL;
        tr_mp_write_array(b, type == TR_STATE_MSG_SET ? 2 : 3);
        put_str(b, r->key);
        tr_mp_write_str(b, r->value, r->value_len);
        if (type == TR_STATE_MSG_LIST_PUSH)
            tr_mp_write_uint(b, r->cap);
        break;
    case TR_STATE_MSG_GET:
    case TR_STATE_MSG_DEL:
    case TR_STATE_MSG_EXISTS:
        if (!key)
            return TR_EINVAL;
        tr_mp_write_array(b, 1);
        put_str(b, r->key);
        break;
    case TR_STATE_MSG_LIST_RANGE:
        if (!key)
            return TR_EINVAL;
        tr_mp_write_array(b, 3);
        put_str(b, r->key);
        tr_mp_write_uint(b, r->start);
        tr_mp_write_uint(b, r->count);
        break;
    case TR_STATE_MSG_HISTORY_PUSH:
    case TR_STATE_MSG_EXEC_BEGIN:
        if (!ids)
            return TR_EINVAL;
        tr_mp_write_array(b, 3);
        put_str(b, r->wf);
        put_str(b, r->exec);
        tr_mp_write_uint(b, r->cap);
        break;
    case TR_STATE_MSG_HISTORY:
        if (r->wf == NULL)
            return TR_EINVAL;
        tr_mp_write_array(b, 2);
        put_str(b, r->wf);
        tr_mp_write_uint(b, r->count);
        break;
    case TR_STATE_MSG_EXEC_END:
        if (!ids || r->status == NULL || !val)
            return TR_EINVAL;
        tr_mp_write_array(b, r->value != NULL ? 4 : 3);
        put_str(b, r->wf);
        put_str(b, r->exec);
        put_str(b, r->status);
        if (r->value != NULL)
            tr_mp_write_str(b, r->value, r->value_len);
        break;
    case TR_STATE_MSG_SYNC:
        tr_mp_write_array(b, 0);
        break;
    default:
        return TR_EINVAL;
    }
    return tr_buf_error(b);
}

int tr_state_req_encode(uint32_t type, const tr_state_req *req,
                        tr_payload **out)
{
    if (req == NULL || out == NULL)
        return TR_EINVAL;
    *out = NULL;
    tr_buf b;
    tr_buf_init(&b);
    int rc = encode(&b, type, req);
    if (rc == 0)
        rc = tr_buf_copy(&b, out);
    tr_buf_fini(&b);
    return rc;
}

int tr_state_reply_json(const tr_msg *reply, const char **json, size_t *len)
{
    tr_mp_val v;
    if (reply == NULL || json == NULL || len == NULL)
        return TR_EINVAL;
    if (reply->payload == NULL ||
        tr_mp_read_payload(reply->payload, &v, NULL) != TR_OK)
        return TR_ENOENT;
    return tr_mp_get_str(v, json, len) == TR_OK ? 0 : TR_ENOENT;
}

/* ---------------------------------------------------------------- sending */

static int cast(tr_state *st, uint32_t type, const tr_state_req *r)
{
    if (st == NULL)
        return TR_EINVAL;
    tr_payload *p;
    int rc = tr_state_req_encode(type, r, &p);
    if (rc != 0)
        return rc;
    rc = tr_send(st->rt, st->ref, type, p);
    tr_payload_unref(p);
    return rc;
}

static int call(tr_state *st, uint32_t type, const tr_state_req *r,
                uint64_t timeout_ms, char **text, size_t *len)
{
    if (st == NULL)
        return TR_EINVAL;
    tr_buf b;
    tr_buf_init(&b);
    int rc = encode(&b, type, r);
    if (rc != 0) {
        tr_buf_fini(&b);
        return rc;
    }
    tr__waiter *w = tr__waiter_new();
    tr_payload *p = w ? tr_payload_wrap(b.data, b.len, tr__waiter_payload_free,
                                        w)
                      : NULL;
    if (p == NULL) {
        if (w != NULL) {
            tr__waiter_unref(w);
            tr__waiter_unref(w);
        }
        tr_buf_fini(&b);
        return TR_ENOMEM;
    }
    /* b's bytes now belong to p (tr_buf uses malloc/free by default). */
    tr_send_args a = {.type = type, .status = TR__STATE_SYNC,
                      .corr_id = (uint64_t)(uintptr_t)w, .payload = p};
    rc = tr_send_msg(st->rt, st->ref, &a);
    tr_payload_unref(p);
    if (rc == 0)
        rc = tr__waiter_wait(w, timeout_ms, text, len, NULL);
    tr__waiter_unref(w);
    return rc;
}

int tr_state_set(tr_state *st, const char *key, const char *json, size_t len)
{
    tr_state_req r = {.key = key, .value = json, .value_len = len};
    return cast(st, TR_STATE_MSG_SET, &r);
}

int tr_state_del(tr_state *st, const char *key)
{
    return cast(st, TR_STATE_MSG_DEL, &(tr_state_req){.key = key});
}

int tr_state_list_push(tr_state *st, const char *key, const char *json,
                       size_t len, uint32_t cap)
{
    tr_state_req r = {.key = key, .value = json, .value_len = len, .cap = cap};
    return cast(st, TR_STATE_MSG_LIST_PUSH, &r);
}

int tr_state_history_push(tr_state *st, const char *wf, const char *exec,
                          uint32_t cap)
{
    tr_state_req r = {.wf = wf, .exec = exec, .cap = cap};
    return cast(st, TR_STATE_MSG_HISTORY_PUSH, &r);
}

int tr_state_execution_begin(tr_state *st, const char *wf, const char *exec,
                             uint32_t cap)
{
    tr_state_req r = {.wf = wf, .exec = exec, .cap = cap};
    return cast(st, TR_STATE_MSG_EXEC_BEGIN, &r);
}

int tr_state_execution_end(tr_state *st, const char *wf, const char *exec,
                           const char *status, const char *result_json,
                           size_t len)
{
    tr_state_req r = {.wf = wf, .exec = exec, .status = status,
                      .value = result_json, .value_len = result_json ? len : 0};
    return cast(st, TR_STATE_MSG_EXEC_END, &r);
}

int tr_state_get_sync(tr_state *st, const char *key, char **json, size_t *len,
                      uint64_t timeout_ms)
{
    if (json == NULL)
        return TR_EINVAL;
    *json = NULL;
    return call(st, TR_STATE_MSG_GET, &(tr_state_req){.key = key}, timeout_ms,
                json, len);
}

int tr_state_set_sync(tr_state *st, const char *key, const char *json,
                      size_t len, uint64_t timeout_ms)
{
    tr_state_req r = {.key = key, .value = json, .value_len = len};
    return call(st, TR_STATE_MSG_SET, &r, timeout_ms, NULL, NULL);
}

int tr_state_del_sync(tr_state *st, const char *key, uint64_t timeout_ms)
{
    return call(st, TR_STATE_MSG_DEL, &(tr_state_req){.key = key}, timeout_ms,
                NULL, NULL);
}

int tr_state_exists_sync(tr_state *st, const char *key, uint64_t timeout_ms)
{
    return call(st, TR_STATE_MSG_EXISTS, &(tr_state_req){.key = key},
                timeout_ms, NULL, NULL);
}

int tr_state_list_range_sync(tr_state *st, const char *key, uint32_t start,
                             uint32_t count, char **json, size_t *len,
                             uint64_t timeout_ms)
{
    if (json == NULL)
        return TR_EINVAL;
    *json = NULL;
    tr_state_req r = {.key = key, .start = start, .count = count};
    return call(st, TR_STATE_MSG_LIST_RANGE, &r, timeout_ms, json, len);
}

int tr_state_history(tr_state *st, const char *wf, uint32_t limit, char **json,
                     size_t *len, uint64_t timeout_ms)
{
    if (json == NULL)
        return TR_EINVAL;
    *json = NULL;
    tr_state_req r = {.wf = wf, .count = limit};
    return call(st, TR_STATE_MSG_HISTORY, &r, timeout_ms, json, len);
}

int tr_state_sync(tr_state *st, uint64_t timeout_ms)
{
    return call(st, TR_STATE_MSG_SYNC, &(tr_state_req){0}, timeout_ms, NULL,
                NULL);
}
