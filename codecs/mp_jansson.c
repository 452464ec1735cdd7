/*
 * codecs/mp_jansson.c -- JSON text -> msgpack, and msgpack <-> jansson trees.
 *
 * Design
 * ------
 * Parsing JSON is jansson's job (json_loadb with JSON_DECODE_ANY, so any
 * value may be the top level, and JSON_ALLOW_NUL, since msgpack strings carry
 * a length): its error struct gives the caller a message with line, column
 * and byte position.  The tree is then written with the msgpack writer, so
 * integers stay integers (json_int_t is 64-bit) and reals stay float64.
 * This path allocates a tree per document; it serves inputs from outside
 * (HTTP, WebSocket publish, configuration, workflow definitions), not the
 * per-event hot path, which goes msgpack -> JSON only (mp_json.c).
 *
 * The other direction (tr__mp_to_jansson) exists for modules that keep
 * jansson trees internally; it follows the printer's rules so that
 * "print to text" and "convert to a tree, then dump" agree.
 */
#include <math.h>
#include <stdio.h>

#include "codecs/codec_internal.h"
#include "codecs/mp_jansson.h"

/* ---- jansson -> msgpack ------------------------------------------------ */

static int from_j(tr_buf *w, const json_t *j, unsigned depth)
{
    /* jansson's iteration API takes non-const pointers; nothing is
     * modified. */
    json_t *jj = (json_t *)j;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (depth >= TR_CODEC_MAX_DEPTH)
            return TR_EPROTO;
        size_t n = json_object_size(j);
        if (n > UINT32_MAX)
            return TR_ETOOBIG;
        tr_mp_write_map(w, (uint32_t)n);
        for (void *it = json_object_iter(jj); it != NULL;
             it = json_object_iter_next(jj, it)) {
            tr_mp_write_str(w, json_object_iter_key(it),
                            json_object_iter_key_len(it));
            int rc = from_j(w, json_object_iter_value(it), depth + 1);
            if (rc != TR_OK)
                return rc;
        }
        break;
    }
    case JSON_ARRAY: {
        if (depth >= TR_CODEC_MAX_DEPTH)
            return TR_EPROTO;
        size_t n = json_array_size(j);
        if (n > UINT32_MAX)
            return TR_ETOOBIG;
        tr_mp_write_array(w, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            int rc = from_j(w, json_array_get(j, i), depth + 1);
            if (rc != TR_OK)
                return rc;
        }
        break;
    }
    case JSON_STRING:
        tr_mp_write_str(w, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        tr_mp_write_int(w, (int64_t)json_integer_value(j));
        break;
    case JSON_REAL:
        tr_mp_write_double(w, json_real_value(j));
        break;
    case JSON_TRUE:
        tr_mp_write_bool(w, true);
        break;
    case JSON_FALSE:
        tr_mp_write_bool(w, false);
        break;
    case JSON_NULL:
    default:
        tr_mp_write_nil(w);
        break;
    }
    return w->err;
}

int tr__mp_from_jansson(tr_buf *w, const json_t *j)
{
    if (w->err != 0)
        return w->err;
    if (j == NULL)
        return TR_EINVAL;
    size_t mark = w->len;
    int rc = from_j(w, j, 0);
    if (rc != TR_OK)
        w->len = mark;
    return rc;
}

static void copy_text(tr_codec_error *err, const char *text)
{
    snprintf(err->text, sizeof(err->text), "%s", text);
}

int tr_json_to_mp(tr_buf *out, const char *text, size_t len,
                  tr_codec_error *err)
{
    if (out == NULL || (text == NULL && len > 0))
        return TR_EINVAL;
    if (out->err != 0)
        return out->err;
    json_error_t je;
    json_t *j = json_loadb(text != NULL ? text : "", len,
                           JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (j == NULL) {
        if (json_error_code(&je) == json_error_out_of_memory)
            return TR_ENOMEM;
        if (err != NULL) {
            copy_text(err, je.text);
            err->line = je.line;
            err->column = je.column;
            err->position = je.position >= 0 ? (size_t)je.position : 0;
        }
        return TR_EPROTO;
    }
    int rc = tr__mp_from_jansson(out, j);
    json_decref(j);
    if (rc == TR_EPROTO && err != NULL) {
        copy_text(err, "JSON nesting too deep");
        err->line = -1;
        err->column = -1;
        err->position = 0;
    }
    return rc;
}

/* ---- msgpack -> jansson ------------------------------------------------ */

/* A jansson string from bytes that may not be UTF-8. */
static json_t *string_j(tr_buf *tmp, const uint8_t *s, size_t n, int *err)
{
    json_t *j;
    if (tr__utf8_valid(s, n)) {
        j = json_stringn_nocheck((const char *)s, n);
    } else {
        tr_buf_reset(tmp);
        tr__utf8_sanitize(tmp, s, n);
        if (tmp->err != 0) {
            *err = tmp->err;
            return NULL;
        }
        j = json_stringn_nocheck((const char *)tmp->data, tmp->len);
    }
    if (j == NULL)
        *err = TR_ENOMEM;
    return j;
}

static json_t *base64_j(tr_buf *tmp, const uint8_t *s, size_t n, int *err)
{
    tr_buf_reset(tmp);
    tr__base64(tmp, s, n);
    if (tmp->err != 0) {
        *err = tmp->err;
        return NULL;
    }
    json_t *j = json_stringn_nocheck(n > 0 ? (const char *)tmp->data : "",
                                     tmp->len);
    if (j == NULL)
        *err = TR_ENOMEM;
    return j;
}

static json_t *to_j(tr_buf *tmp, const uint8_t **pp, const uint8_t *end,
                    unsigned depth, int *err);

static int map_to_j(json_t *obj, tr_buf *tmp, const uint8_t **pp,
                    const uint8_t *end, uint32_t n, unsigned depth)
{
    int err = TR_OK;
    tr_buf key;
    tr_buf_init(&key);
    for (uint32_t i = 0; i < n && err == TR_OK; i++) {
        tr_buf_reset(&key);
        err = tr__json_key_text(&key, pp, end, depth);
        if (err != TR_OK)
            break;
        if (!tr__utf8_valid(key.data, key.len)) {
            tr_buf_reset(tmp);
            tr__utf8_sanitize(tmp, key.data, key.len);
            tr_buf_reset(&key);
            tr__buf_put(&key, tmp->data, tmp->len);
            if (tmp->err != 0 || key.err != 0) {
                err = TR_ENOMEM;
                break;
            }
        }
        json_t *val = to_j(tmp, pp, end, depth, &err);
        if (val == NULL)
            break;
        if (json_object_setn_new_nocheck(obj, key.len > 0 ? (char *)key.data : "",
                                         key.len, val) != 0)
            err = TR_ENOMEM;
    }
    tr_buf_fini(&key);
    return err;
}

static json_t *to_j(tr_buf *tmp, const uint8_t **pp, const uint8_t *end,
                    unsigned depth, int *err)
{
    tr__mp_hdr h;
    if (tr__mp_hdr_parse(*pp, end, &h) != 0) {
        *err = TR_EPROTO;
        return NULL;
    }
    const uint8_t *p = h.body;
    json_t *j = NULL;
    switch (h.type) {
    case TR_MP_NIL:
        j = json_null();
        break;
    case TR_MP_BOOL:
        j = json_boolean(h.v.b);
        break;
    case TR_MP_INT:
        if (!h.neg && h.v.u > (uint64_t)INT64_MAX) {
            *err = TR_ERANGE;
            return NULL;
        }
        j = json_integer(h.neg ? (json_int_t)h.v.i : (json_int_t)h.v.u);
        break;
    case TR_MP_FLOAT:
        j = isfinite(h.v.d) ? json_real(h.v.d) : json_null();
        break;
    case TR_MP_STR:
        p = h.body + h.n;
        j = string_j(tmp, h.body, h.n, err);
        if (j == NULL)
            return NULL;
        break;
    case TR_MP_BIN:
        p = h.body + h.n;
        j = base64_j(tmp, h.body, h.n, err);
        if (j == NULL)
            return NULL;
        break;
    case TR_MP_EXT: {
        p = h.body + h.n;
        json_t *data = base64_j(tmp, h.body, h.n, err);
        if (data == NULL)
            return NULL;
        j = json_pack("{s:i,s:o}", "ext", (int)h.ext_type, "data", data);
        break;
    }
    case TR_MP_ARRAY:
    case TR_MP_MAP: {
        if (depth >= TR_CODEC_MAX_DEPTH) {
            *err = TR_EPROTO;
            return NULL;
        }
        bool map = h.type == TR_MP_MAP;
        j = map ? json_object() : json_array();
        if (j == NULL)
            break;
        int rc = TR_OK;
        if (map) {
            rc = map_to_j(j, tmp, &p, end, h.n, depth + 1);
        } else {
            for (uint32_t i = 0; i < h.n && rc == TR_OK; i++) {
                json_t *item = to_j(tmp, &p, end, depth + 1, &rc);
                if (item != NULL && json_array_append_new(j, item) != 0)
                    rc = TR_ENOMEM;
            }
        }
        if (rc != TR_OK) {
            json_decref(j);
            *err = rc;
            return NULL;
        }
        break;
    }
    case TR_MP_INVALID:
    default:
        *err = TR_EPROTO;
        return NULL;
    }
    if (j == NULL) {
        *err = TR_ENOMEM;
        return NULL;
    }
    *pp = p;
    return j;
}

json_t *tr__mp_to_jansson(tr_mp_val v, int *err)
{
    int local = TR_OK;
    int *e = err != NULL ? err : &local;
    *e = TR_OK;
    tr_buf tmp;
    tr_buf_init(&tmp);
    const uint8_t *p = v.p;
    json_t *j = to_j(&tmp, &p, v.end, 0, e);
    tr_buf_fini(&tmp);
    return j;
}
