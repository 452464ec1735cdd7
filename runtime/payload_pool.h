/*
 * runtime/payload_pool.h -- size-class blocks for payloads (payload.c).
 *
 * Why: a payload is typically made on one worker (an event, a state write)
 * and freed on another (the bus, the state store, a subscriber).  With
 * malloc that free goes into the other thread's arena, under its lock, and
 * the two workers' allocations and frees meet on those locks: the engine
 * profile showed ~20 % of its CPU in futex waits and wakes under malloc and
 * free.  This pool keeps freed blocks in the FREEING thread's cache, so a
 * free never touches another thread's memory structures; caches that fill
 * up move their blocks to a shared depot a whole magazine at a time, and
 * caches that run dry take a magazine back: one short mutex per MAG blocks.
 *
 * Blocks are plain malloc blocks of 64 << cls bytes (cls < TR__POOL_CLASSES);
 * larger requests are not pooled.  What the pool holds is bounded: MAG per
 * class per thread, plus DEPOT_MAX magazines per class in the depot (beyond
 * that a full magazine is freed).  A thread's cache goes back to the depot
 * when the thread exits.  Nothing is ever returned to malloc at process exit:
 * the depot stays reachable (a static), which LeakSanitizer and valgrind
 * count as reachable, not leaked.
 *
 * Under AddressSanitizer the pool is off (plain malloc/free), so a use after
 * the last unref is still caught.
 */
#ifndef TR_RUNTIME_PAYLOAD_POOL_H
#define TR_RUNTIME_PAYLOAD_POOL_H

#include <stddef.h>

#define TR__POOL_CLASSES 6 /* 64, 128, 256, 512, 1024, 2048 bytes */

/* The class of a block of `size` bytes, or -1 when it is not pooled. */
int tr__pool_class(size_t size);
/* A block of class cls (64 << cls bytes), NULL when out of memory. */
void *tr__pool_alloc(int cls);
/* Give back a block of class cls (from tr__pool_alloc, any thread). */
void tr__pool_free(void *block, int cls);

#endif
