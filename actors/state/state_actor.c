/*
 * actors/state/state_actor.c -- the state store actor.
 *
 * DESIGN
 * Accepts (payload = msgpack array, layouts in troupe/state.h and
 * docs/state.md):
 *   TR_STATE_MSG_SET, GET, DEL, EXISTS          plain key operations
 *   TR_STATE_MSG_LIST_PUSH, LIST_RANGE          capped lists, newest first
 *   TR_STATE_MSG_HISTORY_PUSH, HISTORY          workflow:{wf}:executions
 *   TR_STATE_MSG_EXEC_BEGIN, EXEC_END           the contract keys of one
 *                                               execution, in one message
 *   TR_STATE_MSG_SYNC                           barrier
 * Emits:
 *   TR_STATE_MSG_REPLY to reply_to when the request has one (tr_ask):
 *   status = result, payload = msgpack str of JSON text (GET, LIST_RANGE,
 *   HISTORY) or none; or completes the caller's waiter for *_sync requests
 *   (status TR__STATE_SYNC, corr_id = waiter).  Fire-and-forget requests
 *   get no answer; their failures are logged and counted.
 *
 * The actor is the backend's only caller, so each request is atomic, and
 * requests from one sender apply in send order.  Contract keys are built
 * here from the ids, so writers send ids, not keys.  Replies are sent with
 * tr_send_msg (never muted by a slow asker).  The history is read as ids
 * from the list, then each id's status and result are read and spliced (all
 * values are JSON text, so splicing makes valid JSON without parsing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/common/strmap.h"
#include "actors/state/state_internal.h"
#include "runtime/atomics.h"
#include "troupe/codec.h"
#include "troupe/log.h"

typedef struct st_actor {
    tr_state *h;
    tr_buf key, key2, out, tmp;
    tr_state_stats st;
    /* Executions evicted from their workflow's history while still running:
     * their end must not write the keys back.  Bounded by the executions
     * running at once. */
    tr__strmap ghosts;
} st_actor;

typedef struct args {
    tr_mp_val v[4];
    uint32_t n;
} args;

static int arg_str(const args *a, uint32_t i, const char **s, size_t *len)
{
    if (i >= a->n)
        return TR_EINVAL;
    return tr_mp_get_str(a->v[i], s, len);
}

static uint32_t arg_u32(const args *a, uint32_t i)
{
    uint64_t u = 0;
    if (i < a->n && tr_mp_get_uint(a->v[i], &u) == TR_OK && u <= UINT32_MAX)
        return (uint32_t)u;
    return 0;
}

/* JSON string literal of s into b. */
static void json_quote(tr_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    tr_buf_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        tr_buf_append(b, s + run, i - run);
        char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\')
            tr_buf_append(b, (char[]){'\\', (char)c}, 2);
        else
            tr_buf_append(b, e, 6);
        run = i + 1;
    }
    tr_buf_append(b, s + run, len - run);
    tr_buf_append(b, "\"", 1);
}

/* workflow:{wf}:... into b (reset first). */
static void build_key(tr_buf *b, tr_state_key_kind kind, const char *wf,
                      size_t wl, const char *ex, size_t el)
{
    static const char *const tail[] = {":status", ":result"};
    tr_buf_reset(b);
    tr_buf_append(b, "workflow:", 9);
    tr_buf_append(b, wf, wl);
    switch (kind) {
    case TR_STATE_KEY_STATUS:
    case TR_STATE_KEY_RESULT:
        tr_buf_append(b, ":execution:", 11);
        tr_buf_append(b, ex, el);
        tr_buf_append(b, tail[kind], 7);
        break;
    case TR_STATE_KEY_LATEST:
        tr_buf_append(b, ":latest_execution", 17);
        break;
    default:
        tr_buf_append(b, ":executions", 11);
        break;
    }
}

#define KEY(b) (const char *)(b)->data, (b)->len
#define OPS(s) (s)->h->ops
#define BE(s) (s)->h->be

/* ---------------------------------------------------------------- lists */

static void collect(void *arg, const char *val, size_t len)
{
    tr_buf *b = arg;
    uint32_t l = (uint32_t)len;
    tr_buf_append(b, &l, sizeof(l));
    tr_buf_append(b, val, len);
}

/* Items start..start+count-1 of key into s->tmp as [u32 len][bytes]... */
static int read_list(st_actor *s, const char *key, size_t klen, uint32_t start,
                     uint32_t count)
{
    tr_buf_reset(&s->tmp);
    int n = OPS(s)->list_range(BE(s), key, klen, start, count, collect, &s->tmp);
    if (n >= 0 && tr_buf_error(&s->tmp) != TR_OK)
        n = tr_buf_error(&s->tmp);
    return n;
}

#define EACH_ITEM(s, p, l)                                                     \
    for (size_t off_ = 0; off_ < (s)->tmp.len &&                               \
                          (memcpy(&l, (s)->tmp.data + off_, 4),                \
                           p = (const char *)(s)->tmp.data + off_ + 4, 1);     \
         off_ += 4 + l)

static int list_range(st_actor *s, const args *a)
{
    const char *k;
    size_t kl;
    if (arg_str(a, 0, &k, &kl) != 0)
        return TR_EINVAL;
    uint32_t count = arg_u32(a, 2);
    int n = read_list(s, k, kl, arg_u32(a, 1), count ? count : UINT32_MAX);
    if (n < 0)
        return n;
    const char *p;
    uint32_t l, i = 0;
    tr_buf_append(&s->out, "[", 1);
    EACH_ITEM(s, p, l)
    {
        if (i++)
            tr_buf_append(&s->out, ",", 1);
        tr_buf_append(&s->out, p, l);
    }
    tr_buf_append(&s->out, "]", 1);
    return n;
}

/* The id inside a JSON string literal (the history's items). */
static bool json_unquote(st_actor *s, const char *p, size_t l, const char **id,
                         size_t *il)
{
    if (l >= 2 && p[0] == '"' && p[l - 1] == '"' && !memchr(p, '\\', l)) {
        *id = p + 1;
        *il = l - 2;
        return true;
    }
    tr_buf_reset(&s->key2);
    tr_mp_val v;
    return tr_json_to_mp(&s->key2, p, l, NULL) == TR_OK &&
           tr_mp_read(s->key2.data, s->key2.len, &v, NULL) == TR_OK &&
           tr_mp_get_str(v, id, il) == TR_OK;
}

static void splice_value(st_actor *s, tr_state_key_kind kind, const char *wf,
                         size_t wl, const char *id, size_t il)
{
    const char *v;
    size_t vl;
    build_key(&s->key, kind, wf, wl, id, il);
    if (tr_buf_error(&s->key) == TR_OK &&
        OPS(s)->get(BE(s), KEY(&s->key), &v, &vl) == 0)
        tr_buf_append(&s->out, v, vl);
    else
        tr_buf_append(&s->out, "null", 4);
}

static int history(st_actor *s, const args *a)
{
    const char *wf;
    size_t wl;
    if (arg_str(a, 0, &wf, &wl) != 0)
        return TR_EINVAL;
    uint32_t limit = arg_u32(a, 1);
    build_key(&s->key, TR_STATE_KEY_EXECUTIONS, wf, wl, NULL, 0);
    if (tr_buf_error(&s->key) != TR_OK)
        return TR_ENOMEM;
    int n = read_list(s, KEY(&s->key), 0, limit ? limit : s->h->history_cap);
    if (n < 0)
        return n;
    const char *p, *id;
    size_t il;
    uint32_t l, i = 0;
    tr_buf_append(&s->out, "[", 1);
    EACH_ITEM(s, p, l)
    {
        if (!json_unquote(s, p, l, &id, &il))
            continue;
        if (i++)
            tr_buf_append(&s->out, ",", 1);
        tr_buf_append(&s->out, "{\"execution_id\":", 16);
        tr_buf_append(&s->out, p, l);
        tr_buf_append(&s->out, ",\"status\":", 10);
        splice_value(s, TR_STATE_KEY_STATUS, wf, wl, id, il);
        tr_buf_append(&s->out, ",\"result\":", 10);
        splice_value(s, TR_STATE_KEY_RESULT, wf, wl, id, il);
        tr_buf_append(&s->out, "}", 1);
    }
    tr_buf_append(&s->out, "]", 1);
    return (int)i;
}

/* ---------------------------------------------------------------- executions */

/* The ids of executions that fall off a workflow's history, collected while
 * the backend lists them (no modifying call in the middle of a visit), then
 * their status and result keys are deleted. */
typedef struct evicted {
    tr_buf ids; /* "id\0id\0..." */
} evicted;

static void collect_evicted(void *arg, const char *val, size_t len)
{
    evicted *ev = arg;
    if (len < 2 || val[0] != '"' || val[len - 1] != '"')
        return; /* not an id we wrote */
    tr_buf_append(&ev->ids, val + 1, len - 2);
    tr_buf_append(&ev->ids, "", 1);
}

static int forget_evicted(st_actor *s, const char *wf, size_t wl, evicted *ev)
{
    int rc = tr_buf_error(&ev->ids);
    for (size_t off = 0; rc == 0 && off < ev->ids.len;) {
        const char *id = (const char *)ev->ids.data + off;
        size_t il = strlen(id);
        for (int kind = TR_STATE_KEY_STATUS; kind <= TR_STATE_KEY_RESULT; kind++) {
            build_key(&s->key, (tr_state_key_kind)kind, wf, wl, id, il);
            if ((rc = tr_buf_error(&s->key)) != TR_OK)
                break;
            const char *v;
            size_t vl;
            if (kind == TR_STATE_KEY_STATUS &&
                OPS(s)->get(BE(s), KEY(&s->key), &v, &vl) == 0 && vl == 9 &&
                memcmp(v, "\"running\"", 9) == 0) {
                tr__strval *g;
                if (tr__strmap_put(&s->ghosts, id, il, &g, NULL) != 0)
                    rc = TR_ENOMEM;
            }
            OPS(s)->del(BE(s), KEY(&s->key));
        }
        off += il + 1;
    }
    tr_buf_fini(&ev->ids);
    return rc;
}

/* HISTORY_PUSH (begin = false) or EXEC_BEGIN (begin = true). */
static int exec_begin(st_actor *s, const args *a, bool begin)
{
    const char *wf, *ex;
    size_t wl, el;
    if (arg_str(a, 0, &wf, &wl) != 0 || arg_str(a, 1, &ex, &el) != 0)
        return TR_EINVAL;
    uint32_t cap = arg_u32(a, 2);
    tr_buf_reset(&s->tmp);
    json_quote(&s->tmp, ex, el);
    int rc = 0;
    if (begin) {
        build_key(&s->key, TR_STATE_KEY_STATUS, wf, wl, ex, el);
        if (tr_buf_error(&s->key) != TR_OK)
            return TR_ENOMEM;
        if ((rc = OPS(s)->set(BE(s), KEY(&s->key), "\"running\"", 9)) != 0)
            return rc;
        build_key(&s->key, TR_STATE_KEY_LATEST, wf, wl, NULL, 0);
        if (tr_buf_error(&s->key) != TR_OK || tr_buf_error(&s->tmp) != TR_OK)
            return TR_ENOMEM;
        rc = OPS(s)->set(BE(s), KEY(&s->key), KEY(&s->tmp));
        if (rc != 0)
            return rc;
    }
    build_key(&s->key, TR_STATE_KEY_EXECUTIONS, wf, wl, NULL, 0);
    if (tr_buf_error(&s->key) != TR_OK || tr_buf_error(&s->tmp) != TR_OK)
        return TR_ENOMEM;
    if (cap == 0)
        cap = s->h->history_cap;
    /* The executions the push is about to drop from the capped history
     * take their status and result keys with them, so the store holds a
     * bounded number of executions per workflow. */
    evicted ev;
    tr_buf_init(&ev.ids);
    if (cap > 0)
        OPS(s)->list_range(BE(s), KEY(&s->key), cap - 1, UINT32_MAX, collect_evicted, &ev);
    if ((rc = forget_evicted(s, wf, wl, &ev)) != 0)
        return rc;
    build_key(&s->key, TR_STATE_KEY_EXECUTIONS, wf, wl, NULL, 0);
    if (tr_buf_error(&s->key) != TR_OK)
        return TR_ENOMEM;
    return OPS(s)->list_push_capped(BE(s), KEY(&s->key), KEY(&s->tmp), cap);
}

static int exec_end(st_actor *s, const args *a)
{
    const char *wf, *ex, *status, *res;
    size_t wl, el, sl, rl;
    if (arg_str(a, 0, &wf, &wl) != 0 || arg_str(a, 1, &ex, &el) != 0 ||
        arg_str(a, 2, &status, &sl) != 0)
        return TR_EINVAL;
    if (tr__strmap_del(&s->ghosts, ex, el, NULL) == 0)
        return 0; /* evicted while it ran: its keys are gone for good */
    tr_buf_reset(&s->tmp);
    json_quote(&s->tmp, status, sl);
    build_key(&s->key, TR_STATE_KEY_STATUS, wf, wl, ex, el);
    if (tr_buf_error(&s->key) != TR_OK || tr_buf_error(&s->tmp) != TR_OK)
        return TR_ENOMEM;
    int rc = OPS(s)->set(BE(s), KEY(&s->key), KEY(&s->tmp));
    if (rc != 0 || arg_str(a, 3, &res, &rl) != 0)
        return rc;
    build_key(&s->key, TR_STATE_KEY_RESULT, wf, wl, ex, el);
    if (tr_buf_error(&s->key) != TR_OK)
        return TR_ENOMEM;
    return OPS(s)->set(BE(s), KEY(&s->key), res, rl);
}

/* ---------------------------------------------------------------- dispatch */

static int handle(st_actor *s, uint32_t type, const args *a, bool *has_text)
{
    const char *k, *v;
    size_t kl, vl;
    int rc;
    switch (type) {
    case TR_STATE_MSG_SYNC:
        return 0;
    case TR_STATE_MSG_LIST_RANGE:
        *has_text = true;
        return list_range(s, a);
    case TR_STATE_MSG_HISTORY:
        *has_text = true;
        return history(s, a);
    case TR_STATE_MSG_HISTORY_PUSH:
        return exec_begin(s, a, false);
    case TR_STATE_MSG_EXEC_BEGIN:
        return exec_begin(s, a, true);
    case TR_STATE_MSG_EXEC_END:
        return exec_end(s, a);
    default:
        break;
    }
    if (arg_str(a, 0, &k, &kl) != 0)
        return TR_EINVAL;
    switch (type) {
    case TR_STATE_MSG_SET:
        if (arg_str(a, 1, &v, &vl) != 0)
            return TR_EINVAL;
        return OPS(s)->set(BE(s), k, kl, v, vl);
    case TR_STATE_MSG_GET:
        if ((rc = OPS(s)->get(BE(s), k, kl, &v, &vl)) == 0) {
            tr_buf_append(&s->out, v, vl);
            *has_text = true;
        }
        return rc;
    case TR_STATE_MSG_DEL:
        return OPS(s)->del(BE(s), k, kl);
    case TR_STATE_MSG_EXISTS:
        return OPS(s)->exists(BE(s), k, kl);
    case TR_STATE_MSG_LIST_PUSH:
        if (arg_str(a, 1, &v, &vl) != 0)
            return TR_EINVAL;
        return OPS(s)->list_push_capped(BE(s), k, kl, v, vl, arg_u32(a, 2));
    default:
        return TR_EINVAL;
    }
}

static void answer(st_actor *s, const tr_msg *m, int rc, bool has_text)
{
    if (has_text && rc >= 0 && tr_buf_error(&s->out) != TR_OK)
        rc = TR_ENOMEM;
    if (m->status == TR__STATE_SYNC && tr_ref_is_none(m->sender) &&
        m->payload != NULL) {
        tr__waiter *w = (tr__waiter *)(uintptr_t)m->corr_id;
        char *text = NULL;
        if (has_text && rc >= 0) {
            text = malloc(s->out.len + 1);
            if (text == NULL)
                rc = TR_ENOMEM;
            else {
                memcpy(text, s->out.data, s->out.len);
                text[s->out.len] = '\0';
            }
        }
        tr__waiter_complete(w, rc, text, text ? s->out.len : 0, NULL);
        return;
    }
    if (tr_ref_is_none(m->reply_to)) {
        if (rc < 0 && rc != TR_ENOENT)
            TR_LOG_WARN("state", "request 0x%x failed: %s", m->type,
                        tr_strerror(rc));
        return;
    }
    tr_payload *p = NULL;
    if (has_text && rc >= 0) {
        tr_buf_reset(&s->tmp);
        tr_mp_write_str(&s->tmp, (const char *)s->out.data, s->out.len);
        if (tr_buf_copy(&s->tmp, &p) != TR_OK)
            rc = TR_ENOMEM;
    }
    tr_send_args r = {.type = TR_STATE_MSG_REPLY, .flags = TR_MSG_F_REPLY,
                      .corr_id = m->corr_id, .status = rc, .payload = p};
    tr_send_msg(s->h->rt, m->reply_to, &r);
    tr_payload_unref(p);
}

static int st_init(tr_runtime *rt, void *state, void *arg)
{
    (void)rt;
    st_actor *s = state;
    s->h = arg;
    tr_buf_init(&s->key);
    tr_buf_init(&s->key2);
    tr_buf_init(&s->out);
    tr_buf_init(&s->tmp);
    tr__strmap_init(&s->ghosts);
    return 0;
}

static int st_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    (void)ctx;
    st_actor *s = state;
    if (m->type < TR_STATE_MSG_SET || m->type > TR_STATE_MSG_SYNC)
        return 0;
    args a = {0};
    int rc = 0;
    bool has_text = false;
    tr_buf_reset(&s->out);
    if (m->type != TR_STATE_MSG_SYNC) {
        tr_mp_val root;
        if (m->payload == NULL ||
            tr_mp_read_payload(m->payload, &root, NULL) != TR_OK ||
            tr_mp_count(root, &a.n) != TR_OK ||
            tr_mp_typeof(root) != TR_MP_ARRAY)
            rc = TR_EPROTO;
        for (uint32_t i = 0; rc == 0 && i < a.n && i < 4; i++)
            tr_mp_array_at(root, i, &a.v[i]);
        if (a.n > 4)
            a.n = 4;
    }
    if (rc == 0)
        rc = handle(s, m->type, &a, &has_text);
    s->st.requests++;
    if (rc < 0 && rc != TR_ENOENT)
        s->st.failed++;
    tr__store_u64_relaxed(&s->h->stats.requests, s->st.requests);
    tr__store_u64_relaxed(&s->h->stats.failed, s->st.failed);
    answer(s, m, rc, has_text);
    return 0;
}

static void st_stop(tr_ctx *ctx, void *state, int reason)
{
    (void)ctx;
    (void)reason;
    st_actor *s = state;
    tr__strmap_fini(&s->ghosts);
    tr_buf_fini(&s->key);
    tr_buf_fini(&s->key2);
    tr_buf_fini(&s->out);
    tr_buf_fini(&s->tmp);
    tr__waiter *w = s->h->stopped;
    tr__waiter_complete(w, 0, NULL, 0, NULL);
    tr__waiter_unref(w);
}

const tr_actor_ops tr__state_actor_ops = {
    .state_size = sizeof(st_actor),
    .init = st_init,
    .receive = st_receive,
    .stop = st_stop,
    .name = "state",
};
