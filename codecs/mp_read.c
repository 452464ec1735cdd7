/*
 * codecs/mp_read.c -- the msgpack reader.
 *
 * Design
 * ------
 * The reader works on the encoded bytes directly: a tr_mp_val is a pointer to
 * a value's first byte plus the end of the document, and lookups walk the
 * bytes.  Nothing is allocated and nothing is copied; strings come back as
 * pointers into the payload.
 *
 * Why not msgpack_unpack_next: it builds an object tree in a zone (one or
 * more mallocs per decode, on the fan-out and executor hot paths), reports a
 * truncated document as CONTINUE, and allocates a container's item array
 * from the declared count before checking the input has that many bytes: the
 * 5 bytes dd 0f ff ff ff make it allocate 8 GB.  Here every header is checked
 * against the bytes that remain (codec_internal.h), so a malformed input
 * costs at most one pass over itself.
 *
 * tr_mp_read is the one full validation pass (iterative, with an explicit
 * stack bounded by TR_CODEC_MAX_DEPTH).  The lookup functions still bounds
 * check every header, so even a hand-made tr_mp_val cannot make them read
 * outside [p, end); they just do not promise a useful answer for one.
 */
#include <stdio.h>
#include <string.h>

#include "codecs/codec_internal.h"

int tr__mp_skip(const uint8_t *p, const uint8_t *end, const uint8_t **next)
{
    /* Items still to step over.  Each header's count was checked against
     * the bytes left, so this cannot exceed the input length. */
    uint64_t pending = 1;
    while (pending > 0) {
        tr__mp_hdr h;
        int rc = tr__mp_hdr_parse(p, end, &h);
        if (rc != 0) {
            *next = p;
            return rc;
        }
        pending--;
        if (h.type == TR_MP_ARRAY) {
            pending += h.n;
            p = h.body;
        } else if (h.type == TR_MP_MAP) {
            pending += 2 * (uint64_t)h.n;
            p = h.body;
        } else {
            p = tr__mp_scalar_end(&h);
        }
    }
    *next = p;
    return 0;
}

static void set_err(tr_codec_error *err, const uint8_t *start,
                    const uint8_t *at, const char *what)
{
    if (err == NULL)
        return;
    err->line = -1;
    err->column = -1;
    err->position = at != NULL && start != NULL ? (size_t)(at - start) : 0;
    snprintf(err->text, sizeof(err->text), "msgpack: %s at byte %zu", what,
             err->position);
}

int tr_mp_read(const void *data, size_t len, tr_mp_val *root,
               tr_codec_error *err)
{
    if (root == NULL || (data == NULL && len > 0))
        return TR_EINVAL;
    root->p = NULL;
    root->end = NULL;
    const uint8_t *start = data;
    const uint8_t *p = start;
    const uint8_t *end = start + len;
    if (len == 0) {
        set_err(err, start, p, "empty input");
        return TR_EPROTO;
    }

    /* stack[d]: items left in the container open at depth d (d = 0 is the
     * document itself, holding one item). */
    uint64_t stack[TR_CODEC_MAX_DEPTH + 1];
    unsigned depth = 0;
    stack[0] = 1;
    for (;;) {
        while (stack[depth] == 0) {
            if (depth == 0)
                goto done;
            depth--;
        }
        tr__mp_hdr h;
        int rc = tr__mp_hdr_parse(p, end, &h);
        if (rc != 0) {
            set_err(err, start, p,
                    rc == TR__MP_BADBYTE ? "invalid type byte 0xc1"
                                         : "truncated input");
            return TR_EPROTO;
        }
        stack[depth]--;
        if (h.type == TR_MP_ARRAY || h.type == TR_MP_MAP) {
            if (depth == TR_CODEC_MAX_DEPTH) {
                set_err(err, start, p, "nesting too deep");
                return TR_EPROTO;
            }
            stack[++depth] =
                (uint64_t)h.n * (h.type == TR_MP_MAP ? 2u : 1u);
            p = h.body;
        } else {
            p = tr__mp_scalar_end(&h);
        }
    }
done:
    if (p != end) {
        set_err(err, start, p, "trailing bytes");
        return TR_EPROTO;
    }
    root->p = start;
    root->end = end;
    return TR_OK;
}

int tr_mp_read_payload(const tr_payload *pl, tr_mp_val *root,
                       tr_codec_error *err)
{
    if (pl == NULL)
        return TR_EINVAL;
    return tr_mp_read(tr_payload_data(pl), tr_payload_len(pl), root, err);
}

/* Parse v's header; maps the internal codes to TR_EPROTO. */
static inline int hdr(tr_mp_val v, tr__mp_hdr *h)
{
    return tr__mp_hdr_parse(v.p, v.end, h) == 0 ? TR_OK : TR_EPROTO;
}

tr_mp_type tr_mp_typeof(tr_mp_val v)
{
    tr__mp_hdr h;
    return hdr(v, &h) == TR_OK ? h.type : TR_MP_INVALID;
}

int tr_mp_val_bytes(tr_mp_val v, const uint8_t **data, size_t *len)
{
    const uint8_t *next;
    if (tr__mp_skip(v.p, v.end, &next) != 0)
        return TR_EPROTO;
    *data = v.p;
    *len = (size_t)(next - v.p);
    return TR_OK;
}

int tr_mp_count(tr_mp_val v, uint32_t *count)
{
    tr__mp_hdr h;
    int rc = hdr(v, &h);
    if (rc != TR_OK)
        return rc;
    if (h.type != TR_MP_ARRAY && h.type != TR_MP_MAP)
        return TR_EINVAL;
    *count = h.n;
    return TR_OK;
}

int tr_mp_map_find(tr_mp_val map, const char *key, size_t key_len,
                   tr_mp_val *out)
{
    tr__mp_hdr h;
    int rc = hdr(map, &h);
    if (rc != TR_OK)
        return rc;
    if (h.type != TR_MP_MAP)
        return TR_EINVAL;
    const uint8_t *p = h.body;
    for (uint32_t i = 0; i < h.n; i++) {
        tr__mp_hdr k;
        if (tr__mp_hdr_parse(p, map.end, &k) != 0)
            return TR_EPROTO;
        const uint8_t *vp;
        if (k.type == TR_MP_STR) {
            vp = k.body + k.n;
            if (k.n == key_len && memcmp(k.body, key, key_len) == 0) {
                out->p = vp;
                out->end = map.end;
                return TR_OK;
            }
        } else if (tr__mp_skip(p, map.end, &vp) != 0) {
            return TR_EPROTO;
        }
        if (tr__mp_skip(vp, map.end, &p) != 0)
            return TR_EPROTO;
    }
    return TR_ENOENT;
}

int tr_mp_map_get(tr_mp_val map, const char *key, tr_mp_val *out)
{
    return tr_mp_map_find(map, key, strlen(key), out);
}

int tr_mp_array_at(tr_mp_val array, uint32_t index, tr_mp_val *out)
{
    tr__mp_hdr h;
    int rc = hdr(array, &h);
    if (rc != TR_OK)
        return rc;
    if (h.type != TR_MP_ARRAY)
        return TR_EINVAL;
    if (index >= h.n)
        return TR_ENOENT;
    const uint8_t *p = h.body;
    for (uint32_t i = 0; i < index; i++) {
        if (tr__mp_skip(p, array.end, &p) != 0)
            return TR_EPROTO;
    }
    out->p = p;
    out->end = array.end;
    return TR_OK;
}

/* A path segment as an array index: decimal digits only, fits uint32. */
static bool seg_index(const char *s, size_t n, uint32_t *idx)
{
    if (n == 0 || n > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *idx = (uint32_t)v;
    return true;
}

int tr_mp_path(tr_mp_val v, const char *path, tr_mp_val *out)
{
    tr_mp_val cur = v;
    const char *s = path;
    if (*s == '\0') {
        *out = cur;
        return TR_OK;
    }
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot != NULL ? (size_t)(dot - s) : strlen(s);
        if (n == 0)
            return TR_EINVAL;
        tr_mp_val next;
        int rc;
        switch (tr_mp_typeof(cur)) {
        case TR_MP_MAP:
            rc = tr_mp_map_find(cur, s, n, &next);
            break;
        case TR_MP_ARRAY: {
            uint32_t idx;
            if (!seg_index(s, n, &idx))
                return TR_EINVAL;
            rc = tr_mp_array_at(cur, idx, &next);
            break;
        }
        case TR_MP_INVALID:
            return TR_EPROTO;
        default:
            return TR_EINVAL;
        }
        if (rc != TR_OK)
            return rc;
        cur = next;
        if (dot == NULL)
            break;
        s = dot + 1;
    }
    *out = cur;
    return TR_OK;
}

/* ---- typed getters ----------------------------------------------------- */

int tr_mp_get_int(tr_mp_val v, int64_t *out)
{
    tr__mp_hdr h;
    int rc = hdr(v, &h);
    if (rc != TR_OK)
        return rc;
    if (h.type != TR_MP_INT)
        return TR_EINVAL;
    if (h.neg) {
        *out = h.v.i;
        return TR_OK;
    }
    if (h.v.u > (uint64_t)INT64_MAX)
        return TR_ERANGE;
    *out = (int64_t)h.v.u;
    return TR_OK;
}

int tr_mp_get_uint(tr_mp_val v, uint64_t *out)
{
    tr__mp_hdr h;
    int rc = hdr(v, &h);
    if (rc != TR_OK)
        return rc;
    if (h.type != TR_MP_INT)
        return TR_EINVAL;
    if (h.neg)
        return TR_ERANGE;
    *out = h.v.u;
    return TR_OK;
}

int tr_mp_get_double(tr_mp_val v, double *out)
{
    tr__mp_hdr h;
    int rc = hdr(v, &h);
    if (rc != TR_OK)
        return rc;
    switch (h.type) {
    case TR_MP_FLOAT:
        *out = h.v.d;
        return TR_OK;
    case TR_MP_INT:
        *out = h.neg ? (double)h.v.i : (double)h.v.u;
        return TR_OK;
    default:
        return TR_EINVAL;
    }
}

int tr_mp_get_bool(tr_mp_val v, bool *out)
{
    tr__mp_hdr h;
    int rc = hdr(v, &h);
    if (rc != TR_OK)
        return rc;
    if (h.type != TR_MP_BOOL)
        return TR_EINVAL;
    *out = h.v.b;
    return TR_OK;
}

int tr_mp_get_str(tr_mp_val v, const char **s, size_t *len)
{
    tr__mp_hdr h;
    int rc = hdr(v, &h);
    if (rc != TR_OK)
        return rc;
    if (h.type != TR_MP_STR)
        return TR_EINVAL;
    *s = (const char *)h.body;
    *len = h.n;
    return TR_OK;
}

int tr_mp_get_bin(tr_mp_val v, const uint8_t **data, size_t *len)
{
    tr__mp_hdr h;
    int rc = hdr(v, &h);
    if (rc != TR_OK)
        return rc;
    if (h.type != TR_MP_BIN)
        return TR_EINVAL;
    *data = h.body;
    *len = h.n;
    return TR_OK;
}

bool tr_mp_is_nil(tr_mp_val v)
{
    return tr_mp_typeof(v) == TR_MP_NIL;
}

bool tr_mp_str_eq(tr_mp_val v, const char *s)
{
    const char *str;
    size_t len;
    if (tr_mp_get_str(v, &str, &len) != TR_OK)
        return false;
    return strlen(s) == len && memcmp(str, s, len) == 0;
}

/* ---- iteration --------------------------------------------------------- */

int tr_mp_iter_init(tr_mp_iter *it, tr_mp_val v)
{
    tr__mp_hdr h;
    it->p = NULL;
    it->end = NULL;
    it->left = 0;
    it->map = false;
    int rc = hdr(v, &h);
    if (rc != TR_OK)
        return rc;
    if (h.type != TR_MP_ARRAY && h.type != TR_MP_MAP)
        return TR_EINVAL;
    it->p = h.body;
    it->end = v.end;
    it->left = h.n;
    it->map = h.type == TR_MP_MAP;
    return TR_OK;
}

int tr_mp_iter_next(tr_mp_iter *it, tr_mp_val *key, tr_mp_val *val)
{
    if (it->left == 0)
        return 0;
    const uint8_t *p = it->p;
    tr_mp_val k = {NULL, NULL};
    if (it->map) {
        k.p = p;
        k.end = it->end;
        if (tr__mp_skip(p, it->end, &p) != 0)
            goto bad;
    }
    const uint8_t *vp = p;
    if (tr__mp_skip(vp, it->end, &p) != 0)
        goto bad;
    if (key != NULL)
        *key = k;
    val->p = vp;
    val->end = it->end;
    it->p = p;
    it->left--;
    return 1;
bad:
    it->left = 0;
    return TR_EPROTO;
}
