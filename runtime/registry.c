/*
 * runtime/registry.c -- actor slots.
 *
 * Slots live in pages of TR__PAGE_SLOTS, allocated on demand and freed only
 * when the runtime is freed.  A slot is reused by later actors with a bumped
 * generation, so a ref is checked against the slot's control word without any
 * risk of reading freed memory -- the property that makes a send to a stopped
 * actor a counted dead letter instead of a use-after-free.
 *
 * Free slots go first to the freeing worker's private list (no atomics, no
 * lock), and in batches to a global list under free_lock, from which spawns
 * outside the workers (and workers with an empty private list) take.
 * Never-used slots come from a bump counter.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

#define LOCAL_FREE_MAX 512u
#define LOCAL_FREE_SPILL 256u

int tr__registry_init(tr_runtime *rt)
{
    rt->pages = calloc(TR__MAX_PAGES, sizeof(*rt->pages));
    if (rt->pages == NULL)
        return TR_ENOMEM;
    rt->next_id = 1; /* id 0 is TR_REF_NONE */
    rt->free_slots = NULL;
    rt->free_count = 0;
    pthread_mutex_init(&rt->page_lock, NULL);
    pthread_mutex_init(&rt->free_lock, NULL);
    return 0;
}

void tr__registry_fini(tr_runtime *rt)
{
    if (rt->pages == NULL)
        return;
    for (uint32_t i = 0; i < TR__MAX_PAGES; i++) {
        if (rt->pages[i] == NULL)
            continue;
        for (uint32_t k = 0; k < TR__PAGE_SLOTS; k++)
            tr__actor_ext_free(&rt->pages[i][k]);
        free(rt->pages[i]);
    }
    free(rt->pages);
    rt->pages = NULL;
    pthread_mutex_destroy(&rt->page_lock);
    pthread_mutex_destroy(&rt->free_lock);
}

static tr__actor *page_ensure(tr_runtime *rt, uint32_t page)
{
    tr__actor *p = tr__load_ptr_acquire((void *const *)&rt->pages[page]);
    if (p != NULL)
        return p;
    pthread_mutex_lock(&rt->page_lock);
    p = rt->pages[page];
    if (p == NULL) {
        size_t bytes = (size_t)TR__PAGE_SLOTS * sizeof(tr__actor);
        p = aligned_alloc(TR__CACHELINE, bytes);
        if (p != NULL) {
            /* The rest of a slot is set at spawn; ext lives as long as the
             * slot (see tr__actor_ext_reset). */
            for (uint32_t i = 0; i < TR__PAGE_SLOTS; i++) {
                p[i].ctl = TR__CTL_MAKE(0, 1, 0);
                p[i].id = (page << TR__PAGE_SHIFT) | i;
                p[i].ext = NULL;
            }
            /* Release: slot initialisation before the page is visible. */
            tr__store_ptr_release((void **)&rt->pages[page], p);
        }
    }
    pthread_mutex_unlock(&rt->page_lock);
    return p;
}

tr__actor *tr__slot_alloc(tr_runtime *rt, tr__worker *w)
{
    tr__actor *a;
    if (w != NULL && w->free_slots != NULL) {
        a = w->free_slots;
        w->free_slots = (tr__actor *)a->run_node.next;
        w->free_count--;
        return a;
    }
    if (tr__load_u32_relaxed(&rt->free_count) > 0) {
        pthread_mutex_lock(&rt->free_lock);
        a = rt->free_slots;
        if (a != NULL) {
            rt->free_slots = (tr__actor *)a->run_node.next;
            tr__store_u32_relaxed(&rt->free_count, rt->free_count - 1);
        }
        pthread_mutex_unlock(&rt->free_lock);
        if (a != NULL)
            return a;
    }
    uint32_t id = tr__faa_u32(&rt->next_id, 1);
    if ((id >> TR__PAGE_SHIFT) >= TR__MAX_PAGES) {
        tr__faa_u32(&rt->next_id, (uint32_t)-1);
        return NULL;
    }
    tr__actor *page = page_ensure(rt, id >> TR__PAGE_SHIFT);
    return page == NULL ? NULL : &page[id & (TR__PAGE_SLOTS - 1)];
}

void tr__slot_free(tr_runtime *rt, tr__worker *w, tr__actor *a)
{
    uint32_t gen = TR__CTL_GEN(tr__load_u64_relaxed(&a->ctl));
    a->ops = NULL;
    a->state = NULL;
    /* Release: everything above before the slot can be handed out again. */
    tr__store_u64_release(&a->ctl, TR__CTL_MAKE(gen + 1, 1, 0));
    if (w != NULL) {
        a->run_node.next = (tr__node *)w->free_slots;
        w->free_slots = a;
        if (++w->free_count < LOCAL_FREE_MAX)
            return;
        /* Spill half to the global list so other threads can reuse them. */
        tr__actor *first = w->free_slots, *last = first;
        for (uint32_t i = 1; i < LOCAL_FREE_SPILL; i++)
            last = (tr__actor *)last->run_node.next;
        w->free_slots = (tr__actor *)last->run_node.next;
        w->free_count -= LOCAL_FREE_SPILL;
        pthread_mutex_lock(&rt->free_lock);
        last->run_node.next = (tr__node *)rt->free_slots;
        rt->free_slots = first;
        tr__store_u32_relaxed(&rt->free_count, rt->free_count + LOCAL_FREE_SPILL);
        pthread_mutex_unlock(&rt->free_lock);
        return;
    }
    pthread_mutex_lock(&rt->free_lock);
    a->run_node.next = (tr__node *)rt->free_slots;
    rt->free_slots = a;
    tr__store_u32_relaxed(&rt->free_count, rt->free_count + 1);
    pthread_mutex_unlock(&rt->free_lock);
}
