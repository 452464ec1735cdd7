/*
 * troupe/codec.h -- msgpack builder and reader, msgpack <-> JSON.
 *
 * Inside troupe every event and message payload is one msgpack document; on
 * the outside (WebSocket, HTTP, Redis values, files) it is JSON text.  This
 * header offers four pieces:
 *
 *   tr_buf        a growable byte buffer that ends its life as a tr_payload
 *                 (adopted without a copy, or copied so the buffer can be
 *                 reused as scratch).  Errors are sticky.
 *   tr_mp_write_* append msgpack values to a tr_buf (no per-field allocation).
 *   tr_mp_read    validate a msgpack document once, then look values up by
 *                 key, dotted path or index and read them with typed getters;
 *                 nothing is allocated and nothing is copied.
 *   tr_json_*     msgpack -> JSON text (a direct printer) and JSON text ->
 *                 msgpack.
 *
 * Threads: a tr_buf belongs to one thread at a time (no internal locking).
 * Reading functions take a tr_mp_val by value and only read the bytes it
 * points into, so any number of threads may read one immutable payload at
 * once.
 *
 * Errors (troupe/error.h): TR_ENOMEM (allocation), TR_ETOOBIG (a string or
 * binary longer than msgpack's 4 GiB limit), TR_EPROTO (truncated or malformed
 * msgpack, invalid JSON, nesting deeper than TR_CODEC_MAX_DEPTH), TR_EINVAL
 * (the value has the wrong type for the call, or a bad argument), TR_ENOENT
 * (no such key or index), TR_ERANGE (an integer that does not fit the
 * requested C type).
 *
 * See docs/codecs.md for the number formatting and conversion rules.
 */
#ifndef TROUPE_CODEC_H
#define TROUPE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"
#include "troupe/payload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Containers may nest at most this deep (a scalar root has depth 0, [1] has
 * depth 1).  Deeper documents are refused with TR_EPROTO by every reader and
 * converter, so a hostile document cannot exhaust a worker's stack. */
#define TR_CODEC_MAX_DEPTH 256

/* ------------------------------------------------------------------------ */
/* Error detail                                                             */
/* ------------------------------------------------------------------------ */

#define TR_CODEC_ERROR_TEXT_LEN 160

/* Filled by the decoding functions that take one (which all accept NULL).
 * On success it is left untouched.  line and column are 1-based for JSON
 * (from jansson) and -1 for msgpack; position is the byte offset in the input
 * where the problem was found (for msgpack, the start of the offending value
 * header). */
typedef struct tr_codec_error {
    char text[TR_CODEC_ERROR_TEXT_LEN]; /* NUL-terminated, English */
    int line;
    int column;
    size_t position;
} tr_codec_error;

/* ------------------------------------------------------------------------ */
/* tr_buf: growable byte buffer                                             */
/* ------------------------------------------------------------------------ */

/* Optional allocator for a tr_buf (for tests that inject failures, or an
 * arena).  realloc_fn behaves like realloc(3) (ptr may be NULL); free_fn
 * frees a block it returned.  When a buffer is handed to a payload with
 * tr_buf_finish, free_fn(data, arg) is what the payload calls at its last
 * unref, on whichever thread drops it: the allocator, its functions and arg
 * must stay valid until then. */
typedef struct tr_buf_allocator {
    void *(*realloc_fn)(void *ptr, size_t size, void *arg);
    void (*free_fn)(void *ptr, void *arg);
    void *arg;
} tr_buf_allocator;

/* First allocation of a buffer: large enough for a typical event. */
#define TR_BUF_INIT_CAP 512

/* Caller-allocated (stack, or embedded in an actor's state).  The fields may
 * be read; change them only through the functions below.  data[0..len) is the
 * content; it is NOT NUL-terminated (see tr_buf_cstr).  err is 0 or the first
 * error: once set, every append is a no-op until tr_buf_reset. */
typedef struct tr_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int err;
    const tr_buf_allocator *alloc; /* NULL: malloc/realloc/free */
} tr_buf;

/* Initialize an empty buffer.  Allocates nothing (the first append allocates
 * TR_BUF_INIT_CAP bytes or more).  Cannot fail. */
TR_EXTERN void tr_buf_init(tr_buf *b);

/* Like tr_buf_init, with an allocator (NULL: the C library's).  The
 * allocator is not copied: it must outlive the buffer and every payload
 * produced by tr_buf_finish. */
TR_EXTERN void tr_buf_init_alloc(tr_buf *b, const tr_buf_allocator *alloc);

/* Free the storage; b is then as after tr_buf_init and may be reused or
 * dropped.  Safe on an initialized buffer in any state. */
TR_EXTERN void tr_buf_fini(tr_buf *b);

/* Empty the buffer and clear its error, keeping the storage: the way to use
 * one buffer as scratch for many documents.  Cannot fail. */
TR_EXTERN void tr_buf_reset(tr_buf *b);

/* Make room for at least extra more bytes (growth is geometric).  Returns
 * TR_OK, or the sticky error (TR_ENOMEM when this allocation fails; the
 * buffer keeps its content). */
TR_EXTERN int tr_buf_reserve(tr_buf *b, size_t extra);

/* Append len raw bytes (data may be NULL when len is 0).  On allocation
 * failure the buffer keeps its content and records TR_ENOMEM. */
TR_EXTERN void tr_buf_append(tr_buf *b, const void *data, size_t len);

/* The sticky error: TR_OK, TR_ENOMEM, TR_ETOOBIG or TR_EPROTO. */
TR_EXTERN int tr_buf_error(const tr_buf *b);

/* The content as a C string: writes a NUL after data[len) (not counted in
 * len) and returns data, which stays valid until the next change to b.
 * Returns NULL if the buffer is in error or the NUL cannot be allocated. */
TR_EXTERN const char *tr_buf_cstr(tr_buf *b);

/* Hand the content to a new payload (refcount 1) without copying.  On
 * success *out owns the bytes and b is left empty with no storage (as after
 * tr_buf_init, same allocator).  On failure *out is NULL, b is unchanged
 * (its sticky error, or TR_ENOMEM if the payload header could not be
 * allocated) and the caller must still tr_buf_fini or tr_buf_reset it.
 * An empty buffer gives an empty payload. */
TR_EXTERN int tr_buf_finish(tr_buf *b, tr_payload **out);

/* Copy the content into a new payload (one allocation, refcount 1) and leave
 * b unchanged, ready for tr_buf_reset: the cheapest way to emit small
 * documents from a reused scratch buffer.  Returns TR_OK, the sticky error,
 * or TR_ENOMEM; *out is NULL on failure. */
TR_EXTERN int tr_buf_copy(const tr_buf *b, tr_payload **out);

/* ------------------------------------------------------------------------ */
/* msgpack writer                                                           */
/* ------------------------------------------------------------------------ */

/* Each call appends one msgpack item to b, encoded by msgpack-c's packer in
 * its smallest form (ints) or as float64 (doubles).  A map of n pairs is
 * tr_mp_write_map(b, n) followed by 2n items (key, value, ...); an array of n
 * is tr_mp_write_array(b, n) followed by n items.  The writer does not check
 * that the counts match: a wrong count produces a document that tr_mp_read
 * refuses.
 *
 * No call returns an error: failures are recorded in b->err (sticky) and
 * reported by tr_buf_error / tr_buf_finish / tr_buf_copy.  Input pointers are
 * only read during the call; nothing is retained. */
TR_EXTERN void tr_mp_write_map(tr_buf *b, uint32_t pairs);
TR_EXTERN void tr_mp_write_array(tr_buf *b, uint32_t items);
/* s need not be NUL-terminated and may be NULL when len is 0.  len above
 * UINT32_MAX records TR_ETOOBIG.  The bytes are copied as they are (the
 * writer does not check UTF-8; the JSON printer repairs invalid UTF-8). */
TR_EXTERN void tr_mp_write_str(tr_buf *b, const char *s, size_t len);
/* s is NUL-terminated and not NULL. */
TR_EXTERN void tr_mp_write_cstr(tr_buf *b, const char *s);
TR_EXTERN void tr_mp_write_int(tr_buf *b, int64_t v);
TR_EXTERN void tr_mp_write_uint(tr_buf *b, uint64_t v);
/* Always float64 (9 bytes), NaN and infinities included. */
TR_EXTERN void tr_mp_write_double(tr_buf *b, double v);
TR_EXTERN void tr_mp_write_bool(tr_buf *b, bool v);
TR_EXTERN void tr_mp_write_nil(tr_buf *b);
/* len above UINT32_MAX records TR_ETOOBIG. */
TR_EXTERN void tr_mp_write_bin(tr_buf *b, const void *data, size_t len);
/* Append bytes that already are exactly one encoded msgpack value (e.g. from
 * tr_mp_val_bytes).  Not checked: the caller vouches for them. */
TR_EXTERN void tr_mp_write_raw(tr_buf *b, const void *data, size_t len);

/* ------------------------------------------------------------------------ */
/* msgpack reader                                                           */
/* ------------------------------------------------------------------------ */

typedef enum tr_mp_type {
    TR_MP_INVALID = 0, /* absent, or malformed bytes */
    TR_MP_NIL,
    TR_MP_BOOL,
    TR_MP_INT, /* any integer encoding, either sign */
    TR_MP_FLOAT, /* float32 or float64 */
    TR_MP_STR,
    TR_MP_BIN,
    TR_MP_ARRAY,
    TR_MP_MAP,
    TR_MP_EXT
} tr_mp_type;

/* A reference to one encoded value: p is its first byte, end the end of the
 * whole document.  It borrows the document's bytes: it is valid only as long
 * as they are (for a payload: while the caller holds a reference).  A zeroed
 * tr_mp_val is "no value" (type TR_MP_INVALID).  Copy freely. */
typedef struct tr_mp_val {
    const uint8_t *p;
    const uint8_t *end;
} tr_mp_val;

/* Check that data[0..len) is exactly one well-formed msgpack value, nesting
 * at most TR_CODEC_MAX_DEPTH, with no trailing bytes, and set *root to it.
 * This is the one full pass over the document; lookups afterwards are
 * bounds-checked but do not re-validate.  Allocates nothing; never reads
 * outside data[0..len).
 * Returns TR_OK, TR_EPROTO (truncated, malformed such as byte 0xc1, too
 * deep, trailing bytes, or len 0; *err filled) or TR_EINVAL (data NULL with
 * len > 0, or root NULL).  *root is zeroed on failure. */
TR_EXTERN int tr_mp_read(const void *data, size_t len, tr_mp_val *root,
                         tr_codec_error *err);

/* tr_mp_read over a payload's bytes.  The values borrow the payload: keep a
 * reference while using them. */
TR_EXTERN int tr_mp_read_payload(const tr_payload *p, tr_mp_val *root,
                                 tr_codec_error *err);

/* The type of v; TR_MP_INVALID for a zeroed value or malformed bytes. */
TR_EXTERN tr_mp_type tr_mp_typeof(tr_mp_val v);

/* The encoded bytes of v (for tr_mp_write_raw, or to store a sub-document).
 * *data points into the document.  TR_OK, or TR_EPROTO if v is malformed. */
TR_EXTERN int tr_mp_val_bytes(tr_mp_val v, const uint8_t **data, size_t *len);

/* Number of items of an array, or of pairs of a map.  TR_EINVAL if v is
 * neither. */
TR_EXTERN int tr_mp_count(tr_mp_val v, uint32_t *count);

/* Look a string key up in a map (keys of other types never match; on
 * duplicate keys the first wins).  key need not be NUL-terminated.
 * Returns TR_OK, TR_ENOENT, TR_EINVAL (map is not a map) or TR_EPROTO. */
TR_EXTERN int tr_mp_map_find(tr_mp_val map, const char *key, size_t key_len,
                             tr_mp_val *out);
/* Same with a NUL-terminated key. */
TR_EXTERN int tr_mp_map_get(tr_mp_val map, const char *key, tr_mp_val *out);

/* Item index of an array: TR_OK, TR_ENOENT (out of range), TR_EINVAL. */
TR_EXTERN int tr_mp_array_at(tr_mp_val array, uint32_t index, tr_mp_val *out);

/* Follow a dotted path from v: "outputs.price", "nodes.0.id".  Each segment
 * is a map key when the current value is a map, a decimal index when it is
 * an array.  "" gives v itself.  Keys that contain '.' cannot be reached this
 * way (use tr_mp_map_find).  Returns TR_OK, TR_ENOENT (a key or index is
 * missing), TR_EINVAL (a segment is empty, not a number on an array, or the
 * value under it is not a container) or TR_EPROTO. */
TR_EXTERN int tr_mp_path(tr_mp_val v, const char *path, tr_mp_val *out);

/* Typed getters.  Each returns TR_OK and sets *out, or TR_EINVAL when v has
 * another type (*out untouched), or TR_EPROTO when v is malformed. */

/* Any integer encoding, either sign.  TR_ERANGE for an unsigned value above
 * INT64_MAX.  Floats are refused (TR_EINVAL), even 3.0. */
TR_EXTERN int tr_mp_get_int(tr_mp_val v, int64_t *out);
/* Any integer encoding.  TR_ERANGE for a negative value. */
TR_EXTERN int tr_mp_get_uint(tr_mp_val v, uint64_t *out);
/* float64, float32 (widened exactly) or any integer (converted to the
 * nearest double; exact up to 2^53). */
TR_EXTERN int tr_mp_get_double(tr_mp_val v, double *out);
TR_EXTERN int tr_mp_get_bool(tr_mp_val v, bool *out);
/* *s points INTO the document (not a copy) and is NOT NUL-terminated: use
 * *len.  It lives exactly as long as the document's bytes (the payload).
 * The bytes are as written: not checked for UTF-8. */
TR_EXTERN int tr_mp_get_str(tr_mp_val v, const char **s, size_t *len);
/* Same ownership as tr_mp_get_str. */
TR_EXTERN int tr_mp_get_bin(tr_mp_val v, const uint8_t **data, size_t *len);
/* True when v is nil. */
TR_EXTERN bool tr_mp_is_nil(tr_mp_val v);

/* True when v is a string equal to the NUL-terminated s. */
TR_EXTERN bool tr_mp_str_eq(tr_mp_val v, const char *s);

/* Iteration over a map's pairs or an array's items, in encoded order:
 *
 *     tr_mp_iter it; tr_mp_val k, v; int rc;
 *     tr_mp_iter_init(&it, map);
 *     while ((rc = tr_mp_iter_next(&it, &k, &v)) > 0) { ... }
 *     if (rc < 0) ... malformed ...
 *
 * The iterator borrows the document like a tr_mp_val. */
typedef struct tr_mp_iter {
    const uint8_t *p;
    const uint8_t *end;
    uint32_t left;
    bool map;
} tr_mp_iter;

/* TR_OK, or TR_EINVAL (v is not a map or an array; the iterator is then
 * empty). */
TR_EXTERN int tr_mp_iter_init(tr_mp_iter *it, tr_mp_val v);
/* 1 and the next item (key: the map key, or a zeroed value for arrays; key
 * may be NULL), 0 at the end, TR_EPROTO on malformed bytes. */
TR_EXTERN int tr_mp_iter_next(tr_mp_iter *it, tr_mp_val *key, tr_mp_val *val);

/* Append a value from a document to b (a copy of its encoded bytes): the
 * way to copy node outputs from one payload into an event.  A malformed v
 * records TR_EPROTO in b. */
TR_EXTERN void tr_mp_write_val(tr_buf *b, tr_mp_val v);

/* ------------------------------------------------------------------------ */
/* msgpack <-> JSON                                                         */
/* ------------------------------------------------------------------------ */

/* Append the JSON text of v to out (compact, no spaces, UTF-8, not
 * NUL-terminated; see tr_buf_cstr).  Conversion rules (docs/codecs.md):
 *  - strings are escaped per RFC 8259 ('"', '\\', all controls below 0x20);
 *    each byte that is not part of valid UTF-8 becomes U+FFFD;
 *  - integers print exactly; doubles print with the fewest of 15, 16 or 17
 *    significant digits that read back to the same double, always with a
 *    '.' or an exponent (so 3.0 is "3.0" and reads back as a double);
 *    -0.0 is "-0.0"; NaN and infinities are null;
 *  - bin is a base64 string (RFC 4648, padded); ext is
 *    {"ext":<type>,"data":"<base64>"};
 *  - map keys that are not strings become strings: bin as base64, others as
 *    their JSON text ("1", "true", "null", "[1,2]").  Duplicate keys are
 *    kept as they are.
 * Returns TR_OK, TR_EPROTO (v malformed or nested deeper than
 * TR_CODEC_MAX_DEPTH) or out's sticky error (TR_ENOMEM).  On failure out->len
 * is restored to its value on entry. */
TR_EXTERN int tr_json_write(tr_buf *out, tr_mp_val v);

/* tr_mp_read + tr_json_write: the WebSocket fan-out's one-shot encoder.
 * Returns TR_OK, TR_EPROTO (*err filled for bad msgpack), TR_EINVAL or
 * TR_ENOMEM; out->len is restored on failure. */
TR_EXTERN int tr_json_from_mp(tr_buf *out, const void *data, size_t len,
                              tr_codec_error *err);

/* Parse JSON text (any value at the top, not only objects; "\u0000" allowed
 * inside strings) and append it to out as one msgpack value: integers stay
 * integers (int64 range, larger ones are a parse error), numbers with a
 * fraction or exponent become float64, object key order is kept.
 * Returns TR_OK, TR_EPROTO (bad JSON or too deep: *err filled with jansson's
 * message, line, column and position), TR_EINVAL or TR_ENOMEM; out->len is
 * restored on failure.  Allocates a temporary tree (jansson), so it is meant
 * for inputs from outside (HTTP, WebSocket, files), not for hot paths. */
TR_EXTERN int tr_json_to_mp(tr_buf *out, const char *text, size_t len,
                            tr_codec_error *err);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_CODEC_H */
