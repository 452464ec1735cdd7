/* runtime/deque.c -- see deque.h for the algorithm and its ordering argument. */
#include <stdlib.h>

#include "runtime/deque.h"
#include "troupe/error.h"

static tr__deque_buf *buf_new(uint64_t cap)
{
    tr__deque_buf *b = malloc(sizeof(*b) + cap * sizeof(void *));
    if (b != NULL) {
        b->mask = cap - 1;
        b->prev = NULL;
    }
    return b;
}

int tr__deque_init(tr__deque *d, uint64_t cap_pow2)
{
    d->top = 0;
    d->bottom = 0;
    d->buf = buf_new(cap_pow2);
    return d->buf == NULL ? TR_ENOMEM : 0;
}

void tr__deque_fini(tr__deque *d)
{
    tr__deque_buf *b = d->buf;
    while (b != NULL) {
        tr__deque_buf *p = b->prev;
        free(b);
        b = p;
    }
    d->buf = NULL;
}

bool tr__deque_push(tr__deque *d, void *item)
{
    uint64_t b = d->bottom; /* owner's own variable */
    uint64_t t = tr__load_u64_acquire(&d->top);
    tr__deque_buf *buf = d->buf;
    if (b - t > buf->mask) {
        tr__deque_buf *nb = buf_new((buf->mask + 1) * 2);
        if (nb == NULL)
            return false;
        for (uint64_t i = t; i < b; i++)
            tr__store_ptr_relaxed(&nb->slots[i & nb->mask],
                                  tr__load_ptr_relaxed(&buf->slots[i & buf->mask]));
        nb->prev = buf;
        /* Release: a popper that sees the new buffer sees its contents. */
        tr__store_ptr_release((void **)&d->buf, nb);
        buf = nb;
    }
    tr__store_ptr_relaxed(&buf->slots[b & buf->mask], item);
    /* Release: the slot store happens before any popper's acquire of bottom. */
    tr__store_u64_release(&d->bottom, b + 1);
    return true;
}

void *tr__deque_pop(tr__deque *d)
{
    for (;;) {
        uint64_t t = tr__load_u64_acquire(&d->top);
        uint64_t b = tr__load_u64_acquire(&d->bottom);
        if (t >= b)
            return NULL;
        tr__deque_buf *buf = tr__load_ptr_acquire((void *const *)&d->buf);
        void *item = tr__load_ptr_relaxed(&buf->slots[t & buf->mask]);
        if (tr__cas_u64(&d->top, &t, t + 1))
            return item;
        tr__cpu_relax();
    }
}
