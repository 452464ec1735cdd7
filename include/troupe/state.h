/*
 * troupe/state.h -- the state store: JSON values under string keys.
 *
 * The store is one actor on a tr_runtime in front of a backend (an ops
 * table; `memory` is built in, `redis` comes later behind the same API).
 * The actor is the backend's only caller, so a backend needs no locking and
 * every operation is atomic with respect to the others.  Operations from one
 * thread (or one actor) are applied in the order they were made (the
 * runtime's per-sender FIFO): a get after a set from the same thread sees it.
 *
 * Values are JSON text.  The store does not parse them (callers vouch that
 * they are JSON); it copies them in, and everything it returns is a fresh
 * malloc'd copy (or a payload) the caller owns.  Keys are byte strings
 * (NUL-terminated in this API) -- see docs/state.md for the contract keys.
 *
 * Three ways in:
 *   - fire-and-forget writes (tr_state_set, ...): any thread, never block a
 *     worker, return once queued; the executor's hot path.  A write that
 *     fails in the backend is logged and counted (tr_state_stats_get).
 *   - *_sync calls for threads OUTSIDE the runtime (main, CLI, HTTP glue):
 *     they block the calling thread on a condition variable until the actor
 *     answers.  Never call them from a worker (a receive function or a bus
 *     callback): the answer may need that very worker.
 *   - request messages for actors: build the payload with tr_state_req_encode,
 *     tr_ask it to tr_state_ref(st), read the TR_STATE_MSG_REPLY.
 *
 * Errors: 0 (or a documented count) or a negative TR_E* code.
 */
#ifndef TROUPE_STATE_H
#define TROUPE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"
#include "troupe/payload.h"
#include "troupe/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tr_state tr_state;

/* ---------------------------------------------------------------------------
 * Backends
 * ------------------------------------------------------------------------ */

/* Called for each list item by list_range, newest first; val is borrowed for
 * the call. */
typedef void (*tr_state_item_fn)(void *arg, const char *val, size_t len);

/* A backend.  Every op runs on the state actor's worker, one at a time, and
 * must not block (a networked backend pipelines).  Keys and values are
 * borrowed for the call (not NUL-terminated: use the lengths); a backend
 * copies what it keeps.  Errors: TR_ENOENT (no such key), TR_ESTATE (the key
 * holds the other kind: a string where a list is expected or the reverse),
 * TR_ENOMEM, TR_EIO; on error nothing was changed. */
typedef struct tr_state_backend_ops {
    const char *name;
    /* Create the backend's state (*self) from arg (backend-specific). */
    int (*open)(void **self, void *arg);
    void (*close)(void *self);
    /* *val points into the backend, valid until its next modifying call. */
    int (*get)(void *self, const char *key, size_t klen, const char **val,
               size_t *vlen);
    /* Create or replace (a list under key is replaced by the string). */
    int (*set)(void *self, const char *key, size_t klen, const char *val,
               size_t vlen);
    /* 0, or TR_ENOENT when there was nothing to delete. */
    int (*del)(void *self, const char *key, size_t klen);
    /* 1 or 0. */
    int (*exists)(void *self, const char *key, size_t klen);
    /* Push val at the head (newest first) of the list at key, creating it,
     * then drop the oldest items beyond cap (0 = no cap). */
    int (*list_push_capped)(void *self, const char *key, size_t klen,
                            const char *val, size_t vlen, uint32_t cap);
    /* Visit items start .. start+count-1 (0 = newest); returns the number
     * visited (0 for a missing key) or an error. */
    int (*list_range)(void *self, const char *key, size_t klen, uint32_t start,
                      uint32_t count, tr_state_item_fn fn, void *arg);
} tr_state_backend_ops;

/* The in-process backend: open addressing hash map, open arg ignored. */
TR_EXTERN const tr_state_backend_ops *tr_state_memory_backend(void);

/* ---------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------ */

typedef struct tr_state_opts {
    const tr_state_backend_ops *backend; /* NULL = memory */
    void *backend_arg;                   /* passed to backend->open */
    uint32_t mailbox;                    /* 0 = 65536 */
    uint32_t history_cap;                /* default cap of executions lists;
                                            0 = 100 */
} tr_state_opts;

/* Open the backend and spawn the actor.  opts may be NULL.  Returns 0 and
 * *out (freed with tr_state_free), TR_ENOMEM, the backend's open error, or
 * tr_spawn's.  The store's mailbox applies back-pressure: writers outside
 * the runtime wait when it is over capacity, writers on workers never do
 * (TR_EFULL at twice the capacity). */
TR_EXTERN int tr_state_start(tr_runtime *rt, const tr_state_opts *opts,
                             tr_state **out);

/* Stop the actor after what is queued, close the backend, free the handle.
 * Callable before or after tr_runtime_free; not from a worker.  st may be
 * NULL. */
TR_EXTERN void tr_state_free(tr_state *st);

TR_EXTERN tr_actor_ref tr_state_ref(const tr_state *st);

/* ---------------------------------------------------------------------------
 * Contract keys
 * ------------------------------------------------------------------------ */

typedef enum tr_state_key_kind {
    TR_STATE_KEY_STATUS,     /* workflow:{wf}:execution:{exec}:status  */
    TR_STATE_KEY_RESULT,     /* workflow:{wf}:execution:{exec}:result  */
    TR_STATE_KEY_LATEST,     /* workflow:{wf}:latest_execution         */
    TR_STATE_KEY_EXECUTIONS, /* workflow:{wf}:executions (a list)      */
    TR_STATE_KEY_EMERGENCY,  /* emergency:{wf = controller id}         */
} tr_state_key_kind;

/* Write the key into buf (cap bytes, NUL-terminated).  exec is used only by
 * STATUS and RESULT.  Returns the length (>= 0), TR_EINVAL, or TR_ETOOBIG
 * when it does not fit.  Pure function, any thread. */
TR_EXTERN int tr_state_key(char *buf, size_t cap, tr_state_key_kind kind,
                           const char *wf, const char *exec);

/* ---------------------------------------------------------------------------
 * Fire-and-forget writes (any thread; the strings are copied)
 * ------------------------------------------------------------------------ */

/* Each returns 0 once queued, TR_EINVAL, TR_ENOMEM, TR_EFULL, TR_EDEAD. */
TR_EXTERN int tr_state_set(tr_state *st, const char *key, const char *json,
                           size_t len);
TR_EXTERN int tr_state_del(tr_state *st, const char *key);
TR_EXTERN int tr_state_list_push(tr_state *st, const char *key,
                                 const char *json, size_t len, uint32_t cap);
/* Push execution_id (as a JSON string) on workflow:{wf}:executions, capped
 * (cap 0 = the store's history_cap). */
TR_EXTERN int tr_state_history_push(tr_state *st, const char *wf,
                                    const char *exec, uint32_t cap);
/* An execution starts -- one message, three writes: status = "running",
 * latest_execution = exec, history_push(exec, cap). */
TR_EXTERN int tr_state_execution_begin(tr_state *st, const char *wf,
                                       const char *exec, uint32_t cap);
/* An execution ends -- one message, two writes: status = status (one of
 * "completed", "failed", "halted"; stored as a JSON string) and result =
 * result_json (the {status, duration_ms, outputs, error?} object, len
 * bytes; NULL leaves the result unset). */
TR_EXTERN int tr_state_execution_end(tr_state *st, const char *wf,
                                     const char *exec, const char *status,
                                     const char *result_json, size_t len);

/* ---------------------------------------------------------------------------
 * Synchronous calls: threads outside the runtime ONLY (see above)
 * ------------------------------------------------------------------------ */

/* timeout_ms 0 waits forever.  All may return TR_ETIMEDOUT (the request
 * still happens later), TR_ECLOSED (store stopped), TR_ENOMEM, or a send
 * error. */

/* *json = a malloc'd NUL-terminated copy (caller frees), *len its length
 * (len may be NULL).  TR_ENOENT for a missing key (*json = NULL), TR_ESTATE
 * for a list. */
TR_EXTERN int tr_state_get_sync(tr_state *st, const char *key, char **json,
                                size_t *len, uint64_t timeout_ms);
/* Returns once applied. */
TR_EXTERN int tr_state_set_sync(tr_state *st, const char *key,
                                const char *json, size_t len,
                                uint64_t timeout_ms);
/* 0, or TR_ENOENT when the key did not exist. */
TR_EXTERN int tr_state_del_sync(tr_state *st, const char *key,
                                uint64_t timeout_ms);
/* 1 when the key exists, 0 when not, or an error. */
TR_EXTERN int tr_state_exists_sync(tr_state *st, const char *key,
                                   uint64_t timeout_ms);
/* The items start .. start+count-1 (newest first) as one JSON array text
 * ("[item,item]", malloc'd, caller frees).  Returns the item count. */
TR_EXTERN int tr_state_list_range_sync(tr_state *st, const char *key,
                                       uint32_t start, uint32_t count,
                                       char **json, size_t *len,
                                       uint64_t timeout_ms);
/* Execution history of wf, newest first, at most limit entries (0 = the
 * history cap): a JSON array text of
 *   {"execution_id":"…","status":<status or null>,"result":<result or null>}
 * (malloc'd, caller frees).  Returns the entry count. */
TR_EXTERN int tr_state_history(tr_state *st, const char *wf, uint32_t limit,
                               char **json, size_t *len, uint64_t timeout_ms);
/* Barrier: returns once every request queued before it was applied. */
TR_EXTERN int tr_state_sync(tr_state *st, uint64_t timeout_ms);

/* ---------------------------------------------------------------------------
 * Messages (for actors)
 * ------------------------------------------------------------------------ */

/* Requests ('ST' range).  The payload is a msgpack array built by
 * tr_state_req_encode (layouts in docs/state.md).  A request whose reply_to is set
 * (tr_ask does that) is answered with TR_STATE_MSG_REPLY: status = the
 * result (0, a count, 1/0 for EXISTS, or a TR_E* code), payload = a msgpack
 * str holding JSON text for GET, LIST_RANGE and HISTORY, else none.  Without
 * reply_to nothing is answered (fire-and-forget). */
#define TR_STATE_MSG_BASE 0x53540000u
enum {
    TR_STATE_MSG_SET = TR_STATE_MSG_BASE + 1,          /* key, value      */
    TR_STATE_MSG_GET = TR_STATE_MSG_BASE + 2,          /* key             */
    TR_STATE_MSG_DEL = TR_STATE_MSG_BASE + 3,          /* key             */
    TR_STATE_MSG_EXISTS = TR_STATE_MSG_BASE + 4,       /* key             */
    TR_STATE_MSG_LIST_PUSH = TR_STATE_MSG_BASE + 5,    /* key, value, cap */
    TR_STATE_MSG_LIST_RANGE = TR_STATE_MSG_BASE + 6,   /* key, start, count */
    TR_STATE_MSG_HISTORY_PUSH = TR_STATE_MSG_BASE + 7, /* wf, exec, cap   */
    TR_STATE_MSG_HISTORY = TR_STATE_MSG_BASE + 8,      /* wf, count(limit) */
    TR_STATE_MSG_EXEC_BEGIN = TR_STATE_MSG_BASE + 9,   /* wf, exec, cap   */
    TR_STATE_MSG_EXEC_END = TR_STATE_MSG_BASE + 10,    /* wf, exec, status, value */
    TR_STATE_MSG_SYNC = TR_STATE_MSG_BASE + 11,        /* (no payload)    */
    TR_STATE_MSG_REPLY = TR_STATE_MSG_BASE + 12,
};

/* Arguments of a request; which fields a type uses is listed above (NULL
 * value with value_len 0 is allowed only for EXEC_END).  Strings are
 * NUL-terminated except value (value_len bytes). */
typedef struct tr_state_req {
    const char *key;
    const char *value;
    size_t value_len;
    const char *wf;
    const char *exec;
    const char *status;
    uint32_t cap;
    uint32_t start;
    uint32_t count;
} tr_state_req;

/* Encode a request payload (refcount 1, the caller's).  Returns 0,
 * TR_EINVAL (unknown type, missing field) or TR_ENOMEM. */
TR_EXTERN int tr_state_req_encode(uint32_t type, const tr_state_req *req,
                                  tr_payload **out);

/* The JSON text of a TR_STATE_MSG_REPLY: *json points INTO the payload (not
 * NUL-terminated; valid while the payload is).  TR_ENOENT when the reply
 * has none. */
TR_EXTERN int tr_state_reply_json(const tr_msg *reply, const char **json,
                                  size_t *len);

/* ---------------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------------ */

typedef struct tr_state_stats {
    uint64_t requests; /* handled */
    uint64_t failed;   /* requests whose operation failed, replies included
                          (a missing key is not a failure) */
} tr_state_stats;

TR_EXTERN void tr_state_stats_get(const tr_state *st, tr_state_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_STATE_H */
