/*
 * codecs/mp_write.c -- tr_buf and the msgpack writer.
 *
 * Design
 * ------
 * The writer is on the hottest path of the system (the executor builds about
 * ten events per execution), so:
 *  - a tr_buf is caller storage: no allocation to create one, one allocation
 *    (TR_BUF_INIT_CAP) on first use, then doubling.  tr_buf_reset keeps the
 *    storage, so an actor can keep one scratch buffer for its whole life.
 *  - encoding is msgpack-c's (its pack functions are static inline); the
 *    packer is a two-word struct built on the stack per call whose write
 *    callback is a static inline function here, so the compiler sees through
 *    the indirection and an append is a capacity check plus a memcpy.
 *  - errors are sticky: the first failure is stored in b->err and every
 *    later call returns at once, so a builder checks once, at finish.
 *  - tr_buf_finish adopts the storage into a payload (tr_payload_wrap, no
 *    copy); tr_buf_copy copies into an inline payload (one allocation)
 *    and leaves the scratch buffer for reuse.
 */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec_internal.h"

/* ---- allocation -------------------------------------------------------- */

static void libc_free(void *ptr, void *arg)
{
    (void)arg;
    free(ptr);
}

static void *buf_realloc(const tr_buf *b, void *ptr, size_t size)
{
    if (b->alloc != NULL)
        return b->alloc->realloc_fn(ptr, size, b->alloc->arg);
    return realloc(ptr, size);
}

static void buf_free(const tr_buf *b, void *ptr)
{
    if (b->alloc != NULL)
        b->alloc->free_fn(ptr, b->alloc->arg);
    else
        free(ptr);
}

int tr__buf_grow(tr_buf *b, size_t extra)
{
    if (b->err != 0)
        return b->err;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->err = TR_ENOMEM;
        return b->err;
    }
    size_t need = b->len + extra;
    if (need <= b->cap)
        return TR_OK;
    size_t cap = b->cap != 0 ? b->cap : TR_BUF_INIT_CAP;
    while (cap < need)
        cap *= 2;
    uint8_t *data = buf_realloc(b, b->data, cap);
    if (data == NULL) {
        b->err = TR_ENOMEM;
        return b->err;
    }
    b->data = data;
    b->cap = cap;
    return TR_OK;
}

/* ---- tr_buf ------------------------------------------------------------ */

void tr_buf_init(tr_buf *b)
{
    tr_buf_init_alloc(b, NULL);
}

void tr_buf_init_alloc(tr_buf *b, const tr_buf_allocator *alloc)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = TR_OK;
    b->alloc = alloc;
}

void tr_buf_fini(tr_buf *b)
{
    if (b->data != NULL)
        buf_free(b, b->data);
    tr_buf_init_alloc(b, b->alloc);
}

void tr_buf_reset(tr_buf *b)
{
    b->len = 0;
    b->err = TR_OK;
}

int tr_buf_reserve(tr_buf *b, size_t extra)
{
    if (b->err != 0)
        return b->err;
    if (extra > b->cap - b->len)
        return tr__buf_grow(b, extra);
    return TR_OK;
}

void tr_buf_append(tr_buf *b, const void *data, size_t len)
{
    tr__buf_put(b, data, len);
}

int tr_buf_error(const tr_buf *b)
{
    return b->err;
}

const char *tr_buf_cstr(tr_buf *b)
{
    if (tr_buf_reserve(b, 1) != TR_OK)
        return NULL;
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

int tr_buf_finish(tr_buf *b, tr_payload **out)
{
    *out = NULL;
    if (b->err != 0)
        return b->err;
    void (*free_fn)(void *, void *) = libc_free;
    void *arg = NULL;
    if (b->alloc != NULL) {
        free_fn = b->alloc->free_fn;
        arg = b->alloc->arg;
    }
    tr_payload *p;
    if (b->data == NULL)
        p = tr_payload_wrap(NULL, 0, NULL, NULL);
    else
        p = tr_payload_wrap(b->data, b->len, free_fn, arg);
    if (p == NULL)
        return TR_ENOMEM;
    /* The payload owns the storage now. */
    tr_buf_init_alloc(b, b->alloc);
    *out = p;
    return TR_OK;
}

int tr_buf_copy(const tr_buf *b, tr_payload **out)
{
    *out = NULL;
    if (b->err != 0)
        return b->err;
    tr_payload *p = tr_payload_copy(b->data, b->len);
    if (p == NULL)
        return TR_ENOMEM;
    *out = p;
    return TR_OK;
}

/* ---- msgpack writer ---------------------------------------------------- */

static inline int pack_cb(void *data, const char *src, size_t len)
{
    tr_buf *b = data;
    tr__buf_put(b, src, len);
    return b->err;
}

#define PACKER(b)                                                              \
    msgpack_packer pk;                                                         \
    msgpack_packer_init(&pk, (b), pack_cb)

void tr_mp_write_map(tr_buf *b, uint32_t pairs)
{
    if (b->err != 0)
        return;
    PACKER(b);
    msgpack_pack_map(&pk, pairs);
}

void tr_mp_write_array(tr_buf *b, uint32_t items)
{
    if (b->err != 0)
        return;
    PACKER(b);
    msgpack_pack_array(&pk, items);
}

void tr_mp_write_str(tr_buf *b, const char *s, size_t len)
{
    if (b->err != 0)
        return;
    if (len > UINT32_MAX) {
        b->err = TR_ETOOBIG;
        return;
    }
    /* Reserve header + body at once: one capacity check for both. */
    if (tr_buf_reserve(b, len + (len <= SIZE_MAX - 5 ? 5 : 0)) != TR_OK)
        return;
    PACKER(b);
    msgpack_pack_str(&pk, len);
    if (len > 0)
        msgpack_pack_str_body(&pk, s, len);
}

void tr_mp_write_cstr(tr_buf *b, const char *s)
{
    tr_mp_write_str(b, s, strlen(s));
}

void tr_mp_write_int(tr_buf *b, int64_t v)
{
    if (b->err != 0)
        return;
    PACKER(b);
    msgpack_pack_int64(&pk, v);
}

void tr_mp_write_uint(tr_buf *b, uint64_t v)
{
    if (b->err != 0)
        return;
    PACKER(b);
    msgpack_pack_uint64(&pk, v);
}

void tr_mp_write_double(tr_buf *b, double v)
{
    if (b->err != 0)
        return;
    PACKER(b);
    msgpack_pack_double(&pk, v);
}

void tr_mp_write_bool(tr_buf *b, bool v)
{
    if (b->err != 0)
        return;
    PACKER(b);
    if (v)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
}

void tr_mp_write_nil(tr_buf *b)
{
    if (b->err != 0)
        return;
    PACKER(b);
    msgpack_pack_nil(&pk);
}

void tr_mp_write_bin(tr_buf *b, const void *data, size_t len)
{
    if (b->err != 0)
        return;
    if (len > UINT32_MAX) {
        b->err = TR_ETOOBIG;
        return;
    }
    if (tr_buf_reserve(b, len + (len <= SIZE_MAX - 5 ? 5 : 0)) != TR_OK)
        return;
    PACKER(b);
    msgpack_pack_bin(&pk, len);
    if (len > 0)
        msgpack_pack_bin_body(&pk, data, len);
}

void tr_mp_write_raw(tr_buf *b, const void *data, size_t len)
{
    tr__buf_put(b, data, len);
}

void tr_mp_write_val(tr_buf *b, tr_mp_val v)
{
    if (b->err != 0)
        return;
    const uint8_t *next;
    if (tr__mp_skip(v.p, v.end, &next) != 0) {
        b->err = TR_EPROTO;
        return;
    }
    tr__buf_put(b, v.p, (size_t)(next - v.p));
}
