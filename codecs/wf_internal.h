/*
 * codecs/wf_internal.h -- shared between the workflow-definition files
 * (wf_def.c parses and checks, wf_config.c checks configs against schemas
 * and builds their views, wf_plan.c orders the graph and owns the plan,
 * wf_types.c holds the registry) and expr.c.  Not installed; may include
 * jansson.
 */
#ifndef TR_CODECS_WF_INTERNAL_H
#define TR_CODECS_WF_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>

#include "troupe/expr.h"
#include "troupe/workflow.h"

/* ---------------------------------------------------------------------------
 * Problem reporting during one parse
 * ------------------------------------------------------------------------ */

typedef struct tr__wf_report {
    tr_wf_problems *probs; /* may be NULL: problems are then only counted */
    const char *file;
    size_t count;          /* problems found by this parse */
    bool nomem;
} tr__wf_report;

/* Append a problem (node/field may be NULL; line/col 0 when unknown). */
#if defined(__GNUC__)
__attribute__((format(printf, 6, 7)))
#endif
void tr__wf_problem(tr__wf_report *r, const char *node, const char *field,
                    uint32_t line, uint32_t col, const char *fmt, ...);

/* ---------------------------------------------------------------------------
 * Node being built (wf_def.c fills it, wf_plan.c turns it into a tr_wf_node)
 * ------------------------------------------------------------------------ */

typedef struct tr__wf_expr_slot {
    const char *field;  /* schema field name, e.g. "expr" (descriptor-owned) */
    tr_expr *expr;
} tr__wf_expr_slot;

typedef struct tr__wf_bnode {
    const char *id;           /* borrowed from the JSON tree; NULL if none */
    const char *label;        /* id, or where[] when the node has no id   */
    char where[24];           /* "nodes[7]"                               */
    const char *name;
    const tr_node_type *type; /* NULL when the type is unknown            */
    tr_wf_category category;
    double timeout_s;
    tr_wf_retry retry;
    json_t *config;           /* own reference; an object                 */
    uint32_t *deps;           /* definition indexes, distinct             */
    uint32_t ndeps, capdeps;
    tr__wf_expr_slot *exprs;
    uint32_t nexprs;
    bool usable;              /* has a valid, unique id: part of the graph */
} tr__wf_bnode;

typedef struct tr__wf_build {
    const tr_node_type_registry *reg;
    tr__wf_report rep;
    json_t *root;
    const char *id, *name, *bot_id, *strategy_id, *description;
    uint64_t every_ms;
    tr__wf_bnode *nodes;
    uint32_t nnodes;
} tr__wf_build;

/* wf_config.c: check node->config against its type's schema, compile EXPR
 * fields into node->exprs.  Reports problems under node `id`. */
void tr__wf_check_config(tr__wf_build *b, tr__wf_bnode *n);

/* wf_config.c: the three config views, allocated from the plan's arena. */
struct tr__arena;
int tr__wf_config_views(struct tr__arena *a, json_t *config, tr_wf_node *out);

/* wf_plan.c: order the graph (reporting cycles) and, when nothing was
 * reported, build the plan.  Returns 0, TR_EINVAL or TR_ENOMEM. */
int tr__wf_plan_build(tr__wf_build *b, tr_wf_plan **out);

/* wf_plan.c: a bump allocator owned by a plan. */
void *tr__arena_alloc(struct tr__arena *a, size_t size);
char *tr__arena_strndup(struct tr__arena *a, const char *s, size_t n);

/* wf_types.c */
bool tr__wf_is_ident(const char *s, size_t maxlen);
/* "constant, price_feed, ..." into buf (truncated with "..."). */
void tr__node_type_names(const tr_node_type_registry *reg, char *buf, size_t cap);
/* "providers, indicators, ..." (static). */
const char *tr__wf_category_list(void);
/* "object", "array", "string", "number", "boolean" or "null". */
const char *tr__wf_json_kind(const json_t *v);

#endif /* TR_CODECS_WF_INTERNAL_H */
