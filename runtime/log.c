/*
 * runtime/log.c -- structured logging (troupe/log.h).
 *
 * DESIGN
 * ------
 * Fast path.  A line below the minimum level costs one relaxed load of
 * tr__log_min_level (inline in the header).  The level is independent of
 * every other datum, so relaxed is enough: a line racing a level change may
 * be filtered by either value, which is all a caller can observe anyway.
 *
 * Sink configuration: two slots and a pin count per slot (a tiny RCU).
 * `g_active` names the slot in force.  A logging thread pins a slot:
 *     i = active; users[i] += 1 (seq_cst RMW); re-check active == i,
 * else unpins and retries; it reads slot i's configuration and writes its
 * line while pinned, then unpins with a release decrement.
 * tr_log_configure, serialized by a mutex (never taken by loggers), fills
 * the inactive slot j only once an RMW `users[j] += 0` returns 0, publishes
 * it with a seq_cst exchange of `active`, then repeats the RMW on the old
 * slot until it returns 0 before returning.
 *   - The writer's check is an RMW, not a load, so no fence is needed (and
 *     TSan, which does not model fences, can check the argument).  RMWs on
 *     users[] are totally ordered.  If the logger's increment comes first,
 *     the writer's RMW reads it and waits.  If the writer's RMW comes first,
 *     the logger's increment reads from it (acq_rel), so the writer's
 *     earlier exchange of `active` happens-before the logger's re-check,
 *     which then sees the new value and backs off, or, when that value is
 *     j, has acquired the exchange that published slot j's fields.  Either
 *     way a logger never reads a slot while it is being written.
 *   - Grace period: the writer's RMW that reads 0 on the old slot reads from
 *     the last release unpin, so every pinned logger's reads and write(2)
 *     happen-before configure returns; later loggers back off as above.
 *     Hence "no one uses the old fd/sink_arg after configure returns".
 * The pin is two RMWs per *emitted* line; a write(2) costs far more.
 * Configure may yield-wait on a logger blocked in write(2).
 *
 * Lines.  Formatted into a TR_LOG_LINE_MAX (= PIPE_BUF) stack buffer and
 * written with one write(2), EINTR retried; no allocation, errno preserved.
 * The builder reserves TAIL_RESERVE bytes so that, when content does not
 * fit, it can always close the line: escape sequences and UTF-8 characters
 * are copied whole, the message gets a "...[truncated]" marker, whole kv
 * fields are rolled back, and JSON gets "truncated":true and its closing
 * brace.  JSON strings are valid UTF-8: invalid bytes become U+FFFD.
 * Console lines escape control characters so one record stays one line.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/atomics.h"
#include "runtime/log_line.h"
#include "troupe/log.h"


/* ---------------------------------------------------------------------------
 * Process-wide state
 * ------------------------------------------------------------------------ */

uint32_t tr__log_min_level = TR_LOG_LEVEL_INFO;

typedef struct sink_slot {
    /* Written by every emitting thread (pin/unpin): own cache line. */
    _Alignas(64) uint32_t users;
    /* Written only by tr_log_configure while inactive and unpinned. */
    tr_log_config cfg;
} sink_slot;

static sink_slot g_slot[2] = {{.users = 0, .cfg = TR_LOG_CONFIG_INIT},
                              {.users = 0, .cfg = TR_LOG_CONFIG_INIT}};
static _Alignas(64) uint32_t g_active = 0;
static uint64_t g_dropped = 0;
static pthread_mutex_t g_cfg_lock = PTHREAD_MUTEX_INITIALIZER;

/* Thread-local context. */
static _Thread_local uint64_t t_corr;
static _Thread_local const char *t_label;
static _Thread_local bool t_in_sink;

static sink_slot *sink_pin(void)
{
    for (;;) {
        uint32_t i = tr__load_u32_acquire(&g_active);
        tr__faa_u32(&g_slot[i].users, 1); /* acq_rel: see the design note */
        if (tr__load_u32_acquire(&g_active) == i)
            return &g_slot[i];
        /* A configure switched slots under us; it may be about to rewrite
         * slot i, so do not read it. */
        tr__faa_u32_release(&g_slot[i].users, UINT32_MAX);
    }
}

static void sink_unpin(sink_slot *s)
{
    /* Release: our reads of s->cfg and our write(2) happen-before the
     * configure that observes users == 0. */
    tr__faa_u32_release(&s->users, UINT32_MAX);
}

static void wait_unpinned(sink_slot *s)
{
    for (;;) {
        /* An RMW, not a load: it reads the latest count and orders this
         * configure against every later pin (design note). */
        if (tr__faa_u32(&s->users, 0) == 0)
            return;
        sched_yield();
    }
}

static void count_drop(void)
{
    tr__faa_u64_relaxed(&g_dropped, 1); /* a statistic; no ordering */
}

/* ---------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------ */

int tr_log_configure(const tr_log_config *cfg)
{
    tr_log_config c = TR_LOG_CONFIG_INIT;
    if (cfg != NULL)
        c = *cfg;
    if ((unsigned)c.format > TR_LOG_FORMAT_JSON || (unsigned)c.min_level > TR_LOG_LEVEL_OFF ||
        (c.sink == NULL && c.fd < 0))
        return TR_EINVAL;
    if (t_in_sink)
        return TR_ESTATE; /* waiting for our own pin would never end */

    pthread_mutex_lock(&g_cfg_lock);
    uint32_t old = tr__load_u32_relaxed(&g_active); /* only we change it */
    uint32_t next = old ^ 1u;
    wait_unpinned(&g_slot[next]); /* stale pins from loggers backing off */
    g_slot[next].cfg = c;
    tr__xchg_u32(&g_active, next); /* publishes cfg (seq_cst) */
    tr__store_u32_relaxed(&tr__log_min_level, (uint32_t)c.min_level);
    wait_unpinned(&g_slot[old]); /* grace period for the old fd/sink */
    pthread_mutex_unlock(&g_cfg_lock);
    return 0;
}

void tr_log_get_config(tr_log_config *out)
{
    sink_slot *s = sink_pin();
    *out = s->cfg;
    sink_unpin(s);
}

bool tr_log_level_enabled(tr_log_level level)
{
    return tr_log_enabled(level);
}

uint64_t tr_log_dropped(void)
{
    return tr__load_u64_relaxed(&g_dropped);
}

/* ---------------------------------------------------------------------------
 * Correlation context
 * ------------------------------------------------------------------------ */

uint64_t tr_log_set_corr(uint64_t corr)
{
    uint64_t prev = t_corr;
    t_corr = corr;
    return prev;
}

const char *tr_log_set_label(const char *label)
{
    const char *prev = t_label;
    t_label = label;
    return prev;
}

tr_log_ctx tr_log_ctx_save(void)
{
    return (tr_log_ctx){.corr = t_corr, .label = t_label};
}

void tr_log_ctx_restore(tr_log_ctx saved)
{
    t_corr = saved.corr;
    t_label = saved.label;
}

tr_log_ctx tr_log_ctx_push(uint64_t corr, const char *label)
{
    tr_log_ctx saved = tr_log_ctx_save();
    t_corr = corr;
    t_label = label;
    return saved;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        /* A short write (only possible on files/sockets, never for a pipe
         * write <= PIPE_BUF) is finished with a second call. */
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* ---------------------------------------------------------------------------
 * Emitting
 * ------------------------------------------------------------------------ */

static void emit(tr_log_level level, const char *module, const char *msg, size_t msg_len,
                 bool msg_cut, const tr_log_field *fields, size_t nfields)
{
    if (t_in_sink) {
        count_drop(); /* a sink logging would recurse */
        return;
    }
    char ts[32];
    int64_t ts_ms = tr__log_format_ts(ts);

    if (module == NULL)
        module = "-";
    size_t module_len = tr__log_capped_len(module, TR_LOG_MODULE_MAX);

    char hex[17];
    const char *corr = "";
    size_t corr_len = 0;
    if (t_label != NULL) {
        corr = t_label;
        corr_len = tr__log_capped_len(corr, TR_LOG_LABEL_MAX);
    } else if (t_corr != 0) {
        for (int i = 0; i < 16; i++)
            hex[i] = tr__log_hexdig[(t_corr >> (60 - 4 * i)) & 15];
        hex[16] = '\0';
        corr = hex;
        corr_len = 16;
    }

    char line[TR_LOG_LINE_MAX];
    sink_slot *slot = sink_pin();
    tr_log_config cfg = slot->cfg;
    bool truncated;
    size_t len = tr__log_build_line(line, cfg.format, level, ts, module, module_len, corr, corr_len, msg,
                            msg_len, msg_cut, fields, nfields, &truncated);
    if (cfg.sink != NULL) {
        tr_log_record rec = {
            .level = level,
            .ts_ms = ts_ms,
            .ts = ts,
            .module = module,
            .corr = corr,
            .msg = msg,
            .msg_len = msg_len,
            .fields = fields,
            .nfields = nfields,
            .truncated = truncated,
            .line = line,
            .line_len = len,
        };
        t_in_sink = true;
        cfg.sink(cfg.sink_arg, &rec);
        t_in_sink = false;
    } else if (!write_all(cfg.fd, line, len)) {
        count_drop();
    }
    sink_unpin(slot);
}

void tr_logv(tr_log_level level, const char *module, const char *fmt, va_list ap)
{
    if ((unsigned)level > TR_LOG_LEVEL_ERROR || !tr_log_enabled(level))
        return;
    int saved_errno = errno;
    char msg[TR_LOG_LINE_MAX];
    size_t msg_len;
    bool cut = false;
    int n = fmt != NULL ? vsnprintf(msg, sizeof(msg), fmt, ap) : -1;
    if (n < 0) {
        msg_len = (size_t)snprintf(msg, sizeof(msg), "(log format error)");
    } else if ((size_t)n >= sizeof(msg)) {
        msg_len = tr__log_utf8_trim_tail(msg, sizeof(msg) - 1);
        msg[msg_len] = '\0';
        cut = true;
    } else {
        msg_len = (size_t)n;
    }
    emit(level, module, msg, msg_len, cut, NULL, 0);
    errno = saved_errno;
}

void tr_log(tr_log_level level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tr_logv(level, module, fmt, ap);
    va_end(ap);
}

void tr_log_kv(tr_log_level level, const char *module, const char *msg,
               const tr_log_field *fields, size_t nfields)
{
    if ((unsigned)level > TR_LOG_LEVEL_ERROR || !tr_log_enabled(level))
        return;
    int saved_errno = errno;
    if (msg == NULL)
        msg = "";
    if (fields == NULL)
        nfields = 0;
    emit(level, module, msg, strlen(msg), false, fields, nfields);
    errno = saved_errno;
}
