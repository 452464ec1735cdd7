/*
 * codecs/wf_plan.c -- ordering a validated node graph and the immutable plan.
 *
 * Ordering is Kahn's algorithm with a min-heap keyed on definition index, so
 * the plan order is the topological order closest to the definition: a
 * definition already written in dependency order keeps its order exactly,
 * and the same graph always yields the same plan (list form or map form).
 *
 * Whatever Kahn's algorithm cannot place lies on a cycle or depends on one.
 * Every such node has an unplaced dependency, so following unplaced
 * dependencies from any of them must come back to a node already on the
 * walk: that closes a cycle, reported once with its path ("a -> b -> a",
 * each depending on the next), starting at its earliest-defined node.
 * Walks share one visited mark, so the whole search is linear.
 *
 * The plan is built only when the parse reported nothing.  It owns one bump
 * arena (every string, node and index array: freeing is a walk over a few
 * blocks), the compiled expressions, and one reference to each config
 * payload.  After tr__wf_plan_build returns, nothing in it is ever written
 * again except the reference count, so readers on any thread need no locks;
 * publishing the plan pointer to another thread (a message, a queue) is the
 * happens-before edge.  The count is C11 atomic: increments are relaxed (the
 * caller already holds a reference), the decrement is acq_rel so the thread
 * that frees sees every other thread's last reads as finished.
 */
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/expr_impl.h"
#include "codecs/wf_internal.h"

/* ---------------------------------------------------------------------------
 * Arena
 * ------------------------------------------------------------------------ */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
} arena_block;

struct tr__arena {
    arena_block *head;
};

void *tr__arena_alloc(struct tr__arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    size = (size + align - 1) & ~(align - 1);
    arena_block *b = a->head;
    if (b == NULL || b->cap - b->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

char *tr__arena_strndup(struct tr__arena *a, const char *s, size_t n)
{
    char *d = tr__arena_alloc(a, n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *arena_str(struct tr__arena *a, const char *s, bool *nomem)
{
    if (s == NULL)
        return NULL;
    char *d = tr__arena_strndup(a, s, strlen(s));
    if (d == NULL)
        *nomem = true;
    return d;
}

static void arena_free(struct tr__arena *a)
{
    for (arena_block *b = a->head, *next; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
}

/* ---------------------------------------------------------------------------
 * The plan
 * ------------------------------------------------------------------------ */

struct tr_wf_plan {
    atomic_uint refs;
    struct tr__arena arena;
    const char *id, *name, *bot_id, *strategy_id, *description;
    uint64_t every_ms;
    uint32_t nnodes;
    tr_wf_node *nodes;
    const tr_wf_node **by_id; /* sorted by id */
    tr_expr **exprs;          /* owned */
    uint32_t nexprs;
};

static void plan_destroy(tr_wf_plan *p)
{
    for (uint32_t i = 0; i < p->nnodes; i++)
        tr_payload_unref(p->nodes[i].config_msgpack);
    for (uint32_t i = 0; i < p->nexprs; i++)
        tr_expr_free(p->exprs[i]);
    free(p->exprs);
    arena_free(&p->arena);
    free(p);
}

tr_wf_plan *tr_wf_plan_ref(tr_wf_plan *plan)
{
    if (plan != NULL)
        atomic_fetch_add_explicit(&plan->refs, 1, memory_order_relaxed);
    return plan;
}

void tr_wf_plan_free(tr_wf_plan *plan)
{
    if (plan != NULL &&
        atomic_fetch_sub_explicit(&plan->refs, 1, memory_order_acq_rel) == 1)
        plan_destroy(plan);
}

const char *tr_wf_plan_id(const tr_wf_plan *p) { return p->id; }
const char *tr_wf_plan_name(const tr_wf_plan *p) { return p->name; }
const char *tr_wf_plan_bot_id(const tr_wf_plan *p) { return p->bot_id; }
const char *tr_wf_plan_strategy_id(const tr_wf_plan *p) { return p->strategy_id; }
const char *tr_wf_plan_description(const tr_wf_plan *p) { return p->description; }
uint64_t tr_wf_plan_every_ms(const tr_wf_plan *p) { return p->every_ms; }
uint32_t tr_wf_plan_node_count(const tr_wf_plan *p) { return p->nnodes; }

const tr_wf_node *tr_wf_plan_node(const tr_wf_plan *p, uint32_t i)
{
    return p != NULL && i < p->nnodes ? &p->nodes[i] : NULL;
}

const tr_wf_node *tr_wf_plan_find(const tr_wf_plan *p, const char *id)
{
    if (p == NULL || id == NULL)
        return NULL;
    size_t lo = 0, hi = p->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p->by_id[mid]->id, id);
        if (c == 0)
            return p->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Ordering
 * ------------------------------------------------------------------------ */

static void heap_push(uint32_t *h, uint32_t *n, uint32_t v)
{
    uint32_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static uint32_t heap_pop(uint32_t *h, uint32_t *n)
{
    uint32_t top = h[0], v = h[--(*n)], i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0)
        h[i] = v;
    return top;
}

static void report_cycle(tr__wf_build *b, const uint32_t *path, uint32_t len)
{
    uint32_t first = 0;
    for (uint32_t i = 1; i < len; i++)
        if (path[i] < path[first])
            first = i;
    char msg[400];
    size_t used = 0;
    for (uint32_t k = 0; k <= len; k++) {
        const char *id = b->nodes[path[(first + k) % len]].id;
        int w = snprintf(msg + used, sizeof msg - used, "%s%s", k ? " -> " : "", id);
        if (w < 0 || (size_t)w >= sizeof msg - used) {
            snprintf(msg + (sizeof msg - 5), 5, "...");
            break;
        }
        used += (size_t)w;
    }
    tr__wf_problem(&b->rep, b->nodes[path[first]].id, NULL, 0, 0, "dependency cycle: %s", msg);
}

/* Fills order[] (definition indexes) and returns how many were placed;
 * reports the cycles among the rest.  Returns -1 when out of memory. */
static long order_nodes(tr__wf_build *b, uint32_t *order)
{
    uint32_t n = b->nnodes, usable = 0, placed = 0, hn = 0;
    uint32_t *indeg = calloc(n, sizeof *indeg);
    uint32_t *start = calloc(n + 1, sizeof *start); /* CSR of dependants */
    uint32_t *adj = NULL, *heap = malloc(n * sizeof *heap);
    uint32_t *fill = NULL;
    long rc = -1;
    if (indeg == NULL || start == NULL || heap == NULL)
        goto out;
    size_t edges = 0;
    for (uint32_t i = 0; i < n; i++)
        if (b->nodes[i].usable) {
            usable++;
            indeg[i] = b->nodes[i].ndeps;
            edges += b->nodes[i].ndeps;
            for (uint32_t d = 0; d < b->nodes[i].ndeps; d++)
                start[b->nodes[i].deps[d] + 1]++;
        }
    for (uint32_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    adj = malloc((edges ? edges : 1) * sizeof *adj);
    fill = malloc(n * sizeof *fill);
    if (adj == NULL || fill == NULL)
        goto out;
    memcpy(fill, start, n * sizeof *fill);
    for (uint32_t i = 0; i < n; i++)
        if (b->nodes[i].usable)
            for (uint32_t d = 0; d < b->nodes[i].ndeps; d++)
                adj[fill[b->nodes[i].deps[d]]++] = i;

    for (uint32_t i = 0; i < n; i++)
        if (b->nodes[i].usable && indeg[i] == 0)
            heap_push(heap, &hn, i);
    while (hn > 0) {
        uint32_t v = heap_pop(heap, &hn);
        order[placed++] = v;
        for (uint32_t e = start[v]; e < start[v + 1]; e++)
            if (--indeg[adj[e]] == 0)
                heap_push(heap, &hn, adj[e]);
    }

    if (placed < usable) {
        /* indeg[v] > 0 marks the unplaced; reuse fill as the walk state
         * (0 new, 1 on this walk, 2 done) and heap as the path. */
        memset(fill, 0, n * sizeof *fill);
        for (uint32_t s = 0; s < n; s++) {
            if (!b->nodes[s].usable || indeg[s] == 0 || fill[s] != 0)
                continue;
            uint32_t len = 0, cur = s;
            for (;;) {
                fill[cur] = 1;
                heap[len++] = cur;
                uint32_t next = UINT32_MAX;
                for (uint32_t d = 0; d < b->nodes[cur].ndeps; d++)
                    if (indeg[b->nodes[cur].deps[d]] > 0) {
                        next = b->nodes[cur].deps[d];
                        break;
                    }
                if (next == UINT32_MAX || fill[next] == 2)
                    break; /* cannot happen / leads to a reported cycle */
                if (fill[next] == 1) {
                    uint32_t at = 0;
                    while (heap[at] != next)
                        at++;
                    report_cycle(b, heap + at, len - at);
                    break;
                }
                cur = next;
            }
            for (uint32_t k = 0; k < len; k++)
                fill[heap[k]] = 2;
        }
    }
    rc = placed;
out:
    free(indeg);
    free(start);
    free(adj);
    free(heap);
    free(fill);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Building
 * ------------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_node_id(const void *a, const void *b)
{
    return strcmp((*(const tr_wf_node *const *)a)->id, (*(const tr_wf_node *const *)b)->id);
}

static int fill_plan(tr__wf_build *b, tr_wf_plan *p, const uint32_t *order)
{
    struct tr__arena *a = &p->arena;
    uint32_t n = b->nnodes;
    bool nomem = false;
    p->id = arena_str(a, b->id, &nomem);
    p->name = arena_str(a, b->name, &nomem);
    p->bot_id = arena_str(a, b->bot_id, &nomem);
    p->strategy_id = arena_str(a, b->strategy_id, &nomem);
    p->description = arena_str(a, b->description, &nomem);
    p->every_ms = b->every_ms;
    p->nodes = tr__arena_alloc(a, n * sizeof *p->nodes);
    p->by_id = tr__arena_alloc(a, n * sizeof *p->by_id);
    uint32_t *pos = tr__arena_alloc(a, n * sizeof *pos);
    uint32_t *ndependants = tr__arena_alloc(a, n * sizeof *ndependants);
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += b->nodes[i].nexprs;
    p->exprs = calloc(total ? total : 1, sizeof *p->exprs);
    if (nomem || p->nodes == NULL || p->by_id == NULL || pos == NULL || ndependants == NULL ||
        p->exprs == NULL)
        return TR_ENOMEM;
    memset(p->nodes, 0, n * sizeof *p->nodes);
    memset(ndependants, 0, n * sizeof *ndependants);
    p->nnodes = n;
    for (uint32_t k = 0; k < n; k++)
        pos[order[k]] = k;

    for (uint32_t k = 0; k < n; k++) {
        tr__wf_bnode *bn = &b->nodes[order[k]];
        tr_wf_node *o = &p->nodes[k];
        o->id = arena_str(a, bn->id, &nomem);
        o->name = arena_str(a, bn->name, &nomem);
        o->type = bn->type->name;
        o->type_desc = bn->type;
        o->category = bn->category;
        o->blocking = bn->type->blocking;
        o->timeout_s = bn->timeout_s;
        o->retry = bn->retry;
        o->index = k;
        o->def_index = order[k];
        uint32_t *deps = tr__arena_alloc(a, (bn->ndeps ? bn->ndeps : 1) * sizeof *deps);
        if (deps == NULL || nomem)
            return TR_ENOMEM;
        for (uint32_t d = 0; d < bn->ndeps; d++) {
            deps[d] = pos[bn->deps[d]];
            ndependants[deps[d]]++;
        }
        qsort(deps, bn->ndeps, sizeof *deps, cmp_u32);
        o->deps = deps;
        o->ndeps = bn->ndeps;
        int rc = tr__wf_config_views(a, bn->config, o);
        if (rc != 0)
            return rc;
        for (uint32_t s = 0; s < bn->nexprs; s++) {
            p->exprs[p->nexprs++] = bn->exprs[s].expr;
            if (s == 0)
                o->expr = bn->exprs[s].expr;
            bn->exprs[s].expr = NULL; /* the plan owns it now */
        }
        p->by_id[k] = o;
    }
    /* dependants: appended in plan order, hence ascending */
    for (uint32_t k = 0; k < n; k++) {
        p->nodes[k].dependants = tr__arena_alloc(a, (ndependants[k] ? ndependants[k] : 1) *
                                                        sizeof(uint32_t));
        if (p->nodes[k].dependants == NULL)
            return TR_ENOMEM;
    }
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t d = 0; d < p->nodes[k].ndeps; d++) {
            tr_wf_node *up = &p->nodes[p->nodes[k].deps[d]];
            ((uint32_t *)up->dependants)[up->ndependants++] = k;
        }
    qsort(p->by_id, n, sizeof *p->by_id, cmp_node_id);
    for (uint32_t i = 0; i < p->nexprs; i++)
        for (uint32_t r = 0; r < tr_expr_ref_count(p->exprs[i]); r++) {
            const tr_wf_node *t = tr_wf_plan_find(p, tr_expr_ref_at(p->exprs[i], r)->node);
            tr__expr_bind(p->exprs[i], r, t->index); /* resolve() proved it exists */
        }
    return 0;
}

int tr__wf_plan_build(tr__wf_build *b, tr_wf_plan **out)
{
    uint32_t *order = malloc((b->nnodes ? b->nnodes : 1) * sizeof *order);
    if (order == NULL)
        return TR_ENOMEM;
    long placed = order_nodes(b, order);
    if (placed < 0) {
        free(order);
        return TR_ENOMEM;
    }
    if (b->rep.count > 0 || b->rep.nomem || (uint32_t)placed != b->nnodes) {
        free(order);
        return b->rep.nomem ? TR_ENOMEM : TR_EINVAL;
    }
    tr_wf_plan *p = calloc(1, sizeof *p);
    if (p == NULL) {
        free(order);
        return TR_ENOMEM;
    }
    atomic_init(&p->refs, 1);
    int rc = fill_plan(b, p, order);
    free(order);
    if (rc != 0) {
        plan_destroy(p);
        return rc;
    }
    *out = p;
    return 0;
}
