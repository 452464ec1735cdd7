/*
 * codecs/codec_internal.h -- shared internals of the codecs module.
 *
 * Not installed.  Holds the inline fast paths that several codec files need
 * and that the public header may not show: the buffer append, the bounded
 * msgpack header parser, and the UTF-8 sequence check.
 *
 * The header parser is the only place that interprets msgpack type bytes on
 * the read side.  It never reads at or past `end`, and for strings, binaries,
 * extensions and containers it also checks that the declared length can fit
 * in the bytes that remain (a container of n items needs at least n bytes),
 * so a 5-byte input cannot claim four billion elements.
 */
#ifndef TROUPE_CODECS_CODEC_INTERNAL_H
#define TROUPE_CODECS_CODEC_INTERNAL_H

#include <string.h>

#include "troupe/codec.h"

/* ---- buffer ------------------------------------------------------------ */

/* Slow path of tr__buf_put: grow so that `extra` more bytes fit.  Returns
 * TR_OK or records and returns TR_ENOMEM. */
int tr__buf_grow(tr_buf *b, size_t extra);

static inline void tr__buf_put(tr_buf *b, const void *src, size_t n)
{
    if (b->err != 0 || n == 0)
        return;
    if (n > b->cap - b->len && tr__buf_grow(b, n) != TR_OK)
        return;
    memcpy(b->data + b->len, src, n);
    b->len += n;
}

static inline void tr__buf_putc(tr_buf *b, uint8_t c)
{
    if (b->err != 0)
        return;
    if (b->len == b->cap && tr__buf_grow(b, 1) != TR_OK)
        return;
    b->data[b->len++] = c;
}

#define TR__BUF_LIT(b, lit) tr__buf_put((b), (lit), sizeof(lit) - 1)

/* ---- msgpack headers --------------------------------------------------- */

enum {
    TR__MP_TRUNCATED = -1, /* the input ends inside the value */
    TR__MP_BADBYTE = -2    /* 0xc1, the one byte msgpack never uses */
};

typedef struct tr__mp_hdr {
    tr_mp_type type;
    bool neg;        /* TR_MP_INT: value is v.i (< 0); otherwise v.u */
    int8_t ext_type; /* TR_MP_EXT */
    uint32_t n;      /* STR/BIN/EXT: bytes of data; ARRAY: items; MAP: pairs */
    union {
        uint64_t u;
        int64_t i;
        double d;
        bool b;
    } v;
    const uint8_t *body; /* first byte after the header */
} tr__mp_hdr;

static inline uint16_t tr__be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t tr__be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static inline uint64_t tr__be64(const uint8_t *p)
{
    return (uint64_t)tr__be32(p) << 32 | tr__be32(p + 4);
}

/* Parse the header of the value at p.  0, TR__MP_TRUNCATED or
 * TR__MP_BADBYTE.  On success, for STR/BIN/EXT body[0..n) is in bounds, and
 * for ARRAY/MAP the count is plausible for the remaining bytes. */
static inline int tr__mp_hdr_parse(const uint8_t *p, const uint8_t *end,
                                   tr__mp_hdr *h)
{
    if (p == NULL || p >= end)
        return TR__MP_TRUNCATED;
    size_t avail = (size_t)(end - p) - 1; /* bytes after the type byte */
    uint8_t c = p[0];
    size_t hl = 0; /* header bytes after the type byte */
    h->neg = false;

    if (c <= 0x7f) {
        h->type = TR_MP_INT;
        h->v.u = c;
        h->body = p + 1;
        return 0;
    }
    if (c >= 0xe0) {
        h->type = TR_MP_INT;
        h->neg = true;
        h->v.i = (int8_t)c;
        h->body = p + 1;
        return 0;
    }
    if (c <= 0x8f) {
        h->type = TR_MP_MAP;
        h->n = c & 0x0f;
        goto container;
    }
    if (c <= 0x9f) {
        h->type = TR_MP_ARRAY;
        h->n = c & 0x0f;
        goto container;
    }
    if (c <= 0xbf) {
        h->type = TR_MP_STR;
        h->n = c & 0x1f;
        goto sized;
    }
    switch (c) {
    case 0xc0:
        h->type = TR_MP_NIL;
        h->body = p + 1;
        return 0;
    case 0xc1:
        return TR__MP_BADBYTE;
    case 0xc2:
    case 0xc3:
        h->type = TR_MP_BOOL;
        h->v.b = c == 0xc3;
        h->body = p + 1;
        return 0;
    case 0xc4: case 0xc5: case 0xc6: /* bin 8/16/32 */
    case 0xd9: case 0xda: case 0xdb: /* str 8/16/32 */
        h->type = c <= 0xc6 ? TR_MP_BIN : TR_MP_STR;
        hl = (size_t)1 << (c <= 0xc6 ? c - 0xc4 : c - 0xd9);
        if (avail < hl)
            return TR__MP_TRUNCATED;
        h->n = hl == 1 ? p[1] : hl == 2 ? tr__be16(p + 1) : tr__be32(p + 1);
        p += hl;
        goto sized;
    case 0xc7: case 0xc8: case 0xc9: /* ext 8/16/32: length, type */
        h->type = TR_MP_EXT;
        hl = (size_t)1 << (c - 0xc7);
        if (avail < hl + 1)
            return TR__MP_TRUNCATED;
        h->n = hl == 1 ? p[1] : hl == 2 ? tr__be16(p + 1) : tr__be32(p + 1);
        h->ext_type = (int8_t)p[1 + hl];
        p += hl + 1;
        goto sized;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext */
        h->type = TR_MP_EXT;
        if (avail < 1)
            return TR__MP_TRUNCATED;
        h->n = 1u << (c - 0xd4);
        h->ext_type = (int8_t)p[1];
        p += 1;
        goto sized;
    case 0xca: {
        if (avail < 4)
            return TR__MP_TRUNCATED;
        uint32_t bits = tr__be32(p + 1);
        float f;
        memcpy(&f, &bits, sizeof(f));
        h->type = TR_MP_FLOAT;
        h->v.d = (double)f;
        h->body = p + 5;
        return 0;
    }
    case 0xcb: {
        if (avail < 8)
            return TR__MP_TRUNCATED;
        uint64_t bits = tr__be64(p + 1);
        h->type = TR_MP_FLOAT;
        memcpy(&h->v.d, &bits, sizeof(h->v.d));
        h->body = p + 9;
        return 0;
    }
    case 0xcc: case 0xcd: case 0xce: case 0xcf: /* uint 8/16/32/64 */
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: /* int 8/16/32/64 */ {
        bool is_signed = c >= 0xd0;
        hl = (size_t)1 << (c - (is_signed ? 0xd0 : 0xcc));
        if (avail < hl)
            return TR__MP_TRUNCATED;
        uint64_t u = hl == 1 ? p[1]
                     : hl == 2 ? tr__be16(p + 1)
                     : hl == 4 ? tr__be32(p + 1)
                               : tr__be64(p + 1);
        h->type = TR_MP_INT;
        if (is_signed) {
            int64_t i = hl == 1   ? (int8_t)u
                        : hl == 2 ? (int16_t)u
                        : hl == 4 ? (int32_t)u
                                  : (int64_t)u;
            h->neg = i < 0;
            if (h->neg)
                h->v.i = i;
            else
                h->v.u = (uint64_t)i;
        } else {
            h->v.u = u;
        }
        h->body = p + 1 + hl;
        return 0;
    }
    case 0xdc: case 0xdd: /* array 16/32 */
    case 0xde: case 0xdf: /* map 16/32 */
        h->type = c <= 0xdd ? TR_MP_ARRAY : TR_MP_MAP;
        hl = (c == 0xdc || c == 0xde) ? 2 : 4;
        if (avail < hl)
            return TR__MP_TRUNCATED;
        h->n = hl == 2 ? tr__be16(p + 1) : tr__be32(p + 1);
        p += hl;
        goto container;
    default:
        return TR__MP_BADBYTE; /* unreachable: every byte is covered */
    }

sized:
    h->body = p + 1;
    if ((size_t)(end - h->body) < h->n)
        return TR__MP_TRUNCATED;
    return 0;

container:
    h->body = p + 1;
    /* Every item takes at least one byte. */
    if ((uint64_t)(end - h->body) <
        (uint64_t)h->n * (h->type == TR_MP_MAP ? 2u : 1u))
        return TR__MP_TRUNCATED;
    return 0;
}

/* The first byte after the value whose header is h (scalars and sized
 * values only). */
static inline const uint8_t *tr__mp_scalar_end(const tr__mp_hdr *h)
{
    return h->body + ((h->type == TR_MP_STR || h->type == TR_MP_BIN ||
                       h->type == TR_MP_EXT)
                          ? h->n
                          : 0);
}

/* Step over the whole value at p (containers included, iteratively, with no
 * depth limit).  On success *next is the byte after it; on failure *next is
 * where the bad header starts.  0, TR__MP_TRUNCATED or TR__MP_BADBYTE. */
int tr__mp_skip(const uint8_t *p, const uint8_t *end, const uint8_t **next);

/* ---- UTF-8 ------------------------------------------------------------- */

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), n >= 1, or 0
 * when it is not one (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
static inline size_t tr__utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xc2)
        return 0;
    if (c < 0xe0)
        return (n >= 2 && (s[1] & 0xc0) == 0x80) ? 2 : 0;
    if (c < 0xf0) {
        if (n < 3 || (s[2] & 0xc0) != 0x80)
            return 0;
        uint8_t lo = c == 0xe0 ? 0xa0 : 0x80;
        uint8_t hi = c == 0xed ? 0x9f : 0xbf;
        return (s[1] >= lo && s[1] <= hi) ? 3 : 0;
    }
    if (c < 0xf5) {
        if (n < 4 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        uint8_t lo = c == 0xf0 ? 0x90 : 0x80;
        uint8_t hi = c == 0xf4 ? 0x8f : 0xbf;
        return (s[1] >= lo && s[1] <= hi) ? 4 : 0;
    }
    return 0;
}

/* True when s[0..n) is entirely well-formed UTF-8. */
bool tr__utf8_valid(const uint8_t *s, size_t n);

/* Append s[0..n) to b with every byte that is not part of well-formed UTF-8
 * replaced by U+FFFD (EF BF BD). */
void tr__utf8_sanitize(tr_buf *b, const uint8_t *s, size_t n);

/* Append the standard padded base64 of s[0..n) to b. */
void tr__base64(tr_buf *b, const uint8_t *s, size_t n);

/* Append the text a non-string map key becomes in JSON, unquoted and
 * unescaped (bin: base64; others: their JSON text).  Advances *pp past the
 * key.  TR_OK, TR_EPROTO or b's error. */
int tr__json_key_text(tr_buf *b, const uint8_t **pp, const uint8_t *end,
                      unsigned depth);

/* Encoder of one finite double as JSON number text into buf (>= 32 bytes),
 * returning the length.  Shared by the printer and tests of the rules. */
size_t tr__json_fmt_double(char *buf, double d);

#endif /* TROUPE_CODECS_CODEC_INTERNAL_H */
