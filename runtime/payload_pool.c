/*
 * runtime/payload_pool.c -- see payload_pool.h.
 *
 * Per thread: for each class, a cache of up to MAG free blocks (an array,
 * thread-local, no locking).  Shared: for each class, a depot of full
 * magazines under a mutex.  A magazine is MAG free blocks linked through
 * their first word; magazines in the depot are linked through the second
 * word (every block is at least 64 bytes, so both words are free to use).
 *
 *   free:  cache full  -> the whole cache becomes a magazine in the depot
 *                         (or is freed to malloc when the depot is at its
 *                         cap), then the block goes into the empty cache.
 *   alloc: cache empty -> take a magazine from the depot, else malloc.
 *
 * A thread's cache is freed to malloc when the thread exits (a pthread key
 * destructor, registered the first time the thread uses the pool).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "runtime/payload_pool.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_OFF 1
#endif
#endif

#define MAG 64u                      /* blocks per cache and per magazine */
#define DEPOT_BYTES (4u << 20)       /* per class: what the depot may keep */
#define BLOCK(cls) ((size_t)64 << (cls))

int tr__pool_class(size_t size)
{
    for (int cls = 0; cls < TR__POOL_CLASSES; cls++)
        if (size <= BLOCK(cls))
            return cls;
    return -1;
}

#ifdef POOL_OFF

void *tr__pool_alloc(int cls)
{
    return malloc(BLOCK(cls));
}

void tr__pool_free(void *block, int cls)
{
    (void)cls;
    free(block);
}

#else

typedef struct blk {
    struct blk *next;     /* next block of the same magazine */
    struct blk *next_mag; /* next magazine in the depot (head blocks only) */
} blk;

static struct depot {
    pthread_mutex_t mu;
    blk *mags;
    unsigned n;
} depot[TR__POOL_CLASSES] = {
    {PTHREAD_MUTEX_INITIALIZER, NULL, 0}, {PTHREAD_MUTEX_INITIALIZER, NULL, 0},
    {PTHREAD_MUTEX_INITIALIZER, NULL, 0}, {PTHREAD_MUTEX_INITIALIZER, NULL, 0},
    {PTHREAD_MUTEX_INITIALIZER, NULL, 0}, {PTHREAD_MUTEX_INITIALIZER, NULL, 0},
};
_Static_assert(TR__POOL_CLASSES == 6, "one depot initializer per class");

typedef struct tcache {
    void *b[TR__POOL_CLASSES][MAG];
    unsigned n[TR__POOL_CLASSES];
    bool registered;
} tcache;

static _Thread_local tcache tc;
static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;

static void tc_exit(void *arg)
{
    tcache *t = arg;
    for (int cls = 0; cls < TR__POOL_CLASSES; cls++) {
        while (t->n[cls] > 0)
            free(t->b[cls][--t->n[cls]]);
    }
    t->registered = false;
}

static void tc_key_make(void)
{
    (void)pthread_key_create(&tc_key, tc_exit);
}

static tcache *cache(void)
{
    tcache *t = &tc;
    if (!t->registered) {
        pthread_once(&tc_once, tc_key_make);
        t->registered = pthread_setspecific(tc_key, t) == 0;
    }
    return t;
}

static void refill(tcache *t, int cls)
{
    struct depot *d = &depot[cls];
    pthread_mutex_lock(&d->mu);
    blk *m = d->mags;
    if (m != NULL) {
        d->mags = m->next_mag;
        d->n--;
    }
    pthread_mutex_unlock(&d->mu);
    for (blk *b = m; b != NULL; b = b->next)
        t->b[cls][t->n[cls]++] = b;
}

static void spill(tcache *t, int cls)
{
    blk *head = NULL;
    for (unsigned i = 0; i < t->n[cls]; i++) {
        blk *b = t->b[cls][i];
        b->next = head;
        head = b;
    }
    t->n[cls] = 0;
    struct depot *d = &depot[cls];
    pthread_mutex_lock(&d->mu);
    bool keep = d->n < DEPOT_BYTES / (MAG * BLOCK(cls));
    if (keep) {
        head->next_mag = d->mags;
        d->mags = head;
        d->n++;
    }
    pthread_mutex_unlock(&d->mu);
    while (!keep && head != NULL) {
        blk *next = head->next;
        free(head);
        head = next;
    }
}

void *tr__pool_alloc(int cls)
{
    tcache *t = cache();
    if (t->n[cls] == 0)
        refill(t, cls);
    if (t->n[cls] > 0)
        return t->b[cls][--t->n[cls]];
    return malloc(BLOCK(cls));
}

void tr__pool_free(void *block, int cls)
{
    tcache *t = cache();
    if (t->n[cls] == MAG)
        spill(t, cls);
    t->b[cls][t->n[cls]++] = block;
}

#endif
