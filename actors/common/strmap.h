/*
 * actors/common/strmap.h -- a string-keyed hash map for single-threaded use.
 *
 * Open addressing with linear probing and tombstones; the table is a power of
 * two and is kept at most 3/4 full (tombstones included), so a probe sequence
 * always ends at an empty slot.  Each slot caches the key's 64-bit hash, so a
 * probe compares strings only when the hashes are equal.  Keys are copied in
 * (one malloc per key, freed on delete); values are one tr__strval (a pointer
 * or a uint64, the caller's choice).
 *
 * Used by the state store's memory backend (key -> value) and by the event
 * bus (workflow id -> seq counter, workflow id -> subscriber list).  It is
 * internal to actors/ and has no locking: one thread owns a map.  Keys are
 * byte strings (not NUL-terminated on input; stored NUL-terminated).
 */
#ifndef TR_ACTORS_STRMAP_H
#define TR_ACTORS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef union tr__strval {
    void *p;
    uint64_t u;
} tr__strval;

typedef struct tr__strmap_slot {
    uint64_t hash;
    char *key;     /* NULL: empty; TR__STRMAP_TOMB: deleted */
    size_t klen;
    tr__strval val;
} tr__strmap_slot;

typedef struct tr__strmap {
    tr__strmap_slot *slots;
    size_t cap;   /* 0 or a power of two */
    size_t len;   /* live keys */
    size_t used;  /* live + tombstones */
} tr__strmap;

void tr__strmap_init(tr__strmap *m);
/* Free every key and the table (values are the caller's: walk them first). */
void tr__strmap_fini(tr__strmap *m);

uint64_t tr__strmap_hash(const char *key, size_t klen);

/* The value of key, or NULL when absent.  The pointer is valid until the
 * next insertion or deletion. */
tr__strval *tr__strmap_get(tr__strmap *m, const char *key, size_t klen);

/* Find key, inserting it (value zeroed) when absent.  Returns 0 and *val
 * (valid until the next insertion or deletion), *created says whether it was
 * inserted; or TR_ENOMEM with the map unchanged. */
int tr__strmap_put(tr__strmap *m, const char *key, size_t klen,
                   tr__strval **val, bool *created);

/* Remove key; *old (may be NULL) gets its value.  Returns 0 or TR_ENOENT. */
int tr__strmap_del(tr__strmap *m, const char *key, size_t klen,
                   tr__strval *old);

/* Iterate: size_t i = 0; while (tr__strmap_next(m, &i, &k, &kl, &v)) ...
 * Must not insert or delete while iterating. */
bool tr__strmap_next(const tr__strmap *m, size_t *i, const char **key,
                     size_t *klen, tr__strval *val);

#endif
