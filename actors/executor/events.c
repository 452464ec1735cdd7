/*
 * actors/executor/events.c -- encoding workflow events.
 *
 * Every event is one msgpack map built in a per-thread scratch buffer (no
 * allocation once warm), copied once into an immutable payload and published
 * on the bus, which stamps `seq` and shares that one buffer with every
 * subscriber.  Field names and meanings are the contract's (docs/events.md).
 * Timestamps: the "YYYY-MM-DDTHH:MM:SS" prefix is cached per thread for the
 * current second, so an event costs one clock read and a few bytes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/executor/exec_internal.h"

/* The scratch buffer lives in thread-specific data so it is freed when its
 * thread (a worker) exits. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
    tr_buf_fini(p);
    free(p);
}

static void scratch_key_init(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

static tr_buf *scratch_get(void)
{
    pthread_once(&scratch_once, scratch_key_init);
    tr_buf *b = pthread_getspecific(scratch_key);
    if (b == NULL && (b = malloc(sizeof(*b))) != NULL) {
        tr_buf_init(b);
        if (pthread_setspecific(scratch_key, b) != 0) {
            free(b);
            b = NULL;
        }
    }
    return b;
}
static _Thread_local int64_t cached_sec = -1;
static _Thread_local char cached_prefix[24];

void tr__iso_time(char out[32], uint64_t wall_ms)
{
    int64_t sec = (int64_t)(wall_ms / 1000);
    if (sec != cached_sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(cached_prefix, sizeof(cached_prefix), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = sec;
    }
    unsigned ms = (unsigned)(wall_ms % 1000);
    memcpy(out, cached_prefix, 19);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
    out[23] = 'Z';
    out[24] = '\0';
}

static void write_opt_str(tr_buf *b, const char *s)
{
    if (s != NULL)
        tr_mp_write_cstr(b, s);
    else
        tr_mp_write_nil(b);
}

tr_buf *tr__ev_begin(const tr__wf *wf, const char *exec_id, const char *type,
                     uint32_t nfields)
{
    tr_buf *b = scratch_get();
    if (b == NULL)
        return NULL;
    tr_buf_reset(b);
    char ts[32];
    tr__iso_time(ts, tr__wall_ms());
    tr_mp_write_map(b, 6 + nfields);
    tr_mp_write_cstr(b, "type");
    tr_mp_write_cstr(b, type);
    tr_mp_write_cstr(b, "execution_id");
    tr_mp_write_cstr(b, exec_id);
    tr_mp_write_cstr(b, "workflow_id");
    tr_mp_write_cstr(b, wf->id);
    tr_mp_write_cstr(b, "bot_id");
    write_opt_str(b, wf->bot_id);
    tr_mp_write_cstr(b, "strategy_id");
    write_opt_str(b, wf->strategy_id);
    tr_mp_write_cstr(b, "timestamp");
    tr_mp_write_str(b, ts, 24);
    return b;
}

int tr__ev_publish(tr_ctx *ctx, tr_engine *eng, tr__outbox *out, tr_buf *b)
{
    tr_payload *p = NULL;
    int rc = tr_buf_copy(b, &p);
    if (rc != 0)
        return rc;
    return tr__outbox_send(out, ctx, tr_bus_ref(eng->bus), TR_BUS_MSG_PUBLISH,
                           TR_BUS_CH_WORKFLOW, p);
}
