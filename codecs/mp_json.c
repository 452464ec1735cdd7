/*
 * codecs/mp_json.c -- msgpack -> JSON text, written directly.
 *
 * Design
 * ------
 * The WebSocket fan-out encodes each event once and shares the text with
 * every subscriber, so this printer walks the msgpack bytes and appends JSON
 * to a tr_buf with no intermediate tree (msgpack-c has no JSON printer and
 * msgpack_object_print is not JSON; a jansson tree would cost an allocation
 * per node).  It recurses once per container level, bounded by
 * TR_CODEC_MAX_DEPTH, and uses the same bounded header parser as the reader,
 * so it is safe on unvalidated input too.
 *
 * Rules (also in troupe/codec.h and docs/codecs.md):
 *  - strings: RFC 8259 escaping; runs of plain bytes are copied with one
 *    memcpy; every byte that does not belong to well-formed UTF-8 becomes
 *    U+FFFD, written as its UTF-8 bytes.
 *  - integers exactly (their own digit loop, no printf).
 *  - doubles: the shortest of %.15g, %.16g, %.17g that strtod reads back to
 *    the same double; a '.0' is added when the text would otherwise read
 *    back as an integer; the locale's decimal point is forced to '.';
 *    NaN and infinities print null.  -0.0 prints "-0.0".
 *  - bin: base64 string; ext: {"ext":type,"data":"base64"}.
 *  - non-string map keys: their JSON text, as a string (bin: base64).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec_internal.h"

/* ---- UTF-8 and base64 -------------------------------------------------- */

static const uint8_t replacement[3] = {0xef, 0xbf, 0xbd}; /* U+FFFD */

bool tr__utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = tr__utf8_seq(s + i, n - i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

void tr__utf8_sanitize(tr_buf *b, const uint8_t *s, size_t n)
{
    size_t i = 0, run = 0;
    while (i < n) {
        size_t l = tr__utf8_seq(s + i, n - i);
        if (l != 0) {
            i += l;
            continue;
        }
        tr__buf_put(b, s + run, i - run);
        tr__buf_put(b, replacement, sizeof(replacement));
        run = ++i;
    }
    tr__buf_put(b, s + run, n - run);
}

void tr__base64(tr_buf *b, const uint8_t *s, size_t n)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n == 0 || tr_buf_reserve(b, (n + 2) / 3 * 4) != TR_OK)
        return;
    uint8_t *o = b->data + b->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *o++ = (uint8_t)tbl[v >> 18];
        *o++ = (uint8_t)tbl[(v >> 12) & 63];
        *o++ = (uint8_t)tbl[(v >> 6) & 63];
        *o++ = (uint8_t)tbl[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        *o++ = (uint8_t)tbl[v >> 18];
        *o++ = (uint8_t)tbl[(v >> 12) & 63];
        *o++ = i + 1 < n ? (uint8_t)tbl[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    b->len = (size_t)(o - b->data);
}

/* ---- scalars ----------------------------------------------------------- */

static void emit_string(tr_buf *o, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    tr__buf_putc(o, '"');
    size_t i = 0, run = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = tr__utf8_seq(s + i, n - i);
            if (l != 0) {
                i += l;
                continue;
            }
        }
        tr__buf_put(o, s + run, i - run);
        if (c >= 0x80) {
            tr__buf_put(o, replacement, sizeof(replacement));
        } else {
            char esc[6] = {'\\', 0, 0, 0, 0, 0};
            size_t el = 2;
            switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            default:
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                el = 6;
                break;
            }
            tr__buf_put(o, esc, el);
        }
        run = ++i;
    }
    tr__buf_put(o, s + run, n - run);
    tr__buf_putc(o, '"');
}

static void emit_int(tr_buf *o, const tr__mp_hdr *h)
{
    char tmp[24];
    char *q = tmp + sizeof(tmp);
    uint64_t u = h->neg ? (uint64_t)0 - (uint64_t)h->v.i : h->v.u;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (h->neg)
        *--q = '-';
    tr__buf_put(o, q, (size_t)(tmp + sizeof(tmp) - q));
}

/* Fast path for doubles that have a decimal form of at most 15 significant
 * digits (prices, durations, and sums and differences of them such as
 * 51.389999999996): if d*10^k is an integer m with |m| < 10^15 for some
 * k <= 18 and m / 10^k == d (10^k is exact for k <= 22 and m < 2^53, so the
 * division is the correctly rounded value of the decimal m*10^-k, exactly
 * what strtod makes of the printed text), then m's digits with the point k
 * places from the right read back as d.  Having at most 15 significant
 * digits, they are also exactly what %.15g prints for d: 15-digit decimals
 * are at least 10^-14 apart relative to d, far more than an ulp (2^-52), so
 * at most one of them reads back as d, and %.15g's correctly rounded one
 * does whenever any does.  Restricted to 1e-4 <= |d| < 1e15, where %g prints
 * without an exponent (so k <= 18 suffices).  Returns 0 when it does not
 * apply. */
static size_t fmt_double_fast(char *out, double d)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                 1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                 1e14, 1e15, 1e16, 1e17, 1e18};
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    for (unsigned k = 0; k < sizeof(p10) / sizeof(p10[0]); k++) {
        double m = a * p10[k];
        if (m >= 1e15)
            return 0;
        /* The nearest integer u, kept only if u / 10^k reads back as a:
         * u < 2^53 and 10^k are exact, so the division is the correctly
         * rounded value of the decimal u*10^-k -- exactly what strtod makes
         * of the printed text.  (Rounding m rather than requiring it to be
         * integral catches 50234.56, whose product with 100 is not.) */
        uint64_t u = (uint64_t)llround(m);
        if ((double)u / p10[k] != a)
            continue;
        while (k > 0 && u % 10 == 0) { /* no trailing zeros */
            u /= 10;
            k--;
        }
        char digits[20];
        size_t n = 0;
        do {
            digits[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u != 0);
        /* digits[] is reversed; n digits, k of them after the point */
        size_t j = 0;
        if (d < 0)
            out[j++] = '-';
        if (n <= k) {
            out[j++] = '0';
            out[j++] = '.';
            for (size_t z = n; z < k; z++)
                out[j++] = '0';
        }
        for (size_t i = n; i-- > 0;) {
            out[j++] = digits[i];
            if (i == k && k > 0 && n > k)
                out[j++] = '.';
        }
        if (k == 0) {
            out[j++] = '.';
            out[j++] = '0';
        }
        out[j] = '\0';
        return j;
    }
    return 0;
}

size_t tr__json_fmt_double(char *out, double d)
{
    size_t fast = fmt_double_fast(out, d);
    if (fast != 0)
        return fast;
    char tmp[48];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        /* strtod and snprintf use the same locale, so the check holds
         * even where the decimal point is not '.'. */
        if (prec == 17 || strtod(tmp, NULL) == d)
            break;
    }
    size_t j = 0;
    bool has_frac = false, point = false;
    for (int i = 0; i < n && i < (int)sizeof(tmp); i++) {
        char c = tmp[i];
        if ((c >= '0' && c <= '9') || c == '-' || c == '+') {
            out[j++] = c;
        } else if (c == 'e' || c == 'E') {
            out[j++] = 'e';
            has_frac = true;
        } else if (!point) {
            /* The locale's decimal point (possibly several bytes). */
            out[j++] = '.';
            point = has_frac = true;
        }
    }
    if (!has_frac) {
        out[j++] = '.';
        out[j++] = '0';
    }
    out[j] = '\0';
    return j;
}

static void emit_double(tr_buf *o, double d)
{
    if (!isfinite(d)) {
        TR__BUF_LIT(o, "null");
        return;
    }
    char tmp[48];
    size_t n = tr__json_fmt_double(tmp, d);
    tr__buf_put(o, tmp, n);
}

/* ---- values ------------------------------------------------------------ */

static int emit_value(tr_buf *o, const uint8_t **pp, const uint8_t *end,
                      unsigned depth);

static int emit_key(tr_buf *o, const uint8_t **pp, const uint8_t *end,
                    unsigned depth)
{
    tr__mp_hdr h;
    if (tr__mp_hdr_parse(*pp, end, &h) != 0)
        return TR_EPROTO;
    if (h.type == TR_MP_STR) {
        emit_string(o, h.body, h.n);
        *pp = h.body + h.n;
        return o->err;
    }
    /* Rare: render the key's text apart, then write it as a string. */
    tr_buf tmp;
    tr_buf_init_alloc(&tmp, o->alloc);
    int rc = tr__json_key_text(&tmp, pp, end, depth);
    if (rc == TR_OK)
        emit_string(o, tmp.data, tmp.len);
    tr_buf_fini(&tmp);
    return rc != TR_OK ? rc : o->err;
}

int tr__json_key_text(tr_buf *b, const uint8_t **pp, const uint8_t *end,
                      unsigned depth)
{
    tr__mp_hdr h;
    if (tr__mp_hdr_parse(*pp, end, &h) != 0)
        return TR_EPROTO;
    if (h.type == TR_MP_STR || h.type == TR_MP_BIN) {
        if (h.type == TR_MP_STR)
            tr__buf_put(b, h.body, h.n);
        else
            tr__base64(b, h.body, h.n);
        *pp = h.body + h.n;
        return b->err;
    }
    return emit_value(b, pp, end, depth);
}

static int emit_value(tr_buf *o, const uint8_t **pp, const uint8_t *end,
                      unsigned depth)
{
    tr__mp_hdr h;
    if (tr__mp_hdr_parse(*pp, end, &h) != 0)
        return TR_EPROTO;
    const uint8_t *p = h.body;
    switch (h.type) {
    case TR_MP_NIL:
        TR__BUF_LIT(o, "null");
        break;
    case TR_MP_BOOL:
        if (h.v.b)
            TR__BUF_LIT(o, "true");
        else
            TR__BUF_LIT(o, "false");
        break;
    case TR_MP_INT:
        emit_int(o, &h);
        break;
    case TR_MP_FLOAT:
        emit_double(o, h.v.d);
        break;
    case TR_MP_STR:
        emit_string(o, h.body, h.n);
        p = h.body + h.n;
        break;
    case TR_MP_BIN:
        tr__buf_putc(o, '"');
        tr__base64(o, h.body, h.n);
        tr__buf_putc(o, '"');
        p = h.body + h.n;
        break;
    case TR_MP_EXT: {
        tr__mp_hdr t = {.type = TR_MP_INT, .neg = h.ext_type < 0};
        if (t.neg)
            t.v.i = h.ext_type;
        else
            t.v.u = (uint64_t)h.ext_type;
        TR__BUF_LIT(o, "{\"ext\":");
        emit_int(o, &t);
        TR__BUF_LIT(o, ",\"data\":\"");
        tr__base64(o, h.body, h.n);
        TR__BUF_LIT(o, "\"}");
        p = h.body + h.n;
        break;
    }
    case TR_MP_ARRAY:
    case TR_MP_MAP: {
        bool map = h.type == TR_MP_MAP;
        if (depth >= TR_CODEC_MAX_DEPTH)
            return TR_EPROTO;
        tr__buf_putc(o, map ? '{' : '[');
        for (uint32_t i = 0; i < h.n; i++) {
            if (i > 0)
                tr__buf_putc(o, ',');
            int rc;
            if (map) {
                rc = emit_key(o, &p, end, depth + 1);
                if (rc != TR_OK)
                    return rc;
                tr__buf_putc(o, ':');
            }
            rc = emit_value(o, &p, end, depth + 1);
            if (rc != TR_OK)
                return rc;
        }
        tr__buf_putc(o, map ? '}' : ']');
        break;
    }
    case TR_MP_INVALID:
    default:
        return TR_EPROTO;
    }
    *pp = p;
    return o->err;
}

/* ---- public ------------------------------------------------------------ */

int tr_json_write(tr_buf *out, tr_mp_val v)
{
    if (out == NULL)
        return TR_EINVAL;
    if (out->err != 0)
        return out->err;
    size_t mark = out->len;
    const uint8_t *p = v.p;
    int rc = emit_value(out, &p, v.end, 0);
    if (rc != TR_OK)
        out->len = mark;
    return rc;
}

int tr_json_from_mp(tr_buf *out, const void *data, size_t len,
                    tr_codec_error *err)
{
    if (out == NULL)
        return TR_EINVAL;
    tr_mp_val root;
    int rc = tr_mp_read(data, len, &root, err);
    if (rc != TR_OK)
        return rc;
    return tr_json_write(out, root);
}
