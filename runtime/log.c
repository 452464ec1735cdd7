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
#include "troupe/log.h"

#define TAIL_RESERVE 64
#define TRUNC_MARK "...[truncated]"

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

/* ---------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------ */

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};
static const char *const level_console[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
static const char *const format_names[] = {"console", "json"};

static bool ascii_ieq(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        if (x != *b)
            return false;
    }
    return *a == *b;
}

int tr_log_level_parse(const char *s, tr_log_level *out)
{
    if (s == NULL || out == NULL)
        return TR_EINVAL;
    for (int i = 0; i <= TR_LOG_LEVEL_OFF; i++) {
        if (ascii_ieq(s, level_names[i])) {
            *out = (tr_log_level)i;
            return 0;
        }
    }
    if (ascii_ieq(s, "warning")) {
        *out = TR_LOG_LEVEL_WARN;
        return 0;
    }
    return TR_EINVAL;
}

int tr_log_format_parse(const char *s, tr_log_format *out)
{
    if (s == NULL || out == NULL)
        return TR_EINVAL;
    for (int i = 0; i <= TR_LOG_FORMAT_JSON; i++) {
        if (ascii_ieq(s, format_names[i])) {
            *out = (tr_log_format)i;
            return 0;
        }
    }
    return TR_EINVAL;
}

const char *tr_log_level_name(tr_log_level level)
{
    return (unsigned)level <= TR_LOG_LEVEL_OFF ? level_names[level] : "unknown";
}

const char *tr_log_format_name(tr_log_format format)
{
    return (unsigned)format <= TR_LOG_FORMAT_JSON ? format_names[format] : "unknown";
}

/* ---------------------------------------------------------------------------
 * UTF-8 helpers
 * ------------------------------------------------------------------------ */

/* Length (2..4) of the well-formed multi-byte UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* s[0..len) was cut at byte len: drop a trailing incomplete sequence. */
static size_t utf8_trim_tail(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t back = 1; back <= 4 && back <= len; back++) {
        unsigned char c = u[len - back];
        if ((c & 0xC0) == 0x80)
            continue;
        if (c >= 0xC0) {
            size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (need > back)
                return len - back;
        }
        return len;
    }
    return len;
}

/* strlen capped at max, cut on a character boundary. */
static size_t capped_len(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    return n > max ? utf8_trim_tail(s, max) : n;
}

/* ---------------------------------------------------------------------------
 * Line builder: appends fail whole (and latch `full`) when they do not fit.
 * ------------------------------------------------------------------------ */

typedef struct lbuf {
    char *p;
    size_t len;
    size_t lim;
    bool full;
} lbuf;

static bool lb_put(lbuf *b, const char *s, size_t n)
{
    if (b->full || n > b->lim - b->len) {
        b->full = true;
        return false;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return true;
}

static bool lb_puts(lbuf *b, const char *s)
{
    return lb_put(b, s, strlen(s));
}

static const char hexdig[] = "0123456789abcdef";

/* JSON string body (no quotes).  Returns false when cut (at a character
 * boundary). */
static bool json_escape(lbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        char tmp[6];
        const char *out = tmp;
        size_t k = 1, adv = 1;
        switch (c) {
        case '"': out = "\\\""; k = 2; break;
        case '\\': out = "\\\\"; k = 2; break;
        case '\n': out = "\\n"; k = 2; break;
        case '\r': out = "\\r"; k = 2; break;
        case '\t': out = "\\t"; k = 2; break;
        case '\b': out = "\\b"; k = 2; break;
        case '\f': out = "\\f"; k = 2; break;
        default:
            if (c < 0x20) {
                memcpy(tmp, "\\u00", 4);
                tmp[4] = hexdig[c >> 4];
                tmp[5] = hexdig[c & 15];
                k = 6;
            } else if (c < 0x80) {
                tmp[0] = (char)c;
            } else if ((k = utf8_len(u + i, n - i)) != 0) {
                out = s + i;
                adv = k;
            } else {
                out = "\\ufffd"; /* invalid UTF-8 byte */
                k = 6;
            }
        }
        if (!lb_put(b, out, k))
            return false;
        i += adv;
    }
    return true;
}

/* Console text: control characters escaped so a record stays one line.
 * With `quoted`, '"' and '\\' are escaped too (for quoted kv values). */
static bool console_escape(lbuf *b, const char *s, size_t n, bool quoted)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[4];
        size_t k = 2;
        if (c == '\n') {
            memcpy(tmp, "\\n", 2);
        } else if (c == '\r') {
            memcpy(tmp, "\\r", 2);
        } else if (c == '\t') {
            memcpy(tmp, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            tmp[0] = '\\';
            tmp[1] = 'x';
            tmp[2] = hexdig[c >> 4];
            tmp[3] = hexdig[c & 15];
            k = 4;
        } else if (quoted && (c == '"' || c == '\\')) {
            tmp[0] = '\\';
            tmp[1] = (char)c;
        } else {
            /* Keep UTF-8 sequences whole so a cut never splits one. */
            size_t l = c >= 0x80 ? utf8_len((const unsigned char *)s + i, n - i) : 0;
            if (l > 1) {
                if (!lb_put(b, s + i, l))
                    return false;
                i += l - 1;
                continue;
            }
            tmp[0] = (char)c;
            k = 1;
        }
        if (!lb_put(b, tmp, k))
            return false;
    }
    return true;
}

static bool console_needs_quotes(const char *s)
{
    if (*s == '\0')
        return true;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
            return true;
    }
    return false;
}

/* ---------------------------------------------------------------------------
 * Pieces of a line
 * ------------------------------------------------------------------------ */

static void put_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL). */
static int64_t format_ts(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (gmtime_r(&ts.tv_sec, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    put_digits(out, (unsigned)(tm.tm_year + 1900) % 10000u, 4);
    out[4] = '-';
    put_digits(out + 5, (unsigned)tm.tm_mon + 1, 2);
    out[7] = '-';
    put_digits(out + 8, (unsigned)tm.tm_mday, 2);
    out[10] = 'T';
    put_digits(out + 11, (unsigned)tm.tm_hour, 2);
    out[13] = ':';
    put_digits(out + 14, (unsigned)tm.tm_min, 2);
    out[16] = ':';
    put_digits(out + 17, (unsigned)tm.tm_sec, 2);
    out[19] = '.';
    put_digits(out + 20, ms, 3);
    out[23] = 'Z';
    out[24] = '\0';
    return (int64_t)ts.tv_sec * 1000 + (int64_t)ms;
}

static bool is_reserved_key(const char *k)
{
    static const char *const reserved[] = {"ts", "level", "module", "corr", "msg", "truncated"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcmp(k, reserved[i]) == 0)
            return true;
    return false;
}

/* A number as text; JSON has no NaN/inf, so those are "null" there. */
static size_t format_number(char *tmp, size_t cap, const tr_log_field *f, bool json)
{
    int n;
    switch (f->type) {
    case TR_LOG_T_INT:
        n = snprintf(tmp, cap, "%" PRId64, f->v.i);
        break;
    case TR_LOG_T_UINT:
        n = snprintf(tmp, cap, "%" PRIu64, f->v.u);
        break;
    case TR_LOG_T_BOOL:
        n = snprintf(tmp, cap, "%s", f->v.b ? "true" : "false");
        break;
    default: /* F64 */
        if (!isfinite(f->v.f) && json) {
            n = snprintf(tmp, cap, "null");
        } else {
            /* Shortest of %.15g / %.17g that reads back exactly. */
            n = snprintf(tmp, cap, "%.15g", f->v.f);
            if (isfinite(f->v.f) && strtod(tmp, NULL) != f->v.f)
                n = snprintf(tmp, cap, "%.17g", f->v.f);
        }
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}

static bool json_field(lbuf *b, const tr_log_field *f)
{
    const char *key = f->key != NULL ? f->key : "";
    lb_puts(b, ",\"");
    if (is_reserved_key(key))
        lb_puts(b, "_");
    json_escape(b, key, strlen(key));
    lb_puts(b, "\":");
    if (f->type == TR_LOG_T_STR) {
        if (f->v.s == NULL) {
            lb_puts(b, "null");
        } else {
            lb_puts(b, "\"");
            json_escape(b, f->v.s, strlen(f->v.s));
            lb_puts(b, "\"");
        }
    } else {
        /* Integers above INT64_MAX are valid JSON but jansson (which troupe
         * reads JSON with) rejects them: write those as decimal strings. */
        bool quote = f->type == TR_LOG_T_UINT && f->v.u > (uint64_t)INT64_MAX;
        char tmp[64];
        if (quote)
            lb_puts(b, "\"");
        lb_put(b, tmp, format_number(tmp, sizeof(tmp), f, true));
        if (quote)
            lb_puts(b, "\"");
    }
    return !b->full;
}

static bool console_field(lbuf *b, const tr_log_field *f)
{
    const char *key = f->key != NULL ? f->key : "";
    lb_puts(b, " ");
    console_escape(b, key, strlen(key), false);
    lb_puts(b, "=");
    if (f->type == TR_LOG_T_STR) {
        if (f->v.s == NULL) {
            lb_puts(b, "null");
        } else if (console_needs_quotes(f->v.s)) {
            lb_puts(b, "\"");
            console_escape(b, f->v.s, strlen(f->v.s), true);
            lb_puts(b, "\"");
        } else {
            console_escape(b, f->v.s, strlen(f->v.s), false);
        }
    } else {
        char tmp[64];
        lb_put(b, tmp, format_number(tmp, sizeof(tmp), f, false));
    }
    return !b->full;
}

/* Formats the whole line into line[TR_LOG_LINE_MAX]; returns its length and
 * sets *truncated. */
static size_t build_line(char *line, tr_log_format format, tr_log_level level, const char *ts,
                         const char *module, size_t module_len, const char *corr,
                         size_t corr_len, const char *msg, size_t msg_len, bool msg_cut,
                         const tr_log_field *fields, size_t nfields, bool *truncated)
{
    lbuf b = {.p = line, .len = 0, .lim = TR_LOG_LINE_MAX - TAIL_RESERVE, .full = false};
    bool json = format == TR_LOG_FORMAT_JSON;
    bool fields_cut = false;

    if (json) {
        lb_puts(&b, "{\"ts\":\"");
        lb_puts(&b, ts);
        lb_puts(&b, "\",\"level\":\"");
        lb_puts(&b, level_names[level]);
        lb_puts(&b, "\",\"module\":\"");
        json_escape(&b, module, module_len);
        if (corr_len > 0) {
            lb_puts(&b, "\",\"corr\":\"");
            json_escape(&b, corr, corr_len);
        }
        lb_puts(&b, "\",\"msg\":\"");
        if (!b.full)
            msg_cut |= !json_escape(&b, msg, msg_len);
        /* The header is bounded far below the limit, so a cut here is in the
         * message and the string is open: close it with the marker. */
        b.full = false;
        b.lim = TR_LOG_LINE_MAX;
        if (msg_cut)
            lb_puts(&b, TRUNC_MARK);
        lb_puts(&b, "\"");
    } else {
        lb_puts(&b, ts);
        lb_puts(&b, " ");
        lb_puts(&b, level_console[level]);
        lb_puts(&b, " ");
        console_escape(&b, module, module_len, false);
        if (corr_len > 0) {
            lb_puts(&b, " [");
            console_escape(&b, corr, corr_len, false);
            lb_puts(&b, "]");
        }
        lb_puts(&b, " ");
        if (!b.full)
            msg_cut |= !console_escape(&b, msg, msg_len, false);
        b.full = false;
        b.lim = TR_LOG_LINE_MAX;
        if (msg_cut)
            lb_puts(&b, TRUNC_MARK);
    }

    if (!msg_cut) {
        b.lim = TR_LOG_LINE_MAX - TAIL_RESERVE;
        for (size_t i = 0; i < nfields; i++) {
            size_t mark = b.len;
            if (!(json ? json_field(&b, &fields[i]) : console_field(&b, &fields[i]))) {
                b.len = mark; /* drop the field whole */
                b.full = false;
                fields_cut = true;
                break;
            }
        }
        b.lim = TR_LOG_LINE_MAX;
        if (fields_cut && !json)
            lb_puts(&b, " " TRUNC_MARK);
    }
    *truncated = msg_cut || fields_cut;
    if (json) {
        if (*truncated)
            lb_puts(&b, ",\"truncated\":true");
        lb_puts(&b, "}");
    }
    lb_puts(&b, "\n");
    return b.len;
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
    int64_t ts_ms = format_ts(ts);

    if (module == NULL)
        module = "-";
    size_t module_len = capped_len(module, TR_LOG_MODULE_MAX);

    char hex[17];
    const char *corr = "";
    size_t corr_len = 0;
    if (t_label != NULL) {
        corr = t_label;
        corr_len = capped_len(corr, TR_LOG_LABEL_MAX);
    } else if (t_corr != 0) {
        for (int i = 0; i < 16; i++)
            hex[i] = hexdig[(t_corr >> (60 - 4 * i)) & 15];
        hex[16] = '\0';
        corr = hex;
        corr_len = 16;
    }

    char line[TR_LOG_LINE_MAX];
    sink_slot *slot = sink_pin();
    tr_log_config cfg = slot->cfg;
    bool truncated;
    size_t len = build_line(line, cfg.format, level, ts, module, module_len, corr, corr_len, msg,
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
        msg_len = utf8_trim_tail(msg, sizeof(msg) - 1);
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
