/*
 * actors/state/state_memory.c -- the `memory` state backend.
 *
 * DESIGN
 * One tr__strmap from key to a value record.  A record is either a string
 * (the JSON text, NUL-terminated copy) or a list: a ring buffer of strings
 * whose logical index 0 is the newest item, so a push is O(1) (amortized
 * over growth), dropping the oldest beyond the cap is O(1), and a range
 * read newest-first walks the ring in order.  Only the state actor calls
 * these ops (one at a time), so nothing here locks.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/common/strmap.h"
#include "troupe/state.h"

typedef struct item {
    char *s;
    size_t len;
} item;

typedef struct mval {
    bool list;
    char *s; /* string */
    size_t len;
    item *ring; /* list: capacity rcap (power of two), newest at head */
    uint32_t head, n, rcap;
} mval;

typedef struct mem {
    tr__strmap map;
} mem;

static char *dup_bytes(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static void mval_free(mval *v)
{
    if (v == NULL)
        return;
    free(v->s);
    for (uint32_t i = 0; i < v->n; i++)
        free(v->ring[(v->head + i) & (v->rcap - 1)].s);
    free(v->ring);
    free(v);
}

static int mem_open(void **self, void *arg)
{
    (void)arg;
    mem *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return TR_ENOMEM;
    tr__strmap_init(&m->map);
    *self = m;
    return 0;
}

static void mem_close(void *self)
{
    mem *m = self;
    size_t i = 0;
    tr__strval v;
    while (tr__strmap_next(&m->map, &i, NULL, NULL, &v))
        mval_free(v.p);
    tr__strmap_fini(&m->map);
    free(m);
}

static mval *lookup(mem *m, const char *key, size_t klen)
{
    tr__strval *v = tr__strmap_get(&m->map, key, klen);
    return v != NULL ? v->p : NULL;
}

static int mem_get(void *self, const char *key, size_t klen, const char **val,
                   size_t *vlen)
{
    mval *v = lookup(self, key, klen);
    if (v == NULL)
        return TR_ENOENT;
    if (v->list)
        return TR_ESTATE;
    *val = v->s;
    *vlen = v->len;
    return 0;
}

static int mem_set(void *self, const char *key, size_t klen, const char *val,
                   size_t vlen)
{
    mem *m = self;
    char *copy = dup_bytes(val, vlen);
    if (copy == NULL)
        return TR_ENOMEM;
    mval *nv = calloc(1, sizeof(*nv));
    if (nv == NULL) {
        free(copy);
        return TR_ENOMEM;
    }
    tr__strval *slot;
    if (tr__strmap_put(&m->map, key, klen, &slot, NULL) != 0) {
        free(copy);
        free(nv);
        return TR_ENOMEM;
    }
    mval *old = slot->p;
    nv->s = copy;
    nv->len = vlen;
    slot->p = nv;
    mval_free(old);
    return 0;
}

static int mem_del(void *self, const char *key, size_t klen)
{
    mem *m = self;
    tr__strval old;
    if (tr__strmap_del(&m->map, key, klen, &old) != 0)
        return TR_ENOENT;
    mval_free(old.p);
    return 0;
}

static int mem_exists(void *self, const char *key, size_t klen)
{
    return lookup(self, key, klen) != NULL ? 1 : 0;
}

static int ring_grow(mval *v)
{
    uint32_t cap = v->rcap ? v->rcap * 2 : 8;
    item *r = malloc(cap * sizeof(*r));
    if (r == NULL)
        return TR_ENOMEM;
    for (uint32_t i = 0; i < v->n; i++)
        r[i] = v->ring[(v->head + i) & (v->rcap - 1)];
    free(v->ring);
    v->ring = r;
    v->rcap = cap;
    v->head = 0;
    return 0;
}

static int mem_list_push(void *self, const char *key, size_t klen,
                         const char *val, size_t vlen, uint32_t cap)
{
    mem *m = self;
    mval *v = lookup(m, key, klen);
    if (v != NULL && !v->list)
        return TR_ESTATE;
    char *copy = dup_bytes(val, vlen);
    if (copy == NULL)
        return TR_ENOMEM;
    if (v == NULL) {
        tr__strval *slot;
        if ((v = calloc(1, sizeof(*v))) == NULL ||
            tr__strmap_put(&m->map, key, klen, &slot, NULL) != 0) {
            free(v);
            free(copy);
            return TR_ENOMEM;
        }
        v->list = true;
        slot->p = v;
    }
    /* Make room: drop the oldest first when at the cap, so a full capped
     * list never grows its ring. */
    while (cap != 0 && v->n >= cap) {
        free(v->ring[(v->head + v->n - 1) & (v->rcap - 1)].s);
        v->n--;
    }
    if (v->n == v->rcap && ring_grow(v) != 0) {
        free(copy);
        if (v->n == 0) /* the list we just created: leave nothing behind */
            mem_del(m, key, klen);
        return TR_ENOMEM;
    }
    v->head = (v->head - 1) & (v->rcap - 1);
    v->ring[v->head] = (item){copy, vlen};
    v->n++;
    return 0;
}

static int mem_list_range(void *self, const char *key, size_t klen,
                          uint32_t start, uint32_t count, tr_state_item_fn fn,
                          void *arg)
{
    mval *v = lookup(self, key, klen);
    if (v == NULL)
        return 0;
    if (!v->list)
        return TR_ESTATE;
    int visited = 0;
    for (uint32_t i = start; i < v->n && (uint32_t)visited < count; i++) {
        const item *it = &v->ring[(v->head + i) & (v->rcap - 1)];
        fn(arg, it->s, it->len);
        visited++;
    }
    return visited;
}

static const tr_state_backend_ops memory_ops = {
    .name = "memory",
    .open = mem_open,
    .close = mem_close,
    .get = mem_get,
    .set = mem_set,
    .del = mem_del,
    .exists = mem_exists,
    .list_push_capped = mem_list_push,
    .list_range = mem_list_range,
};

const tr_state_backend_ops *tr_state_memory_backend(void) { return &memory_ops; }
