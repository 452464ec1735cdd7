/*
 * runtime/log_line.c -- formatting one log line (console or JSON) into a
 * fixed buffer: level and format names, UTF-8 and escaping, timestamps,
 * truncation that always closes the line.  See runtime/log.c for the design
 * of the sink and the threads; this file has no state.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/log_line.h"

#define TAIL_RESERVE 64
#define TRUNC_MARK "...[truncated]"

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
size_t tr__log_utf8_trim_tail(const char *s, size_t len)
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
size_t tr__log_capped_len(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    return n > max ? tr__log_utf8_trim_tail(s, max) : n;
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

const char tr__log_hexdig[] = "0123456789abcdef";

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
                tmp[4] = tr__log_hexdig[c >> 4];
                tmp[5] = tr__log_hexdig[c & 15];
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
            tmp[2] = tr__log_hexdig[c >> 4];
            tmp[3] = tr__log_hexdig[c & 15];
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
int64_t tr__log_format_ts(char out[32])
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
size_t tr__log_build_line(char *line, tr_log_format format, tr_log_level level, const char *ts,
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

