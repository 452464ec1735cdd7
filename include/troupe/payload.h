/*
 * troupe/payload.h -- immutable, reference-counted message payloads.
 *
 * A payload is a byte buffer (by convention one msgpack document, built with
 * troupe/codec.h) with an atomic reference count.  It is written once by its
 * creator and never changed after it is first sent or shared: one event sent
 * to a thousand actors is one buffer with a thousand references.
 *
 * tr_payload_ref/unref are safe from any thread.  The last unref frees it.
 */
#ifndef TROUPE_PAYLOAD_H
#define TROUPE_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tr_payload tr_payload;

/* A new payload holding a copy of len bytes of data (refcount 1).  Returns
 * NULL when out of memory. */
TR_EXTERN tr_payload *tr_payload_copy(const void *data, size_t len);

/* A new payload of len bytes for the caller to fill through *data before it
 * is shared (refcount 1).  Returns NULL when out of memory. */
TR_EXTERN tr_payload *tr_payload_alloc(size_t len, uint8_t **data);

/* Take one more reference; returns p.  p may be NULL (returns NULL). */
TR_EXTERN tr_payload *tr_payload_ref(tr_payload *p);

/* Drop one reference; the last frees the buffer.  p may be NULL. */
TR_EXTERN void tr_payload_unref(tr_payload *p);

TR_EXTERN const uint8_t *tr_payload_data(const tr_payload *p);
TR_EXTERN size_t tr_payload_len(const tr_payload *p);
/* Current reference count (for tests and diagnostics). */
TR_EXTERN uint32_t tr_payload_refs(const tr_payload *p);

/* Adopt an existing buffer without copying (refcount 1): when the last
 * reference goes, free_fn(data, arg) is called exactly once, on whichever
 * thread dropped it.  free_fn may be NULL for static data.  On failure
 * (NULL, out of memory) the caller still owns data. */
TR_EXTERN tr_payload *tr_payload_wrap(void *data, size_t len,
                                      void (*free_fn)(void *data, void *arg),
                                      void *arg);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_PAYLOAD_H */
