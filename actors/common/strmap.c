/*
 * actors/state/strmap.c -- see strmap.h.
 *
 * DESIGN
 * Linear probing over a power-of-two table.  A deleted slot becomes a
 * tombstone (probes continue past it, inserts reuse the first one seen);
 * `used` counts live slots plus tombstones and the table is rebuilt (same
 * size when mostly tombstones, else doubled) before it would pass 3/4, which
 * bounds probe lengths and guarantees an empty slot ends every probe.
 * The hash is a 64-bit multiply/xor-shift over 8-byte words (keys here are
 * short ids like "workflow:arb_btc_001:latest_execution").
 */
#include <stdlib.h>
#include <string.h>

#include "actors/common/strmap.h"
#include "troupe/error.h"

static char tomb_byte;
#define TOMB (&tomb_byte)

void tr__strmap_init(tr__strmap *m) { memset(m, 0, sizeof(*m)); }

void tr__strmap_fini(tr__strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key != NULL && m->slots[i].key != TOMB)
            free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static inline uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t tr__strmap_hash(const char *key, size_t klen)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (klen * 0x100000001b3ULL);
    size_t i = 0;
    for (; i + 8 <= klen; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = (h ^ mix(w)) * 0x9fb21c651e98df25ULL;
    }
    uint64_t t = 0;
    memcpy(&t, key + i, klen - i);
    h = (h ^ mix(t ^ 0x5bd1e995)) * 0x9fb21c651e98df25ULL;
    return mix(h);
}

static inline bool same(const tr__strmap_slot *s, uint64_t h, const char *key,
                        size_t klen)
{
    return s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0;
}

/* Index of key's slot, or of the slot where it would go (-1 never: the table
 * always has an empty slot).  *found tells which. */
static size_t probe(const tr__strmap *m, uint64_t h, const char *key,
                    size_t klen, bool *found)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask, first_tomb = SIZE_MAX;
    for (;;) {
        const tr__strmap_slot *s = &m->slots[i];
        if (s->key == NULL) {
            *found = false;
            return first_tomb != SIZE_MAX ? first_tomb : i;
        }
        if (s->key == TOMB) {
            if (first_tomb == SIZE_MAX)
                first_tomb = i;
        } else if (same(s, h, key, klen)) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

tr__strval *tr__strmap_get(tr__strmap *m, const char *key, size_t klen)
{
    if (m->len == 0)
        return NULL;
    bool found;
    size_t i = probe(m, tr__strmap_hash(key, klen), key, klen, &found);
    return found ? &m->slots[i].val : NULL;
}

static int rehash(tr__strmap *m, size_t cap)
{
    tr__strmap_slot *ns = calloc(cap, sizeof(*ns));
    if (ns == NULL)
        return TR_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        tr__strmap_slot *s = &m->slots[i];
        if (s->key == NULL || s->key == TOMB)
            continue;
        size_t j = (size_t)s->hash & (cap - 1);
        while (ns[j].key != NULL)
            j = (j + 1) & (cap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = cap;
    m->used = m->len;
    return 0;
}

int tr__strmap_put(tr__strmap *m, const char *key, size_t klen,
                   tr__strval **val, bool *created)
{
    if ((m->used + 1) * 4 > m->cap * 3) {
        size_t cap = m->cap == 0 ? 16 : m->cap;
        if ((m->len + 1) * 2 > cap)
            cap *= 2; /* else: mostly tombstones, rebuild in place */
        if (rehash(m, cap) != 0)
            return TR_ENOMEM;
    }
    uint64_t h = tr__strmap_hash(key, klen);
    bool found;
    size_t i = probe(m, h, key, klen, &found);
    tr__strmap_slot *s = &m->slots[i];
    if (!found) {
        char *k = malloc(klen + 1);
        if (k == NULL)
            return TR_ENOMEM;
        memcpy(k, key, klen);
        k[klen] = '\0';
        if (s->key == NULL)
            m->used++;
        s->hash = h;
        s->key = k;
        s->klen = klen;
        s->val.u = 0;
        m->len++;
    }
    *val = &s->val;
    if (created != NULL)
        *created = !found;
    return 0;
}

int tr__strmap_del(tr__strmap *m, const char *key, size_t klen,
                   tr__strval *old)
{
    if (m->len == 0)
        return TR_ENOENT;
    bool found;
    size_t i = probe(m, tr__strmap_hash(key, klen), key, klen, &found);
    if (!found)
        return TR_ENOENT;
    tr__strmap_slot *s = &m->slots[i];
    if (old != NULL)
        *old = s->val;
    free(s->key);
    s->key = TOMB;
    m->len--;
    return 0;
}

bool tr__strmap_next(const tr__strmap *m, size_t *i, const char **key,
                     size_t *klen, tr__strval *val)
{
    for (; *i < m->cap; (*i)++) {
        const tr__strmap_slot *s = &m->slots[*i];
        if (s->key == NULL || s->key == TOMB)
            continue;
        if (key != NULL)
            *key = s->key;
        if (klen != NULL)
            *klen = s->klen;
        if (val != NULL)
            *val = s->val;
        (*i)++;
        return true;
    }
    return false;
}
