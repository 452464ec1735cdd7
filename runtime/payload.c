/*
 * runtime/payload.c -- immutable reference-counted buffers.
 *
 * Two layouts share one header: an inline payload keeps its bytes right after
 * the header (one allocation), a wrapped payload points at a buffer someone
 * else allocated and calls that owner's free function at the last unref.
 *
 * Memory: both layouts come from the payload pool (payload_pool.h) when they
 * fit its largest class, so a payload freed on another thread than the one
 * that made it does not contend on malloc's locks; larger ones use malloc.
 *
 * Reference counting: ref is a relaxed increment (the caller already holds a
 * reference, so the object cannot vanish under it); unref is a release
 * decrement, and the thread that takes the count to zero issues an acquire
 * fence before freeing, so every other thread's reads of the bytes happen
 * before the free.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/atomics.h"
#include "runtime/payload_pool.h"
#include "troupe/payload.h"

struct tr_payload {
    uint32_t refs;
    uint16_t wrapped;
    int16_t cls; /* pool class of this allocation; -1 = malloc */
    size_t len;
    uint8_t *data;
    void (*free_fn)(void *data, void *arg);
    void *arg;
    uint8_t inline_data[];
};

static tr_payload *block(size_t size)
{
    int cls = tr__pool_class(size);
    tr_payload *p = cls >= 0 ? tr__pool_alloc(cls) : malloc(size);
    if (p != NULL)
        p->cls = (int16_t)cls;
    return p;
}

tr_payload *tr_payload_alloc(size_t len, uint8_t **data)
{
    if (len > SIZE_MAX - sizeof(tr_payload))
        return NULL;
    tr_payload *p = block(sizeof(*p) + len);
    if (p == NULL)
        return NULL;
    p->refs = 1;
    p->wrapped = 0;
    p->len = len;
    p->data = p->inline_data;
    p->free_fn = NULL;
    p->arg = NULL;
    if (data != NULL)
        *data = p->inline_data;
    return p;
}

tr_payload *tr_payload_copy(const void *data, size_t len)
{
    uint8_t *dst;
    tr_payload *p = tr_payload_alloc(len, &dst);
    if (p != NULL && len > 0)
        memcpy(dst, data, len);
    return p;
}

tr_payload *tr_payload_wrap(void *data, size_t len,
                            void (*free_fn)(void *data, void *arg), void *arg)
{
    if (data == NULL && len > 0)
        return NULL;
    tr_payload *p = block(sizeof(*p));
    if (p == NULL)
        return NULL;
    p->refs = 1;
    p->wrapped = 1;
    p->len = len;
    p->data = data;
    p->free_fn = free_fn;
    p->arg = arg;
    return p;
}

tr_payload *tr_payload_ref(tr_payload *p)
{
    if (p != NULL)
        tr__faa_u32_relaxed(&p->refs, 1);
    return p;
}

void tr_payload_unref(tr_payload *p)
{
    if (p == NULL)
        return;
    if (tr__faa_u32_release(&p->refs, (uint32_t)-1) != 1)
        return;
    tr__fence_acquire();
    if (p->wrapped && p->free_fn != NULL)
        p->free_fn(p->data, p->arg);
    if (p->cls >= 0)
        tr__pool_free(p, p->cls);
    else
        free(p);
}

const uint8_t *tr_payload_data(const tr_payload *p) { return p->data; }
size_t tr_payload_len(const tr_payload *p) { return p->len; }
uint32_t tr_payload_refs(const tr_payload *p)
{
    return tr__load_u32_relaxed(&p->refs);
}
